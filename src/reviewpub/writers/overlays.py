"""EPUB 3 Media Overlays: SMIL files pairing each sentence id with its clip of the narration.

A reading system plays an overlay clip by clip, so any audio between two clips would be
skipped. Clips therefore tile the chapter's audio without a gap: a sentence's clip starts
where its speech starts and runs until the next sentence starts (the pause after it stays
with it, highlighted), the first starts at 0 and the last ends with the file. Times are
whole milliseconds rounded down from sample positions, so a clip never ends past the audio.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.errors import WriterError
from reviewpub.narration.model import ChapterNarration, Narration

if TYPE_CHECKING:
    from reviewpub.narration.lexicon import Lexicon

ACTIVE_CLASS = "-epub-media-overlay-active"
"""The class a reading system puts on the sentence being read (``media:active-class``)."""
ACTIVE_CLASS_CSS = (
    "\n/* The sentence being read aloud (media:active-class): a highlight that keeps the reader's font. */\n"
    f".{ACTIVE_CLASS} {{ background-color: #fff3a8; color: #1a1a1a; border-radius: 0.2em; }}\n"
)
"""Appended to the stylesheet of read-aloud EPUBs only (EPUBCheck flags the class otherwise)."""
AUDIO_LENGTH_TOLERANCE_S = 0.25
"""How far an MP3's length may stray from its narration (encoder frames) before it is the wrong file."""


@dataclass(frozen=True)
class ReadAloud:
    """What turns an EPUB into a read-aloud EPUB: the narration and its chapter MP3s."""

    narration: Narration
    chapter_audio: Mapping[str, Path]
    """chapter id → the chapter's MP3, embedded in the EPUB."""
    narrator: str
    """Who or what reads (``media:narrator``), e.g. ``espeak (en-us)``."""
    lexicon: Lexicon | None = None
    """The pronunciation lexicon narration used, shipped as PLS and linked from the chapters."""


@dataclass(frozen=True)
class OverlayClip:
    """One ``<par>``: a sentence and the stretch of chapter audio that reads it."""

    sentence_id: str
    begin_ms: int
    end_ms: int


def clock(milliseconds: int) -> str:
    """A SMIL clock value with millisecond precision: ``0:01:02.345``."""
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def milliseconds(chapter: ChapterNarration, sample: int) -> int:
    """A sample position as whole milliseconds, rounded down."""
    return sample * 1000 // chapter.sample_rate


def overlay_clips(chapter: ChapterNarration, sentence_ids: Collection[str]) -> tuple[OverlayClip, ...]:
    """The chapter's clips tiling its audio from 0 to its end, in narration order.

    Raises:
        WriterError: the narration does not belong to this chapter's text (unknown sentence
            ids, clips out of order or past the end): it is stale and must be rebuilt.
    """
    if not chapter.clips:
        raise WriterError(f"chapter {chapter.number} {chapter.title!r}: the narration has no clips; narrate it again")
    unknown = [clip.sentence_id for clip in chapter.clips if clip.sentence_id not in sentence_ids]
    if unknown:
        raise WriterError(
            f"chapter {chapter.number} {chapter.title!r}: the narration reads sentences the text does not "
            f"have ({unknown[0]}); narrate the current text again"
        )
    if chapter.clips[-1].end_sample > chapter.sample_count:
        raise WriterError(f"chapter {chapter.number} {chapter.title!r}: a clip ends after the audio; narrate it again")
    in_order = all(clip.start_sample < clip.end_sample for clip in chapter.clips) and all(
        later.start_sample >= earlier.end_sample for earlier, later in zip(chapter.clips, chapter.clips[1:])
    )
    starts = [0] + [milliseconds(chapter, clip.start_sample) for clip in chapter.clips[1:]]
    ends = [*starts[1:], milliseconds(chapter, chapter.sample_count)]
    clips = tuple(OverlayClip(clip.sentence_id, begin, end) for clip, begin, end in zip(chapter.clips, starts, ends))
    if not in_order or any(clip.end_ms <= clip.begin_ms for clip in clips):
        raise WriterError(
            f"chapter {chapter.number} {chapter.title!r}: the narration's clips overlap or are out of "
            "order; narrate it again"
        )
    return clips


def render_overlay(
    clips: tuple[OverlayClip, ...], text_file: str, audio_file: str, *, epub_type: str = "chapter"
) -> str:
    """The SMIL document of one chapter: a ``<par>`` per sentence, in reading order."""
    pars = [
        f'<par id="par{index}"><text src="{text_file}#{clip.sentence_id}"/>'
        f'<audio src="{audio_file}" clipBegin="{clock(clip.begin_ms)}" clipEnd="{clock(clip.end_ms)}"/></par>'
        for index, clip in enumerate(clips, start=1)
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<smil xmlns="http://www.w3.org/ns/SMIL" xmlns:epub="http://www.idpf.org/2007/ops" version="3.0">\n'
        f'<body>\n<seq id="seq1" epub:textref="{text_file}" epub:type="{epub_type}">\n'
        + "\n".join(pars)
        + "\n</seq>\n</body>\n</smil>\n"
    )


def read_chapter_audio(path: Path, chapter: ChapterNarration) -> bytes:
    """The chapter's MP3 bytes, after checking the file is an MP3 as long as its narration.

    Raises:
        WriterError: the file is missing, not an MP3, or of another length (a stale file).
    """
    from mutagen import MutagenError
    from mutagen.mp3 import MP3

    try:
        content = Path(path).read_bytes()
        info = MP3(path).info
    except (OSError, MutagenError) as error:
        raise WriterError(
            f"{path}: cannot embed the audio of chapter {chapter.number} ({error}); write the chapter MP3s again"
        ) from None
    if info is None:
        raise WriterError(
            f"{path}: cannot embed the audio of chapter {chapter.number} (not an MP3); write the chapter MP3s again"
        )
    length_s = info.length
    if abs(length_s - chapter.duration_s) > AUDIO_LENGTH_TOLERANCE_S:
        raise WriterError(
            f"{path}: the MP3 lasts {length_s:.2f} s but chapter {chapter.number}'s narration "
            f"{chapter.duration_s:.2f} s; write the chapter MP3s again"
        )
    return content
