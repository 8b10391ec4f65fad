"""The one small interface every text-to-speech engine implements."""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from reviewpub.errors import ReviewpubError, SettingsError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Voice:
    """A voice an engine offers, as ``reviewpub voices`` lists it."""

    id: str
    """What ``--voice`` accepts (``en-us`` for eSpeak NG, ``en`` for gTTS)."""
    name: str
    languages: tuple[str, ...]
    """BCP 47 tags the voice speaks."""
    gender: str | None = None
    quality: str | None = None
    """How the voice was trained, when the engine says (Piper: x_low, low, medium, high)."""
    sample_rate: int | None = None
    """The rate of the voice's audio, when it is fixed per voice."""
    speakers: tuple[str, ...] = ()
    """Speaker names of a multi-speaker voice (``--speaker``); empty for one speaker."""


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

    programmatic_options: ClassVar[frozenset[str]] = frozenset()
    """Constructor options for programs (tests, the bench), not offered as command-line flags."""
    accepts_phonemes: ClassVar[bool] = False
    """True when the text may carry IPA between ``[[`` and ``]]`` (lexicon phoneme entries)."""

    @abc.abstractmethod
    def voices(self, language: str | None = None) -> list[Voice]:
        """The voices on offer, only those speaking ``language`` when given."""

    @abc.abstractmethod
    def synthesize(self, text: str, *, voice: str) -> Speech:
        """Speak one sentence; raise EngineError saying what the user can do about it."""

    def sound_options(self) -> dict[str, Any]:
        """Every option that changes the sound (rate, pitch, accent): part of the cache key."""
        return {}

    def for_workers(self, workers: int) -> Engine:
        """The engine as ``workers`` processes should each use it (Piper shares the cores out)."""
        return self

    def voice_fingerprint(self, voice: str) -> str:
        """What identifies the voice beyond its name (a model file's hash): part of the cache key."""
        return ""

    def check_voice(self, voice: str) -> None:
        """Raise a SettingsError when ``voice`` is not one of the engine's voices."""
        if not any(voice.lower() == item.id.lower() for item in self.voices()):
            offered = ", ".join(item.id for item in self.voices()[:12])
            raise SettingsError(
                f"--voice {voice}: not a voice of {self.name}; try one of: {offered} "
                f"(reviewpub voices --engine {self.name})"
            )

    def choose_voice(self, voice: str | None, language: str) -> str:
        """The voice to use: the user's (checked), else the default when it speaks the document's
        language, else a voice named after the language, else the default (with a warning).

        Raises:
            SettingsError: the voice the user asked for does not exist.
        """
        if voice:
            self.check_voice(voice)
            return voice
        wanted = language.lower()
        primary = wanted.split("-")[0]
        default = self.default_voice

        def speaks_language(voice_id: str) -> bool:
            if voice_id.lower().split("-")[0] == primary:
                return True
            return any(
                item.id == voice_id and any(code.lower().split("-")[0] == primary for code in item.languages)
                for item in self.voices()
            )

        def exists(candidate: str) -> bool:
            try:
                self.check_voice(candidate)
            except ReviewpubError:
                return False
            return True

        if wanted == default.lower() or (wanted == primary and speaks_language(default)):
            return default
        for candidate in dict.fromkeys((wanted, primary)):
            if exists(candidate):
                return candidate
        logger.warning("%s has no voice for the language %r; using %s", self.name, language, default)
        return default
