"""Rating lines in a review's text: ``Rating: 4/5``, ``Score: 8.5 out of 10``, ``★★★½☆``, ``4/5 stars``.

A rating is taken only from a whole line in one of these forms, never from a sentence that
happens to hold a fraction ("4/5 of the crew", "on 4/5 we launched"), and never guessed: a
line of stars says its scale only when the empty stars (☆) are written too, and a bare
``4/5`` could be a date. The line stays in the text, so a listener hears the rating; it is
what the text implies, so front matter and the command line win over it. Two rating lines
that disagree give no rating at all, and ``outline --explain`` says why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from reviewpub.document import Decision, Rating

RATING_LABELS = (
    "rating",
    "rated",
    "score",
    "grade",
    "stars",
    "verdict",
    "overall",
    "overall rating",
    "overall score",
    "final rating",
    "final score",
    "final verdict",
    "our rating",
    "our score",
    "our verdict",
    "my rating",
    "my score",
    "my verdict",
    "the verdict",
)
"""Labels of a ``Label: 4/5`` line; "Rating: PG-13" matches none of the value forms and stays a credit."""
FILLED_STAR = "★"
EMPTY_STAR = "☆"
HALF_STARS = "½⯪⯨"
"""A half star as reviewers type it: ``½`` after the filled stars, or a half-filled star glyph."""
MAX_STARS = 10
MAX_SCALE = 1000.0
"""The largest scale read from text; ``Rating: 4/5000`` is something else."""

NUMBER = r"\d{1,4}(?:\.\d{1,2})?"
FRACTION = rf"(?P<value>{NUMBER})\s*(?:/|out\s+of)\s*(?P<best>{NUMBER})"
UNIT = r"(?:\s+(?:stars?|points?))?"
STARS = rf"(?P<stars>[{FILLED_STAR}{HALF_STARS}{EMPTY_STAR}](?:\s?[{FILLED_STAR}{HALF_STARS}{EMPTY_STAR}])*)"
STARS_WITH_FRACTION = rf"{STARS}(?:\s*\(\s*{FRACTION}{UNIT}\s*\))?"
LABEL = "|".join(sorted((re.escape(label).replace(r"\ ", r"\s+") for label in RATING_LABELS), key=len, reverse=True))
LINE_END = r"\s*\.?\s*"
SEPARATOR = r"\s*[:\-–—]\s*"
LINE_FORMS = tuple(
    re.compile(form + LINE_END, re.IGNORECASE)
    for form in (
        rf"(?:{LABEL}){SEPARATOR}{FRACTION}{UNIT}",  # Rating: 4/5, Score - 8.5 out of 10 points
        rf"(?:{LABEL}){SEPARATOR}{STARS_WITH_FRACTION}",  # Verdict: ★★★★☆
        rf"{FRACTION}\s+stars?",  # 4/5 stars, 4 out of 5 stars: the unit says it is a rating
        STARS_WITH_FRACTION,  # ★★★½☆, ★★★★☆ (4/5): the glyphs say it
    )
)
"""The whole-line forms of a rating, each as one pattern (a pattern may name a group once)."""
LINE_DECORATION = re.compile(r"^\s*(?:[-*+•]\s+)?")
"""A list bullet before the line (``- Rating: 4/5`` in a list of credits)."""
MARKDOWN_EMPHASIS = re.compile(r"[*_`]+")


@dataclass(frozen=True)
class RatingLine:
    """A line that reads as a rating: where it is, what it says, and the rating when it is one."""

    line: int
    """1-based line number in the source."""
    text: str
    rating: Rating | None
    """``None`` when the line has a rating's form but no usable value (``Rating: 6/5``, stars with no scale)."""
    problem: str = ""
    """Why a rating-shaped line gave no rating."""


def number(text: str) -> float:
    """A number as the reviewer wrote it (``8.5``); ``.0`` is dropped when shown."""
    return float(text)


def star_rating(stars: str) -> tuple[Rating | None, str]:
    """``★★★½☆`` → 3.5/5; a line of filled stars alone has no scale and gives no rating."""
    glyphs = stars.replace(" ", "")
    filled = glyphs.count(FILLED_STAR)
    halves = sum(glyphs.count(half) for half in HALF_STARS)
    empty = glyphs.count(EMPTY_STAR)
    expected = FILLED_STAR * filled + "".join(glyph for glyph in glyphs if glyph in HALF_STARS) + EMPTY_STAR * empty
    if glyphs != expected or halves > 1:
        return None, "the stars are not filled, then at most one half, then empty (★★★½☆)"
    total = filled + halves + empty
    if total > MAX_STARS:
        return None, f"{total} stars: more than a {MAX_STARS}-star scale"
    if filled + halves == 0:
        return None, "no filled star: a decoration, not a rating"
    if empty == 0:
        return None, (
            f"only filled stars, so the scale is not written; add the empty ones ({EMPTY_STAR}) "
            f"or write 'Rating: {filled + 0.5 * halves:g}/5'"
        )
    return Rating(filled + 0.5 * halves, float(total)), ""


def fraction_rating(value_text: str, best_text: str) -> tuple[Rating | None, str]:
    """``8.5`` out of ``10``; refused when the value is above the scale or the scale is 0."""
    value, best = number(value_text), number(best_text)
    if not (0 < best <= MAX_SCALE) or not math.isfinite(value):
        return None, f"{value_text}/{best_text}: the scale must be above 0 and at most {MAX_SCALE:g}"
    if value > best:
        return None, f"{value_text}/{best_text}: the rating is above its scale"
    return Rating(value, best), ""


def read_rating_line(text: str) -> tuple[Rating | None, str] | None:
    """The rating a whole line states, ``(None, why)`` for a rating-shaped line with no usable value,
    ``None`` for a line that is not a rating line at all."""
    line = MARKDOWN_EMPHASIS.sub("", LINE_DECORATION.sub("", text, count=1)).strip()
    if not line or len(line) > 80:
        return None
    match = next((found for found in (form.fullmatch(line) for form in LINE_FORMS) if found), None)
    if match is None:
        return None
    groups = match.groupdict()
    fraction = fraction_rating(groups["value"], groups["best"]) if groups.get("value") else None
    if not groups.get("stars"):
        return fraction
    from_stars = star_rating(groups["stars"])
    if fraction is None or from_stars[0] is None or fraction[0] is None:
        return from_stars if fraction is None or from_stars[0] is None else fraction
    if fraction[0] != from_stars[0]:
        return None, f"the stars say {from_stars[0]}, the numbers {match.group('value')}/{match.group('best')}"
    return from_stars


def find_rating_lines(lines: Iterable[tuple[int, str]]) -> list[RatingLine]:
    """Every line, of ``(line number, text)`` pairs, that reads as a rating line."""
    found: list[RatingLine] = []
    for line_number, text in lines:
        read = read_rating_line(text)
        if read is not None:
            found.append(RatingLine(line_number, text.strip(), read[0], read[1]))
    return found


def detected_rating(lines: list[RatingLine]) -> tuple[Rating | None, list[Decision]]:
    """The text's rating, if its rating lines agree on one, and a decision for each line."""
    ratings = [line.rating for line in lines if line.rating is not None]
    agreed = ratings[0] if ratings and all(rating == ratings[0] for rating in ratings) else None
    decisions = []
    for line in lines:
        if line.rating is None:
            rule = f"looks like a rating line, but gives none: {line.problem}; set rating in front matter"
        elif agreed is None:
            shown = ", ".join(sorted({str(rating) for rating in ratings}))
            rule = (
                f"a rating line ({line.rating}), but the text's rating lines disagree ({shown}), so none is "
                "taken; keep one, or set rating in front matter"
            )
        else:
            rule = (
                f"a rating line: the review is rated {line.rating} "
                "(the line stays in the text; a rating in front matter would win)"
            )
        decisions.append(Decision(line.line, line.text, "rating", rule))
    return agreed, decisions
