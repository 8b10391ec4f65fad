"""A folder of reviews as one show: its settings (``reviewpub.toml``) and its episodes.

A folder build publishes one podcast whose episodes are the reviews. The show's settings
come in layers like a review's metadata: the command line wins over ``reviewpub.toml`` in the
source folder, which wins over what the reviews imply (their common author, their language),
which wins over the defaults. The file is checked whole before anything is built.

Episodes are plain data read from the published files of each review (its whole-review MP3,
``chapters.json``, transcripts and artwork), never from a narration, so a review that was
kept as it was yields the very same episode. The feed writer, and any other writer of the
whole show, takes them as they are.

The date each review was first built is kept in ``output/.show.json``, the show's own ledger:
the per-review manifests belong to the staging code, which rewrites them on every command,
and a hidden file is never served. The ledger also says which reviews the show holds, so a
review removed from the folder has its episode and its files removed, and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.errors import SettingsError, WriterError
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

CONFIG_NAME = "reviewpub.toml"
LEDGER_VERSION = 1
EPISODE_GUID_NAMESPACE = uuid.UUID("0c7f5a0e-3f4b-5d2a-9a61-72657669657e")
"""Namespace of the GUIDs derived from a review's slug: the same slug, the same GUID, for ever."""
TEXT_KEYS = ("title", "author", "owner_name", "owner_email", "language", "base_url", "cover", "description")
CONFIG_KEYS = (*TEXT_KEYS, "category", "explicit")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
REVIEW_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
"""What ``reading.slugs.document_name`` makes: lowercase, no leading dot, no slash."""
SHOWN_CHARACTERS = 40
"""How much of a bad value an error message quotes."""


@dataclass(frozen=True)
class ShowConfig:
    """The show's settings as given (``reviewpub.toml``, then the command line); None means not given."""

    title: str | None = None
    author: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    language: str | None = None
    category: tuple[str, ...] | None = None
    """Apple's category, then optionally one of its subcategories, as Apple spells them."""
    explicit: bool | None = None
    base_url: str | None = None
    """Where the output folder is published (``https://example.org/reviews/``), ending in ``/``."""
    cover: Path | None = None
    description: str | None = None

    def overridden(self, values: Mapping[str, Any]) -> ShowConfig:
        """A copy with the given values (None or empty: not given) put over these.

        Raises:
            SettingsError: a given value is invalid.
        """
        given = {name: value for name, value in values.items() if value not in (None, (), "")}
        return self.__class__(**{**self.__dict__, **checked_values(given, "the command line")})


def checked_values(values: Mapping[str, Any], where: str, folder: Path | None = None) -> dict[str, Any]:
    """Validate show settings, naming ``where`` they came from; returns them normalised.

    Raises:
        SettingsError: an unknown key or a value of the wrong kind or form (one line).
    """
    from reviewpub.podcast import feed_base_url, podcast_category
    from reviewpub.reading.metadata_rules import is_language_tag

    checked: dict[str, Any] = {}
    for key, value in values.items():
        if key not in CONFIG_KEYS:
            raise SettingsError(f"{where}: unknown key {shown(key)}; the show knows: {', '.join(CONFIG_KEYS)}")
        if key == "explicit":
            if not isinstance(value, bool):
                raise SettingsError(f"{where}: explicit must be true or false, not {shown(value)}")
            checked[key] = value
            continue
        if key == "category":
            names = (value,) if isinstance(value, str) else value
            if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) for name in names):
                raise SettingsError(f"{where}: category must be a name or a list of a name and a subcategory")
            try:
                checked[key] = podcast_category(tuple(names))
            except SettingsError as error:
                raise SettingsError(f"{where}: category {str(error).removeprefix('--category ')}") from None
            continue
        if not isinstance(value, (str, Path)) or not str(value).strip():
            raise SettingsError(f"{where}: {key} must be a non-empty text, not {shown(value)}")
        text = " ".join(str(value).split()) if key != "cover" else str(value)
        if key == "language" and not is_language_tag(text):
            raise SettingsError(f"{where}: language {shown(text)} is not a BCP 47 tag such as en, en-GB or fr")
        if key == "owner_email" and not EMAIL.fullmatch(text):
            raise SettingsError(f"{where}: owner_email {shown(text)} is not an e-mail address")
        if key == "base_url":
            try:
                text = feed_base_url(text)
            except SettingsError as error:
                raise SettingsError(f"{where}: base_url{str(error).removeprefix('--base-url')}") from None
        if key == "cover":
            cover = Path(text) if folder is None or Path(text).is_absolute() else folder / text
            if not cover.is_file():
                raise SettingsError(f"{where}: cover {shown(text)} is not a file; give a JPEG or PNG image")
            checked[key] = cover
            continue
        checked[key] = text
    return checked


def shown(value: object) -> str:
    """A value as an error message quotes it: on one line, and short."""
    text = " ".join(repr(value).split())
    return text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + "..."


def read_show_config(source_folder: Path) -> ShowConfig:
    """``reviewpub.toml`` in the source folder, checked; an empty config when there is none.

    Raises:
        SettingsError: the file is not TOML, has an unknown key or a bad value.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    path = Path(source_folder) / CONFIG_NAME
    if not path.is_file():
        return ShowConfig()
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: cannot be read ({error})") from None
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as error:
        # ValueError: a number of more than 4,300 digits; RecursionError: arrays nested thousands deep.
        raise SettingsError(f"{path}: not valid TOML ({str(error)[:200]})") from None
    return ShowConfig(**checked_values(values, str(path), folder=path.parent))


@dataclass(frozen=True)
class Show:
    """The show with every setting resolved, ready for the feed (and any page of the whole show)."""

    title: str
    author: str
    owner_name: str
    owner_email: str | None
    language: str
    category: tuple[str, ...]
    explicit: bool
    base_url: str | None
    """The address given, or None: links then use the address ``reviewpub serve`` rewrites."""
    description: str
    artwork: bytes = field(repr=False)
    """The square show artwork as JPEG, made (and so checked) before anything is built."""
    modified: dt.datetime = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def resolve_show(config: ShowConfig, documents: list[Document]) -> Show:
    """Fill what the config leaves open from the reviews, then from the defaults.

    Raises:
        SettingsError: the cover cannot be read as an image.
    """
    from reviewpub.cover import make_square_artwork
    from reviewpub.document import Metadata
    from reviewpub.podcast import DEFAULT_CATEGORY

    authors = {document.metadata.author for document in documents}
    common_author = next(iter(authors)) if len(authors) == 1 else None
    author = config.author or common_author or "reviewpub"
    title = config.title or (f"Reviews by {author}" if config.author or common_author else "Reviews")
    languages = [document.metadata.language for document in documents]
    language = config.language or (max(sorted(set(languages)), key=languages.count) if languages else "en")
    description = config.description or f"{title}: every review, narrated, one episode each."
    artwork = make_square_artwork(Metadata(title=title, author=author, language=language, cover=config.cover))
    modified = max(
        (document.metadata.modified for document in documents), default=dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    )
    return Show(
        title=title,
        author=author,
        owner_name=config.owner_name or author,
        owner_email=config.owner_email,
        language=language,
        category=config.category or DEFAULT_CATEGORY,
        explicit=bool(config.explicit),
        base_url=config.base_url,
        description=description,
        artwork=artwork,
        modified=modified,
    )


def review_base_url(show_base_url: str | None, name: str) -> str | None:
    """Where a review's folder is published when the output folder is at ``show_base_url``."""
    from reviewpub.writers.feed import file_url

    return None if show_base_url is None else file_url(show_base_url, f"{name}/")


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
