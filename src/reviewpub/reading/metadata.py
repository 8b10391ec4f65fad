"""Metadata settings in layers: CLI > front matter > what the text implies > defaults.

Each layer is a mapping of Metadata field names where ``None`` means "not given" (MkDocs drops
``None`` CLI values the same way). ``resolve()`` applies the layers lowest first;
``check_metadata()`` then looks at the result once and reports every problem in one message,
so a user fixes them all in one go instead of one per run.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reviewpub.document import Metadata, Rating
from reviewpub.errors import SettingsError

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
RATING_SCALE_FIELDS = ("best_rating", "worst_rating")
"""Settings that are not Metadata fields: the scale ``check_metadata`` folds into the ``Rating``."""
SETTING_NAMES = (*METADATA_FIELDS, *RATING_SCALE_FIELDS)
"""Every name a layer may hold."""
DEFAULT_BEST_RATING = 5.0
DEFAULT_WORST_RATING = 0.0
MAX_RATING_MAGNITUDE = 1000.0
"""A scale beyond ±1000 is a typo (``rating: 45`` meant 4.5), not a scale anyone reads."""

REVIEWABLE_TYPES = (
    "Book",
    "Movie",
    "TVSeries",
    "TVSeason",
    "TVEpisode",
    "MusicAlbum",
    "MusicRecording",
    "MusicPlaylist",
    "MusicGroup",
    "PodcastSeries",
    "PodcastEpisode",
    "Game",
    "VideoGame",
    "SoftwareApplication",
    "MobileApplication",
    "WebApplication",
    "WebSite",
    "Product",
    "Restaurant",
    "FoodEstablishment",
    "Hotel",
    "LodgingBusiness",
    "LocalBusiness",
    "Organization",
    "Place",
    "TouristAttraction",
    "Event",
    "Course",
    "Recipe",
    "HowTo",
    "CreativeWork",
    "CreativeWorkSeason",
    "CreativeWorkSeries",
    "Episode",
    "MediaObject",
    "Thing",
)
"""schema.org types an ``item_type`` may name: Google's Review-snippet types plus the common kinds reviewed.

Closed on purpose: the value becomes a JSON-LD ``@type``, where a misspelling is silently worthless.
"""
ITEM_TYPE_ALIASES = {
    "film": "Movie",
    "tvshow": "TVSeries",
    "show": "TVSeries",
    "series": "TVSeries",
    "album": "MusicAlbum",
    "song": "MusicRecording",
    "track": "MusicRecording",
    "single": "MusicRecording",
    "band": "MusicGroup",
    "podcast": "PodcastSeries",
    "app": "SoftwareApplication",
    "software": "SoftwareApplication",
    "boardgame": "Game",
    "cafe": "FoodEstablishment",
    "bar": "FoodEstablishment",
    "novel": "Book",
    "concert": "Event",
    "play": "Event",
    "gadget": "Product",
}
"""Everyday words for a type, offered as "did you mean" (never substituted silently)."""

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
    problems += check_reviewed_item(checked)
    problems += check_rating(checked)
    for name, value in checked.items():
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARACTERS:
            problems.append(f"{name} is longer than {MAX_FIELD_CHARACTERS} characters")
    if problems:
        raise SettingsError(f"{source}: " + "; ".join(problems))
    return checked


def item_type_name(given: str) -> str | None:
    """The schema.org spelling of a reviewable type (``music album`` → ``MusicAlbum``); ``None`` if unknown."""
    key = re.sub(r"[\s_-]+", "", given).lower()
    return next((name for name in REVIEWABLE_TYPES if name.lower() == key), None)


def item_type_suggestion(given: str) -> str | None:
    """``Movie`` for ``film`` or ``Moive``; ``None`` when nothing is close."""
    key = re.sub(r"[\s_-]+", "", given).lower()
    alias = ITEM_TYPE_ALIASES.get(key) or ITEM_TYPE_ALIASES.get(key.removesuffix("s"))
    if alias:
        return alias
    lowered = {name.lower(): name for name in REVIEWABLE_TYPES}
    close = difflib.get_close_matches(key, list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None


def check_reviewed_item(checked: dict[str, Any]) -> list[str]:
    """Check ``item_type`` (spelled as schema.org spells it) and that it comes with an ``item``.

    A type alone says nothing a reader or a search engine can use ("a Movie", but which?), so
    it needs the item's name; an item without a type is simply a schema.org ``Thing``.
    """
    given = checked.get("item_type")
    if given is None:
        return []
    text = str(given).strip()
    name = item_type_name(text)
    if name is None:
        suggestion = item_type_suggestion(text)
        offered = f"; did you mean {suggestion}?" if suggestion else f"; give one of {', '.join(REVIEWABLE_TYPES)}"
        return [f"item_type {quoted(text)} is not a schema.org type reviewpub knows{offered}"]
    checked["item_type"] = name
    if checked.get("item") is None:
        return [f"item_type {name} needs item, the name of what was reviewed (item: ...)"]
    return []


def rating_number(name: str, value: Any) -> tuple[float | None, str]:
    """A rating setting as a finite number within ±MAX_RATING_MAGNITUDE, or the problem with it."""
    text = scalar_text(value).strip() if not isinstance(value, bool) else ""
    try:
        parsed = float(text) if re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", text) else math.nan
    except OverflowError:
        parsed = math.nan
    if math.isfinite(parsed) and abs(parsed) <= MAX_RATING_MAGNITUDE:
        return parsed, ""
    hint = f"; write {text.replace(',', '.')}" if re.fullmatch(r"\d+,\d+", text) else ""
    if math.isfinite(parsed):
        return None, f"{name} {quoted(text)} is beyond ±{MAX_RATING_MAGNITUDE:g}"
    return None, f"{name} {quoted(value)} is not a number such as 4 or 8.5{hint}"


def check_rating(checked: dict[str, Any]) -> list[str]:
    """Fold ``rating``, ``best_rating`` and ``worst_rating`` into one ``Rating``, or say what is wrong.

    ``rating: 4/5`` is read as a rating and its scale. The scale defaults to 0 to 5; a rating
    outside its scale, or a scale whose best is not above its worst, is refused.
    """
    given = {name: checked.pop(name) for name in ("rating", *RATING_SCALE_FIELDS) if checked.get(name) is not None}
    if not given:
        return []
    if isinstance(given.get("rating"), Rating):
        rating: Rating = given.pop("rating")
        given = {"rating": rating.value, "best_rating": rating.best, "worst_rating": rating.worst, **given}
    if "rating" not in given:
        scale = " and ".join(name for name in RATING_SCALE_FIELDS if name in given)
        return [f"{scale} given without a rating; add rating: ... or remove {scale}"]
    text = scalar_text(given["rating"]).strip() if not isinstance(given["rating"], float) else ""
    written_scale = re.fullmatch(r"(.+?)\s*(?:/|out of)\s*(.+)", text)
    if written_scale:
        if (
            "best_rating" in given
            and rating_number("best_rating", given["best_rating"])[0]
            != rating_number("rating", written_scale.group(2))[0]
        ):
            return [f"rating {quoted(text)} and best_rating {quoted(given['best_rating'])} disagree; give one scale"]
        given["rating"], given["best_rating"] = written_scale.group(1), written_scale.group(2)
    numbers: dict[str, float] = {}
    problems: list[str] = []
    for name, value in given.items():
        parsed, problem = rating_number(name, value)
        if parsed is None:
            problems.append(problem)
        else:
            numbers[name] = parsed
    if problems:
        return problems
    value = numbers["rating"]
    best = numbers.get("best_rating", DEFAULT_BEST_RATING)
    worst = numbers.get("worst_rating", DEFAULT_WORST_RATING)
    if best <= worst:
        return [f"best_rating {best:g} must be above worst_rating {worst:g}"]
    if not worst <= value <= best:
        hint = "; add best_rating: 10 (or 100)" if "best_rating" not in numbers and value > best else ""
        return [f"rating {value:g} is outside its scale, {worst:g} to {best:g}{hint}"]
    checked["rating"] = Rating(value, best, worst)
    return []


def resolve_metadata(layers: Sequence[Mapping[str, Any]], *, source: Path) -> dict[str, Any]:
    """Merge layers (defaults first, command line last) and validate: Metadata keyword arguments."""
    return check_metadata(resolve([DEFAULTS, *layers]), source=source)


def build_metadata(values: Mapping[str, Any], **fixed: Any) -> Metadata:
    """A Metadata from resolved values plus the fields no user sets (``identifier``, ``modified``)."""
    return Metadata(**{name: values[name] for name in METADATA_FIELDS if name in values}, **fixed)
