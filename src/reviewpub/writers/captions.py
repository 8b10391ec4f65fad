"""WebVTT and SRT captions per chapter: one cue per sentence, times from the narration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.files import atomic_write

if TYPE_CHECKING:
    from reviewpub.narration.model import ChapterNarration, Narration


def timestamp(seconds: float, separator: str) -> str:
    """``HH:MM:SS.mmm`` (``,`` instead of ``.`` for SRT)."""
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def cue_text(text: str) -> str:
    """Cue text escaped per WebVTT (``&``, ``<``, ``>``) and on one line."""
    return " ".join(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split())


def render_vtt(chapter: ChapterNarration) -> str:
    """The WebVTT file of a chapter."""
    lines = ["WEBVTT", f"NOTE {cue_text(chapter.title)}", ""]
    for number, clip in enumerate(chapter.clips, start=1):
        lines += [str(number), f"{timestamp(chapter.seconds(clip.start_sample), '.')} --> "
                  f"{timestamp(chapter.seconds(clip.end_sample), '.')}", cue_text(clip.text), ""]
    return "\n".join(lines)


def render_srt(chapter: ChapterNarration) -> str:
    """The SRT file of a chapter."""
    lines = []
    for number, clip in enumerate(chapter.clips, start=1):
        lines += [str(number), f"{timestamp(chapter.seconds(clip.start_sample), ',')} --> "
                  f"{timestamp(chapter.seconds(clip.end_sample), ',')}", " ".join(clip.text.split()), ""]
    return "\n".join(lines)


def write_captions(narration: Narration, folder: Path) -> list[Path]:
    """Write ``NN-<chapter>.vtt`` and ``.srt`` for every chapter into ``folder``."""
    written = []
    for chapter in narration.chapters:
        for suffix, render in ((".vtt", render_vtt), (".srt", render_srt)):
            path = Path(folder) / f"{chapter.file_stem}{suffix}"
            with atomic_write(path) as handle:
                handle.write(render(chapter).encode("utf-8"))
            written.append(path)
    return written
