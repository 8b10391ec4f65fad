// Runs EPUBCheck on many EPUBs in one JVM (its start-up is most of a single run's time) and
// prints one machine-readable line per message, usage messages included:
//   MESSAGE <TAB> file <TAB> SEVERITY <TAB> ID <TAB> path:line:column <TAB> text
//   RESULT <TAB> file <TAB> fatals <TAB> errors <TAB> warnings <TAB> usages
// Launched by tests/validation.py as: java -cp epubcheck.jar tests/EpubCheckBatch.java FILE...
import com.adobe.epubcheck.api.EPUBLocation;
import com.adobe.epubcheck.api.EpubCheck;
import com.adobe.epubcheck.api.MasterReport;
import com.adobe.epubcheck.messages.Message;
import com.adobe.epubcheck.util.FeatureEnum;
import com.adobe.epubcheck.util.ReportingLevel;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

public class EpubCheckBatch {
    static final class LineReport extends MasterReport {
        final String file;
        final List<String> lines = new ArrayList<>();

        LineReport(String file) {
            this.file = file;
            setEpubFileName(file);
            setReportingLevel(ReportingLevel.Usage);
        }

        static String flat(Object value) {
            return String.valueOf(value).replace('\t', ' ').replace('\r', ' ').replace('\n', ' ');
        }

        @Override
        public void message(Message message, EPUBLocation location, Object... arguments) {
            String where = location == null ? "" : location.getPath() + ":" + location.getLine() + ":" + location.getColumn();
            lines.add("MESSAGE\t" + file + "\t" + message.getSeverity().name() + "\t" + message.getID().name() + "\t"
                + flat(where) + "\t" + flat(message.getMessage(arguments)));
        }

        @Override
        public void info(String path, FeatureEnum feature, String value) {
        }

        @Override
        public int generate() {
            return 0;
        }

        @Override
        public void initialize() {
        }
    }

    static List<String> check(String path) {
        LineReport report = new LineReport(path);
        try {
            new EpubCheck(new File(path), report).doValidate();
        } catch (RuntimeException error) {
            report.lines.add("MESSAGE\t" + path + "\tFATAL\tCRASH\t\t" + LineReport.flat(error));
        }
        int fatals = report.getFatalErrorCount() + (report.lines.stream().anyMatch(l -> l.contains("\tCRASH\t")) ? 1 : 0);
        report.lines.add("RESULT\t" + path + "\t" + fatals + "\t" + report.getErrorCount() + "\t"
            + report.getWarningCount() + "\t" + report.getUsageCount());
        return report.lines;
    }

    public static void main(String[] args) throws Exception {
        int threads = Math.max(1, Math.min(args.length, Runtime.getRuntime().availableProcessors()));
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<List<String>>> results = new ArrayList<>();
        for (String path : args) {
            results.add(pool.submit(() -> check(path)));
        }
        for (Future<List<String>> result : results) {
            for (String line : result.get()) {
                System.out.println(line);
            }
        }
        pool.shutdown();
    }
}
