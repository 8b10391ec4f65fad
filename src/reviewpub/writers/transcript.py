"""Whole-review transcripts, for the show feed's episode (the whole-review MP3).

The per-chapter captions time each chapter from its own start; an episode is the whole
review, so ``transcript.vtt`` shifts each chapter's cues by where the chapter starts in the
whole-review audio (the same spans as ``chapters.json`` and the MP3's chapter marks).
``transcript.txt`` is the review as plain text, headings and paragraphs, for apps and
people who want to read rather than follow.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.document import block_sentences
from reviewpub.files import atomic_write
from reviewpub.layout import TRANSCRIPT_TEXT_NAME, TRANSCRIPT_VTT_NAME
from reviewpub.writers.captions import chapter_cues, escape_cue_text, one_line, timestamp
from reviewpub.writers.chapters import chapter_spans_ms

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.narration.model import Narration


def render_review_vtt(document: Document, narration: Narration) -> str:
    """WebVTT for the whole-review audio: every chapter's cues, shifted to where it starts."""
    lines = ["WEBVTT", "", f"NOTE {escape_cue_text(one_line(document.metadata.title))}", ""]
    number = 0
    previous_end_ms = 0
    for chapter, (start_ms, _) in zip(narration.chapters, chapter_spans_ms(narration)):
        for cue in chapter_cues(chapter):
            # Rounding each chapter's start may pull a cue back before the last one ended.
            cue_start_ms = max(start_ms + cue.start_ms, previous_end_ms)
            cue_end_ms = max(start_ms + cue.end_ms, cue_start_ms + 1)
            previous_end_ms = cue_end_ms
            number += 1
            lines += [
                str(number),
                f"{timestamp(cue_start_ms, '.')} --> {timestamp(cue_end_ms, '.')}",
                escape_cue_text(cue.text),
                "",
            ]
    return "\n".join(lines)


def render_review_text(document: Document) -> str:
    """The review as plain text: the title, then each heading and its paragraphs."""
    parts = [one_line(document.metadata.title)]
    for chapter in document.walk():
        if one_line(chapter.title) != parts[-1]:  # a review without headings is one chapter named as it is
            parts.append(one_line(chapter.title))
        for block in chapter.blocks:
            parts.append(one_line(" ".join(sentence.text for sentence in block_sentences(block))))
    return "\n\n".join(part for part in parts if part) + "\n"


def write_review_transcripts(document: Document, narration: Narration, folder: Path) -> list[Path]:
    """Write ``transcript.vtt`` and ``transcript.txt`` (UTF-8) into ``folder`` (``output/NAME``)."""
    written = []
    for name, content in (
        (TRANSCRIPT_VTT_NAME, render_review_vtt(document, narration)),
        (TRANSCRIPT_TEXT_NAME, render_review_text(document)),
    ):
        path = Path(folder) / name
        with atomic_write(path) as handle:
            handle.write(content.encode("utf-8"))
        written.append(path)
    return written
