// Runs EPUBCheck on many EPUBs in one JVM (its start-up is most of a single run's time).
// Launched by tests/validation.py as: java -cp epubcheck.jar tests/EpubCheckBatch.java FILE...
import com.adobe.epubcheck.api.EpubCheck;
import com.adobe.epubcheck.util.DefaultReportImpl;
import java.io.File;

public class EpubCheckBatch {
    public static void main(String[] args) {
        for (String path : args) {
            DefaultReportImpl report = new DefaultReportImpl(path);
            new EpubCheck(new File(path), report).doValidate();
            System.out.println("RESULT\t" + path + "\t" + report.getFatalErrorCount() + "\t"
                + report.getErrorCount() + "\t" + report.getWarningCount());
        }
    }
}
