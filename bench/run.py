"""`make bench`: reviewpub timed against the raw tools under it, side by side, in the same run.

Every figure is a whole process run by the `reviewpub` command (a black box), measured by
bench/measuring.py (wall time, CPU, peak memory of the process tree) and summarised into a row
by bench/figures.py. Each figure is
the median of several runs after a discarded warm-up; the book's cold runs take minutes and
run once each (the table's ``n`` says how many). Each figure sits beside its reference measured
in the same run, alternating with it, and the ratio between them is what the targets judge, so
a slower or busier machine moves both sides alike.

References: bench/raw_pipeline.py (eSpeak NG + ffmpeg with no reviewpub in between),
bench/raw_piper.py (a bare loop of Piper's synthesize per sentence + the same ffmpeg), pandoc
(from the optional ``bench`` extra, pypandoc_binary) and ``python -c "import click"``. The
quality rows score the published chapter MP3s with DNSMOS P.808 (bench/quality.py, speechmos
from the ``bench`` extra), Piper beside eSpeak NG.

This file parses the options and runs the groups in order; bench/plans.py says what runs (the
plan, the targets, each side's command), bench/groups.py measures each group of figures, and
bench/reporting.py describes the machine and writes the README's Performance section.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import corpus
import quality
from figures import notes, table
from groups import (
    audio_book_figures,
    audio_piper_figures,
    audio_review_figures,
    epub_figures,
    quality_figures,
    ray_figures,
    startup_figures,
)
from measuring import Bench
from plans import (
    GROUPS,
    SEED_REVIEW,
    Plan,
    compile_reviewpub,
    pandoc_executable,
    reviewpub_command,
)
from reporting import machine_info, snippet


def parse_arguments(arguments: list[str] | None = None) -> argparse.Namespace:
    """The bench's options."""
    parser = argparse.ArgumentParser(
        description="Benchmark reviewpub against raw eSpeak NG + ffmpeg, pandoc and Python start-up, "
        "in the same run, and print each figure beside its reference.",
        epilog=f"Groups for --only: {', '.join(GROUPS)}. Results go to bench/results.json unless --results.",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="a tiny book (a few hundred words), one run of each figure, no warm-ups"
    )
    parser.add_argument(
        "--runs",
        type=int,
        help="runs of each short figure (default 5; 1 with --smoke); start-up "
        "figures get twice as many, warm and edited book runs at most 3",
    )
    parser.add_argument(
        "--long-runs", type=int, default=1, help="runs of each cold book narration, which take minutes (default 1)"
    )
    parser.add_argument(
        "--piece-words",
        type=int,
        default=corpus.PIECE_CHAPTERS * corpus.PIECE_WORDS_PER_CHAPTER,
        help="words of the Piper figures' generated piece (default about 5,000, as issue #10 "
        "asks; less on a slow or busy machine, saying so)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=GROUPS,
        metavar="NAME",
        help=f"run only this group of figures (repeatable): {', '.join(GROUPS)}",
    )
    parser.add_argument("--results", type=Path, default=HERE / "results.json", help="where to write the JSON")
    parser.add_argument("--snippet", type=Path, help="also write the README's Performance section here")
    parser.add_argument(
        "--without-pandoc", action="store_true", help="act as if pandoc were not installed (checks the fallback)"
    )
    parser.add_argument(
        "--without-speechmos",
        action="store_true",
        help="act as if speechmos were not installed (checks the quality fallback)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (inputs and outputs)")
    options = parser.parse_args(arguments)
    if (options.runs is not None and options.runs < 1) or options.long_runs < 1 or options.piece_words < 8:
        parser.error("--runs and --long-runs must be at least 1, --piece-words at least 8")
    return options


def main(arguments: list[str] | None = None) -> int:
    """Run the selected figures, print the table, write results.json; exit status 0."""
    options = parse_arguments(arguments)
    runs = options.runs or (1 if options.smoke else 5)
    groups = options.only or list(GROUPS)
    work = Path(tempfile.mkdtemp(prefix="reviewpub-bench-"))
    bench = Bench(work, warmup=not options.smoke)
    reviewpub = reviewpub_command()
    if not compile_reviewpub():
        raise SystemExit("bench: reviewpub's modules did not compile to bytecode (see above)")
    pandoc = None if options.without_pandoc else pandoc_executable()
    plan = Plan(
        runs=runs,
        long_runs=options.long_runs,
        startup_runs=2 * runs,
        repeat_runs=min(runs, 3),
        cpus=os.cpu_count() or 1,
        inputs=corpus.write_inputs(work / "inputs", smoke=options.smoke),
        expected_chapters=corpus.SMOKE_CHAPTERS if options.smoke else corpus.BOOK_CHAPTERS,
        pandoc=pandoc,
        reviewpub=reviewpub,
        smoke=options.smoke,
        has_speechmos=not options.without_speechmos and quality.is_available(),
    )
    plan.inputs["piece"] = corpus.write_piece(work / "inputs", smoke=options.smoke, words=options.piece_words)
    # The smoke's Piper figures read the piece's few sentences, not the review's forty.
    plan.inputs["piper-review"] = plan.inputs["piece"] if options.smoke else SEED_REVIEW
    machine = machine_info(reviewpub, pandoc)
    bench.say(f"{plan.cpus} CPUs; groups: {', '.join(groups)}; work folder {work}")
    builders = {
        "startup": startup_figures,
        "epub": epub_figures,
        "audio-review": audio_review_figures,
        "audio-book": audio_book_figures,
        "audio-piper": audio_piper_figures,
        "quality": quality_figures,
        "ray": ray_figures,
    }
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
        "bench": {
            "smoke": options.smoke,
            "groups": groups,
            "runs": plan.runs,
            "startup_runs": plan.startup_runs,
            "long_runs": plan.long_runs,
            "repeat_runs": plan.repeat_runs,
            "piper_threads_by_workers": plan.piper_threads,
            "piece_words": options.piece_words,
            "total_s": round(total_s, 1),
        },
        "ray": plan.ray,
        "figures": [asdict(figure) for figure in plan.figures],
    }
    print(table(plan.figures))
    print(f"\n{notes(plan.figures)}")
    if plan.ray:
        print(f"\nray: {json.dumps(plan.ray)}")
    judged = [figure for figure in plan.figures if figure.met is not None]
    print(
        f"\ntargets met: {sum(bool(figure.met) for figure in judged)} of {len(judged)}; "
        f"{total_s / 60:.1f} minutes; results in {options.results}"
    )
    options.results.parent.mkdir(parents=True, exist_ok=True)
    options.results.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    if options.snippet:
        options.snippet.write_text(snippet(results, plan, total_s), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
