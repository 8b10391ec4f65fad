"""Piper's onnxruntime side: loading a model into a session once per process, and the devices it runs on.

Apart from the engine because this is the only code that imports onnxruntime and piper-tts, and
the device checks run before any work, in the pipeline or on a Ray node.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any, ClassVar

from reviewpub.engines.piper_models import PiperModel
from reviewpub.errors import EngineUnavailable


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
