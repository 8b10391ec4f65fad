"""Deterministic benchmark inputs: the seed review, a ~100,000-word book and its first half."""

from __future__ import annotations

import random
from pathlib import Path

SUBJECTS = ["the crew", "the station", "the director", "the score", "the camera", "the script", "the lead actor",
            "the supporting cast", "the editor", "the production designer", "the audience", "the final act"]
VERBS = ["builds", "reveals", "hides", "questions", "softens", "sharpens", "carries", "undercuts", "frames", "echoes"]
OBJECTS = ["a sense of dread", "the silence of orbit", "an old rivalry", "the cost of loyalty", "a fragile truce",
           "the weight of every decision", "a flicker of hope", "the noise of the world below", "a quiet betrayal"]
TAILS = ["with real patience", "without a single wasted shot", "in the space of a breath", "as the lights fail",
         "long after the credits", "in ways that surprise", "while the clock keeps running", "and nobody looks away"]
OPENERS = ["Later,", "In truth,", "At first,", "By the end,", "Meanwhile,", "Even so,", "For a while,", "Above all,"]
HEADINGS = ["Orbit", "Signal", "Silence", "Pressure", "Loyalty", "Descent", "Static", "Horizon", "Debris", "Airlock"]


def sentence(rng: random.Random) -> str:
    """One varied English sentence."""
    opener = rng.choice(OPENERS) + " " if rng.random() < 0.3 else ""
    text = f"{opener}{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
    text = text[0].upper() + text[1:]
    return text + rng.choice([".", ".", ".", "!", "?"])


def book(chapters: int = 40, words_per_chapter: int = 2500, seed: int = 1234) -> tuple[str, list[str], list[list[str]]]:
    """(title, chapter headings, paragraphs per chapter) of a generated book."""
    rng = random.Random(seed)
    headings, bodies = [], []
    for number in range(1, chapters + 1):
        headings.append(f"Chapter {number}: The {rng.choice(HEADINGS)} and the {rng.choice(HEADINGS)}")
        paragraphs, words = [], 0
        while words < words_per_chapter:
            paragraph = " ".join(sentence(rng) for _ in range(rng.randint(3, 7)))
            paragraphs.append(paragraph)
            words += len(paragraph.split())
        bodies.append(paragraphs)
    return "The Long Orbit: A Generated Book", headings, bodies


def write_inputs(folder: Path, chapters: int = 40, words_per_chapter: int = 2500) -> dict[str, Path]:
    """Write book.txt, half.txt and book.md (for pandoc) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    title, headings, bodies = book(chapters, words_per_chapter)

    def plain(count: int) -> str:
        parts = [title, ""]
        for heading, paragraphs in zip(headings[:count], bodies[:count]):
            parts += [heading, ""] + [text + "\n" for text in paragraphs]
        return "\n".join(parts)

    markdown = [f"# {title}", ""]
    for heading, paragraphs in zip(headings, bodies):
        markdown += [f"## {heading}", ""] + [text + "\n" for text in paragraphs]
    paths = {"book": folder / "book.txt", "half": folder / "half.txt", "book-md": folder / "book.md"}
    paths["book"].write_text(plain(chapters), encoding="utf-8")
    paths["half"].write_text(plain(chapters // 2), encoding="utf-8")
    paths["book-md"].write_text("\n".join(markdown), encoding="utf-8")
    return paths


def chapter_texts(path: Path) -> list[str]:
    """The chapters of a generated plain-text book, as whole texts (for the raw pipeline)."""
    lines = path.read_text(encoding="utf-8").split("\n")[2:]
    chapters: list[list[str]] = []
    for line in lines:
        if line.startswith("Chapter "):
            chapters.append([line + "."])
        elif line.strip() and chapters:
            chapters[-1].append(line)
    return [" ".join(chapter) for chapter in chapters]
