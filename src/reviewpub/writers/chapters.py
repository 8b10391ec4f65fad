"""Podcasting 2.0 JSON chapters (``chapters.json``) for the whole-book audio.

The format is the podcast namespace's JSON chapters, version 1.2.0: ``{"version": "1.2.0",
"chapters": [{"startTime": 0, "endTime": 61.2, "title": "Introduction"}]}``, times in
seconds from the start of the whole-book file. The same chapter spans give the M4B's and the
book MP3's chapter marks, so every player sees the same boundaries.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.files import atomic_write

if TYPE_CHECKING:
    from reviewpub.narration.model import Narration

CHAPTERS_VERSION = "1.2.0"
CHAPTERS_MEDIA_TYPE = "application/json+chapters"
"""The ``type`` of ``podcast:chapters`` for this format."""


def chapter_spans(narration: Narration) -> list[tuple[float, float]]:
    """(start, end) in seconds of each chapter inside the whole-book audio.

    Summed as exact fractions of samples, so the last chapter's end is the book's length to
    the sample however many chapters there are.
    """
    spans: list[tuple[float, float]] = []
    position = Fraction(0)
    for chapter in narration.chapters:
        end = position + Fraction(chapter.sample_count, chapter.sample_rate)
        spans.append((float(position), float(end)))
        position = end
    return spans


def chapter_spans_ms(narration: Narration) -> list[tuple[int, int]]:
    """(start, end) of each chapter in whole milliseconds, as ID3 CHAP and FFMETADATA want."""
    return [(round(start * 1000), round(end * 1000)) for start, end in chapter_spans(narration)]


def render_chapters_json(narration: Narration) -> str:
    """The JSON chapters document, deterministic and ending in a newline."""
    chapters = [
        {"startTime": round(start, 3), "endTime": round(end, 3), "title": chapter.title}
        for chapter, (start, end) in zip(narration.chapters, chapter_spans(narration))
    ]
    return json.dumps({"version": CHAPTERS_VERSION, "chapters": chapters}, ensure_ascii=False, indent=1) + "\n"


def write_chapters_json(narration: Narration, path: Path) -> Path:
    """Write the Podcasting 2.0 chapters of the whole-book audio to ``path`` (UTF-8 JSON)."""
    with atomic_write(Path(path)) as handle:
        handle.write(render_chapters_json(narration).encode("utf-8"))
    return Path(path)
