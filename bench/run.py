"""`make bench`: reviewpub timed against the raw tools under it, side by side, in the same run.

Every figure is a whole process run by the `reviewpub` command (a black box), measured by
bench/measuring.py (wall time, CPU, peak memory of the process tree) and summarised into a row
by bench/figures.py. Each figure is
the median of several runs after a discarded warm-up; the book's cold runs take minutes and
run once each (the table's ``n`` says how many). Each figure sits beside its reference measured
in the same run, alternating with it, and the ratio between them is what the targets judge, so
a slower or busier machine moves both sides alike.

References: bench/raw_pipeline.py (eSpeak NG + ffmpeg with no reviewpub in between), pandoc
(from the optional ``bench`` extra, pypandoc_binary) and ``python -c "import click"``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402
from figures import Figure, at_least, at_most, below, make_figure, notes, table, under_mb  # noqa: E402
from measuring import Bench, Command, Measured  # noqa: E402

SEED_REVIEW = ROOT / "source" / "iss-review.txt"
GROUPS = ("startup", "epub", "audio-review", "audio-book")
"""What ``--only`` selects; audio-book holds the cold, warm, edited, speed-up and memory figures."""
EDITED_CHAPTER = 20
"""The chapter (1-based, of the 40) whose first sentence the edited-book runs change."""


# --- the references and the inputs ------------------------------------------------------------


def reviewpub_command() -> list[str]:
    """The installed `reviewpub` script beside this Python (what users run), else ``python -m reviewpub``."""
    script = Path(sys.executable).parent / "reviewpub"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "reviewpub"]


def pandoc_executable() -> str | None:
    """pandoc from pypandoc_binary (the ``bench`` extra) or from PATH; None when neither exists."""
    try:
        import pypandoc

        return str(pypandoc.get_pandoc_path())
    except (ImportError, OSError):
        return shutil.which("pandoc")


def outline(reviewpub: list[str], source: Path, env: dict[str, str]) -> dict[str, Any]:
    """How reviewpub reads ``source`` (``reviewpub outline --format json``)."""
    completed = subprocess.run([*reviewpub, "outline", str(source), "--format", "json"], capture_output=True,
                               text=True, env=env, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"bench: reviewpub outline {source} failed:\n{completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def heading_key(line: str) -> str:
    """A source line as it would read as a heading: no Markdown '#', no '1.' numbering."""
    text = line.strip().lstrip("#").strip()
    number, _, rest = text.partition(" ")
    return rest.strip() if number.rstrip(".)").isdigit() and number[-1:] in ".)" and rest else text


def chapter_texts(source: Path, structure: dict[str, Any]) -> list[str]:
    """The text of each top-level chapter reviewpub found, cut from the source, for the raw pipeline.

    A chapter starts at the line holding its heading (or, for a heading reviewpub inferred,
    such as a FAQ's, its first sub-heading); the raw pipeline speaks the heading too.
    """
    lines = source.read_text(encoding="utf-8-sig").splitlines()[1:]
    keys = [heading_key(line) for line in lines]
    starts: list[int] = []
    position = 0
    for number, chapter in enumerate(structure["chapters"]):
        anchors = {chapter["title"], *(child["title"] for child in chapter["children"][:1])}
        found = next((index for index in range(position, len(lines)) if keys[index] in anchors), None)
        if found is None and number == 0:
            found = 0
        if found is None:
            raise SystemExit(f"bench: cannot find chapter {chapter['title']!r} in {source}; the raw pipeline "
                             "needs the same chapters as reviewpub")
        starts.append(found)
        position = found + 1
    texts = []
    for number, (chapter, start) in enumerate(zip(structure["chapters"], starts)):
        end = starts[number + 1] if number + 1 < len(starts) else len(lines)
        body = [line.strip() for line in lines[start:end] if line.strip()]
        if keys[start] != chapter["title"]:
            body.insert(0, chapter["title"])
        # Headings get a full stop so eSpeak NG pauses after them, as reviewpub does.
        texts.append("\n".join(line if line.endswith((".", "!", "?")) else line + "." for line in body))
    return texts


def write_chapters(source: Path, reviewpub: list[str], env: dict[str, str], folder: Path,
                   expected_chapters: int | None = None) -> tuple[Path, dict[str, Any]]:
    """Write the raw pipeline's chapter list for ``source``; (its path, reviewpub's outline of it)."""
    structure = outline(reviewpub, source, env)
    if expected_chapters is not None and len(structure["chapters"]) != expected_chapters:
        raise SystemExit(f"bench: reviewpub read {source} as {len(structure['chapters'])} chapters, not "
                         f"{expected_chapters}: bench/corpus.py no longer matches the plain-text reader")
    path = folder / f"{source.stem}.chapters.json"
    # The language picks the voice, as reviewpub's default voice is the one named by it.
    chapters = {"language": structure["language"] or "en", "chapters": chapter_texts(source, structure)}
    path.write_text(json.dumps(chapters, ensure_ascii=False), encoding="utf-8")
    return path, structure


def machine_info(reviewpub: list[str], pandoc: str | None) -> dict[str, Any]:
    """What the figures were measured on."""
    from importlib import metadata

    def first_line(command: list[str]) -> str | None:
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        except OSError:
            return None
        return completed.stdout.splitlines()[0].strip() if completed.returncode == 0 and completed.stdout else None

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    def proc_field(path: str, name: str) -> str | None:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return None

    try:
        import imageio_ffmpeg

        ffmpeg: str | None = first_line([imageio_ffmpeg.get_ffmpeg_exe(), "-version"])
    except ImportError:
        ffmpeg = None
    return {
        "platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count() or 1,
        "processor": proc_field("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "memory": proc_field("/proc/meminfo", "MemTotal"),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "reviewpub": version("reviewpub"), "reviewpub_command": " ".join(reviewpub),
        "commit": first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "espeakng_loader": version("espeakng-loader"), "ffmpeg": ffmpeg,
        "pandoc": first_line([pandoc, "--version"]) if pandoc else "pandoc: not installed",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# --- the groups of figures --------------------------------------------------------------------


@dataclass
class Plan:
    """How many runs each kind of figure gets, and what the inputs are."""

    runs: int
    long_runs: int
    startup_runs: int
    repeat_runs: int
    """Warm and edited book runs."""
    cpus: int
    inputs: dict[str, Path]
    expected_chapters: int
    pandoc: str | None
    reviewpub: list[str]
    figures: list[Figure] = field(default_factory=list)


def startup_figures(bench: Bench, plan: Plan) -> None:
    """reviewpub --help and outline against bare interpreter start-up with Click imported."""
    click_run: Command = lambda _: [sys.executable, "-c", "import click"]
    click, help_run, outline_run = bench.alternate([
        ('python -c "import click"', click_run),
        ("reviewpub --help", lambda _: [*plan.reviewpub, "--help"]),
        ("reviewpub outline (review)", lambda _: [*plan.reviewpub, "outline", str(SEED_REVIEW)]),
    ], plan.startup_runs)
    plan.figures.append(make_figure("reviewpub --help", help_run, click, at_most(2.0)))
    plan.figures.append(make_figure("reviewpub outline (review)", outline_run, click, None))


def epub_figures(bench: Bench, plan: Plan) -> None:
    """reviewpub epub against pandoc on the same text, for the review and the book."""
    review_markdown = bench.work / "inputs" / "iss-review.md"
    review_markdown.write_text(corpus.markdown_from_plain_text(SEED_REVIEW.read_text(encoding="utf-8-sig")),
                               encoding="utf-8")
    for label, source, markdown, target in (("review", SEED_REVIEW, review_markdown, None),
                                            ("book", plan.inputs["book"], plan.inputs["book-md"], below(1.0))):
        def epub(_: int, source: Path = source) -> list[str]:
            return [*plan.reviewpub, "-q", "epub", str(source), "-o", str(bench.fresh("epub-out"))]

        def pandoc(_: int, markdown: Path = markdown) -> list[str]:
            folder = bench.fresh("epub-pandoc")
            folder.mkdir(parents=True)
            return [str(plan.pandoc), str(markdown), "-o", str(folder / f"{markdown.stem}.epub")]

        commands: list[tuple[str, Command]] = [(f"epub ({label})", epub)]
        if plan.pandoc:
            commands.insert(0, ("pandoc -> EPUB", pandoc))
        measured = bench.alternate(commands, plan.runs, cleanup=lambda: remove_folders(bench.work, "epub-"))
        reference = measured[0] if plan.pandoc else None
        plan.figures.append(make_figure(f"epub ({label})", measured[-1], reference, target,
                                        reference_label=None if plan.pandoc else "pandoc: not installed"))


def remove_folders(work: Path, prefix: str) -> None:
    """Delete the run folders named ``prefix*`` (outputs already measured)."""
    for folder in work.glob(f"{prefix}*"):
        shutil.rmtree(folder, ignore_errors=True)


def audio_command(plan: Plan, source: Path, jobs: int, cache: Path, output: Path) -> list[str]:
    """reviewpub audio with eSpeak NG into the given cache and output folders."""
    return [*plan.reviewpub, "audio", str(source), "--engine", "espeak", "--jobs", str(jobs),
            "--cache-dir", str(cache), "-o", str(output)]


def raw_command(chapters: Path, jobs: int, output: Path) -> list[str]:
    """The raw pipeline over a chapter list."""
    return [sys.executable, str(HERE / "raw_pipeline.py"), str(chapters), "--jobs", str(jobs), "--output", str(output)]


def audio_review_figures(bench: Bench, plan: Plan) -> None:
    """Cold narration of the review against the raw pipeline, both at --jobs = CPUs."""
    chapters, _ = write_chapters(SEED_REVIEW, plan.reviewpub, bench.env, bench.work / "inputs")
    jobs = plan.cpus
    raw, cold = bench.alternate([
        (f"raw espeak+ffmpeg (jobs {jobs})", lambda _: raw_command(chapters, jobs, bench.fresh("run-raw"))),
        (f"audio cold (review, jobs {jobs})",
         lambda _: audio_command(plan, SEED_REVIEW, jobs, bench.fresh("run-cache"), bench.fresh("run-out"))),
    ], plan.runs, track_memory=True, cleanup=lambda: remove_folders(bench.work, "run-"))
    plan.figures.append(make_figure(cold.label, cold, raw, at_most(1.5), note=cold.samples[-1].last_message))


def audio_book_figures(bench: Bench, plan: Plan) -> None:
    """Cold book runs at each parallelism, the speed-up, warm and edited reruns, and memory."""
    book, half = plan.inputs["book"], plan.inputs["half"]
    book_chapters, book_structure = write_chapters(book, plan.reviewpub, bench.env, bench.work / "inputs",
                                                   plan.expected_chapters)
    # The half book is only narrated by reviewpub; reading it checks it has half the chapters.
    _, half_structure = write_chapters(half, plan.reviewpub, bench.env, bench.work / "inputs",
                                       plan.expected_chapters // 2)
    book_words, half_words = int(book_structure["words"]), int(half_structure["words"])
    bench.say(f"book: {book_words} words in {plan.expected_chapters} chapters; half book: {half_words} words")
    levels = sorted({1, 2, plan.cpus})
    base_cache, base_output = bench.work / "book-cache", bench.work / "book-output"
    raw: dict[int, Measured] = {}
    cold: dict[int, Measured] = {}
    # The CPU-count run goes first and keeps its cache and output: the warm and edited runs reuse them.
    for jobs in sorted(levels, key=lambda level: level != plan.cpus):
        keep = jobs == plan.cpus

        def reviewpub(index: int, jobs: int = jobs, keep: bool = keep) -> list[str]:
            if keep and index == 0:
                return audio_command(plan, book, jobs, base_cache, base_output)
            return audio_command(plan, book, jobs, bench.fresh("run-cache"), bench.fresh("run-out"))

        raw[jobs], cold[jobs] = bench.alternate([
            (f"raw espeak+ffmpeg (jobs {jobs})", lambda _, jobs=jobs: raw_command(book_chapters, jobs,
                                                                                  bench.fresh("run-raw"))),
            (f"audio cold (book, jobs {jobs})", reviewpub),
        ], plan.long_runs, warmup=False, track_memory=True, cleanup=lambda: remove_folders(bench.work, "run-"))
    for jobs in levels:
        plan.figures.append(make_figure(cold[jobs].label, cold[jobs], raw[jobs],
                                        at_most(1.25) if jobs == plan.cpus else None,
                                        note=cold[jobs].samples[-1].last_message))
    plan.figures.append(make_figure("speed-up jobs 1 -> 2 (book)", cold[1], cold[2], at_least(1.7),
                                    note="ratio = jobs 1 time / jobs 2 time"))
    plan.figures.append(make_figure("speed-up jobs 1 -> 2 (raw pipeline, book)", raw[1], raw[2], None,
                                    note="what the machine allows the tools themselves"))

    warm = bench.measure("audio warm, nothing changed (book)",
                         lambda _: audio_command(plan, book, plan.cpus, base_cache, base_output),
                         plan.repeat_runs, warmup=False)
    plan.figures.append(make_figure(warm.label, warm, cold[plan.cpus], at_most(0.05),
                                    note=warm.samples[-1].last_message))
    original = book.read_text(encoding="utf-8")
    heading = book_structure["chapters"][min(EDITED_CHAPTER, plan.expected_chapters) - 1]["title"]

    def edited(index: int) -> list[str]:
        book.write_text(corpus.edit_one_sentence(original, heading, index + 2), encoding="utf-8")
        return audio_command(plan, book, plan.cpus, base_cache, base_output)

    try:
        edits = bench.measure("audio, one sentence edited (book)", edited, plan.repeat_runs, warmup=False)
    finally:
        book.write_text(original, encoding="utf-8")
    plan.figures.append(make_figure(edits.label, edits, cold[plan.cpus], at_most(0.10),
                                    note=edits.samples[-1].last_message))
    shutil.rmtree(base_cache, ignore_errors=True)
    shutil.rmtree(base_output, ignore_errors=True)

    half_cold = bench.measure(f"audio cold (half book, jobs {plan.cpus})",
                              lambda _: audio_command(plan, half, plan.cpus, bench.fresh("run-cache"),
                                                      bench.fresh("run-out")),
                              plan.long_runs, warmup=False, track_memory=True,
                              cleanup=lambda: remove_folders(bench.work, "run-"))
    plan.figures.append(make_figure(f"peak memory, audio cold (book, jobs {plan.cpus})", cold[plan.cpus],
                                    raw[plan.cpus], under_mb(400), unit="MB",
                                    note="summed PSS of the process tree; reference: the raw pipeline's"))
    plan.figures.append(make_figure("memory growth, book / half book", cold[plan.cpus], half_cold, at_most(1.2),
                                    unit="MB", note=f"{book_words} vs {half_words} words"))


# --- the command line -------------------------------------------------------------------------


def parse_arguments(arguments: list[str] | None = None) -> argparse.Namespace:
    """The bench's options."""
    parser = argparse.ArgumentParser(
        description="Benchmark reviewpub against raw eSpeak NG + ffmpeg, pandoc and Python start-up, "
                    "in the same run, and print each figure beside its reference.",
        epilog=f"Groups for --only: {', '.join(GROUPS)}. Results go to bench/results.json unless --results.")
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny book (a few hundred words), one run of each figure, no warm-ups")
    parser.add_argument("--runs", type=int, help="runs of each short figure (default 5; 1 with --smoke); start-up "
                        "figures get twice as many, warm and edited book runs at most 3")
    parser.add_argument("--long-runs", type=int, default=1,
                        help="runs of each cold book narration, which take minutes (default 1)")
    parser.add_argument("--only", action="append", choices=GROUPS, metavar="NAME",
                        help=f"run only this group of figures (repeatable): {', '.join(GROUPS)}")
    parser.add_argument("--results", type=Path, default=HERE / "results.json", help="where to write the JSON")
    parser.add_argument("--snippet", type=Path, help="also write the README's Performance section here")
    parser.add_argument("--without-pandoc", action="store_true",
                        help="act as if pandoc were not installed (checks the fallback)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (inputs and outputs)")
    options = parser.parse_args(arguments)
    if options.runs is not None and options.runs < 1 or options.long_runs < 1:
        parser.error("--runs and --long-runs must be at least 1")
    return options


def snippet(results: dict[str, Any], plan: Plan, total_s: float) -> str:
    """The README's Performance section: how the figures were taken, and the table."""
    machine = results["machine"]
    return f"""## Performance

`make bench` (`bench/run.py`, about {total_s / 60:.0f} minutes here) generates its inputs with a
fixed seed, nothing downloaded: a 100,000-word book of 40 chapters of varied English prose,
its first half (50,000 words), and the seed review. It times whole `reviewpub` processes (wall
time, user+sys CPU, peak memory of the process tree) and measures each reference in the same
run, alternating with it, so the ratios hold on a busier or slower machine:

- **raw espeak+ffmpeg**: `bench/raw_pipeline.py`, eSpeak NG through the same bundled library,
  each chapter's whole text in one call, written as WAV and encoded by the same ffmpeg with
  the same MP3 settings (mono, 44.1 kHz, 96 kbps CBR, LAME `-q 7`), chapters in the same
  number of processes: the floor for `reviewpub audio`;
- **pandoc** (from the `bench` extra, `pypandoc_binary`) on the same text as Markdown;
- **`python -c "import click"`** for start-up.

Short figures are the median of {plan.runs} runs ({plan.startup_runs} for start-up) after a
warm-up; each cold book narration runs {plan.long_runs} time(s); warm and edited reruns
{plan.repeat_runs}. Memory is the peak summed PSS of the process tree (ffmpeg and workers
included). Results go to `bench/results.json`. Latest run ({machine['cpus']} CPUs,
{machine['processor']}, Python {machine['python']}, {machine['date'][:10]}):

```
{table(plan.figures)}

{notes(plan.figures)}
```
"""


def main(arguments: list[str] | None = None) -> int:
    """Run the selected figures, print the table, write results.json; exit status 0."""
    options = parse_arguments(arguments)
    runs = options.runs or (1 if options.smoke else 5)
    groups = options.only or list(GROUPS)
    work = Path(tempfile.mkdtemp(prefix="reviewpub-bench-"))
    bench = Bench(work, warmup=not options.smoke)
    reviewpub = reviewpub_command()
    pandoc = None if options.without_pandoc else pandoc_executable()
    plan = Plan(
        runs=runs, long_runs=options.long_runs, startup_runs=2 * runs, repeat_runs=min(runs, 3),
        cpus=os.cpu_count() or 1, inputs=corpus.write_inputs(work / "inputs", smoke=options.smoke),
        expected_chapters=corpus.SMOKE_CHAPTERS if options.smoke else corpus.BOOK_CHAPTERS,
        pandoc=pandoc, reviewpub=reviewpub,
    )
    machine = machine_info(reviewpub, pandoc)
    bench.say(f"{plan.cpus} CPUs; groups: {', '.join(groups)}; work folder {work}")
    builders = {"startup": startup_figures, "epub": epub_figures, "audio-review": audio_review_figures,
                "audio-book": audio_book_figures}
    try:
        for group in GROUPS:
            if group in groups:
                builders[group](bench, plan)
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
    total_s = time.perf_counter() - bench.started
    machine["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    results = {
        "machine": machine,
        "bench": {"smoke": options.smoke, "groups": groups, "runs": plan.runs, "startup_runs": plan.startup_runs,
                  "long_runs": plan.long_runs, "repeat_runs": plan.repeat_runs, "total_s": round(total_s, 1)},
        "figures": [asdict(figure) for figure in plan.figures],
    }
    print(table(plan.figures))
    print(f"\n{notes(plan.figures)}")
    judged = [figure for figure in plan.figures if figure.met is not None]
    print(f"\ntargets met: {sum(bool(figure.met) for figure in judged)} of {len(judged)}; "
          f"{total_s / 60:.1f} minutes; results in {options.results}")
    options.results.parent.mkdir(parents=True, exist_ok=True)
    options.results.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    if options.snippet:
        options.snippet.write_text(snippet(results, plan, total_s), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
