"""Deterministic benchmark inputs: a ~100,000-word book of varied English prose, and its half.

Nothing is downloaded: a fixed seed drives a small grammar of sentence templates over word
lists kept here as data, so every machine benchmarks the same text. The plain-text book is in
the form reviewpub's plain-text reader documents (title line, blank line, short Title Case
headings standing alone between blank lines, one paragraph per line ending in punctuation);
the Markdown copy of the same text is what pandoc is timed on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

SEED = 20240119
BOOK_TITLE = "The Long Orbit"

NOUNS = [
    "station",
    "crew",
    "signal",
    "window",
    "engineer",
    "captain",
    "doctor",
    "pilot",
    "radio",
    "hatch",
    "garden",
    "corridor",
    "river",
    "village",
    "harbour",
    "archive",
    "letter",
    "machine",
    "storm",
    "bridge",
    "lantern",
    "mountain",
    "notebook",
    "orchard",
    "satellite",
    "telescope",
    "workshop",
    "market",
    "library",
    "kitchen",
    "railway",
    "festival",
    "compass",
    "violin",
    "lighthouse",
    "glacier",
    "desert",
    "forest",
    "canal",
    "tower",
]
ADJECTIVES = [
    "quiet",
    "distant",
    "broken",
    "patient",
    "restless",
    "narrow",
    "ancient",
    "bright",
    "hollow",
    "careful",
    "stubborn",
    "gentle",
    "frozen",
    "crowded",
    "forgotten",
    "familiar",
    "uneasy",
    "silver",
    "heavy",
    "fragile",
    "enormous",
    "modest",
    "curious",
    "weary",
    "brilliant",
    "crooked",
    "faint",
    "generous",
    "reckless",
    "steady",
]
VERBS = [
    ("repairs", "repair"),
    ("watches", "watch"),
    ("remembers", "remember"),
    ("carries", "carry"),
    ("questions", "question"),
    ("follows", "follow"),
    ("describes", "describe"),
    ("measures", "measure"),
    ("abandons", "abandon"),
    ("protects", "protect"),
    ("ignores", "ignore"),
    ("studies", "study"),
    ("builds", "build"),
    ("hides", "hide"),
    ("explains", "explain"),
    ("answers", "answer"),
    ("collects", "collect"),
    ("opens", "open"),
    ("forgives", "forgive"),
    ("imagines", "imagine"),
]
ADVERBS = [
    "slowly",
    "again",
    "at last",
    "without a word",
    "with great care",
    "before dawn",
    "every morning",
    "in secret",
    "for the first time",
    "once more",
    "by the window",
    "after the storm",
]
OPENERS = [
    "Later that evening,",
    "In the end,",
    "For a long time,",
    "Meanwhile,",
    "Even so,",
    "Years afterwards,",
    "Without warning,",
    "On the third day,",
    "According to the logbook,",
    "Strangely enough,",
]
NAMES = ["Mara", "Tobias", "Ines", "Oskar", "Lena", "Dmitri", "Amara", "Felix", "Noor", "Hugo", "Yara", "Emil"]
SPEECH_VERBS = ["said", "whispered", "replied", "admitted", "insisted", "asked"]
CONNECTIVES = ["and", "but", "while", "because", "although", "so", "until"]
SHORT_SENTENCES = [
    "Nobody moved.",
    "The lights flickered.",
    "It was late.",
    "Nothing happened.",
    "The silence held.",
    "She laughed.",
    "He waited.",
    "The door stayed shut.",
]
NUMBERS = ["two", "three", "seven", "twelve", "forty", "a hundred", "nineteen", "several"]
HEADING_WORDS = [
    "Orbit",
    "Signal",
    "Harbour",
    "Lantern",
    "Silence",
    "Winter",
    "Archive",
    "Garden",
    "Compass",
    "Horizon",
    "Storm",
    "Letter",
    "Bridge",
    "Workshop",
    "Glacier",
    "Tower",
    "River",
    "Festival",
]
HEADING_ADJECTIVES = ["Quiet", "Distant", "Broken", "Silver", "Last", "First", "Hollow", "Long", "Frozen", "Crooked"]
BOOK_CHAPTERS, BOOK_WORDS_PER_CHAPTER = 40, 2550
"""About 100,000 words in all; the half book is the first 20 chapters."""
SMOKE_CHAPTERS, SMOKE_WORDS = 4, 80
"""The ``--smoke`` book: a few hundred words, enough to exercise every figure in seconds."""
PIECE_TITLE = "Notes from the Harbour"
PIECE_CHAPTERS, PIECE_WORDS_PER_CHAPTER = 8, 625
"""The Piper figures' piece: about 5,000 words (half an hour of speech), eight chapters so two
workers share them evenly; a neural voice reads it in minutes where the book would take an hour."""
SMOKE_PIECE_CHAPTERS, SMOKE_PIECE_SENTENCES = 2, 2
"""The ``--smoke`` piece: two chapters of two short sentences, so each Piper run takes a second or two."""
PIECE_SEED = SEED + 1


@dataclass(frozen=True)
class Chapter:
    """One generated chapter: a heading and its paragraphs (each a line of sentences)."""

    heading: str
    paragraphs: tuple[str, ...]

    @property
    def words(self) -> int:
        """Words in the chapter's body."""
        return sum(len(paragraph.split()) for paragraph in self.paragraphs)


def noun_phrase(rng: random.Random) -> str:
    """'the quiet station', 'a lantern', 'Mara's notebook'."""
    roll = rng.random()
    if roll < 0.15:
        return f"{rng.choice(NAMES)}'s {rng.choice(NOUNS)}"
    article = rng.choice(["the", "the", "a", "every", "that"])
    if rng.random() < 0.5:
        adjective = rng.choice(ADJECTIVES)
        article = "an" if article == "a" and adjective[0] in "aeiou" else article
        return f"{article} {adjective} {rng.choice(NOUNS)}"
    noun = rng.choice(NOUNS)
    return f"{'an' if article == 'a' and noun[0] in 'aeiou' else article} {noun}"


def subject(rng: random.Random) -> str:
    """A name or a noun phrase."""
    return rng.choice(NAMES) if rng.random() < 0.4 else noun_phrase(rng)


def clause(rng: random.Random) -> str:
    """'Mara repairs the broken radio slowly'."""
    verb = rng.choice(VERBS)[0]
    tail = f" {rng.choice(ADVERBS)}" if rng.random() < 0.6 else ""
    return f"{subject(rng)} {verb} {noun_phrase(rng)}{tail}"


def capitalised(text: str) -> str:
    """The text with its first letter upper-case."""
    return text[0].upper() + text[1:]


def sentence(rng: random.Random) -> str:
    """One English sentence from one of several templates (statement, dialogue, question, short)."""
    roll = rng.random()
    if roll < 0.30:
        return capitalised(clause(rng)) + "."
    if roll < 0.50:
        return f"{rng.choice(OPENERS)} {clause(rng)}."
    if roll < 0.65:
        return capitalised(f"{clause(rng)}, {rng.choice(CONNECTIVES)} {clause(rng)}.")
    if roll < 0.75:
        speaker = rng.choice(NAMES)
        return f"\u201c{capitalised(clause(rng))},\u201d {speaker} {rng.choice(SPEECH_VERBS)}."
    if roll < 0.83:
        verb = rng.choice(VERBS)[1]
        return f"Why would {subject(rng)} {verb} {noun_phrase(rng)}?"
    if roll < 0.91:
        return f"It took {rng.choice(NUMBERS)} days before {clause(rng)}."
    if roll < 0.96:
        return rng.choice(SHORT_SENTENCES)
    return capitalised(f"{clause(rng)}; {clause(rng)}!")


def heading(rng: random.Random, used: set[str]) -> str:
    """A short Title Case heading without final punctuation, unique in the book."""
    while True:
        candidate = rng.choice(
            [
                f"The {rng.choice(HEADING_ADJECTIVES)} {rng.choice(HEADING_WORDS)}",
                f"{rng.choice(HEADING_WORDS)} and {rng.choice(HEADING_WORDS)}",
                f"A Letter from the {rng.choice(HEADING_WORDS)}",
                f"Under the {rng.choice(HEADING_ADJECTIVES)} {rng.choice(HEADING_WORDS)}",
                f"Before the {rng.choice(HEADING_WORDS)}",
            ]
        )
        if candidate not in used and len(set(candidate.split())) == len(candidate.split()):
            used.add(candidate)
            return candidate


def generate_book(
    chapters: int = BOOK_CHAPTERS, words_per_chapter: int = BOOK_WORDS_PER_CHAPTER, seed: int = SEED
) -> list[Chapter]:
    """The chapters of the book; each has about ``words_per_chapter`` words (±20%), fixed by ``seed``."""
    rng = random.Random(seed)
    used: set[str] = set()
    book = []
    for _ in range(chapters):
        title = heading(rng, used)
        target = rng.randint(words_per_chapter * 4 // 5, words_per_chapter * 6 // 5)
        paragraphs: list[str] = []
        words = 0
        while words < target:
            paragraph = " ".join(sentence(rng) for _ in range(rng.randint(2, 8)))
            paragraphs.append(paragraph)
            words += len(paragraph.split())
        book.append(Chapter(title, tuple(paragraphs)))
    return book


def plain_text(title: str, chapters: list[Chapter]) -> str:
    """The book as reviewpub's plain-text reader expects it."""
    parts = [title]
    for chapter in chapters:
        parts.append(chapter.heading)
        parts.extend(chapter.paragraphs)
    return "\n\n".join(parts) + "\n"


def markdown_text(title: str, chapters: list[Chapter]) -> str:
    """The same book as Markdown: title in front matter, one level-1 heading per chapter (pandoc's chapters)."""
    parts = [f"---\ntitle: {title}\nlang: en\n---"]
    for chapter in chapters:
        parts.append(f"# {chapter.heading}")
        parts.extend(chapter.paragraphs)
    return "\n\n".join(parts) + "\n"


def write_inputs(folder: Path, *, smoke: bool = False) -> dict[str, Path]:
    """Write book.txt, book.md and half.txt (the first half of the chapters) into ``folder``.

    Returns the paths by name: ``book``, ``book-md``, ``half``.
    """
    chapters, words = (SMOKE_CHAPTERS, SMOKE_WORDS) if smoke else (BOOK_CHAPTERS, BOOK_WORDS_PER_CHAPTER)
    book = generate_book(chapters, words)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"book": folder / "book.txt", "book-md": folder / "book.md", "half": folder / "half.txt"}
    paths["book"].write_text(plain_text(BOOK_TITLE, book), encoding="utf-8")
    paths["book-md"].write_text(markdown_text(BOOK_TITLE, book), encoding="utf-8")
    paths["half"].write_text(plain_text(BOOK_TITLE, book[: chapters // 2]), encoding="utf-8")
    return paths


def write_piece(folder: Path, *, smoke: bool = False, words: int = PIECE_CHAPTERS * PIECE_WORDS_PER_CHAPTER) -> Path:
    """Write piece.txt into ``folder``: about ``words`` words in eight chapters (a few sentences with ``smoke``)."""
    if smoke:
        rng = random.Random(PIECE_SEED)
        used: set[str] = set()
        chapters = [
            Chapter(heading(rng, used), (" ".join(rng.sample(SHORT_SENTENCES, SMOKE_PIECE_SENTENCES)),))
            for _ in range(SMOKE_PIECE_CHAPTERS)
        ]
    else:
        chapters = generate_book(PIECE_CHAPTERS, max(1, words // PIECE_CHAPTERS), seed=PIECE_SEED)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "piece.txt"
    path.write_text(plain_text(PIECE_TITLE, chapters), encoding="utf-8")
    return path


def edit_one_sentence(text: str, chapter_heading: str, revision: int) -> str:
    """The text with the first sentence after ``chapter_heading`` changed (a different change per revision)."""
    start = text.index(f"\n\n{chapter_heading}\n\n") + len(chapter_heading) + 4
    end = min(text.index(mark, start) for mark in (". ", "? ", "! ", ".\n") if mark in text[start:])
    return f"{text[:end]}, as noted in revision {revision}{text[end:]}"


def markdown_from_plain_text(text: str) -> str:
    """A Markdown copy of a plain-text review for pandoc.

    Short unpunctuated lines between blank lines become headings.
    """
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]
    parts = [f'---\ntitle: "{blocks[0]}"\n---']
    for block in blocks[1:]:
        is_heading = "\n" not in block and len(block.split()) <= 12 and not block.endswith((".", "!", "?", ":"))
        parts.append(f"# {block}" if is_heading else block)
    return "\n\n".join(parts) + "\n"
