"""A review's text on its listening page: every sentence in an element carrying its id, and when it is spoken.

Apart from ``site.py`` because this is the part that must agree with the read-aloud EPUB: the
same sentence ids, and the overlay clips' timings shifted onto the whole-review MP3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reviewpub.document import Chapter, ListBlock, Paragraph, Sentence
from reviewpub.writers.chapters import chapter_spans
from reviewpub.writers.overlays import overlay_clips
from reviewpub.writers.site_html import escape
from reviewpub.writers.xhtml import render_span

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.narration.model import Narration


def sentence_timings(document: Document, narration: Narration) -> list[tuple[str, float, float]]:
    """(sentence id, start s, end s) of every narrated sentence in the whole-review audio.

    The read-aloud EPUB's clips (``overlay_clips``: they tile each chapter's audio), shifted by
    where each chapter starts in the whole-review MP3 (the spans of its chapter marks).
    """
    sentence_ids = {sentence.id for sentence in document.sentences()}
    timings = []
    for chapter, (start_s, _) in zip(narration.chapters, chapter_spans(narration)):
        for clip in overlay_clips(chapter, sentence_ids):
            timings.append(
                (clip.sentence_id, round(start_s + clip.begin_ms / 1000, 3), round(start_s + clip.end_ms / 1000, 3))
            )
    return timings


def render_sentence(sentence: Sentence, anchors: dict[str, str]) -> str:
    """A sentence as ``<span class="sentence" id>``: the unit the player highlights."""
    inner = "".join(render_span(span, anchors) for span in sentence.spans)
    return f'<span class="sentence" id="{escape(sentence.id)}">{inner}</span>'


def render_text_section(chapter: Chapter, depth: int, anchors: dict[str, str]) -> list[str]:
    """A chapter (``<h2>``) or section (``<h3>`` and down) with its blocks, as HTML."""
    level = min(depth + 1, 6)
    lines = [
        f'<section id="{escape(chapter.id)}" aria-labelledby="{escape(chapter.heading.id)}">',
        f"<h{level}>{render_sentence(chapter.heading, anchors)}</h{level}>",
    ]

    def sentences(items: Sequence[Sentence]) -> str:
        return " ".join(render_sentence(sentence, anchors) for sentence in items)

    for block in chapter.blocks:
        if isinstance(block, Paragraph):
            lines.append(f"<p>{sentences(block.sentences)}</p>")
        elif isinstance(block, ListBlock):
            tag = "ol" if block.ordered else "ul"
            items = "\n".join(f"<li>{sentences(item)}</li>" for item in block.items)
            lines.append(f"<{tag}>\n{items}\n</{tag}>")
        else:
            paragraphs = "\n".join(f"<p>{sentences(paragraph.sentences)}</p>" for paragraph in block.paragraphs)
            lines.append(f"<blockquote>\n{paragraphs}\n</blockquote>")
    for child in chapter.children:
        lines += render_text_section(child, depth + 1, anchors)
    lines.append("</section>")
    return lines


def page_anchors(document: Document) -> dict[str, str]:
    """Every chapter and sentence id → "" : on one page an in-text link is just ``#id``."""
    anchors: dict[str, str] = {}
    for chapter in document.walk():
        anchors[chapter.id] = ""
        for sentence in (chapter.heading, *chapter.body_sentences()):
            anchors[sentence.id] = ""
    return anchors
