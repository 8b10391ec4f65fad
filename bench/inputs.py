"""What the raw references are fed: the chapters reviewpub reads, as text (eSpeak) or as sentences (Piper).

The eSpeak reference gets each chapter's text cut from the source by reviewpub's outline (a
subprocess, as users run it). The Piper reference gets the exact sentences reviewpub asks its
engine to say: made here, before any timing, from reviewpub's own reading plan and spoken-text
rules, so the raw loop synthesises the same strings and pays nothing for reading them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any


def outline(reviewpub: list[str], source: Path, env: dict[str, str]) -> dict[str, Any]:
    """How reviewpub reads ``source`` (``reviewpub outline --format json``)."""
    completed = subprocess.run(
        [*reviewpub, "outline", str(source), "--format", "json"], capture_output=True, text=True, env=env, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"bench: reviewpub outline {source} failed:\n{completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def heading_key(line: str) -> str:
    """A source line as it would read as a heading: no Markdown '#', no '1.' numbering."""
    text = line.strip().lstrip("#").strip()
    number, _, rest = text.partition(" ")
    return rest.strip() if number.rstrip(".)").isdigit() and number[-1:] in ".)" and rest else text


def chapter_texts(source: Path, structure: dict[str, Any]) -> list[str]:
    """The text of each top-level chapter reviewpub found, cut from the source, for the raw pipeline.

    A chapter starts at the line holding its heading (or, for a heading reviewpub inferred,
    such as a FAQ's, its first sub-heading); the raw pipeline speaks the heading too.
    """
    lines = source.read_text(encoding="utf-8-sig").splitlines()[1:]
    keys = [heading_key(line) for line in lines]
    starts: list[int] = []
    position = 0
    for number, chapter in enumerate(structure["chapters"]):
        anchors = {chapter["title"], *(child["title"] for child in chapter["children"][:1])}
        found = next((index for index in range(position, len(lines)) if keys[index] in anchors), None)
        if found is None and number == 0:
            found = 0
        if found is None:
            raise SystemExit(
                f"bench: cannot find chapter {chapter['title']!r} in {source}; the raw pipeline "
                "needs the same chapters as reviewpub"
            )
        starts.append(found)
        position = found + 1
    texts = []
    for number, (chapter, start) in enumerate(zip(structure["chapters"], starts)):
        end = starts[number + 1] if number + 1 < len(starts) else len(lines)
        body = [line.strip() for line in lines[start:end] if line.strip()]
        if keys[start] != chapter["title"]:
            body.insert(0, chapter["title"])
        # Headings get a full stop so eSpeak NG pauses after them, as reviewpub does.
        texts.append("\n".join(line if line.endswith((".", "!", "?")) else line + "." for line in body))
    return texts


def write_chapters(
    source: Path, reviewpub: list[str], env: dict[str, str], folder: Path, expected_chapters: int | None = None
) -> tuple[Path, dict[str, Any]]:
    """Write the raw pipeline's chapter list for ``source``; (its path, reviewpub's outline of it)."""
    structure = outline(reviewpub, source, env)
    if expected_chapters is not None and len(structure["chapters"]) != expected_chapters:
        raise SystemExit(
            f"bench: reviewpub read {source} as {len(structure['chapters'])} chapters, not "
            f"{expected_chapters}: bench/corpus.py no longer matches the plain-text reader"
        )
    path = folder / f"{source.stem}.chapters.json"
    # The language picks the voice, as reviewpub's default voice is the one named by it.
    chapters = {"language": structure["language"] or "en", "chapters": chapter_texts(source, structure)}
    path.write_text(json.dumps(chapters, ensure_ascii=False), encoding="utf-8")
    return path, structure


def spoken_chapters(source: Path) -> tuple[str, list[dict[str, list[Any]]]]:
    """(the language, each chapter's spoken sentences and the pause before each) as reviewpub narrates ``source``.

    Lines with nothing to say (reviewpub puts a short silence there) are left out; their pause
    is kept, added to the next line's.
    """
    from reviewpub.narration import AudioSettings
    from reviewpub.narration.plan import is_speakable, reading_plan
    from reviewpub.narration.spoken import spoken_text
    from reviewpub.reading import read_document

    document = read_document(source)
    language = document.metadata.language or "en"
    settings = AudioSettings()
    chapters = []
    for chapter in document.chapters:
        sentences: list[str] = []
        pauses_ms: list[int] = []
        carried_ms = 0
        for line in reading_plan(chapter, settings):
            spoken = spoken_text(line.sentence.text, language=language)
            if not is_speakable(spoken):
                carried_ms += line.pause_ms
                continue
            sentences.append(spoken)
            pauses_ms.append(line.pause_ms + carried_ms)
            carried_ms = 0
        chapters.append({"sentences": sentences, "pauses_ms": pauses_ms})
    return language, chapters


def write_sentences(source: Path, folder: Path) -> tuple[Path, int]:
    """Write the Piper reference's chapter list for ``source``; (its path, the number of sentences)."""
    language, chapters = spoken_chapters(source)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{source.stem}.sentences.json"
    path.write_text(json.dumps({"language": language, "chapters": chapters}, ensure_ascii=False), encoding="utf-8")
    return path, sum(len(chapter["sentences"]) for chapter in chapters)
