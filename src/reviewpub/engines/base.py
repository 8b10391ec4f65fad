"""The one small interface every text-to-speech engine implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Voice:
    """A voice an engine offers, as ``reviewpub voices`` lists it."""

    id: str
    """What ``--voice`` accepts (``en-us`` for eSpeak NG, ``en`` for gTTS)."""
    name: str
    languages: tuple[str, ...]
    """BCP 47 tags the voice speaks."""
    gender: str | None = None


@dataclass(frozen=True)
class WordMark:
    """Where a word starts in the audio, when the engine tells."""

    text_offset: int
    """0-based character offset of the word in the synthesised text."""
    sample: int
    """Sample index at which the word starts."""


@dataclass(frozen=True)
class Speech:
    """Audio for one piece of text: mono signed 16-bit little-endian PCM."""

    samples: bytes
    sample_rate: int
    words: tuple[WordMark, ...] = ()

    @property
    def sample_count(self) -> int:
        """Number of samples (two bytes each)."""
        return len(self.samples) // 2

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.sample_count / self.sample_rate


class Engine(abc.ABC):
    """A text-to-speech back-end, found by name through the ``reviewpub.engines`` entry points."""

    name: ClassVar[str]
    """What ``--engine`` accepts."""
    description: ClassVar[str] = ""
    needs_network: ClassVar[bool] = False
    """True when synthesis sends the text to a remote service."""
    default_voice: ClassVar[str]
    max_parallel: ClassVar[int | None] = None
    """At most this many synthesis processes at once (a polite limit for online services)."""
    sample_rate: ClassVar[int | None] = None
    """The rate of every clip the engine makes, when fixed: a chapter with nothing to say is
    silence at this rate, so the whole book can be joined without resampling."""

    @abc.abstractmethod
    def voices(self, language: str | None = None) -> list[Voice]:
        """The voices on offer, only those speaking ``language`` when given."""

    @abc.abstractmethod
    def synthesize(self, text: str, *, voice: str) -> Speech:
        """Speak one sentence; raise EngineError saying what the user can do about it."""

    def sound_options(self) -> dict[str, Any]:
        """Every option that changes the sound (rate, pitch, accent): part of the cache key."""
        return {}
