"""A show's episodes, read from each review's published files, and the ledger of when each was first built.

Episodes are plain data read from the published files of each review (its whole-review MP3,
``chapters.json``, transcripts and artwork), never from a narration, so a review that was
kept as it was yields the very same episode. The feed writer, and any other writer of the
whole show, takes them as they are.

The date each review was first built is kept in ``output/.show.json``, the show's own ledger:
the per-review manifests belong to the staging code, which rewrites them on every command,
and a hidden file is never served. The ledger also says which reviews the show holds, so a
review removed from the folder has its episode and its files removed, and nothing else.

Apart from ``show.py`` (the show's settings, checked before anything is built) because these
are read after the reviews are built, from what the build published.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.errors import WriterError
from reviewpub.files import atomic_write
from reviewpub.layout import (
    CHAPTERS_NAME,
    COVER_NAME,
    TRANSCRIPT_TEXT_NAME,
    TRANSCRIPT_VTT_NAME,
    OutputLayout,
    ReviewLayout,
)

if TYPE_CHECKING:
    from reviewpub.document import Document

logger = logging.getLogger(__name__)

LEDGER_VERSION = 1
EPISODE_GUID_NAMESPACE = uuid.UUID("0c7f5a0e-3f4b-5d2a-9a61-72657669657e")
"""Namespace of the GUIDs derived from a review's slug: the same slug, the same GUID, for ever."""
REVIEW_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
"""What ``reading.slugs.document_name`` makes: lowercase, no leading dot, no slash."""


@dataclass(frozen=True)
class Transcript:
    """One transcript of an episode: the file (relative to the output folder) and its media type."""

    path: str
    media_type: str
    role: str | None = None
    """``captions`` for a timed transcript a player may show as captions."""


@dataclass(frozen=True)
class Episode:
    """One review as an episode of the show, read from its published files."""

    name: str
    """The review's slug: its folder is ``output/NAME/``."""
    title: str
    description: str
    guid: str
    published: dt.datetime
    audio: str
    """The whole-review MP3, relative to the output folder (``NAME/NAME.mp3``)."""
    audio_bytes: int
    duration_s: float
    artwork: str
    chapters: str
    transcripts: tuple[Transcript, ...]
    language: str
    author: str | None


def episode_guid(document: Document) -> str:
    """The front matter's ``id``, else a UUID derived from the slug alone (a new title keeps it)."""
    given = front_matter_id(document.source)
    return given or "urn:uuid:" + str(uuid.uuid5(EPISODE_GUID_NAMESPACE, document.name))


def front_matter_id(source: Path | None) -> str | None:
    """The ``id`` of a review's front matter, Markdown or plain text (the model keeps only metadata fields)."""
    from reviewpub.reading import MARKDOWN_SUFFIXES, split_plain_front_matter

    if source is None:
        return None
    from reviewpub.reading.decoding import decode_text, read_source_bytes
    from reviewpub.reading.markdown import parse_markdown

    text = decode_text(read_source_bytes(source), source)
    if source.suffix.lower() in MARKDOWN_SUFFIXES:
        value = parse_markdown(text, str(source)).front_matter.get("id")
    else:
        value = split_plain_front_matter(text, str(source))[1].get("id")
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def read_ledger(output: Path) -> dict[str, dt.datetime]:
    """review name → when it was first built, from ``output/.show.json`` (empty when unknown)."""
    path = OutputLayout(Path(output)).ledger
    try:
        data = json.loads(path.read_bytes())
        episodes = data["episodes"] if data.get("version") == LEDGER_VERSION else {}
        # Only names a review can have: an entry such as "" or "../x" must never lead a removal out.
        return {
            name: dt.datetime.fromisoformat(entry["first_built"])
            for name, entry in episodes.items()
            if isinstance(name, str) and REVIEW_NAME.fullmatch(name)
        }
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        logger.warning("%s: unreadable; first-built dates start again from this build", path)
        return {}


def write_ledger(output: Path, first_built: Mapping[str, dt.datetime]) -> Path:
    """Record the show's reviews and the date each was first built."""
    path = OutputLayout(Path(output)).ledger
    episodes = {name: {"first_built": moment.isoformat()} for name, moment in sorted(first_built.items())}
    with atomic_write(path) as handle:
        handle.write(json.dumps({"version": LEDGER_VERSION, "episodes": episodes}, indent=1).encode("utf-8") + b"\n")
    return path


def build_moment() -> dt.datetime:
    """Now, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds), to the second, in UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def first_built_dates(documents: list[Document], ledger: Mapping[str, dt.datetime]) -> dict[str, dt.datetime]:
    """The ledger for exactly these reviews: recorded dates kept, new reviews dated now."""
    moment = build_moment()
    return {document.name: ledger.get(document.name, moment) for document in documents}


def show_episodes(documents: list[Document], output: Path, first_built: Mapping[str, dt.datetime]) -> list[Episode]:
    """Every review as an episode, newest first (then by name), from its published files.

    Raises:
        WriterError: a review's whole-review MP3 or chapters are missing (build it first).
    """
    from reviewpub.writers.feed import publication_date, summary, with_review_line

    episodes = []
    for document in documents:
        metadata = document.metadata
        name = document.name
        review = ReviewLayout(Path(output), name)
        folder = review.folder
        audio = review.in_root(review.book_mp3_name)
        try:
            audio_bytes = review.book_mp3.stat().st_size
            chapters = json.loads(review.chapters_json.read_bytes())["chapters"]
            duration_s = float(chapters[-1]["endTime"]) if chapters else 0.0
        except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
            raise WriterError(
                f"{folder}: its whole-review MP3 or {CHAPTERS_NAME} is missing or unreadable "
                f"({error}); build the review again"
            ) from None
        published = publication_date(document) if metadata.date else first_built[name]
        transcripts = tuple(
            Transcript(review.in_root(file_name), media_type, role)
            for file_name, media_type, role in (
                (TRANSCRIPT_VTT_NAME, "text/vtt", "captions"),
                (TRANSCRIPT_TEXT_NAME, "text/plain", None),
            )
            if (folder / file_name).is_file()
        )
        # What was reviewed and its rating lead, from this review's metadata alone: the item
        # of a review kept as it was stays byte-identical.
        description = with_review_line(
            metadata,
            metadata.description or (summary(document.chapters[0], 3) if document.chapters else metadata.title),
        )
        episodes.append(
            Episode(
                name=name,
                title=metadata.title,
                description=description,
                guid=episode_guid(document),
                published=published,
                audio=audio,
                audio_bytes=audio_bytes,
                duration_s=duration_s,
                artwork=review.in_root(COVER_NAME),
                chapters=review.in_root(CHAPTERS_NAME),
                transcripts=transcripts,
                language=metadata.language,
                author=metadata.author,
            )
        )
    episodes.sort(key=lambda episode: episode.name)
    episodes.sort(key=lambda episode: episode.published, reverse=True)
    return episodes
