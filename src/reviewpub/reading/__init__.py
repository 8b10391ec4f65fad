"""Source file → Document: decode, pick a reader by suffix, resolve metadata, build the model.

``read_document`` is the whole of the first pipeline stage: everything after it (narration,
writers) sees only the frozen Document and never the source file.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reviewpub.document import ChapterRole, Decision, Document
from reviewpub.errors import SourceError
from reviewpub.files import reproducible_timestamp
from reviewpub.reading.decoding import clean_text, decode_text, read_source_bytes
from reviewpub.reading.metadata import build_metadata, cli_layer, front_matter_layer, resolve_metadata
from reviewpub.reading.ratings import RatingLine, detected_rating
from reviewpub.reading.sentences import WHITESPACE_RUN
from reviewpub.reading.slugs import document_name
from reviewpub.reading.structure import DraftSection, assemble

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
PLAIN_FRONT_MATTER = re.compile(r"---[ \t]*\n(?P<content>.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
FRONT_MATTER_LINE = re.compile(r"[a-z_][a-z0-9_-]*[ \t]*:(?:[ \t]|$)|[ \t]|-[ \t]|#")
"""A line of plain-text front matter: a lowercase key, a list item, an indented or a comment line."""
IDENTIFIER_NAMESPACE = uuid.UUID("5b0c3a52-5e0f-4f7e-9c1e-7265766965ff")
"""Namespace of the ``urn:uuid:`` identifiers: uuid5(namespace, name + title) never changes
while the file name and the title stay the same, whatever happens to the body."""

__all__ = ["document_identifier", "document_name", "read_document"]


def read_document(path: Path, overrides: Mapping[str, Any] | None = None) -> Document:
    """Read a plain-text or Markdown review into a Document.

    Args:
        path: the review; ``.md``/``.markdown`` are read as Markdown, anything else as plain text.
        overrides: Metadata fields from the command line (title, author, language, cover, ...);
            ``None`` values mean "not given". They win over front matter, which wins over what
            the text implies (its first line or heading), which wins over the defaults.

    Raises:
        SourceError: the file is missing, unreadable, empty, binary, undecodable or has no body text.
        SettingsError: a metadata value (language, cover, date) is invalid.
    """
    path = Path(path)
    command_line = cli_layer(overrides)
    text = decode_text(read_source_bytes(path), path)
    name = document_name(path)
    fallback_title = title_from_file_name(path)
    front: dict[str, Any] = {}
    if path.suffix.lower() in MARKDOWN_SUFFIXES:
        from reviewpub.reading.markdown import parse_markdown

        parsed_markdown = parse_markdown(text, str(path))
        implied_title = parsed_markdown.title or fallback_title
        front = front_matter_layer(parsed_markdown.front_matter, path)
        sections, decisions = parsed_markdown.sections, parsed_markdown.decisions
        rating_lines = parsed_markdown.rating_lines
    else:
        from reviewpub.reading.plaintext import parse_plain_text

        text, plain_front = split_plain_front_matter(text, str(path))
        front = front_matter_layer(plain_front, path)
        parsed = parse_plain_text(text, fallback_title)
        implied_title = parsed.title
        sections, decisions = parsed.sections, parsed.decisions
        rating_lines = parsed.rating_lines
    implied: dict[str, Any] = {"title": implied_title, "rating": None}
    decisions += rating_decisions(rating_lines, implied, given=front.get("rating") or command_line.get("rating"))
    layers = [{"title": fallback_title}, implied, front, command_line]
    values = resolve_metadata([clean_layer(layer) for layer in layers], source=path)
    title = values["title"]
    if not any(section.has_text() for section in sections):
        raise SourceError(f"{path}: no body text after the title; add paragraphs under the title and headings")
    if name_single_chapter(sections, title):
        decisions.append(
            Decision(1, title, "title", "no headings found: the whole review is one chapter named after its title")
        )
    metadata = build_metadata(
        values, identifier=document_identifier(name, title), modified=reproducible_timestamp(path)
    )
    return Document(
        metadata=metadata,
        chapters=assemble(sections),
        name=name,
        source=path,
        decisions=tuple(sorted(decisions, key=lambda decision: decision.line)),
    )


def split_plain_front_matter(text: str, path: str) -> tuple[str, dict[str, Any]]:
    """A plain-text review's YAML front matter, and its text with those lines left blank.

    Only a block that plainly is front matter counts: ``---`` on the first line, ``---`` (or
    ``...``) closing it, and every line inside a lowercase ``key: value`` (or a list item, an
    indented or a comment line). An overlined title (``---``, ``Title: Subtitle``, ``---``)
    is capitalised, so it stays the title. Blank lines keep the line numbers of ``--explain``.
    """
    match = PLAIN_FRONT_MATTER.match(text)
    if match is None:
        return text, {}
    lines = [line for line in match.group("content").split("\n") if line.strip()]
    if not lines or not all(FRONT_MATTER_LINE.match(line) for line in lines):
        return text, {}
    from reviewpub.reading.front_matter import load_front_matter

    front = load_front_matter(match.group("content"), path)
    return "\n" * match.group(0).count("\n") + text[match.end() :], front


def rating_decisions(lines: list[RatingLine], implied: dict[str, Any], *, given: Any) -> list[Decision]:
    """Put the text's agreed rating into the ``implied`` layer; why each rating line counted or not.

    Front matter or the command line win over a detected line; the decision says so.
    """
    rating, decisions = detected_rating(lines)
    implied["rating"] = rating
    if rating is None or given is None:
        return decisions
    return [
        dataclasses.replace(
            decision, rule=f"{decision.rule}; overridden by rating {given} given in front matter or on the command line"
        )
        if decision.verdict == "rating"
        else decision
        for decision in decisions
    ]


def title_from_file_name(path: Path) -> str:
    """The title a review gets when its text gives none: ``the-zone_review.txt`` → ``The Zone Review``."""
    words = path.stem.replace("-", " ").replace("_", " ").split()
    return " ".join(word[:1].upper() + word[1:] for word in words) or "Review"


def document_identifier(name: str, title: str) -> str:
    """A ``urn:uuid:`` that stays the same across rebuilds and body edits (name and title only)."""
    return "urn:uuid:" + str(uuid.uuid5(IDENTIFIER_NAMESPACE, name + "\n" + title))


def clean_layer(layer: Mapping[str, Any]) -> dict[str, Any]:
    """A metadata layer with XML-safe, single-line strings (paths and other values untouched)."""
    return {
        key: WHITESPACE_RUN.sub(" ", clean_text(value)).strip() if isinstance(value, str) else value
        for key, value in layer.items()
    }


def name_single_chapter(sections: list[DraftSection], title: str) -> bool:
    """A review with no headings is one chapter named after the document; says whether it was."""
    if len(sections) == 1 and sections[0].role == ChapterRole.INTRODUCTION:
        sections[0].title = title
        sections[0].role = ChapterRole.CHAPTER
        return True
    return False
