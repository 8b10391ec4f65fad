"""The Document model every reader builds and every writer reads.

A Document is metadata plus an ordered tree of chapters; a chapter holds blocks (paragraphs,
lists, quotes) whose text is split into sentences, the unit of narration and of read-aloud
sync. Everything is frozen: writers and narration never change the text they quote.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
"""Characters XML 1.0 forbids (C0 controls but tab, LF and CR; lone surrogates; U+FFFE/U+FFFF), plus
C1 controls: the readers drop them from a Document's text, the writers from anything else they quote."""


def counted(number: int, noun: str) -> str:
    """``1 chapter``, ``8 chapters``: a count with its noun in the right number."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


@dataclass(frozen=True)
class Span:
    """A run of text with one inline style; a sentence is a tuple of spans."""

    text: str
    emphasis: bool = False
    """Rendered as ``<em>``."""
    strong: bool = False
    """Rendered as ``<strong>``."""
    code: bool = False
    """Rendered as ``<code>``."""
    href: str | None = None
    """A link target, rendered as ``<a href>``."""


@dataclass(frozen=True)
class Sentence:
    """One sentence: the smallest piece that is narrated and highlighted on its own."""

    id: str
    """Unique in the document and a valid XML id (starts with a letter)."""
    spans: tuple[Span, ...]

    @property
    def text(self) -> str:
        """The sentence as plain text, exactly as the source wrote it."""
        return "".join(span.text for span in self.spans)

    @classmethod
    def plain(cls, id: str, text: str) -> Sentence:
        """A sentence with no inline styling."""
        return cls(id=id, spans=(Span(text),))


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of body text."""

    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class ListBlock:
    """A bulleted (or numbered) list; each item is a tuple of sentences."""

    items: tuple[tuple[Sentence, ...], ...]
    ordered: bool = False


@dataclass(frozen=True)
class Quote:
    """A block quotation made of paragraphs."""

    paragraphs: tuple[Paragraph, ...]


Block = Paragraph | ListBlock | Quote


def block_sentences(block: Block) -> Iterator[Sentence]:
    """The sentences of one block, in reading order."""
    if isinstance(block, Paragraph):
        yield from block.sentences
    elif isinstance(block, ListBlock):
        for item in block.items:
            yield from item
    else:
        for paragraph in block.paragraphs:
            yield from paragraph.sentences


class ChapterRole(str, enum.Enum):
    """What a chapter is, so writers can pick ``epub:type`` and narration its pauses."""

    INTRODUCTION = "introduction"
    CHAPTER = "chapter"
    SECTION = "section"
    FAQ = "faq"
    QUESTION = "question"


@dataclass(frozen=True)
class Chapter:
    """A chapter (top level) or a section inside one (``children``)."""

    id: str
    """Stable slug from the title, unique in the document, a valid XML id and file name."""
    title: str
    """The heading as plain text (numbers of FAQ questions removed)."""
    heading: Sentence
    """The heading as a sentence, so it is narrated and synchronised like body text."""
    blocks: tuple[Block, ...] = ()
    children: tuple[Chapter, ...] = ()
    role: ChapterRole = ChapterRole.CHAPTER

    def walk(self) -> Iterator[Chapter]:
        """This chapter, then every descendant, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def body_sentences(self) -> Iterator[Sentence]:
        """The sentences of this chapter's own blocks, not of its children."""
        for block in self.blocks:
            yield from block_sentences(block)

    def all_sentences(self) -> Iterator[Sentence]:
        """Every sentence in reading order, headings included, children included."""
        for chapter in self.walk():
            yield chapter.heading
            yield from chapter.body_sentences()

    @property
    def words(self) -> int:
        """Words of body text in this chapter and its children (headings not counted)."""
        return sum(len(sentence.text.split()) for chapter in self.walk() for sentence in chapter.body_sentences())


@dataclass(frozen=True)
class Rating:
    """A score exactly as the reviewer gave it: never invented, never rescaled."""

    value: float
    best: float = 5.0
    """The top of the scale (``bestRating``); the bottom is taken as 0 unless ``worst`` says."""
    worst: float = 0.0

    def __str__(self) -> str:
        """``4/5``, ``8.5/10``: how readers and feeds show it."""
        return f"{self.value:g}/{self.best:g}"


@dataclass(frozen=True)
class Metadata:
    """What the package, the tags and the feed say about the document."""

    title: str
    subtitle: str | None = None
    author: str | None = None
    language: str = "en"
    """A BCP 47 tag such as ``en`` or ``en-GB``."""
    date: str | None = None
    """Publication date as ISO 8601 (``2024-01-19``)."""
    description: str | None = None
    publisher: str | None = None
    rights: str | None = None
    cover: Path | None = None
    """The user's cover image; ``None`` means one is generated from the title."""
    identifier: str = ""
    """A stable ``urn:uuid:`` derived from the source, so rebuilds keep the same id."""
    modified: dt.datetime = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    """``dcterms:modified``: from ``SOURCE_DATE_EPOCH`` or the source's mtime."""
    item: str | None = None
    """What the review is about (schema.org ``itemReviewed`` name), e.g. ``The ISS``."""
    item_type: str | None = None
    """The schema.org type of ``item``: Movie, Book, Product, Restaurant, MusicAlbum, ..."""
    rating: Rating | None = None
    """The reviewer's score, from front matter or a detected ``Rating: 4/5`` line; ``None`` if none."""

    @property
    def review_line(self) -> str | None:
        """``Review of The ISS (Place) — rated 4/5.``: what feeds and outlines say was reviewed; ``None`` if nothing."""
        if self.item is None and self.rating is None:
            return None
        kind = f" ({self.item_type})" if self.item_type else ""
        reviewed = f"Review of {self.item}{kind}" if self.item else ""
        rated = f"rated {self.rating}" if self.rating else ""
        if reviewed and rated:
            return f"{reviewed} — {rated}."
        return f"{reviewed or rated[:1].upper() + rated[1:]}."

    def replace(self, **changes: Any) -> Metadata:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Decision:
    """Why a line of the source was, or was not, taken as a heading (``outline --explain``)."""

    line: int
    """1-based line number in the source."""
    text: str
    verdict: str
    """``"title"``, ``"heading"``, ``"subheading"``, ``"question"``, ``"body"`` or ``"rating"`` (a rating line)."""
    rule: str
    """The rule that decided, in words a user can act on."""


@dataclass(frozen=True)
class Document:
    """A parsed review: metadata and chapters, ready for every writer."""

    metadata: Metadata
    chapters: tuple[Chapter, ...]
    name: str
    """Base name for outputs (``iss-review`` for ``source/iss-review.txt``)."""
    source: Path | None = None
    decisions: tuple[Decision, ...] = field(default=(), compare=False)

    def walk(self) -> Iterator[Chapter]:
        """Every chapter and section, depth first."""
        for chapter in self.chapters:
            yield from chapter.walk()

    def sentences(self) -> Iterator[Sentence]:
        """Every sentence of the document, headings included, in reading order."""
        for chapter in self.chapters:
            yield from chapter.all_sentences()

    @property
    def words(self) -> int:
        """Words of body text in the whole document."""
        return sum(chapter.words for chapter in self.chapters)

    def outline(self) -> dict[str, Any]:
        """The chapter tree as plain data (``outline --format json``)."""

        def node(chapter: Chapter) -> dict[str, Any]:
            return {
                "title": chapter.title,
                "id": chapter.id,
                "role": chapter.role.value,
                "words": chapter.words,
                "sentences": sum(1 for _ in chapter.body_sentences()),
                "children": [node(child) for child in chapter.children],
            }

        return {
            "title": self.metadata.title,
            "author": self.metadata.author,
            "language": self.metadata.language,
            "item": self.metadata.item,
            "item_type": self.metadata.item_type,
            "rating": dataclasses.asdict(self.metadata.rating) if self.metadata.rating else None,
            "words": self.words,
            "chapters": [node(chapter) for chapter in self.chapters],
        }

    def outline_text(self) -> str:
        """The chapter tree as indented text with word counts (``outline --format text``)."""
        lines = [self.metadata.title]
        if self.metadata.author:
            lines.append(f"by {self.metadata.author}")
        if self.metadata.review_line:
            lines.append(self.metadata.review_line)
        lines.append(f"{counted(len(self.chapters), 'chapter')}, {counted(self.words, 'word')}")
        lines.append("")

        def add(chapter: Chapter, depth: int, number: str) -> None:
            words = counted(chapter.words, "word")
            lines.append(f"{'  ' * depth}{number} {chapter.title}  ({words})")
            for index, child in enumerate(chapter.children, start=1):
                add(child, depth + 1, f"{number}{index}.")

        for index, chapter in enumerate(self.chapters, start=1):
            add(chapter, 0, f"{index}.")
        return "\n".join(lines)
