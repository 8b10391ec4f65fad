"""Display text → spoken text: what the engine is asked to say, never what the EPUB shows.

Small ordered rules, each a function from string to string with its data beside it
(gTTS's pre-processors work the same way). The Document is never changed: captions and the
EPUB quote the source, the engine hears this.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from reviewpub.narration.lexicon import Lexicon

SPELLED_OUT = frozenset("US UK USA EU UN ISS TV BBC FBI CIA CEO DVD IMAX HBO AI".split()) - {"IMAX"}
"""Initialisms read letter by letter even when written without dots."""
WORD_ABBREVIATIONS = [
    (r"\bvs\.?(?=\s)", "versus"),
    (r"\be\.g\.", "for example"),
    (r"\bi\.e\.", "that is"),
    (r"\betc\.", "et cetera"),
    (r"\bJr\.", "Junior"),
    (r"\bSr\.", "Senior"),
    (r"\bNo\.(?=\s*\d)", "number"),
    (r"\bapprox\.", "approximately"),
    (r"\bmin\.", "minutes"),
]
RATING_DENOMINATORS = {"5", "10", "100", "4", "20"}
MARKUP = re.compile(r"[<>\[\]{}*_#|\\`~^]")


def strip_controls(text: str) -> str:
    """Remove control characters and symbols an engine would read out by name (emoji)."""
    kept = []
    for character in text:
        category = unicodedata.category(character)
        if category[0] == "C" and character not in "\n\t":
            continue
        if category == "So":
            kept.append(" ")
            continue
        kept.append(character)
    return "".join(kept)


def quotes_and_dashes(text: str) -> str:
    """Curly quotes dropped (apostrophes kept plain), dashes become pauses."""
    text = text.replace("’", "'").replace("‘", "").replace("“", "").replace("”", "").replace('"', "")
    text = re.sub(r"(?<!\w)'|'(?!\w)", "", text)
    text = re.sub(r"\s*[—–]\s*", ", ", text)
    return text.replace("…", "...")


def dotted_acronyms(text: str) -> str:
    """``I.S.S.`` → ``I S S``: letters read one by one, and no false sentence end."""
    def spell(match: re.Match[str]) -> str:
        letters = match.group(0).replace(".", " ").split()
        return " ".join(letters)

    return re.sub(r"\b(?:[A-Za-z]\.){2,}(?=[\s,;:!?'\")\]]|$)", spell, text)


def initialisms(text: str) -> str:
    """``US`` → ``U S`` for initialisms a listener expects spelled out."""
    return re.sub(r"\b[A-Z]{2,4}\b", lambda match: " ".join(match.group(0)) if match.group(0) in SPELLED_OUT else match.group(0), text)


def slashes_and_symbols(text: str) -> str:
    """``4/5`` → ``4 out of 5``; ``US/Russia`` → ``US and Russia``; ``&`` → ``and``; ``%`` → ``percent``."""
    text = re.sub(r"\b(\d+(?:\.\d+)?)\s*/\s*(\d+)\b",
                  lambda match: f"{match.group(1)} out of {match.group(2)}" if match.group(2) in RATING_DENOMINATORS
                  else f"{match.group(1)} {match.group(2)}", text)
    text = re.sub(r"(?<=[A-Za-z])/(?=[A-Za-z])", " and ", text)
    text = text.replace("&", " and ").replace("%", " percent").replace("+", " plus ").replace("@", " at ")
    return text


def abbreviations(text: str) -> str:
    """Abbreviations a listener expects spoken in full (``vs.`` → ``versus``)."""
    for pattern, spoken in WORD_ABBREVIATIONS:
        text = re.sub(pattern, spoken, text)
    return text


def markup(text: str) -> str:
    """Characters an engine could take for markup, or read out as symbols, become spaces."""
    return MARKUP.sub(" ", text)


def whitespace(text: str) -> str:
    """Collapse whitespace; tidy spaces before punctuation."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return re.sub(r"(,\s*){2,}", ", ", text).strip(" ,")


RULES: list[Callable[[str], str]] = [
    strip_controls,
    quotes_and_dashes,
    abbreviations,
    dotted_acronyms,
    slashes_and_symbols,
    initialisms,
    markup,
    whitespace,
]
"""Applied in this order; the lexicon comes first, so it matches the words as written."""


def spoken_text(text: str, *, language: str = "en", lexicon: Lexicon | None = None) -> str:
    """What the engine should say for ``text`` (English rules apply to ``en*`` languages only)."""
    if lexicon is not None:
        text = lexicon.apply(text)
    if not language.lower().startswith("en"):
        return whitespace(markup(strip_controls(quotes_and_dashes(text))))
    for rule in RULES:
        text = rule(text)
    return text
