"""Podcasting 2.0 JSON chapters for the whole-book audio."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.files import atomic_write

if TYPE_CHECKING:
    from reviewpub.narration.model import Narration


def chapter_starts(narration: Narration) -> list[tuple[float, float]]:
    """(start, end) in seconds of each chapter inside the whole-book audio."""
    spans = []
    position = 0.0
    for chapter in narration.chapters:
        spans.append((position, position + chapter.duration_s))
        position += chapter.duration_s
    return spans


def write_chapters_json(narration: Narration, path: Path) -> Path:
    """Write ``{"version": "1.2.0", "chapters": [{"startTime", "endTime", "title"}]}``."""
    chapters = [
        {"startTime": round(start, 3), "endTime": round(end, 3), "title": chapter.title}
        for chapter, (start, end) in zip(narration.chapters, chapter_starts(narration))
    ]
    with atomic_write(Path(path)) as handle:
        handle.write(json.dumps({"version": "1.2.0", "chapters": chapters}, ensure_ascii=False, indent=1).encode("utf-8"))
    return Path(path)
