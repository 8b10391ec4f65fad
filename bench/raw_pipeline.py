"""The floor under `reviewpub audio`: eSpeak NG and ffmpeg driven directly, nothing else.

Each chapter's whole text goes to eSpeak NG in ONE synthesis call (the same bundled library,
through ctypes, synchronous mode), is written as a WAV, then encoded by the same ffmpeg binary
with reviewpub's default MP3 settings; chapters run in ``--jobs`` worker processes (forked, as
reviewpub's are). No cache, no loudness pass, no tags: whatever reviewpub spends above this is
its own overhead. Deliberately imports nothing from reviewpub, so it cannot inherit its costs.

Usage: python bench/raw_pipeline.py CHAPTERS.json --jobs 2 --output DIR
(CHAPTERS.json is {"language": "en", "chapters": ["text", ...]}; bench/run.py writes it.)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ctypes
import json
import multiprocessing
import subprocess
import wave
from pathlib import Path
from typing import Any

AUDIO_OUTPUT_SYNCHRONOUS = 2
POSITION_CHARACTER = 1
CHARS_UTF8 = 1
PARAMETER_RATE = 1
DEFAULT_VOICE = "en-us"
RATE_WPM = 175
"""reviewpub's eSpeak NG rate (engines/espeak.py); its voice follows the document's language (``--voice``)."""
MP3_ARGUMENTS = [
    "-map_metadata",
    "-1",
    "-ar",
    "44100",
    "-ac",
    "1",
    "-c:a",
    "libmp3lame",
    "-b:a",
    "96k",
    "-compression_level",
    "7",
    "-write_xing",
    "1",
    "-id3v2_version",
    "0",
    "-f",
    "mp3",
]
"""reviewpub's default MP3: mono, 44.1 kHz, 96 kbps CBR, LAME quality 7 (reviewpub/media.py encode_mp3).
tests/test_bench.py checks these against reviewpub's settings, so the floor follows them."""

SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class Speaker:
    """This process's libespeak-ng (the library holds one voice and one callback per process)."""

    current: Speaker | None = None

    def __init__(self, voice: str) -> None:
        import espeakng_loader

        self.library = ctypes.CDLL(str(espeakng_loader.get_library_path()))
        self.library.espeak_Initialize.restype = ctypes.c_int
        self.library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
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
        self.library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        # espeak_Initialize wants the folder that CONTAINS espeak-ng-data.
        data_parent = Path(espeakng_loader.get_data_path()).parent
        self.sample_rate = int(
            self.library.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_parent).encode(), 0)
        )
        if self.sample_rate <= 0:
            raise RuntimeError(f"eSpeak NG failed to initialise with data in {data_parent}")
        self.chunks: list[bytes] = []
        self.callback = SYNTH_CALLBACK(self.collect)
        self.library.espeak_SetSynthCallback(self.callback)
        if all(self.library.espeak_SetVoiceByName(name.encode()) != 0 for name in (voice, voice.split("-")[0])):
            raise RuntimeError(f"eSpeak NG has no voice {voice!r}")
        self.library.espeak_SetParameter(PARAMETER_RATE, RATE_WPM, 0)

    @classmethod
    def get(cls, voice: str) -> Speaker:
        """The process's speaker, initialised on first use (once per worker)."""
        if cls.current is None:
            cls.current = cls(voice)
        return cls.current

    def collect(self, samples: Any, count: int, events: Any) -> int:
        """The synth callback: keep the PCM; 0 means go on."""
        if count > 0:
            self.chunks.append(ctypes.string_at(samples, count * 2))
        return 0

    def speak(self, text: str) -> bytes:
        """Mono 16-bit PCM of ``text``, synthesised in one call."""
        self.chunks = []
        encoded = text.encode("utf-8") + b"\0"
        buffer = ctypes.create_string_buffer(encoded)
        status = self.library.espeak_Synth(buffer, len(encoded), 0, POSITION_CHARACTER, 0, CHARS_UTF8, None, None)
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status}")
        self.library.espeak_Synchronize()
        return b"".join(self.chunks)


def narrate_chapter(number: int, text: str, folder: Path, voice: str) -> Path:
    """Speak one chapter, write its WAV, encode it to MP3 with ffmpeg; the MP3's path."""
    import imageio_ffmpeg

    speaker = Speaker.get(voice)
    wav_path = folder / f"{number:03d}.wav"
    with wave.open(str(wav_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(speaker.sample_rate)
        wav.writeframes(speaker.speak(text))
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


def narrate_all(chapters: list[str], folder: Path, jobs: int, voice: str = DEFAULT_VOICE) -> list[Path]:
    """Every chapter to MP3 in ``folder``, ``jobs`` at a time (in this process when jobs is 1)."""
    folder.mkdir(parents=True, exist_ok=True)
    if jobs <= 1 or len(chapters) <= 1:
        return [narrate_chapter(number, text, folder, voice) for number, text in enumerate(chapters, start=1)]
    context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(chapters)), mp_context=context) as pool:
        futures = [
            pool.submit(narrate_chapter, number, text, folder, voice) for number, text in enumerate(chapters, start=1)
        ]
        return [future.result() for future in futures]


def main() -> None:
    """Command line: read the chapter texts, narrate them all."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", type=Path, help='JSON: {"language": "en", "chapters": ["text", ...]}')
    parser.add_argument("--jobs", type=int, default=1, help="chapters narrated at once (worker processes)")
    parser.add_argument("--output", type=Path, required=True, help="folder for the chapter MP3s")
    parser.add_argument("--voice", help="eSpeak NG voice [default: the file's language, as reviewpub picks it]")
    options = parser.parse_args()
    data = json.loads(options.chapters.read_text(encoding="utf-8"))
    chapters = data.get("chapters") if isinstance(data, dict) else None
    if not isinstance(chapters, list) or not all(isinstance(text, str) for text in chapters):
        parser.error(f'{options.chapters}: expected {{"chapters": ["text", ...]}}')
    voice = options.voice or str(data.get("language") or DEFAULT_VOICE).lower()
    narrate_all(chapters, options.output, options.jobs, voice)


if __name__ == "__main__":
    main()
