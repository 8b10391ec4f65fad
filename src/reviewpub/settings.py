"""Metadata layers: CLI > front matter > what the text implies > defaults.

Each layer is a mapping where ``None`` means "not given"; ``resolve_metadata`` applies them
lowest first and checks the result once, so the user sees every problem in one message.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reviewpub.document import Metadata
from reviewpub.errors import SettingsError

METADATA_FIELDS = ("title", "subtitle", "author", "language", "date", "description", "publisher", "rights", "cover")
FRONT_MATTER_NAMES = {"lang": "language", "language": "language", "creator": "author", "authors": "author", "image": "cover"}
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
COVER_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp")


def front_matter_layer(front: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """Metadata from Markdown front matter; a relative cover is relative to the source file."""
    layer: dict[str, Any] = {}
    for key, value in front.items():
        name = FRONT_MATTER_NAMES.get(key, key)
        if name not in METADATA_FIELDS or value is None:
            continue
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value)
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        text = str(value).strip()
        if not text:
            continue
        if name == "cover":
            cover = (base / text).resolve()
            if not cover.is_relative_to(base.resolve()):
                raise SettingsError(f"cover {text!r} in the front matter points outside {base}; keep it beside the review")
            layer[name] = cover
        else:
            layer[name] = text
    return layer


def resolve_metadata(layers: list[Mapping[str, Any]], *, source: Path) -> dict[str, Any]:
    """Merge layers (lowest first) and validate; returns Metadata keyword arguments."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({key: value for key, value in layer.items() if value is not None})
    problems = []
    language = str(merged.get("language", "en"))
    if not LANGUAGE_TAG.match(language):
        problems.append(f"language {language!r} is not a language tag such as en, en-GB or fr")
    cover = merged.get("cover")
    if cover is not None:
        cover = Path(cover)
        if not cover.is_file():
            problems.append(f"cover image {cover} does not exist")
        elif cover.suffix.lower() not in COVER_SUFFIXES:
            problems.append(f"cover image {cover} is not a JPEG, PNG, GIF or WebP file")
        merged["cover"] = cover
    date = merged.get("date")
    if date is not None and not re.match(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?", str(date)):
        problems.append(f"date {date!r} is not an ISO date such as 2024-01-19")
    for name, value in merged.items():
        if name not in ("cover",) and isinstance(value, str) and len(value) > 2000:
            problems.append(f"{name} is longer than 2000 characters")
    if problems:
        raise SettingsError(f"{source}: " + "; ".join(problems))
    merged["language"] = language
    return merged


def build_metadata(values: Mapping[str, Any], **fixed: Any) -> Metadata:
    """A Metadata from resolved values plus the fields no user sets (identifier, modified)."""
    return Metadata(**{name: values[name] for name in METADATA_FIELDS if name in values}, **fixed)
