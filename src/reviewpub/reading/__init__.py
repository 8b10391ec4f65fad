"""Source file → Document: decode, pick a reader by suffix, build the model."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reviewpub.document import Document
from reviewpub.errors import SourceError
from reviewpub.files import reproducible_timestamp
from reviewpub.reading.decoding import clean_text, decode_text, read_source_bytes
from reviewpub.reading.structure import DraftSection, assemble
from reviewpub.settings import build_metadata, front_matter_layer, resolve_metadata

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
IDENTIFIER_NAMESPACE = uuid.UUID("5b0c3a52-5e0f-4f7e-9c1e-7265766965ff")

__all__ = ["read_document", "document_name"]


def document_name(path: Path) -> str:
    """A file-system-safe base name for outputs: ``source/ISS Review.txt`` → ``iss-review``."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-._").lower()
    return name[:80] or "review"


def read_document(path: Path, overrides: Mapping[str, Any] | None = None) -> Document:
    """Read a plain-text or Markdown review into a Document.

    Args:
        path: the review (``.md``/``.markdown`` read as Markdown, anything else as plain text).
        overrides: Metadata fields from the command line; ``None`` values mean "not given".

    Raises:
        SourceError: the file is missing, unreadable, empty, binary or has no body text.
        SettingsError: a metadata value (language, cover, date) is invalid.
    """
    path = Path(path)
    text = decode_text(read_source_bytes(path), path)
    name = document_name(path)
    fallback_title = path.stem.replace("-", " ").replace("_", " ").strip().title() or "Review"
    implied: dict[str, Any] = {}
    front: dict[str, Any] = {}
    if path.suffix.lower() in MARKDOWN_SUFFIXES:
        from reviewpub.reading.markdown import parse_markdown

        parsed_markdown = parse_markdown(text, str(path))
        implied["title"] = parsed_markdown.title or fallback_title
        front = front_matter_layer(parsed_markdown.front_matter, path.parent)
        sections, decisions = parsed_markdown.sections, parsed_markdown.decisions
    else:
        from reviewpub.reading.plaintext import parse_plain_text

        parsed = parse_plain_text(text, fallback_title)
        implied["title"] = parsed.title
        sections, decisions = parsed.sections, parsed.decisions
    cli_layer = {key: value for key, value in (overrides or {}).items()}
    values = resolve_metadata([{"language": "en"}, implied, front, cli_layer], source=path)
    values = {key: clean_text(value) if isinstance(value, str) else value for key, value in values.items()}
    title = values["title"]
    if not any(section.has_text() for section in sections):
        raise SourceError(f"{path}: no body text after the title")
    rename_single_chapter(sections, title)
    identifier = "urn:uuid:" + str(uuid.uuid5(IDENTIFIER_NAMESPACE, name + "\n" + title))
    metadata = build_metadata(values, identifier=identifier, modified=reproducible_timestamp(path))
    return Document(
        metadata=metadata,
        chapters=assemble(sections),
        name=name,
        source=path,
        decisions=tuple(sorted(decisions, key=lambda decision: decision.line)),
    )


def rename_single_chapter(sections: list[DraftSection], title: str) -> None:
    """A review with no headings is one chapter named after the document (Markdown too)."""
    from reviewpub.document import ChapterRole

    if len(sections) == 1 and sections[0].role == ChapterRole.INTRODUCTION:
        sections[0].title = title
        sections[0].role = ChapterRole.CHAPTER
