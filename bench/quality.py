"""Narration quality: DNSMOS P.808 (a predicted listener score, 1-5) of published chapter MP3s.

DNSMOS (Microsoft's deep noise suppression MOS, the ITU-T P.808 head) comes from PyPI
``speechmos`` in the ``bench`` extra, with librosa; it wants 16 kHz mono float in [-1, 1]. The
MP3s are decoded with the same bundled ffmpeg reviewpub encodes with, exactly as a listener's
player would get them. Without the extra, ``is_available()`` is False and the bench says so.

Usage: python bench/quality.py CHAPTER.mp3 ...   (prints each chapter's score and the mean)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DNSMOS_RATE = 16000
NOT_INSTALLED = "speechmos: not installed"
"""The reference column of a quality row when the ``bench`` extra is missing."""


def is_available() -> bool:
    """Whether speechmos and librosa (its feature extractor) can be imported."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("speechmos", "librosa"))


def decode(mp3: Path) -> Any:
    """The MP3 as 16 kHz mono float32 samples in [-1, 1] (a numpy array), decoded by the bundled ffmpeg."""
    import imageio_ffmpeg
    import numpy

    completed = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-i",
            str(mp3),
            "-ac",
            "1",
            "-ar",
            str(DNSMOS_RATE),
            "-f",
            "f32le",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    # A decoder's overshoot past full scale would make speechmos refuse the array.
    return numpy.clip(numpy.frombuffer(completed.stdout, dtype=numpy.float32), -1.0, 1.0)


def p808(mp3: Path) -> float:
    """DNSMOS P.808 of one file (speechmos averages 9-second windows taken every second)."""
    from speechmos import dnsmos

    result = dnsmos.run(decode(mp3), sr=DNSMOS_RATE)
    return float(result["p808_mos"])


@dataclass(frozen=True)
class Scores:
    """The P.808 score of each chapter MP3 of one narration."""

    files: tuple[str, ...]
    p808: tuple[float, ...]

    @property
    def mean(self) -> float:
        """Mean over chapters (each chapter counts once, whatever its length)."""
        return statistics.fmean(self.p808)

    @property
    def lowest(self) -> float:
        """The worst chapter's score."""
        return min(self.p808)

    @property
    def highest(self) -> float:
        """The best chapter's score."""
        return max(self.p808)


def score(mp3s: list[Path], jobs: int = 1) -> Scores:
    """P.808 of every chapter MP3, in the order given, ``jobs`` files at a time.

    DNSMOS is slow: about 0.2 s per second of audio.
    """
    if not mp3s:
        raise ValueError("no MP3 to score")
    if jobs <= 1 or len(mp3s) == 1:
        values = [p808(path) for path in mp3s]
    else:
        import concurrent.futures

        with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(mp3s))) as pool:
            values = list(pool.map(p808, mp3s))
    return Scores(tuple(path.name for path in mp3s), tuple(round(value, 3) for value in values))


def chapter_mp3s(output: Path) -> list[Path]:
    """The chapter MP3s `reviewpub audio` published under ``output`` (``*/audio/NN-slug.mp3``), in order."""
    return sorted(output.glob("*/audio/*.mp3"))


def main() -> None:
    """Command line: score the given MP3s."""
    paths = [Path(argument) for argument in sys.argv[1:]]
    if not paths:
        raise SystemExit(__doc__)
    if not is_available():
        raise SystemExit(f"{NOT_INSTALLED} (pip install -e '.[bench]')")
    import os

    scores = score(paths, jobs=os.cpu_count() or 1)
    for name, value in zip(scores.files, scores.p808):
        print(f"{value:.3f}  {name}")
    print(f"mean {scores.mean:.3f}, lowest {scores.lowest:.3f}")


if __name__ == "__main__":
    main()
