"""Sentence rules: where one sentence ends and the next begins.

Small ordered rules over the text, their data beside them (gTTS's tokenizer does the same).
A full stop ends a sentence unless it belongs to an abbreviation ("Mr.", "vs."), an initial
("J. R. R."), or a dotted acronym ("U.S.", "I.S.S."); decimals never split because the
point is not followed by a space. Closing quotes and brackets stay with their sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reviewpub.document import Span

ABBREVIATIONS = frozenset(
    """mr mrs ms mx dr prof st sr jr rev gen col lt sgt capt cmdr mt ft vs v etc
    e.g i.e cf al approx inc ltd co corp dept est ed eds
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun""".split()
)
"""Words that end in a full stop without ending the sentence (compared in lower case)."""

NUMBER_ABBREVIATIONS = frozenset("no nos fig figs vol vols ch chap pp p art sec".split())
"""Abbreviations that stay inside the sentence only before a number ("No. 5", but "No. The ...")."""

CLOSING = "”’\"')]}»›"
"""Characters that may follow the terminal punctuation and still belong to the sentence."""

TERMINAL = re.compile(r"[.!?…]+[" + re.escape(CLOSING) + r"]*(?=\s)")
DOTTED_ACRONYM = re.compile(r"^(?:[A-Za-z]\.){1,}[A-Za-z]?\.?$")
OPENING = "“‘\"'([{«‹¿¡"


def previous_word(text: str, end: int) -> str:
    """The run of non-space characters ending at ``end``, without opening quotes."""
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:end].lstrip(OPENING)


def is_sentence_end(text: str, match: re.Match[str]) -> bool:
    """Whether the punctuation in ``match`` ends a sentence, judging both sides of it."""
    following = text[match.end():].lstrip()
    if not following:
        return True
    first = following[0]
    if first.islower():
        return False
    punctuation = match.group().rstrip(CLOSING)
    if punctuation != "." or len(punctuation) < len(match.group()):
        # "?", "!" and a full stop followed by a closing quote ("... of “I.S.S.”") end it.
        return True
    word = previous_word(text, match.start() + 1)
    bare = word.rstrip(".").lower()
    if bare in ABBREVIATIONS:
        return False
    if bare in NUMBER_ABBREVIATIONS and first.isdigit():
        return False
    if DOTTED_ACRONYM.match(word):
        return False
    return True


def split_offsets(text: str) -> list[tuple[int, int]]:
    """Character ranges of the sentences in ``text``, leading and trailing spaces excluded."""
    ranges: list[tuple[int, int]] = []
    start = 0
    for match in TERMINAL.finditer(text):
        if is_sentence_end(text, match):
            ranges.append((start, match.end()))
            start = match.end()
    ranges.append((start, len(text)))
    trimmed = []
    for begin, end in ranges:
        while begin < end and text[begin].isspace():
            begin += 1
        while end > begin and text[end - 1].isspace():
            end -= 1
        if begin < end:
            trimmed.append((begin, end))
    return trimmed


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` as strings."""
    return [text[begin:end] for begin, end in split_offsets(text)]


def normalize_spans(spans: Sequence[Span]) -> list[Span]:
    """Collapse runs of whitespace to one space across spans and drop empty spans."""
    result: list[Span] = []
    previous_space = True
    for span in spans:
        pieces = []
        for character in span.text:
            if character.isspace():
                if not previous_space:
                    pieces.append(" ")
                previous_space = True
            else:
                pieces.append(character)
                previous_space = False
        text = "".join(pieces)
        if text:
            result.append(Span(text, span.emphasis, span.strong, span.code, span.href))
    if result and result[-1].text.endswith(" "):
        last = result[-1]
        stripped = last.text.rstrip(" ")
        result[-1] = Span(stripped, last.emphasis, last.strong, last.code, last.href)
        if not stripped:
            result.pop()
    return result


def split_spans(spans: Sequence[Span]) -> list[tuple[Span, ...]]:
    """Split styled text into sentences, cutting spans at sentence boundaries."""
    spans = normalize_spans(spans)
    text = "".join(span.text for span in spans)
    sentences: list[tuple[Span, ...]] = []
    for begin, end in split_offsets(text):
        pieces: list[Span] = []
        position = 0
        for span in spans:
            span_begin, span_end = position, position + len(span.text)
            position = span_end
            low, high = max(begin, span_begin), min(end, span_end)
            if low < high:
                pieces.append(Span(span.text[low - span_begin:high - span_begin], span.emphasis, span.strong, span.code, span.href))
        sentences.append(tuple(pieces))
    return sentences
