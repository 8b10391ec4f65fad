"""Metadata settings in layers: CLI > front matter > what the text implies > defaults.

Each layer is a mapping of Metadata field names where ``None`` means "not given" (MkDocs drops
``None`` CLI values the same way). ``resolve()`` applies the layers lowest first;
``check_metadata()`` then looks at the result once and reports every problem in one message,
so a user fixes them all in one go instead of one per run. The rule for each value lives in
``metadata_rules.py``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reviewpub.document import Metadata
from reviewpub.errors import SettingsError
from reviewpub.reading.metadata_rules import (
    RATING_SCALE_FIELDS,
    check_rating,
    check_reviewed_item,
    cover_problem,
    is_iso_date,
    is_language_tag,
    quoted,
    scalar_text,
)

METADATA_FIELDS = (
    "title",
    "subtitle",
    "author",
    "language",
    "date",
    "description",
    "publisher",
    "rights",
    "cover",
    "item",
    "item_type",
    "rating",
)
"""The Metadata fields a user may set; ``identifier`` and ``modified`` always come from the source."""
SETTING_NAMES = (*METADATA_FIELDS, *RATING_SCALE_FIELDS)
"""Every name a layer may hold."""

DEFAULTS: Mapping[str, Any] = {"language": "en"}
"""The lowest layer: what a review is when nothing says otherwise."""

FRONT_MATTER_NAMES = {
    "lang": "language",
    "language": "language",
    "creator": "author",
    "authors": "author",
    "by": "author",
    "image": "cover",
    "cover-image": "cover",
    "cover_image": "cover",
    "copyright": "rights",
    "license": "rights",
    "summary": "description",
    "published": "date",
    "itemreviewed": "item",
    "item_reviewed": "item",
    "reviewed": "item",
    "item-type": "item_type",
    "best-rating": "best_rating",
    "bestrating": "best_rating",
    "worst-rating": "worst_rating",
    "worstrating": "worst_rating",
    "score": "rating",
}
"""Other names front matter uses for our fields (Pandoc, Jekyll and Hugo spell some differently)."""

MAX_FIELD_CHARACTERS = 2000
"""A title or description longer than this is a mistake (a whole paragraph pasted in)."""


def resolve(layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge layers, lowest first; ``None`` and blank strings mean "not given" and change nothing.

    A layer that gives ``rating`` gives the whole score: the scale of a lower layer's rating
    (a detected ``8.5/10``) never stays under a higher layer's ``rating: 4``. Layers that
    users write refuse a scale without a rating (``check_scale_has_rating``), so a scale never
    lands on a rating written against another one.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        if is_given(layer.get("rating")):
            for scale in RATING_SCALE_FIELDS:
                merged.pop(scale, None)
        merged.update({name: value for name, value in layer.items() if is_given(value)})
    return merged


def is_given(value: Any) -> bool:
    """Whether a layer's value says something: ``None`` and blank text mean "not given"."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def cli_layer(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The command line's layer; a relative cover path is relative to the working directory.

    Raises:
        TypeError: a key is not a Metadata field (a bug in the caller, not a user mistake).
    """
    layer: dict[str, Any] = {}
    for name, value in (overrides or {}).items():
        if name not in SETTING_NAMES:
            raise TypeError(f"not a metadata field: {name!r} (expected one of {', '.join(SETTING_NAMES)})")
        if value is None:
            continue
        layer[name] = Path(os.path.abspath(Path(value).expanduser())) if name == "cover" else value
    check_scale_has_rating(layer, "on the command line")
    return layer


def check_scale_has_rating(layer: Mapping[str, Any], where: str) -> None:
    """A ``best_rating``/``worst_rating`` belongs to a rating given in the same place.

    Raises:
        SettingsError: a scale was given without a rating beside it.
    """
    scale = [name for name in RATING_SCALE_FIELDS if is_given(layer.get(name))]
    if scale and not is_given(layer.get("rating")):
        names = " and ".join(scale)
        raise SettingsError(f"{names} given {where} without a rating; add rating beside it, or remove {names}")


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
        if name not in SETTING_NAMES or value is None:
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
    check_scale_has_rating(layer, f"in the front matter of {source}")
    return layer


def is_scalar(value: Any) -> bool:
    """Whether a YAML value is a single text, number or date (not a list or mapping)."""
    return isinstance(value, (str, int, float, dt.date))


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
    problems += check_reviewed_item(checked)
    problems += check_rating(checked)
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
