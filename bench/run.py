"""`make bench`: reviewpub timed against the raw tools it runs on, side by side, same run.

Every figure is a whole process (wall time, user+sys CPU, peak RSS of the process tree as the
kernel reports it for the reaped child), the median of several runs after a warm-up (long runs
once: the table says how many). Each figure sits next to its reference and the ratio between
them, so a noisy machine slows both sides alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from corpus import write_inputs  # noqa: E402

PYTHON = sys.executable
REVIEWPUB = [PYTHON, "-m", "reviewpub"]
SEED = ROOT / "source" / "iss-review.txt"


@dataclass
class Sample:
    """One timed process."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float


@dataclass
class Figure:
    """A row of the table (the JSON keys the issue asks for)."""

    name: str
    median_s: float
    min_s: float
    max_s: float
    peak_rss_mb: float
    reference: str
    reference_median_s: float | None
    ratio: float | None
    target: str
    met: bool | None
    runs: int = 1
    cpu_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def timed(command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Sample:
    """Run ``command`` once; its wall time, CPU time and peak RSS (kernel rusage of the child)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed:\n{stderr[-2000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def measure(command_for_run: object, runs: int, warmup: bool) -> list[Sample]:
    """Samples of a command (a callable giving the command of run N), after an optional warm-up."""
    make = command_for_run  # type: ignore[assignment]
    if warmup:
        timed(make(-1))  # type: ignore[operator]
    return [timed(make(index)) for index in range(runs)]  # type: ignore[operator]


def summary(samples: list[Sample]) -> tuple[float, float, float, float, float]:
    """(median, min, max, peak RSS, median CPU)."""
    walls = [sample.wall_s for sample in samples]
    return (statistics.median(walls), min(walls), max(walls), max(sample.peak_rss_mb for sample in samples),
            statistics.median(sample.cpu_s for sample in samples))


def figure(name: str, samples: list[Sample], reference: str, reference_samples: list[Sample] | None, target: str,
           limit: float | None, *, compare: str = "ratio") -> Figure:
    """A table row; ``limit`` is checked against the ratio (or against MB for memory rows)."""
    median, low, high, rss, cpu = summary(samples)
    reference_median = summary(reference_samples)[0] if reference_samples else None
    ratio = median / reference_median if reference_median else None
    met: bool | None = None
    if limit is not None and ratio is not None:
        met = ratio <= limit if compare == "ratio" else ratio >= limit
    return Figure(name, round(median, 3), round(low, 3), round(high, 3), round(rss, 1), reference,
                  round(reference_median, 3) if reference_median else None, round(ratio, 3) if ratio else None,
                  target, met, runs=len(samples), cpu_s=round(cpu, 3))


def print_table(figures: list[Figure]) -> None:
    """The table the README quotes."""
    header = f"{'figure':44} {'median s':>9} {'min-max s':>15} {'RSS MB':>7} {'reference':34} {'ref s':>8} {'ratio':>7} {'target':>10} met"
    print(header)
    print("-" * len(header))
    for row in figures:
        spread = f"{row.min_s:.2f}-{row.max_s:.2f}"
        reference_s = f"{row.reference_median_s:.3f}" if row.reference_median_s is not None else "-"
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        met = {True: "yes", False: "NO", None: "-"}[row.met]
        print(f"{row.name + f' (n={row.runs})':44} {row.median_s:9.3f} {spread:>15} {row.peak_rss_mb:7.0f} "
              f"{row.reference:34} {reference_s:>8} {ratio:>7} {row.target:>10} {met}")


def pandoc_command(markdown: Path, output: Path) -> list[str] | None:
    """pandoc (from pypandoc_binary or PATH) turning the same Markdown into EPUB, if present."""
    try:
        import pypandoc

        executable = pypandoc.get_pandoc_path()
    except (ImportError, OSError):
        executable = shutil.which("pandoc")
    if not executable:
        return None
    return [executable, str(markdown), "-o", str(output), "--metadata", "title=The Long Orbit"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark reviewpub against the raw tools.")
    parser.add_argument("--smoke", action="store_true", help="a tiny book (a few hundred words), one run each")
    parser.add_argument("--runs", type=int, default=3, help="runs of the short figures (long ones run once)")
    parser.add_argument("--results", type=Path, default=HERE / "results.json", help="where to write the JSON")
    options = parser.parse_args()
    cpus = os.cpu_count() or 1
    runs = 1 if options.smoke else options.runs
    long_runs = 1
    work = Path(tempfile.mkdtemp(prefix="reviewpub-bench-"))
    chapters, words = (4, 80) if options.smoke else (40, 2500)
    inputs = write_inputs(work / "inputs", chapters, words)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    counter = iter(range(1_000_000))

    def fresh(name: str) -> Path:
        return work / f"{name}-{next(counter)}"

    def audio(source: Path, jobs: int, cache: Path | None = None, output: Path | None = None) -> list[str]:
        return [*REVIEWPUB, "-q", "audio", str(source), "--engine", "espeak", "--jobs", str(jobs),
                "--cache-dir", str(cache or fresh("cache")), "-o", str(output or fresh("out"))]

    def raw(source: Path, jobs: int) -> list[str]:
        return [PYTHON, str(HERE / "raw_pipeline.py"), str(source), "--jobs", str(jobs), "--output", str(fresh("raw"))]

    figures: list[Figure] = []
    print(f"bench: {'smoke, ' if options.smoke else ''}{cpus} CPUs, inputs in {work}", file=sys.stderr)

    click_start = measure(lambda _: [PYTHON, "-c", "import click"], runs * 3, True)
    help_start = measure(lambda _: [*REVIEWPUB, "--help"], runs * 3, True)
    figures.append(figure("reviewpub --help", help_start, 'python -c "import click"', click_start, "<= 2x", 2.0))
    outline = measure(lambda _: [*REVIEWPUB, "outline", str(SEED)], runs * 3, True)
    figures.append(figure("reviewpub outline (review)", outline, 'python -c "import click"', click_start, "-", None))

    for label, source in (("review", SEED), ("book", inputs["book"])):
        epub = measure(lambda _: [*REVIEWPUB, "-q", "epub", str(source), "-o", str(fresh("epub"))], runs, True)
        pandoc_markdown = inputs["book-md"] if label == "book" else SEED
        command = pandoc_command(pandoc_markdown, work / "pandoc.epub")
        reference = measure(lambda _: command, runs, True) if command else None
        figures.append(figure(f"epub ({label})", epub, "pandoc -> EPUB" if command else "pandoc: not installed",
                              reference, "< 1x" if label == "book" else "-", 1.0 if label == "book" else None))

    raw_review = measure(lambda _: raw(SEED, cpus), runs, True)
    cold_review = measure(lambda _: audio(SEED, cpus), runs, True)
    figures.append(figure(f"audio cold (review, jobs {cpus})", cold_review, f"raw espeak+ffmpeg (jobs {cpus})",
                          raw_review, "<= 1.5x", 1.5))

    raw_book_1 = measure(lambda _: raw(inputs["book"], 1), long_runs, False)
    raw_book_n = measure(lambda _: raw(inputs["book"], cpus), long_runs, False)
    book_cache, book_output = fresh("book-cache"), fresh("book-out")
    cold_book_n = [timed(audio(inputs["book"], cpus, book_cache, book_output))]
    cold_book_1 = measure(lambda _: audio(inputs["book"], 1), long_runs, False)
    figures.append(figure("audio cold (book, jobs 1)", cold_book_1, "raw espeak+ffmpeg (jobs 1)", raw_book_1, "-", None))
    figures.append(figure(f"audio cold (book, jobs {cpus})", cold_book_n, f"raw espeak+ffmpeg (jobs {cpus})",
                          raw_book_n, "<= 1.25x", 1.25))
    speedup = figure(f"speed-up jobs 1 -> {cpus} (book)", cold_book_1, f"audio cold (book, jobs {cpus})", cold_book_n,
                     ">= 1.7x", 1.7, compare="at least")
    figures.append(speedup)

    warm = measure(lambda _: audio(inputs["book"], cpus, book_cache, book_output), runs, False)
    figures.append(figure("audio warm, nothing changed (book)", warm, f"audio cold (book, jobs {cpus})", cold_book_n,
                          "<= 0.05x", 0.05))
    edited_source = work / "inputs" / "edited.txt"
    text = inputs["book"].read_text(encoding="utf-8")
    edited_source.write_text(text, encoding="utf-8")
    edited_output = book_output.parent / "edited-out"
    timed(audio(edited_source, cpus, book_cache, edited_output))
    first_paragraph = next(line for line in text.split("\n")[2:] if line.strip() and not line.startswith("Chapter "))
    marker = first_paragraph.split(".")[0]

    def edit(index: int) -> list[str]:
        edited_source.write_text(text.replace(marker, f"{marker} (edit {index})", 1), encoding="utf-8")
        return audio(edited_source, cpus, book_cache, edited_output)

    edited = measure(edit, runs, False)
    figures.append(figure("audio, one sentence edited (book)", edited, f"audio cold (book, jobs {cpus})", cold_book_n,
                          "<= 0.10x", 0.10))

    half = [timed(audio(inputs["half"], cpus))]
    memory = figure("peak RSS audio (book vs half book)", cold_book_n, "audio cold (half book)", half, "<= 1.2x", 1.2)
    memory.ratio = round(summary(cold_book_n)[3] / max(summary(half)[3], 1e-9), 3)
    memory.met = memory.ratio <= 1.2 and summary(cold_book_n)[3] < 400
    memory.target = "<=1.2x,<400MB"
    memory.notes.append(f"book {summary(cold_book_n)[3]:.0f} MB, half {summary(half)[3]:.0f} MB")
    figures.append(memory)

    print_table(figures)
    machine = {"platform": platform.platform(), "python": platform.python_version(), "cpus": cpus,
               "processor": platform.processor() or platform.machine(), "smoke": options.smoke,
               "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    options.results.parent.mkdir(parents=True, exist_ok=True)
    options.results.write_text(json.dumps({"machine": machine, "figures": [asdict(row) for row in figures]}, indent=1))
    print(f"\nresults: {options.results}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
