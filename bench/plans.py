"""What `make bench` runs: the plan (runs, inputs, targets) and the command line of every side."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import corpus
from figures import Figure

SEED_REVIEW = ROOT / "source" / "iss-review.txt"
GROUPS = ("startup", "epub", "audio-review", "audio-book", "audio-piper", "quality", "ray")
"""What ``--only`` selects; audio-book holds eSpeak's cold, warm, edited, speed-up and memory figures,
audio-piper the same for the Piper voice on the review and a 5,000-word piece, quality the DNSMOS scores,
ray a folder of reviews built with Piper on a local Ray runtime against the local process pool."""
PIPER_THREADS = 1
"""onnxruntime intra-op threads per worker, when reviewpub's engine cannot say (``piper_threads``)."""
PIPER_TARGET = 1.10
"""Issue #10: reviewpub's Piper narration within 10% of the bare synthesize loop."""
RAY_TARGET = 1.15
"""Issue #13: a build on Ray within 15% of the local process pool on the same CPUs."""
RAY_WORKERS_TO_FEED = 16
"""Issue #13: the driver's CPU per minute of audio must let this many workers run flat out."""
RAY_FOLDER_REVIEWS = 3
RAY_REVIEW_CHAPTERS = 3
RAY_REVIEW_WORDS_PER_CHAPTER = 150
"""The ray group's folder: three reviews of about 450 words (about 3 minutes of audio each)."""
RAY_CLUSTER_SCRIPT = """
import sys, ray
context = ray.init(num_cpus=int(sys.argv[1]), include_dashboard=False, logging_level="ERROR", log_to_driver=False)
print(context.address_info["gcs_address"], flush=True)
sys.stdin.read()
ray.shutdown()
"""
"""A local Ray runtime owned by the bench: it stops when its stdin closes (no `ray stop`, which
would stop every Ray runtime on the machine)."""
QUALITY_MEAN, QUALITY_LOWEST = 4.1, 3.9
"""Issue #10: the Piper narration's mean DNSMOS P.808 over chapters, and its worst chapter."""
EDITED_CHAPTER = 20
"""The chapter (1-based, of the 40) whose first sentence the edited-book runs change."""


def reviewpub_command() -> list[str]:
    """The installed `reviewpub` script beside this Python (what users run), else ``python -m reviewpub``."""
    script = Path(sys.executable).parent / "reviewpub"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "reviewpub"]


def compile_reviewpub() -> bool:
    """Compile reviewpub's modules to bytecode, as pip does when it installs a package; True if all compiled.

    The bench times the checkout's editable install. Where ``PYTHONDONTWRITEBYTECODE`` is set
    (it is on these machines) nothing would write that bytecode, so every timed process would
    compile each reviewpub module from source again (about 0.04 s a run), a cost no installed
    copy has. The files go to the git-ignored ``__pycache__`` folders; a later edit makes its
    module's file stale, and Python then reads the source as before.
    """
    import compileall

    import reviewpub

    return bool(compileall.compile_dir(Path(reviewpub.__file__).parent, quiet=1))


def pandoc_executable() -> str | None:
    """pandoc from pypandoc_binary (the ``bench`` extra) or from PATH; None when neither exists."""
    try:
        import pypandoc

        return str(pypandoc.get_pandoc_path())
    except (ImportError, OSError):
        return shutil.which("pandoc")


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
    smoke: bool = False
    has_speechmos: bool = True
    """Whether the quality group can score (speechmos from the ``bench`` extra)."""
    piper_threads: dict[int, int] = field(default_factory=dict)
    """Intra-op threads per worker reviewpub's Piper engine uses, by number of workers (filled as measured)."""
    figures: list[Figure] = field(default_factory=list)
    ray: dict[str, Any] = field(default_factory=dict)
    """The ray group's cost model: CPU per minute of audio on each side, bytes per minute."""


def audio_command(plan: Plan, source: Path, jobs: int, cache: Path, output: Path) -> list[str]:
    """reviewpub audio with eSpeak NG into the given cache and output folders."""
    return [
        *plan.reviewpub,
        "audio",
        str(source),
        "--engine",
        "espeak",
        "--jobs",
        str(jobs),
        "--cache-dir",
        str(cache),
        "-o",
        str(output),
    ]


def raw_command(chapters: Path, jobs: int, output: Path) -> list[str]:
    """The raw pipeline over a chapter list."""
    return [sys.executable, str(HERE / "raw_pipeline.py"), str(chapters), "--jobs", str(jobs), "--output", str(output)]


def piper_threads(workers: int) -> int:
    """The onnxruntime intra-op threads per worker reviewpub's Piper engine uses with ``workers`` workers.

    Asked of the engine itself (``for_workers``: the CPUs shared among the workers), so the raw
    loop always gets what reviewpub gets.
    """
    try:
        from reviewpub.engines.piper import PiperEngine
    except ImportError:
        return PIPER_THREADS
    engine = PiperEngine()
    tuned = engine.for_workers(workers) if hasattr(engine, "for_workers") else engine
    return int(tuned.threads)


def piper_command(plan: Plan, source: Path, jobs: int, cache: Path, output: Path, engine: str = "piper") -> list[str]:
    """reviewpub audio with the Piper voice (or ``engine``) into the given cache and output folders."""
    return [
        *plan.reviewpub,
        "audio",
        str(source),
        "--engine",
        engine,
        "--jobs",
        str(jobs),
        "--cache-dir",
        str(cache),
        "-o",
        str(output),
    ]


def raw_piper_command(plan: Plan, sentences: Path, jobs: int, output: Path) -> list[str]:
    """The bare Piper loop (bench/raw_piper.py) over a sentence list, with reviewpub's workers and threads."""
    chapters = len(json.loads(sentences.read_text(encoding="utf-8"))["chapters"])
    # reviewpub runs min(jobs, chapters) workers and shares the CPUs among them.
    workers = max(1, min(jobs, chapters))
    threads = plan.piper_threads.setdefault(workers, piper_threads(workers))
    return [
        sys.executable,
        str(HERE / "raw_piper.py"),
        str(sentences),
        "--jobs",
        str(jobs),
        "--threads",
        str(threads),
        "--output",
        str(output),
    ]


def write_ray_folder(folder: Path, smoke: bool) -> Path:
    """A folder of short generated reviews (a show), the same on every run."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(1, RAY_FOLDER_REVIEWS + 1):
        if smoke:
            text = corpus.plain_text(f"Review {number}", [corpus.Chapter("Verdict", (f"Review {number} is short.",))])
        else:
            chapters = corpus.generate_book(
                RAY_REVIEW_CHAPTERS, RAY_REVIEW_WORDS_PER_CHAPTER, seed=corpus.SEED + 10 + number
            )
            text = corpus.plain_text(f"Review {number}", chapters)
        (folder / f"review-{number}.txt").write_text(text, encoding="utf-8")
    return folder
