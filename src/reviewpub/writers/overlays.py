"""EPUB 3 Media Overlays: SMIL files pairing each sentence id with its clip of the narration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reviewpub.narration.model import ChapterNarration, Narration

ACTIVE_CLASS = "-epub-media-overlay-active"
"""The class a reading system puts on the sentence being read (``media:active-class``)."""


@dataclass(frozen=True)
class ReadAloud:
    """What turns an EPUB into a read-aloud EPUB: the narration and its chapter MP3s."""

    narration: Narration
    chapter_audio: Mapping[str, Path]
    """chapter id → the chapter's MP3, embedded in the EPUB."""
    narrator: str
    lexicon: Path | None = None
    """A pronunciation lexicon to ship (converted to W3C PLS) and link from the chapters."""


def clock(seconds: float) -> str:
    """A SMIL clock value with millisecond precision: ``0:01:02.345``."""
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def render_overlay(chapter: ChapterNarration, text_file: str, audio_file: str) -> str:
    """The SMIL document of one chapter: a ``<par>`` per sentence, in reading order."""
    pars = []
    for index, clip in enumerate(chapter.clips, start=1):
        begin = clock(chapter.seconds(clip.start_sample))
        end = clock(chapter.seconds(clip.end_sample))
        pars.append(
            f'<par id="par{index}"><text src="{text_file}#{clip.sentence_id}"/>'
            f'<audio src="{audio_file}" clipBegin="{begin}" clipEnd="{end}"/></par>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<smil xmlns="http://www.w3.org/ns/SMIL" xmlns:epub="http://www.idpf.org/2007/ops" version="3.0">\n'
        f'<body>\n<seq id="seq1" epub:textref="{text_file}" epub:type="chapter">\n'
        + "\n".join(pars)
        + "\n</seq>\n</body>\n</smil>\n"
    )
