"""eSpeak NG through ctypes: offline, private, reproducible; the default engine.

The library and its data come from the ``espeakng-loader`` wheel. It is driven in synchronous
mode with a callback that collects PCM and word events (their ``audio_position`` gives word
timings for free); text goes in as plain UTF-8, never SSML or phoneme input. libespeak-ng is a
per-process singleton, so the engine initialises it lazily once per process and serialises
calls with a lock; parallel narration uses processes, and the engine object (settings only)
pickles into them. Every voice is used through a variant that turns off the effects carrying
state between utterances, so a sentence always gives the same samples (a resumed build equals
an uninterrupted one, and a worker process equals the parent).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any, ClassVar

from reviewpub.engines.base import Engine, Speech, Voice, WordMark
from reviewpub.errors import EngineError, EngineUnavailable, SettingsError

AUDIO_OUTPUT_SYNCHRONOUS = 2
BUFFER_MS = 1000
"""Audio each synth callback carries. eSpeak NG's default, 60 ms, calls Python back about 56
times a sentence; 1,000 ms calls it 4 times and costs 3% less synthesis CPU (1,393 book
sentences, 5.93 against 5.74 CPU s, the same samples and word marks).
The buffer can change how some sentences come out (at 2,000 ms it did for 95 of 1,501 book
sentences; at 1,000 ms for none of them), so it is part of every clip's key."""
POSITION_CHARACTER = 1
CHARS_UTF8 = 1
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
PHONEMES_IPA = 0x02
PARAMETER_RATE = 1
PARAMETER_PITCH = 3
VARIANT = "reviewpub"
VARIANT_FILE = "language variant\nname reviewpub\nflutter 0\necho 0 0\nroughness 0\n"
"""A voice variant identical to the default but without the two effects that carry state from one
utterance to the next: pitch flutter (a table index that keeps running) and roughness (every
second glottal cycle softened, counted by a counter that is never reset). With them off, a
sentence gives the same samples whatever was said before it, in this process or another."""
RANDOM_SEED = 1
"""Voices with breath noise draw it from a generator that runs across utterances; it is
re-seeded before each sentence so their samples do not depend on history either."""
DEFAULT_RATE = 175
DEFAULT_PITCH = 50
MAX_VOICE_LENGTH = 40
"""Longer than any voice id plus variant; libespeak-ng aborts on names of about 40 bytes past a ``+``."""
VARIANT_NAME = re.compile(r"[A-Za-z0-9_-]{1,20}")


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


def is_private_folder(folder: Path) -> bool:
    """True when ``folder`` is a real folder of this user that nobody else may write to.

    The data folder sits in the shared temporary folder, where another user could plant a
    look-alike; eSpeak NG parses its data in C, so only our own is trusted.
    """
    try:
        status = folder.lstat()
    except OSError:
        return False
    owner_matches = not hasattr(os, "getuid") or status.st_uid == os.getuid()
    return stat.S_ISDIR(status.st_mode) and owner_matches and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def mirror_data(bundled: Path, staging: Path) -> None:
    """Fill ``staging`` with ``espeak-ng-data``: symlinks to the bundled data plus our variant file."""
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


def private_data_folder(bundled: Path) -> Path:
    """A data folder for this process alone (when the shared one cannot be trusted)."""
    try:
        folder = Path(tempfile.mkdtemp(prefix="reviewpub-espeak-"))
        mirror_data(bundled, folder)
        return folder
    except OSError as error:
        logger.warning(
            "eSpeak NG: cannot prepare its data folder (%s); narration may vary slightly between runs", error
        )
        return bundled.parent


def data_folder_with_variant(bundled: Path) -> Path:
    """A folder holding ``espeak-ng-data``: the bundled data (symlinked) plus our voice variant.

    Made once per machine and user in the temporary folder, atomically, so parallel workers
    and runs share it; falls back to the bundled data when it cannot be made.
    """
    key = hashlib.sha256(f"{bundled}\n{VARIANT_FILE}".encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"reviewpub-espeak-{os.getuid() if hasattr(os, 'getuid') else 0}-{key}"
    if (root / "espeak-ng-data" / "voices" / "!v" / VARIANT).is_file():
        if is_private_folder(root):
            return root
        logger.warning("eSpeak NG: %s belongs to someone else or is writable by others; not using it", root)
        return private_data_folder(bundled)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f"{root.name}.", dir=root.parent))
        mirror_data(bundled, staging)
        try:
            os.rename(staging, root)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another process made it first
        if (root / "espeak-ng-data").is_dir() and is_private_folder(root):
            return root
        return private_data_folder(bundled)
    except OSError as error:
        logger.warning(
            "eSpeak NG: cannot prepare its data folder (%s); narration may vary slightly between runs", error
        )
        return bundled.parent


SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(EspeakEvent)
)
UNSAFE_CHARACTERS = {code: " " for code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]}
"""C0 controls and DEL become spaces: a NUL would end the C string early, and a space keeps
every character offset, so word marks still point into the caller's text."""


def unknown_voice(voice: str, voices: list[Voice]) -> SettingsError:
    """The one-line error for a voice eSpeak NG does not have, naming ones it does."""
    language = voice.split("-")[0].split("+")[0].lower()
    nearby = sorted({item.id for item in voices if any(code.split("-")[0] == language for code in item.languages)})
    suggestions = nearby[:12] or ["en", "en-gb", "en-us", "de", "es", "fr"]
    return SettingsError(
        f"unknown voice {voice[:60]!r} for espeak; try: {', '.join(suggestions)}, ... "
        "(reviewpub voices --engine espeak)"
    )


class Library:
    """The loaded libespeak-ng of this process, with the buffers the callback fills.

    libespeak-ng keeps one voice, one callback and one output buffer per process, so there is
    one ``Library`` per process, made on first use; every call holds ``lock``.
    """

    lock: ClassVar[threading.Lock] = threading.Lock()
    instance: ClassVar[Library | None] = None

    def __init__(self) -> None:
        """Load the bundled library and data and register the synth callback (once per process)."""
        try:
            import espeakng_loader
        except ImportError as error:
            raise EngineUnavailable("eSpeak NG is not installed; pip install espeakng-loader") from error
        try:
            self.library = ctypes.CDLL(str(espeakng_loader.get_library_path()))
        except OSError as error:
            raise EngineUnavailable(
                f"eSpeak NG's library failed to load ({error}); reinstall espeakng-loader"
            ) from None
        data_folder = data_folder_with_variant(Path(espeakng_loader.get_data_path()))
        self.library.espeak_Initialize.restype = ctypes.c_int
        self.library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.sample_rate = int(
            self.library.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, BUFFER_MS, str(data_folder).encode(), 0)
        )
        if self.sample_rate <= 0:
            raise EngineUnavailable(f"eSpeak NG failed to start (data in {data_folder}); reinstall espeakng-loader")
        self.library.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.library.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(EspeakVoice)]
        self.library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.library.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(EspeakVoice))
        self.library.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        self.seed_noise = getattr(self.library, "espeak_ng_SetRandSeed", None)  # espeak-ng 1.52 and later
        if self.seed_noise is not None:
            self.seed_noise.argtypes = [ctypes.c_long]
        self.library.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.library.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        self.chunks: list[bytes] = []
        self.words: list[tuple[int, int]] = []
        self.callback = SYNTH_CALLBACK(self.collect)  # kept referenced: the C side holds only a pointer
        self.library.espeak_SetSynthCallback(self.callback)
        self.settings: tuple[str, int, int] | None = None
        self.catalogue = self.list_voices()
        self.identifiers = {voice.id.lower(): identifier for voice, identifier in self.catalogue}
        self.known = (
            set(self.identifiers)
            | {code.lower() for voice, _ in self.catalogue for code in voice.languages}
            | {identifier.lower() for identifier in self.identifiers.values()}
        )
        self.variants = voice_variants(data_folder / "espeak-ng-data")

    @classmethod
    def get(cls) -> Library:
        """This process's library, initialised on first use (thread-safe)."""
        if cls.instance is None:
            with cls.lock:
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

    def knows(self, voice: str) -> bool:
        """True for a voice id (``en-us``), a language a voice speaks (``en``), or an identifier (``gmw/en``),
        optionally with one of the bundled variants (``en+m3``).

        Checked before any native call: the library copies a voice name into fixed buffers and
        opens the variant as a file, so anything else (a long name, a path) never reaches it.
        """
        if len(voice) > MAX_VOICE_LENGTH or not voice.isprintable():
            return False
        name, has_variant, variant = voice.partition("+")
        return name.lower() in self.known and (not has_variant or variant in self.variants)

    def configure(self, voice: str, rate: int, pitch: int) -> None:
        """Select voice, rate and pitch, only when they changed since the last call (call under ``lock``)."""
        if self.settings == (voice, rate, pitch):
            return
        if not self.knows(voice):
            raise unknown_voice(voice, [item for item, _ in self.catalogue])
        identifier = voice if "+" in voice else f"{self.identifiers.get(voice.lower(), voice)}+{VARIANT}"
        if (
            self.library.espeak_SetVoiceByName(identifier.encode()) != 0
            and self.library.espeak_SetVoiceByName(voice.encode()) != 0
            and not self.select_by_language(voice)
        ):
            raise unknown_voice(voice, [item for item, _ in self.catalogue])
        self.library.espeak_SetParameter(PARAMETER_RATE, rate, 0)
        self.library.espeak_SetParameter(PARAMETER_PITCH, pitch, 0)
        self.settings = (voice, rate, pitch)

    def select_by_language(self, language: str) -> bool:
        """Select the best voice for a language tag (``en`` has no voice file of that name)."""
        wanted = ctypes.create_string_buffer(language.encode() + b"\0")
        properties = EspeakVoice(name=None, languages=ctypes.cast(wanted, ctypes.c_void_p), identifier=None)
        return int(self.library.espeak_SetVoiceByProperties(ctypes.byref(properties))) == 0

    def speak(self, text: str, voice: str, rate: int, pitch: int) -> Speech:
        """Synthesise ``text`` as plain text (no SSML, no phoneme input) and return its PCM and word marks."""
        encoded = text.translate(UNSAFE_CHARACTERS).encode("utf-8", "replace") + b"\0"
        with self.lock:
            self.configure(voice, rate, pitch)
            self.chunks, self.words = [], []
            if self.seed_noise is not None:
                self.seed_noise(RANDOM_SEED)
            status = self.library.espeak_Synth(encoded, len(encoded), 0, POSITION_CHARACTER, 0, CHARS_UTF8, None, None)
            if status != 0:
                raise EngineError(f"eSpeak NG could not speak {text[:40]!r} (error {status}); try simpler text")
            self.library.espeak_Synchronize()
            samples = b"".join(self.chunks)
            words, self.chunks, self.words = self.words, [], []
        return Speech(
            samples=samples, sample_rate=self.sample_rate, words=word_marks(words, len(text), self.sample_rate)
        )

    def phonemes(self, text: str, voice: str) -> str:
        """How eSpeak NG would pronounce ``text``, in IPA, clauses joined by `` | ``."""
        encoded = ctypes.create_string_buffer(text.translate(UNSAFE_CHARACTERS).encode("utf-8", "replace") + b"\0")
        cursor = ctypes.c_void_p(ctypes.addressof(encoded))
        clauses = []
        with self.lock:
            self.configure(voice, *(self.settings[1:] if self.settings else (DEFAULT_RATE, DEFAULT_PITCH)))
            while cursor.value:
                clause = self.library.espeak_TextToPhonemes(ctypes.byref(cursor), CHARS_UTF8, PHONEMES_IPA)
                if clause:
                    clauses.append(clause.decode("utf-8", "replace").strip())
        return " | ".join(clause for clause in clauses if clause)

    def voices(self) -> list[Voice]:
        """Every voice the bundled data offers."""
        return [voice for voice, _ in self.catalogue]

    def list_voices(self) -> list[tuple[Voice, str]]:
        """(voice, eSpeak NG identifier such as ``gmw/en``) for every bundled voice."""
        listing = self.library.espeak_ListVoices(None)
        found = []
        index = 0
        while listing[index]:
            voice = listing[index].contents
            identifier = (voice.identifier or b"").decode("utf-8", "replace")
            codes = language_list(voice.languages) if voice.languages else []
            found.append(
                (
                    Voice(
                        id=codes[0] if codes else identifier,
                        name=(voice.name or b"").decode("utf-8", "replace"),
                        languages=tuple(codes),
                        gender={1: "male", 2: "female"}.get(voice.gender),
                    ),
                    identifier,
                )
            )
            index += 1
        return found


def voice_variants(data: Path) -> frozenset[str]:
    """The variant names (``m3``, ``klatt``) in the data's ``voices/!v`` folder; plain names only."""
    try:
        names = {entry.name for entry in (data / "voices" / "!v").iterdir()}
    except OSError:
        return frozenset()
    return frozenset(name for name in names if VARIANT_NAME.fullmatch(name))


def fresh_lock_after_fork() -> None:
    """A forked child inherits the library's state but maybe a lock held by another thread: renew it."""
    Library.lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=fresh_lock_after_fork)


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


def word_marks(events: list[tuple[int, int]], length: int, sample_rate: int) -> tuple[WordMark, ...]:
    """Word events as marks: strictly increasing offsets, each inside the text.

    eSpeak NG's ``text_position`` counts characters (code points) from 1, not UTF-8 bytes;
    it sometimes reports two events for one position (CJK), of which the first is kept.
    """
    marks: list[WordMark] = []
    for position, milliseconds in events:
        offset = min(max(0, position - 1), max(0, length - 1))
        if marks and offset <= marks[-1].text_offset:
            continue
        marks.append(WordMark(text_offset=offset, sample=milliseconds * sample_rate // 1000))
    return tuple(marks)


class EspeakEngine(Engine):
    """eSpeak NG: offline and fast; robotic but clear, in over a hundred languages.

    The object holds only its settings, so it pickles into worker processes; each process
    loads the library itself on first use.
    """

    name = "espeak"
    description = "eSpeak NG, offline (bundled)"
    default_voice = "en-us"
    sample_rate = 22050
    """eSpeak NG's output rate for every voice (what ``espeak_Initialize`` returns)."""

    def __init__(self, rate: int = DEFAULT_RATE, pitch: int = DEFAULT_PITCH) -> None:
        """Check the settings; the library is loaded on the first ``synthesize`` or ``voices`` call.

        Args:
            rate: speed in words per minute, 80 to 450 (eSpeak NG's default is 175).
            pitch: base pitch, 0 to 99 (default 50).
        """
        if isinstance(rate, bool) or not isinstance(rate, int) or not 80 <= rate <= 450:
            raise SettingsError(f"--rate {rate}: eSpeak NG speaks 80 to 450 words per minute")
        if isinstance(pitch, bool) or not isinstance(pitch, int) or not 0 <= pitch <= 99:
            raise SettingsError(f"--pitch {pitch}: eSpeak NG's pitch goes from 0 to 99")
        self.rate = rate
        self.pitch = pitch

    def voices(self, language: str | None = None) -> list[Voice]:
        """The bundled voices, only those for ``language`` (e.g. ``en``) when given."""
        voices = Library.get().voices()
        if language:
            wanted = language.lower()
            voices = [
                voice
                for voice in voices
                if any(code.lower() == wanted or code.lower().startswith(wanted + "-") for code in voice.languages)
            ]
        return sorted(voices, key=lambda voice: voice.id)

    def check_voice(self, voice: str) -> None:
        """Raise a SettingsError naming nearby voices when ``voice`` is neither a voice nor a language."""
        library = Library.get()
        if not library.knows(voice):
            name, has_variant, variant = voice.partition("+")
            if has_variant and name.lower() in library.known:
                offered = ", ".join(sorted(library.variants, key=str.lower)[:10])
                raise SettingsError(
                    f"--voice {voice[:60]!r}: eSpeak NG has no variant {variant[:40]!r}; "
                    f"try {name}+m3, or one of: {offered}, ... or leave the +variant out"
                )
            raise unknown_voice(voice, library.voices())

    def synthesize(self, text: str, *, voice: str) -> Speech:
        """Speak one sentence with eSpeak NG (plain text: no SSML is interpreted)."""
        return Library.get().speak(text, voice, self.rate, self.pitch)

    def phonemes(self, text: str, *, voice: str) -> str:
        """The IPA eSpeak NG would speak for ``text``: a quick check of a lexicon alias or spoken-text rule."""
        return Library.get().phonemes(text, voice)

    def sound_options(self) -> dict[str, Any]:
        """Rate, pitch and our voice variant change the sound (clips made with another variant are stale)."""
        return {
            "rate": self.rate,
            "pitch": self.pitch,
            "variant": hashlib.sha256(VARIANT_FILE.encode()).hexdigest()[:8],
            "buffer_ms": BUFFER_MS,
        }
