"""What is spoken, in what order, under which cache key: a chapter's reading plan and its job.

A top-level chapter is read as its heading, a pause, then its sentences, with longer pauses
between paragraphs; sections and FAQ questions are read as headings (pause, heading, pause,
body). Each line gets its spoken text (``spoken``, with the user's lexicon) and the cache key of
its clip; a chapter's key covers its clips, pauses, audio settings and levelling rules. A
``ChapterJob`` is all a worker needs (small and picklable: no audio).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.document import Chapter, ListBlock, Paragraph, Sentence
from reviewpub.media import digest
from reviewpub.narration.rules import LEVELLING_RULES, LEVELLING_VERSION, TRIM_RULES
from reviewpub.narration.settings import AudioSettings

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.engines.base import Engine
    from reviewpub.narration.lexicon import Lexicon

UNSPEAKABLE_MS = 250
"""Silence standing in for a sentence with nothing to say ("???", an emoji), so it still has a clip."""
AUDIO_RULES = (*LEVELLING_RULES, UNSPEAKABLE_MS, LEVELLING_VERSION)
"""The rules that shape a chapter's PCM beyond its settings: part of its cache key."""


@dataclass(frozen=True)
class Line:
    """One thing said in a chapter, and the pause before it."""

    sentence: Sentence
    pause_ms: int
    is_heading: bool = False


def block_groups(block: Paragraph | ListBlock | Any) -> list[tuple[Sentence, ...]]:
    """A block's sentences in the groups read without a paragraph pause (a paragraph, a list item)."""
    if isinstance(block, Paragraph):
        return [block.sentences]
    if isinstance(block, ListBlock):
        return list(block.items)
    return [paragraph.sentences for paragraph in block.paragraphs]


def reading_plan(chapter: Chapter, settings: AudioSettings) -> list[Line]:
    """The chapter in reading order with its pauses: heading, pause, body; then each section alike."""
    lines: list[Line] = []

    def read(section: Chapter, is_first: bool) -> None:
        lines.append(Line(section.heading, 0 if is_first else settings.section_pause_ms, is_heading=True))
        pause = settings.heading_pause_ms
        for block in section.blocks:
            for group in block_groups(block):
                for index, sentence in enumerate(group):
                    lines.append(Line(sentence, pause if index == 0 else settings.sentence_pause_ms))
                if group:
                    pause = settings.paragraph_pause_ms
        for child in section.children:
            read(child, False)

    read(chapter, True)
    return lines


@dataclass(frozen=True)
class SpokenLine:
    """A line of the plan with what the engine is asked to say and its clip's cache key."""

    sentence_id: str
    text: str
    spoken: str
    pause_ms: int
    is_heading: bool
    clip_key: str | None
    """None when there is nothing to say (no letter or digit): silence stands in."""


@dataclass(frozen=True)
class ChapterJob:
    """Everything a worker needs to narrate one chapter (small and picklable: no audio)."""

    number: int
    chapter_id: str
    title: str
    lines: tuple[SpokenLine, ...]
    chapter_key: str
    engine: Engine
    voice: str
    settings: AudioSettings
    cache_dir: Path

    @property
    def spoken_length(self) -> int:
        """Characters to say: what synthesising, levelling and encoding the chapter cost grows with."""
        return sum(len(line.spoken) for line in self.lines)


def is_speakable(spoken: str) -> bool:
    """Whether there is anything to say (a letter or a digit)."""
    return any(character.isalnum() for character in spoken)


def clip_key(engine: Engine, voice: str, spoken: str) -> str:
    """A clip's cache key: engine, voice, every sound option, the trimming rules and the exact text.

    Clips are stored as the engine made them (its rate, mono), so output settings are not part
    of the key: changing the MP3 sample rate or channels reuses every clip.
    """
    identity = engine.voice_fingerprint(voice)
    # Engines without a voice file add nothing, so their keys (and caches) stay as they were.
    return digest(
        "clip", engine.name, voice, *([identity] if identity else []), engine.sound_options(), TRIM_RULES, spoken
    )


def chapter_key(lines: tuple[SpokenLine, ...], settings: AudioSettings) -> str:
    """A chapter WAV's cache key: its clips, pauses, audio settings and levelling rules."""
    return digest("chapter", [(line.clip_key, line.pause_ms) for line in lines], settings.pcm_key(), AUDIO_RULES)


def plan_jobs(
    document: Document, engine: Engine, voice: str, settings: AudioSettings, cache_dir: Path, lexicon: Lexicon | None
) -> list[ChapterJob]:
    """One job per top-level chapter: its lines, their spoken text and every cache key."""
    from reviewpub.narration.spoken import spoken_text

    language = document.metadata.language
    jobs = []
    for number, chapter in enumerate(document.chapters, start=1):
        lines = []
        for line in reading_plan(chapter, settings):
            spoken = spoken_text(
                line.sentence.text, language=language, lexicon=lexicon, phonemes=engine.accepts_phonemes
            )
            key = clip_key(engine, voice, spoken) if is_speakable(spoken) else None
            lines.append(SpokenLine(line.sentence.id, line.sentence.text, spoken, line.pause_ms, line.is_heading, key))
        spoken_lines = tuple(lines)
        jobs.append(
            ChapterJob(
                number,
                chapter.id,
                chapter.title,
                spoken_lines,
                chapter_key(spoken_lines, settings),
                engine,
                voice,
                settings,
                Path(cache_dir),
            )
        )
    return jobs
