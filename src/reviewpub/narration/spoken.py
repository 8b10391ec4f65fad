"""Display text → spoken text: what the engine is asked to say, never what the EPUB shows.

Small ordered rules, each a function from string to string with its data beside it
(gTTS's pre-processors work the same way). The Document is never changed: captions and the
EPUB quote the source, the engine hears this. Whatever the rules do, the result holds no
character an engine could take for markup (``<``, ``>``, ``&``, brackets) and no control
character, so it is safe for an engine even if SSML were switched on.

Which rules exist was decided by listening to eSpeak NG's phonemes for the written forms
(``ISS`` → "iss", ``1990s`` → "nineteen hundred ninety z", ``vs.`` → "V S", ``4/5`` →
"four slash five", an emoji → its name) and fixing only what a listener would trip on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from reviewpub.narration.lexicon import Lexicon


def has_clue(text: str, clues: str | tuple[str, ...]) -> bool:
    """Whether ``text`` holds one of ``clues``: a rule's patterns cannot match text without one.

    Most sentences have nothing for most rules; an ``in`` test per clue skips their regular
    expressions (whose leading ``\\b`` is tried at every position) with the same result.
    ``RULE_CLUES`` lists each rule's clues with its patterns, for the property test that
    checks them.
    """
    return any(clue in text for clue in clues)


# --- characters ---------------------------------------------------------------------------

FIRST_PICTOGRAPH = 0x2190
"""Symbols (category So) from the arrows block on are pictographs and emoji; engines read
their names ("popcorn"), which no reader of the text hears. ``©``, ``°`` and ``™`` stay."""
FIRST_SUPPLEMENTARY_SYMBOL = 0x1F000
"""Emoji, their skin-tone modifiers and mahjong/domino tiles live from here on."""
VARIATION_SELECTORS = frozenset("\ufe0e\ufe0f")


def is_pictograph(character: str) -> bool:
    """True for emoji and pictographic symbols that a listener should not hear named."""
    code = ord(character)
    if character in VARIATION_SELECTORS or code >= FIRST_SUPPLEMENTARY_SYMBOL:
        return True
    return code >= FIRST_PICTOGRAPH and unicodedata.category(character) == "So"


def strip_controls(text: str) -> str:
    """Control and format characters removed (NUL, BEL, soft hyphen), line breaks and emoji spaced."""
    if text.isprintable() and max(text, default=" ") < chr(FIRST_PICTOGRAPH):
        # Nothing to remove or space (most sentences): "printable" excludes every control,
        # format and separator character but the space, and no pictograph comes before this.
        return text
    return strip_controls_by_character(text)


def strip_controls_by_character(text: str) -> str:
    """``strip_controls`` one character at a time: what its shortcut must agree with."""
    kept = []
    for character in text:
        if character in "\n\r\t\v\f\u2028\u2029\x85":
            kept.append(" ")
        elif unicodedata.category(character) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        elif is_pictograph(character):
            kept.append(" ")
        else:
            kept.append(character)
    return "".join(kept)


HYPHENS = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-", "\u00a0": " ", "\u202f": " "})


QUOTES = re.compile(r"[“”„‟«»\"]")
LONE_APOSTROPHE = re.compile(r"(?<![^\W_])'|'(?![^\W_])")
"""An apostrophe stays only between letters or digits ("it's", "'90s" aside); "_" is markup
here, not a letter, or a second reading would drop what the first one kept."""
NUMBER_RANGE = re.compile(r"(?<=\d)\s*[–—]\s*(?=\d)")
DASH = re.compile(r"\s*[—–―]\s*")
QUOTE_OR_DASH_CLUES = "“”„‟«»\"'—–―"


def quotes_and_dashes(text: str) -> str:
    """Quotes dropped (apostrophes kept plain), dashes become pauses, number ranges "to"."""
    text = text.translate(HYPHENS)
    text = text.replace("’", "'").replace("ʼ", "'").replace("‘", "'")
    if has_clue(text, QUOTE_OR_DASH_CLUES):
        text = QUOTES.sub(" ", text)
        text = LONE_APOSTROPHE.sub(" ", text)
        text = NUMBER_RANGE.sub(" to ", text)
        text = DASH.sub(", ", text)
    return text.replace("…", "...")


# --- words --------------------------------------------------------------------------------

WORD_ABBREVIATIONS: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(pattern), spoken, clue)
    for pattern, spoken, clue in (
        (r"\bvs\b\.?", "versus", "vs"),
        (r"\be\.g\.", "for example", "e.g."),
        (r"\bi\.e\.", "that is", "i.e."),
        (r"\betc\.", "et cetera", "etc."),
        (r"\bJr\.", "Junior", "Jr."),
        (r"\bSr\.", "Senior", "Sr."),
        (r"\bNo\.(?=\s*\d)", "number", "No."),
        (r"#(?=\d)", "number ", "#"),
        (r"\bapprox\.", "approximately", "approx."),
        (r"\bmins?\.", "minutes", "min"),
        (r"\bhrs?\.", "hours", "hr"),
    )
]
"""(pattern, spoken form, clue) for abbreviations eSpeak NG reads letter by letter or as a
word ("vs." → "V S", "Jr." → "J R", "No. 5" → "no five"); the clue is in every match.
``Mr.``, ``Dr.``, ``Mrs.`` are read right by both engines and left alone."""


def abbreviations(text: str) -> str:
    """Abbreviations a listener expects in full: ``vs.`` → ``versus``, ``Jr.`` → ``Junior``."""
    for pattern, spoken, clue in WORD_ABBREVIATIONS:
        if clue in text:
            text = pattern.sub(spoken, text)
    return text


DOTTED_ACRONYM = re.compile(r"\b(?:[A-Za-z]\.){2,}(?=[\s,;:!?')\]]|$)")


def dotted_acronyms(text: str) -> str:
    """``I.S.S.`` → ``I S S``: letters read one by one, and no false sentence end."""
    return DOTTED_ACRONYM.sub(lambda match: " ".join(match.group(0).replace(".", " ").split()), text)


CURRENCIES = {"$": ("dollar", "dollars"), "£": ("pound", "pounds"), "€": ("euro", "euros")}
CURRENCY_CLUES = tuple(CURRENCIES)
CURRENCY = re.compile(r"([$£€])\s?(\d[\d,]*(?:\.\d+)?)(\s+(?:thousand|million|billion|trillion)\b)?")


def currency(text: str) -> str:
    """``$5`` → ``5 dollars`` and ``$2 million`` → ``2 million dollars`` (eSpeak says "dollar five")."""
    if not has_clue(text, CURRENCY_CLUES):
        return text

    def spoken(match: re.Match[str]) -> str:
        singular, plural = CURRENCIES[match.group(1)]
        amount, scale = match.group(2), match.group(3) or ""
        unit = singular if amount == "1" and not scale else plural
        return f"{amount}{scale} {unit}"

    return CURRENCY.sub(spoken, text)


RATING_DENOMINATORS = frozenset({4, 5, 10, 20, 100})
"""``N/D`` with one of these below is a score ("4/5" → "4 out of 5") when N is at most D."""
FRACTIONS = {
    "1/2": "one half",
    "1/3": "one third",
    "2/3": "two thirds",
    "1/4": "one quarter",
    "3/4": "three quarters",
    "1/5": "one fifth",
    "1/10": "one tenth",
}
"""Fractions said as such when a noun follows ("3/4 of the film")."""
UNITS = {"km/h": "kilometres per hour", "m/s": "metres per second", "mi/h": "miles per hour"}
UNIT_PATTERNS = [(re.compile(rf"(?<=[\d\s]){re.escape(written)}\b"), unit) for written, unit in UNITS.items()]
NUMBER_SLASH = re.compile(r"(?<![\d/])(\d+(?:\.\d+)?)/(\d+)(?![\d/])(\s+of\b)?")
DATE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?![\d/])")
SLASH_CLUES = "/"
WORD_SLASH = re.compile(r"(?<![\w/])([A-Za-z][\w'-]*)/([A-Za-z][\w'-]*)(?![\w/])")


def number_slashes(text: str) -> str:
    """``4/5`` → ``4 out of 5``, ``3/4 of`` → ``three quarters of``, ``24/7`` → ``24 7``, dates spaced."""
    if not has_clue(text, SLASH_CLUES):
        return text
    text = DATE.sub(r"\1 \2 \3", text)

    def spoken(match: re.Match[str]) -> str:
        numerator, denominator, of = match.group(1), match.group(2), match.group(3) or ""
        written = f"{numerator}/{denominator}"
        if of and written in FRACTIONS:
            return FRACTIONS[written] + of
        if int(denominator) in RATING_DENOMINATORS and float(numerator) <= int(denominator):
            return f"{numerator} out of {denominator}{of}"
        if written in FRACTIONS:
            return FRACTIONS[written] + of
        return f"{numerator} {denominator}{of}"

    return NUMBER_SLASH.sub(spoken, text)


def word_slashes(text: str) -> str:
    """``US/Russia`` → ``US Russia`` (names joined, as said aloud); ``his/her`` → ``his or her``."""
    if not has_clue(text, SLASH_CLUES):
        return text
    for pattern, unit in UNIT_PATTERNS:
        text = pattern.sub(unit, text)

    def spoken(match: re.Match[str]) -> str:
        left, right = match.group(1), match.group(2)
        if left[0].isupper() and right[0].isupper():
            return f"{left} {right}"
        if left.lower() == "and" and right.lower() == "or":
            return "and or"
        return f"{left} or {right}"

    return WORD_SLASH.sub(spoken, text)


CONNECTORS = {
    "en": "and",
    "fr": "et",
    "de": "und",
    "es": "y",
    "it": "e",
    "pt": "e",
    "nl": "en",
    "sv": "och",
    "da": "og",
    "no": "og",
    "nb": "og",
    "pl": "i",
    "ru": "и",
}
"""How ``&`` is said per language; languages not listed get a pause."""


def ampersand(text: str, language: str = "en") -> str:
    """``Tom & Jerry`` → ``Tom and Jerry`` (``&`` is also what SSML would parse)."""
    word = CONNECTORS.get(language.split("-")[0].lower())
    return text.replace("&", f" {word} " if word else ", ")


SYMBOLS = [("%", " percent"), ("+", " plus "), ("@", " at ")]


def symbols(text: str) -> str:
    """``50%`` → ``50 percent``; ``+`` and ``@`` said as words."""
    for symbol, spoken in SYMBOLS:
        text = text.replace(symbol, spoken)
    return text


ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split()
)
TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}
DECADES = {
    10: "tens",
    20: "twenties",
    30: "thirties",
    40: "forties",
    50: "fifties",
    60: "sixties",
    70: "seventies",
    80: "eighties",
    90: "nineties",
}


def two_digits(number: int) -> str:
    """0–99 in words: ``84`` → ``eighty-four``."""
    if number < 20:
        return ONES[number]
    tens, ones = divmod(number, 10)
    return TENS[tens] + (f"-{ONES[ones]}" if ones else "")


def year_words(year: int) -> str:
    """A year as said: 1984 → nineteen eighty-four, 1905 → nineteen oh five, 2005 → two thousand five."""
    century, rest = divmod(year, 100)
    if 2000 <= year <= 2009:
        return "two thousand" + (f" {ONES[rest]}" if rest else "")
    if rest == 0:
        return f"{two_digits(century)} hundred"
    if rest < 10:
        return f"{two_digits(century)} oh {ONES[rest]}"
    return f"{two_digits(century)} {two_digits(rest)}"


def decade_words(decade: int) -> str:
    """A decade as said: 1990 → nineteen nineties, 2000 → two thousands, 2010 → twenty tens."""
    century, rest = divmod(decade, 100)
    if rest == 0:
        return "two thousands" if decade == 2000 else f"{two_digits(century)} hundreds"
    return f"{two_digits(century)} {DECADES[rest]}"


YEAR = re.compile(r"(?<![\w.,/$£€])(1[1-9]\d\d|20\d\d)(?![\w%]|[.,]\d)")
YEAR_CLUES = "012"
"""A year starts with 1 or 2; a decade ends in 0."""
DECADE = re.compile(r"(?<![\w.,$£€])(1[1-9]\d0|20\d0|[1-9]0)s\b")


def years(text: str) -> str:
    """``1984`` → ``nineteen eighty-four``; ``1990s`` → ``nineteen nineties``; ``’90s`` → ``nineties``.

    eSpeak NG says "nineteen hundred eighty four" and "nineteen hundred ninety z". A bare
    four-digit number from 1100 to 2099 in running text is taken as a year; amounts in a
    review carry a comma, a unit or a currency sign.
    """
    if not has_clue(text, YEAR_CLUES):
        return text
    text = DECADE.sub(
        lambda match: decade_words(int(match.group(1))) if len(match.group(1)) == 4 else DECADES[int(match.group(1))],
        text,
    )
    return YEAR.sub(lambda match: year_words(int(match.group(1))), text)


SPELLED_OUT = frozenset("US UK USA EU UN ISS TV BBC FBI CIA CEO DVD HBO AI".split())
"""Initialisms read letter by letter even when written without dots (eSpeak says "iss")."""


INITIALISM = re.compile(r"\b[A-Z]{2,4}\b")


def initialisms(text: str) -> str:
    """``ISS`` → ``I S S`` for initialisms a listener expects spelled out."""
    return INITIALISM.sub(
        lambda match: " ".join(match.group(0)) if match.group(0) in SPELLED_OUT else match.group(0), text
    )


MARKUP = re.compile(r"[<>\[\]{}*_#|\\`~^&]")


def markup(text: str) -> str:
    """Characters an engine could take for markup, or read out as symbols, become spaces."""
    return MARKUP.sub(" ", text)


SPACES = re.compile(r"\s+")
SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:!?])")
DOUBLED_COMMAS = re.compile(r",(\s*,)+")
LEADING_PUNCTUATION = re.compile(r"^[,.;:\s]+")
COMMA_BEFORE_STOP = re.compile(r",\s*([.;:!?])")


def whitespace(text: str) -> str:
    """Collapse whitespace; tidy spaces before punctuation and doubled commas."""
    text = SPACES.sub(" ", text).strip()
    text = SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)
    text = DOUBLED_COMMAS.sub(",", text)
    text = LEADING_PUNCTUATION.sub("", text)
    return COMMA_BEFORE_STOP.sub(r"\1", text).strip(" ,")


RULE_CLUES: list[tuple[str | tuple[str, ...], list[re.Pattern[str]]]] = [
    (QUOTE_OR_DASH_CLUES, [QUOTES, LONE_APOSTROPHE, NUMBER_RANGE, DASH]),
    *(((clue,), [pattern]) for pattern, _, clue in WORD_ABBREVIATIONS),
    (CURRENCY_CLUES, [CURRENCY]),
    (SLASH_CLUES, [DATE, NUMBER_SLASH, *(pattern for pattern, _ in UNIT_PATTERNS), WORD_SLASH]),
    (YEAR_CLUES, [YEAR, DECADE]),
]
"""Each rule's clues and the patterns they stand for: text with none of the clues matches none of the patterns."""

ENGLISH_RULES: list[Callable[[str], str]] = [
    strip_controls,
    quotes_and_dashes,
    abbreviations,
    dotted_acronyms,
    currency,
    number_slashes,
    word_slashes,
    symbols,
    years,
    initialisms,
]
"""Applied in this order for English (``en``, ``en-GB``, ...); then ``&``, markup and spacing."""
OTHER_RULES: list[Callable[[str], str]] = [strip_controls, quotes_and_dashes]
"""The language-neutral rules, for every other language."""


def spoken_text(text: str, *, language: str = "en", lexicon: Lexicon | None = None, phonemes: bool = False) -> str:
    """What the engine should say for ``text``; the lexicon comes first, matching words as written.

    Args:
        text: a sentence or heading as the EPUB shows it.
        language: BCP 47 tag of the text; the English rules apply to ``en*`` only.
        lexicon: the user's pronunciation fixes (``--lexicon``).
        phonemes: the engine reads IPA inline as ``[[ ... ]]`` (Piper): lexicon entries with
            IPA are given as phonemes rather than as their alias.
    """
    if lexicon is not None:
        text = lexicon.apply(text, phonemes=phonemes)
    rules = ENGLISH_RULES if language.lower().split("-")[0] == "en" else OTHER_RULES
    for rule in rules:
        text = rule(text)
    text = whitespace(markup(ampersand(text, language)))
    return whitespace(lexicon.insert_phonemes(text)) if lexicon is not None and phonemes else text
