"""Slugs: the ASCII names chapters and outputs are known by (ids, file names, URL fragments).

A chapter id is an XML id, a file name and a link target at once, so it keeps to
``[a-z0-9-]``, starts with a letter, stays short and is unique in the document. Sentence ids add
``_s1``/``_h`` to it: the underscore never appears in a slug, so the two can never clash.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

MAX_SLUG_LENGTH = 60
"""Long titles are cut at a word boundary: ids and file names stay readable."""
MAX_NAME_LENGTH = 80
LETTER_PREFIX = "s-"
"""Put before a slug that starts with a digit ("1917 Review" → ``s-1917-review``): XML ids must start with a letter."""
FALLBACK_NAME = "review"

NOT_SLUG = re.compile(r"[^a-z0-9]+")
NOT_NAME = re.compile(r"[^a-z0-9._-]+")
FOLDED_LETTERS = str.maketrans(
    {
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "ß": "ss",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "œ": "oe",
        "Œ": "OE",
        "þ": "th",
        "Þ": "Th",
        "ð": "d",
        "Ð": "D",
        "ı": "i",
    }
)
"""Letters NFKD does not decompose into ASCII ("Asbæk" → "asbaek", not "asbk")."""


def ascii_fold(text: str) -> str:
    """Text with accents removed and letters like ``æ`` spelled out; other characters dropped."""
    decomposed = unicodedata.normalize("NFKD", text.translate(FOLDED_LETTERS))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def slugify(title: str) -> str:
    """A lowercase ASCII slug: ``The Plot: Peril`` → ``the-plot-peril``; empty if no letters or digits."""
    slug = NOT_SLUG.sub("-", ascii_fold(title).lower()).strip("-")
    if len(slug) > MAX_SLUG_LENGTH:
        slug = slug[:MAX_SLUG_LENGTH].rsplit("-", 1)[0] or slug[:MAX_SLUG_LENGTH]
    return slug


def document_name(path: Path) -> str:
    """A file-system-safe base name for outputs: ``source/ISS Review.txt`` → ``iss-review``."""
    name = NOT_NAME.sub("-", ascii_fold(path.stem).lower()).strip("-._")
    return name[:MAX_NAME_LENGTH].rstrip("-._") or FALLBACK_NAME


class IdMaker:
    """Hands out ids that are slugs, start with a letter, stay short and are never repeated."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.next_number: dict[str, int] = {}
        """Per slug, the suffix to try next, so a thousand equal titles cost no more than one."""

    def make(self, title: str, fallback: str) -> str:
        """A new id for ``title``; ``fallback`` (e.g. ``chapter-3``) when the title has no letters or digits."""
        slug = slugify(title) or fallback
        if not slug[0].isalpha():
            slug = LETTER_PREFIX + slug
        candidate = slug
        if candidate in self.taken:
            number = self.next_number.get(slug, 2)
            while f"{slug}-{number}" in self.taken:
                number += 1
            candidate = f"{slug}-{number}"
            self.next_number[slug] = number + 1
        self.taken.add(candidate)
        return candidate
