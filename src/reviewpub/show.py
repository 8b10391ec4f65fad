"""A folder of reviews as one show: its settings (``reviewpub.toml``), resolved before anything is built.

A folder build publishes one podcast whose episodes are the reviews. The show's settings
come in layers like a review's metadata: the command line wins over ``reviewpub.toml`` in the
source folder, which wins over what the reviews imply (their common author, their language),
which wins over the defaults. The file is checked whole before anything is built. The
episodes and the ledger of first-built dates are in ``episodes.py``.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.errors import SettingsError

if TYPE_CHECKING:
    from reviewpub.document import Document

CONFIG_NAME = "reviewpub.toml"
TEXT_KEYS = ("title", "author", "owner_name", "owner_email", "language", "base_url", "cover", "description")
CONFIG_KEYS = (*TEXT_KEYS, "category", "explicit")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
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
