"""eSpeak NG through ctypes: offline, private, reproducible; the default engine.

The library and its data come from the ``espeakng-loader`` wheel. eSpeak NG's pitch "flutter"
follows a counter that runs across utterances, so the same sentence sounds a little different
depending on what was said before it; every voice is used with a variant that turns flutter
off, so a sentence always gives the same samples (a resumed build equals an uninterrupted one). It is driven in synchronous
mode with a callback that collects PCM and word events (their ``audio_position`` gives word
timings for free). libespeak-ng is a per-process singleton, so the engine initialises it
lazily once per process and serialises calls with a lock; parallel narration uses processes.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, ClassVar

from reviewpub.engines.base import Engine, Speech, Voice, WordMark
from reviewpub.errors import EngineError, EngineUnavailable, SettingsError

AUDIO_OUTPUT_SYNCHRONOUS = 2
POSITION_CHARACTER = 1
CHARS_UTF8 = 1
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
PARAMETER_RATE = 1
PARAMETER_PITCH = 3
VARIANT = "reviewpub"
VARIANT_FILE = "language variant\nname reviewpub\nflutter 0\necho 0 0\n"
"""A voice variant identical to the default but without flutter (which depends on history)."""
DEFAULT_RATE = 175
DEFAULT_PITCH = 50


class EspeakEvent(ctypes.Structure):
    """``espeak_EVENT`` from speak_lib.h."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


class EspeakVoice(ctypes.Structure):
    """``espeak_VOICE`` from speak_lib.h."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


logger = logging.getLogger(__name__)


def data_folder_with_variant(bundled: Path) -> Path:
    """A folder holding ``espeak-ng-data``: the bundled data (symlinked) plus our voice variant.

    Made once per machine and user in the temporary folder, atomically, so parallel workers
    and runs share it; falls back to the bundled data when it cannot be made.
    """
    key = hashlib.sha256(f"{bundled}\n{VARIANT_FILE}".encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"reviewpub-espeak-{os.getuid() if hasattr(os, 'getuid') else 0}-{key}"
    if (root / "espeak-ng-data" / "voices" / "!v" / VARIANT).is_file():
        return root
    try:
        staging = Path(tempfile.mkdtemp(prefix=f"{root.name}.", dir=root.parent))
        mirror = staging / "espeak-ng-data"
        variants = mirror / "voices" / "!v"
        variants.mkdir(parents=True)
        for entry in bundled.iterdir():
            if entry.name != "voices":
                (mirror / entry.name).symlink_to(entry)
        for entry in (bundled / "voices").iterdir():
            if entry.name != "!v":
                (mirror / "voices" / entry.name).symlink_to(entry)
        for entry in (bundled / "voices" / "!v").iterdir():
            (variants / entry.name).symlink_to(entry)
        (variants / VARIANT).write_text(VARIANT_FILE, encoding="ascii")
        try:
            os.rename(staging, root)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another process made it first
        return root if (root / "espeak-ng-data").is_dir() else bundled.parent
    except OSError as error:
        logger.warning("eSpeak NG: cannot prepare its data folder (%s); narration may vary slightly between runs", error)
        return bundled.parent


SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(EspeakEvent))


class Library:
    """The loaded libespeak-ng of this process, with the buffers the callback fills."""

    lock = threading.Lock()
    instance: ClassVar[Library | None] = None

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as error:
            raise EngineUnavailable("eSpeak NG is not installed; pip install espeakng-loader") from error
        self.library = ctypes.CDLL(str(espeakng_loader.get_library_path()))
        data_folder = data_folder_with_variant(Path(espeakng_loader.get_data_path()))
        self.library.espeak_Initialize.restype = ctypes.c_int
        self.library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.sample_rate = self.library.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_folder).encode(), 0)
        if self.sample_rate <= 0:
            raise EngineUnavailable(f"eSpeak NG failed to start (data in {data_folder})")
        self.library.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]
        self.library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.library.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(EspeakVoice))
        self.library.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        self.chunks: list[bytes] = []
        self.words: list[tuple[int, int]] = []
        self.callback = SYNTH_CALLBACK(self.collect)
        self.library.espeak_SetSynthCallback(self.callback)
        self.settings: tuple[str, int, int] | None = None
        self.identifiers = {voice.id.lower(): identifier for voice, identifier in self.list_voices()}

    @classmethod
    def get(cls) -> Library:
        """This process's library, initialised on first use."""
        if cls.instance is None:
            cls.instance = cls()
        return cls.instance

    def collect(self, samples: Any, count: int, events: Any) -> int:
        """The synth callback: keep the PCM and the word events; 0 means go on."""
        if count > 0:
            self.chunks.append(ctypes.string_at(samples, count * 2))
        index = 0
        while events[index].type != EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == EVENT_WORD:
                self.words.append((event.text_position, event.audio_position))
            index += 1
        return 0

    def configure(self, voice: str, rate: int, pitch: int) -> None:
        """Select voice, rate and pitch, only when they changed since the last call."""
        if self.settings == (voice, rate, pitch):
            return
        identifier = voice if "+" in voice else f"{self.identifiers.get(voice.lower(), voice)}+{VARIANT}"
        if (self.library.espeak_SetVoiceByName(identifier.encode()) != 0
                and self.library.espeak_SetVoiceByName(voice.encode()) != 0 and not self.select_by_language(voice)):
            raise SettingsError(f"unknown voice {voice!r} for espeak; see `reviewpub voices --engine espeak`")
        self.library.espeak_SetParameter(PARAMETER_RATE, rate, 0)
        self.library.espeak_SetParameter(PARAMETER_PITCH, pitch, 0)
        self.settings = (voice, rate, pitch)

    def select_by_language(self, language: str) -> bool:
        """Select the best voice for a language tag (``en-gb`` has no voice file of that name)."""
        wanted = ctypes.create_string_buffer(language.encode() + b"\0")
        properties = EspeakVoice(name=None, languages=ctypes.cast(wanted, ctypes.c_void_p), identifier=None)
        return int(self.library.espeak_SetVoiceByProperties(ctypes.byref(properties))) == 0

    def speak(self, text: str, voice: str, rate: int, pitch: int) -> Speech:
        """Synthesise ``text`` and return its PCM and word marks."""
        with self.lock:
            self.configure(voice, rate, pitch)
            self.chunks, self.words = [], []
            encoded = text.encode("utf-8") + b"\0"
            buffer = ctypes.create_string_buffer(encoded)
            status = self.library.espeak_Synth(buffer, len(encoded), 0, POSITION_CHARACTER, 0, CHARS_UTF8, None, None)
            if status != 0:
                raise EngineError(f"eSpeak NG could not speak {text[:40]!r} (error {status})")
            self.library.espeak_Synchronize()
            samples = b"".join(self.chunks)
            marks = tuple(
                WordMark(text_offset=character_offset(encoded, position), sample=milliseconds * self.sample_rate // 1000)
                for position, milliseconds in self.words
            )
        return Speech(samples=samples, sample_rate=self.sample_rate, words=marks)

    def voices(self) -> list[Voice]:
        """Every voice the bundled data offers."""
        with self.lock:
            return [voice for voice, _ in self.list_voices()]

    def list_voices(self) -> list[tuple[Voice, str]]:
        """(voice, eSpeak NG identifier such as ``gmw/en``) for every bundled voice."""
        listing = self.library.espeak_ListVoices(None)
        found = []
        index = 0
        while listing[index]:
            voice = listing[index].contents
            identifier = (voice.identifier or b"").decode("utf-8", "replace")
            found.append((
                Voice(
                    id=language_list(voice.languages)[0] if voice.languages else identifier,
                    name=(voice.name or b"").decode("utf-8", "replace"),
                    languages=tuple(language_list(voice.languages)),
                    gender={1: "male", 2: "female"}.get(voice.gender),
                ),
                identifier,
            ))
            index += 1
        return found


def language_list(pointer: int) -> list[str]:
    """Decode espeak's ``languages`` field: (priority byte, NUL-terminated name)*, then 0."""
    languages = []
    offset = 0
    while True:
        priority = ctypes.c_ubyte.from_address(pointer + offset).value
        if priority == 0:
            break
        name = ctypes.string_at(pointer + offset + 1)
        languages.append(name.decode("utf-8", "replace"))
        offset += 1 + len(name) + 1
    return languages


def character_offset(encoded: bytes, position: int) -> int:
    """A 1-based UTF-8 byte position from eSpeak NG as a 0-based character offset."""
    return len(encoded[: max(0, position - 1)].decode("utf-8", "ignore"))


class EspeakEngine(Engine):
    """eSpeak NG: offline and fast; robotic but clear, in over a hundred languages."""

    name = "espeak"
    description = "eSpeak NG, offline (bundled)"
    default_voice = "en-us"

    def __init__(self, rate: int = DEFAULT_RATE, pitch: int = DEFAULT_PITCH) -> None:
        if not 80 <= rate <= 450:
            raise SettingsError(f"--rate {rate}: eSpeak NG speaks 80 to 450 words per minute")
        if not 0 <= pitch <= 99:
            raise SettingsError(f"--pitch {pitch}: eSpeak NG's pitch goes from 0 to 99")
        self.rate = rate
        self.pitch = pitch

    def voices(self, language: str | None = None) -> list[Voice]:
        """The bundled voices, only those for ``language`` (e.g. ``en``) when given."""
        voices = Library.get().voices()
        if language:
            wanted = language.lower()
            voices = [voice for voice in voices if any(
                code.lower() == wanted or code.lower().startswith(wanted + "-") for code in voice.languages)]
        return sorted(voices, key=lambda voice: voice.id)

    def check_voice(self, voice: str) -> None:
        """Raise a SettingsError listing the voices for the language when ``voice`` is unknown."""
        known = {item.id.lower() for item in self.voices()}
        if voice.lower() not in known:
            language = voice.split("-")[0]
            nearby = [item.id for item in self.voices(language)][:12] or ["en", "en-gb", "en-us"]
            raise SettingsError(
                f"unknown voice {voice!r} for espeak; try: {', '.join(nearby)} (reviewpub voices --engine espeak)"
            )

    def synthesize(self, text: str, *, voice: str) -> Speech:
        """Speak one sentence with eSpeak NG (plain text: no SSML is interpreted)."""
        return Library.get().speak(text, voice, self.rate, self.pitch)

    def sound_options(self) -> dict[str, Any]:
        """Rate and pitch change the sound."""
        return {"rate": self.rate, "pitch": self.pitch}
