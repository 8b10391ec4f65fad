"""What narration produces: per chapter, its audio and the exact time of every sentence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Clip:
    """One sentence (or heading) inside a chapter's audio, located to the sample."""

    sentence_id: str
    text: str
    """The sentence as written (what captions and the EPUB quote)."""
    spoken: str
    """What the engine was asked to say."""
    start_sample: int
    end_sample: int
    is_heading: bool = False


@dataclass(frozen=True)
class ChapterNarration:
    """The finished audio of one top-level chapter and the clips inside it."""

    chapter_id: str
    number: int
    """1-based position in the book."""
    title: str
    clips: tuple[Clip, ...]
    sample_rate: int
    sample_count: int
    wav_path: Path
    """Final (padded, loudness-normalised) PCM of the chapter as a WAV file in the cache."""
    wav_sha256: str = ""
    """SHA-256 of the WAV file, when the cache has checked it (whole-book writers key on it)."""

    @property
    def duration_s(self) -> float:
        """Length of the chapter audio in seconds."""
        return self.sample_count / self.sample_rate

    def seconds(self, sample: int) -> float:
        """A sample index of this chapter as seconds."""
        return sample / self.sample_rate

    @property
    def file_stem(self) -> str:
        """``01-introduction``: the base name of every per-chapter file."""
        return f"{self.number:02d}-{self.chapter_id}"


@dataclass(frozen=True)
class Narration:
    """Every chapter's narration, from one engine and voice."""

    engine: str
    voice: str
    chapters: tuple[ChapterNarration, ...]
    synthesized: int = 0
    """Sentences the engine spoke in this run (the rest came from the cache)."""
    cached: int = 0

    @property
    def duration_s(self) -> float:
        """Total length in seconds."""
        return sum(chapter.duration_s for chapter in self.chapters)
