"""Readers describe what they found as drafts; this module turns drafts into the frozen model.

Both readers (plain text, Markdown) share the rules that matter to every writer: unique,
file-safe, XML-safe ids; sentence ids that can never clash with chapter ids; and the split of
every paragraph into sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reviewpub.document import Block, Chapter, ChapterRole, ListBlock, Paragraph, Quote, Sentence, Span
from reviewpub.reading.sentences import WHITESPACE_RUN, normalize_spans, split_spans
from reviewpub.reading.slugs import IdMaker

UNTITLED = "Untitled"
"""The title of a heading with no text left (``#`` alone, or only removed characters)."""
INTRODUCTION_TITLE = "Introduction"
"""The chapter made of the text before the first heading (both readers)."""
FAQ_CHAPTER_TITLE = "Frequently Asked Questions"
"""The chapter a run of questions becomes when the review gave it no heading of its own."""
FAQ_TITLE = re.compile(
    r"^(?:faqs?|f\.a\.q\.?s?|frequently asked questions(?:\s*\(faqs?\))?|common questions|your questions answered"
    r"|questions(?:\s*(?:and|&)\s*answers)?|q\s*&\s*a)\s*:?$",
    re.IGNORECASE,
)
"""Headings that name a FAQ ("FAQ", "Q&A", "Questions and answers"): questions under them are sections."""


@dataclass
class DraftBlock:
    """A block as a reader found it: kind plus styled text, not yet split into sentences."""

    kind: str
    """``paragraph``, ``list``, ``ordered`` or ``quote``."""
    parts: list[list[Span]]
    """One entry for a paragraph; one per item for a list; one per paragraph for a quote."""


@dataclass
class DraftSection:
    """A chapter or section as a reader found it."""

    title: str
    role: ChapterRole = ChapterRole.CHAPTER
    title_spans: list[Span] | None = None
    blocks: list[DraftBlock] = field(default_factory=list)
    children: list[DraftSection] = field(default_factory=list)

    def has_text(self) -> bool:
        """Whether this section or a child holds any body text."""
        return any(any(text_of(part).strip() for part in block.parts) for block in self.blocks) or any(
            child.has_text() for child in self.children
        )


def text_of(spans: list[Span]) -> str:
    """The plain text of some spans."""
    return "".join(span.text for span in spans)


def normalize_title(title: str) -> str:
    """A title on one line: whitespace runs collapsed, ends trimmed."""
    return WHITESPACE_RUN.sub(" ", title).strip()


def assemble(sections: list[DraftSection]) -> tuple[Chapter, ...]:
    """Frozen chapters from drafts, with ids unique across the document."""
    ids = IdMaker()
    counter = iter(range(1, 1_000_000_000))

    def build(draft: DraftSection) -> Chapter:
        number = next(counter)
        title = normalize_title(draft.title) or UNTITLED
        chapter_id = ids.make(title, f"chapter-{number}")
        heading_spans = normalize_spans(draft.title_spans or [Span(title)]) or [Span(title)]
        sentence_numbers = iter(range(1, 1_000_000_000))

        def sentences(spans: list[Span]) -> tuple[Sentence, ...]:
            return tuple(
                Sentence(id=f"{chapter_id}_s{next(sentence_numbers)}", spans=pieces) for pieces in split_spans(spans)
            )

        blocks: list[Block] = []
        for block in draft.blocks:
            if block.kind == "paragraph":
                found = sentences(block.parts[0])
                if found:
                    blocks.append(Paragraph(found))
            elif block.kind in ("list", "ordered"):
                items = tuple(item for item in (sentences(part) for part in block.parts) if item)
                if items:
                    blocks.append(ListBlock(items, ordered=block.kind == "ordered"))
            else:
                paragraphs = tuple(Paragraph(found) for found in (sentences(part) for part in block.parts) if found)
                if paragraphs:
                    blocks.append(Quote(paragraphs))
        return Chapter(
            id=chapter_id,
            title=title,
            heading=Sentence(id=f"{chapter_id}_h", spans=tuple(heading_spans)),
            blocks=tuple(blocks),
            children=tuple(build(child) for child in draft.children),
            role=draft.role,
        )

    return tuple(build(section) for section in sections)
