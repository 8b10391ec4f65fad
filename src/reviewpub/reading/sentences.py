"""Sentence rules: where one sentence ends and the next begins.

Sentences are the unit of narration and of read-aloud highlighting, so a wrong split is heard
and seen. A sentence can only end where whitespace follows terminal punctuation (``.``, ``?``,
``!``, ``…``), optionally closed by quotes or brackets; whether it does is decided by small
ordered rules, each with its data beside it (gTTS's tokenizer works the same way):

1. a lowercase letter next means the sentence goes on ("“Why?” she asked");
2. ``?``, ``!``, an ellipsis, or a closing quote or bracket after the stop end it;
3. a full stop after an abbreviation ("Mr.", "vs.", "e.g."), before a number after a
   numbering word ("No. 5"), or after an initial or dotted acronym ("J. R. R.", "U.S.",
   "I.S.S.") does not;
4. any other full stop does.

Decimals ("4.5") never split: no whitespace follows the point. Every rule looks only at the
word before the gap and the character after it, so splitting is linear in the text's length.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from reviewpub.document import Span

TITLE_ABBREVIATIONS = frozenset(
    "Mr Mrs Ms Mx Messrs Dr Prof St Ste Sr Jr Rev Hon Gen Col Maj Lt Sgt Capt Cmdr Adm Gov Sen Rep Pres Mt Ft".split()
)
"""Abbreviations written with a capital that never end a sentence ("Mr. Nolan"), matched as written."""

LOWERCASE_ABBREVIATIONS = frozenset("vs v e.g i.e cf viz al approx ca esp incl".split())
"""Abbreviations that never end a sentence ("e.g. The Matrix"), matched in any case.

``etc.`` is deliberately absent: mid-sentence it is followed by a lowercase word or a comma
and stays inside anyway, while before a capital it usually ends the sentence.
"""

NUMBERING_ABBREVIATIONS = frozenset(
    "No Nos no nos Fig fig Figs figs Vol vol Vols vols Ch ch Chap chap p pp Art art Sec sec Ep ep "
    "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec".split()
)
"""Abbreviations that stay inside the sentence only before a number ("No. 5", "Sept. 15")."""

TERMINAL_CHARACTERS = ".!?…"
CLOSING_CHARACTERS = "”’\"')]}»›"
"""May follow the terminal punctuation and still belong to the sentence ("… of “I.S.S.”")."""
OPENING_CHARACTERS = "“‘\"'([{«‹¿¡"
"""Stripped from the front of a word before it is compared with the abbreviations."""

DOTTED_ACRONYM = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]?\.?")
"""Initials and dotted acronyms: "J.", "U.S.", "I.S.S.", "a.m."."""
WHITESPACE_RUN = re.compile(r"\s+")
TERMINAL_SET = frozenset(TERMINAL_CHARACTERS)
GAP_AFTER_PUNCTUATION = re.compile("(?<=[" + re.escape(TERMINAL_CHARACTERS + CLOSING_CHARACTERS) + r"])\s+")
"""Whitespace right after punctuation that may end a sentence: the only places one can end."""


def ends_sentence(word: str, following: str | None) -> bool:
    """Whether ``word`` (the text before a gap, ending in terminal punctuation) ends its sentence.

    Args:
        word: the non-space characters before the gap, e.g. ``"“I.S.S.”"`` or ``"Mr."``.
        following: the first character after the gap, ``None`` at the end of the text.
    """
    if following is None:
        return True
    if following.islower():
        return False
    core = word.rstrip(CLOSING_CHARACTERS)
    terminal_start = len(core.rstrip(TERMINAL_CHARACTERS))
    terminal = core[terminal_start:]
    if terminal != "." or len(core) < len(word):
        return True
    bare = core[:-1].lstrip(OPENING_CHARACTERS)
    if bare in TITLE_ABBREVIATIONS or bare.lower() in LOWERCASE_ABBREVIATIONS:
        return False
    if bare in NUMBERING_ABBREVIATIONS and following.isdigit():
        return False
    return DOTTED_ACRONYM.fullmatch(core.lstrip(OPENING_CHARACTERS)) is None


def split_offsets(text: str) -> list[tuple[int, int]]:
    """Character ranges ``(begin, end)`` of the sentences in ``text``, outer whitespace excluded.

    Sentences only ever meet at whitespace, so joining the pieces of whitespace-normalised text
    with single spaces gives the text back.
    """
    ranges: list[tuple[int, int]] = []
    sentence_start = 0
    for gap in GAP_AFTER_PUNCTUATION.finditer(text):
        word_end = gap.start()
        word_start = word_end
        # Walk back over this one word only: each character is visited once in the whole text.
        while word_start > sentence_start and not text[word_start - 1].isspace():
            word_start -= 1
        word = text[word_start:word_end]
        if word.rstrip(CLOSING_CHARACTERS)[-1:] in TERMINAL_SET:
            following = text[gap.end()] if gap.end() < len(text) else None
            if ends_sentence(word, following):
                ranges.append((sentence_start, word_end))
                sentence_start = gap.end()
    ranges.append((sentence_start, len(text)))
    trimmed: list[tuple[int, int]] = []
    for begin, end in ranges:
        while begin < end and text[begin].isspace():
            begin += 1
        while end > begin and text[end - 1].isspace():
            end -= 1
        if begin < end:
            trimmed.append((begin, end))
    return trimmed


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` as strings, exactly as written."""
    return [text[begin:end] for begin, end in split_offsets(text)]


def normalize_spans(spans: Sequence[Span]) -> list[Span]:
    """Collapse whitespace to single spaces across span borders, trim both ends, drop empty spans."""
    result: list[Span] = []
    after_space = True
    for span in spans:
        text = WHITESPACE_RUN.sub(" ", span.text)
        if after_space:
            text = text.lstrip(" ")
        if not text:
            continue
        after_space = text.endswith(" ")
        result.append(dataclasses.replace(span, text=text) if text != span.text else span)
    while result and result[-1].text.endswith(" "):
        stripped = result[-1].text.rstrip(" ")
        if stripped:
            result[-1] = dataclasses.replace(result[-1], text=stripped)
            break
        result.pop()
    return result


def split_spans(spans: Sequence[Span]) -> list[tuple[Span, ...]]:
    """Split styled text into sentences: split the plain text, then cut the spans at those offsets.

    Emphasis and links that cross a sentence boundary survive on both sides of it.
    """
    spans = normalize_spans(spans)
    if len(spans) == 1:
        only = spans[0]
        return [
            (
                only
                if end - begin == len(only.text)
                else Span(only.text[begin:end], only.emphasis, only.strong, only.code, only.href),
            )
            for begin, end in split_offsets(only.text)
        ]
    starts: list[int] = []
    position = 0
    for span in spans:
        starts.append(position)
        position += len(span.text)
    text = "".join(span.text for span in spans)
    sentences: list[tuple[Span, ...]] = []
    first = 0
    for begin, end in split_offsets(text):
        while first < len(spans) and starts[first] + len(spans[first].text) <= begin:
            first += 1
        pieces: list[Span] = []
        index = first
        while index < len(spans) and starts[index] < end:
            span = spans[index]
            low, high = max(begin, starts[index]), min(end, starts[index] + len(span.text))
            if low < high:
                piece = span.text[low - starts[index] : high - starts[index]]
                pieces.append(
                    span if piece == span.text else Span(piece, span.emphasis, span.strong, span.code, span.href)
                )
            index += 1
        sentences.append(tuple(pieces))
    return sentences
