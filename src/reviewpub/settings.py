"""Metadata settings in layers: CLI > front matter > what the text implies > defaults.

Each layer is a mapping of Metadata field names where ``None`` means "not given" (MkDocs drops
``None`` CLI values the same way). ``resolve()`` applies the layers lowest first;
``check_metadata()`` then looks at the result once and reports every problem in one message,
so a user fixes them all in one go instead of one per run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reviewpub.document import Metadata
from reviewpub.errors import SettingsError

METADATA_FIELDS = ("title", "subtitle", "author", "language", "date", "description", "publisher", "rights", "cover")
"""The Metadata fields a user may set; ``identifier`` and ``modified`` always come from the source."""

DEFAULTS: Mapping[str, Any] = {"language": "en"}
"""The lowest layer: what a review is when nothing says otherwise."""

FRONT_MATTER_NAMES = {
    "lang": "language", "language": "language", "creator": "author", "authors": "author", "by": "author",
    "image": "cover", "cover-image": "cover", "cover_image": "cover", "copyright": "rights", "license": "rights",
    "summary": "description", "published": "date",
}
"""Other names front matter uses for our fields (Pandoc, Jekyll and Hugo spell some differently)."""

BCP47_TAG = re.compile(
    r"""
    (?:
        [a-z]{2,3}(?:-[a-z]{3}){0,3}           # language, up to three extended subtags (zh-yue)
        (?:-[a-z]{4})?                         # script (sr-Latn)
        (?:-(?:[a-z]{2}|[0-9]{3}))?            # region (en-GB, es-419)
        (?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*   # variants (de-1996)
        (?:-[0-9a-wy-z](?:-[a-z0-9]{2,8})+)*   # extensions (en-u-ca-gregory)
        (?:-x(?:-[a-z0-9]{1,8})+)?             # private use
    |
        x(?:-[a-z0-9]{1,8})+                   # a private-use tag alone
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)
"""The well-formed BCP 47 tags (RFC 5646 §2.1), without the grandfathered irregular ones.

Reserved 4- and 5-to-8-letter language subtags are left out on purpose: nothing is registered
there, and "English" or "french" are the mistakes a user actually makes.
"""

QUOTED_CHARACTERS = 60
"""How much of a bad value an error message quotes."""

MAX_FIELD_CHARACTERS = 2000
"""A title or description longer than this is a mistake (a whole paragraph pasted in)."""

IMAGE_SIGNATURES = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
}
"""What a cover must start with; WebP is checked apart (``RIFF....WEBP``)."""


def resolve(layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge layers, lowest first; ``None`` and blank strings mean "not given" and change nothing."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for name, value in layer.items():
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            merged[name] = value
    return merged


def cli_layer(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The command line's layer; a relative cover path is relative to the working directory.

    Raises:
        TypeError: a key is not a Metadata field (a bug in the caller, not a user mistake).
    """
    layer: dict[str, Any] = {}
    for name, value in (overrides or {}).items():
        if name not in METADATA_FIELDS:
            raise TypeError(f"not a metadata field: {name!r} (expected one of {', '.join(METADATA_FIELDS)})")
        if value is None:
            continue
        layer[name] = Path(os.path.abspath(Path(value).expanduser())) if name == "cover" else value
    return layer


def front_matter_layer(front: Mapping[str, Any], source: Path) -> dict[str, Any]:
    """Metadata from Markdown front matter; a relative cover is relative to the source's folder.

    Unknown keys are ignored (front matter often carries a site generator's own settings).

    Raises:
        SettingsError: a field is a mapping, or the cover points outside the source's folder.
    """
    base = source.parent
    layer: dict[str, Any] = {}
    for key, value in front.items():
        name = FRONT_MATTER_NAMES.get(key, key)
        if name not in METADATA_FIELDS or value is None:
            continue
        if isinstance(value, (list, tuple)):
            # Only scalar items: nested YAML aliases could otherwise expand to gigabytes of text.
            value = ", ".join(scalar_text(item) for item in value if is_scalar(item))
        elif not is_scalar(value):
            raise SettingsError(
                f"{source}: {key} in the front matter must be text, not a mapping; write `{key}: ...` on one line"
            )
        text = scalar_text(value).strip()
        if not text:
            continue
        if name == "cover":
            cover = (base / text).resolve()
            if not cover.is_relative_to(base.resolve()):
                raise SettingsError(
                    f"cover {quoted(text)} in the front matter points outside {base}; keep the image beside the review"
                )
            layer[name] = cover
        else:
            layer[name] = text
    return layer


def is_scalar(value: Any) -> bool:
    """Whether a YAML value is a single text, number or date (not a list or mapping)."""
    return isinstance(value, (str, int, float, dt.date))


def scalar_text(value: Any) -> str:
    """A YAML scalar as text; dates as ISO 8601 (YAML reads ``2024-01-19`` as a date)."""
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def quoted(value: Any) -> str:
    """A value quoted for a one-line message, cut short: a pasted paragraph must not flood the terminal."""
    text = repr(str(value))
    return text if len(text) <= QUOTED_CHARACTERS else text[: QUOTED_CHARACTERS - 2] + "…" + text[0]


def is_language_tag(text: str) -> bool:
    """Whether ``text`` is a well-formed BCP 47 language tag such as ``en``, ``en-GB`` or ``sr-Latn``."""
    return BCP47_TAG.fullmatch(text) is not None


def is_iso_date(text: str) -> bool:
    """Whether ``text`` is an ISO 8601 date: ``2024``, ``2024-01``, ``2024-01-19`` or a full timestamp."""
    if re.fullmatch(r"\d{4}", text):
        return True
    month = re.fullmatch(r"\d{4}-(\d{2})", text)
    if month:
        return 1 <= int(month.group(1)) <= 12
    if not re.match(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def image_kind(path: Path) -> str | None:
    """``"PNG"``, ``"JPEG"``, ``"GIF"`` or ``"WebP"`` from the file's first bytes; ``None`` otherwise."""
    with path.open("rb") as handle:
        head = handle.read(16)
    for signature, kind in IMAGE_SIGNATURES.items():
        if head.startswith(signature):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return None


def cover_problem(cover: Path) -> str | None:
    """Why ``cover`` cannot be used as a cover image, or ``None`` when it can."""
    if not cover.exists():
        return f"cover image {cover} does not exist"
    if not cover.is_file():
        return f"cover image {cover} is not a file"
    try:
        kind = image_kind(cover)
    except OSError as error:
        return f"cover image {cover} cannot be read ({error.strerror or error})"
    if kind is None:
        return f"cover image {cover} is not a JPEG, PNG, GIF or WebP image"
    # Refused here, from the header, so an oversized cover fails before output/ is touched.
    from reviewpub.cover import cover_size_problem

    return cover_size_problem(cover)


def check_metadata(values: Mapping[str, Any], *, source: Path) -> dict[str, Any]:
    """Validate resolved values; returns them with ``language`` filled in and ``cover`` as a Path.

    Raises:
        SettingsError: one line listing every problem found, naming the source.
    """
    checked = dict(values)
    problems: list[str] = []
    language = str(checked.get("language", DEFAULTS["language"])).strip()
    if not is_language_tag(language):
        hint = f"; write it as {language.replace('_', '-')}" if is_language_tag(language.replace("_", "-")) else ""
        problems.append(f"language {quoted(language)} is not a BCP 47 language tag such as en, en-GB or fr{hint}")
    checked["language"] = language
    if checked.get("cover") is not None:
        checked["cover"] = Path(checked["cover"])
        problem = cover_problem(checked["cover"])
        if problem:
            problems.append(problem)
    date = checked.get("date")
    if date is not None and not is_iso_date(str(date)):
        problems.append(f"date {quoted(date)} is not an ISO date such as 2024-01-19")
    for name, value in checked.items():
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARACTERS:
            problems.append(f"{name} is longer than {MAX_FIELD_CHARACTERS} characters")
    if problems:
        raise SettingsError(f"{source}: " + "; ".join(problems))
    return checked


def resolve_metadata(layers: Sequence[Mapping[str, Any]], *, source: Path) -> dict[str, Any]:
    """Merge layers (defaults first, command line last) and validate: Metadata keyword arguments."""
    return check_metadata(resolve([DEFAULTS, *layers]), source=source)


def build_metadata(values: Mapping[str, Any], **fixed: Any) -> Metadata:
    """A Metadata from resolved values plus the fields no user sets (``identifier``, ``modified``)."""
    return Metadata(**{name: values[name] for name in METADATA_FIELDS if name in values}, **fixed)
