"""The rules one metadata value must follow, each beside its data: language tags, dates, cover
images, the reviewed item's schema.org type and the rating with its scale.

Kept apart from the layers in ``metadata.py`` (which decide which value wins) so each rule can be
read and tested alone; every check returns the problem as text, and ``check_metadata`` reports
them all at once.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from pathlib import Path
from typing import Any

from reviewpub.document import Rating

RATING_SCALE_FIELDS = ("best_rating", "worst_rating")
"""Settings that are not Metadata fields: the scale ``check_metadata`` folds into the ``Rating``."""
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

IMAGE_SIGNATURES = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
}
"""What a cover must start with; WebP is checked apart (``RIFF....WEBP``)."""


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
    from reviewpub.cover.user_image import cover_size_problem

    return cover_size_problem(cover)


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
