"""The floor for `reviewpub audio`: eSpeak NG (same bundled library) and ffmpeg (same binary).

Each chapter's whole text in ONE synthesis call, written as WAV, then encoded with reviewpub's
default MP3 settings (mono, 44.1 kHz, 96 kbps CBR, LAME quality 7), chapters in N parallel
processes. Deliberately does not import reviewpub.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ctypes
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from corpus import chapter_texts  # noqa: E402

CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
chunks: list[bytes] = []


def collect(samples: object, count: int, events: object) -> int:
    if count > 0:
        chunks.append(ctypes.string_at(samples, count * 2))
    return 0


callback = CALLBACK(collect)
library: ctypes.CDLL | None = None


def speak(text: str) -> tuple[bytes, int]:
    """Synthesise a whole chapter in one call."""
    global library
    import espeakng_loader

    if library is None:
        library = ctypes.CDLL(str(espeakng_loader.get_library_path()))
        library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        library.rate = library.espeak_Initialize(2, 0, str(Path(espeakng_loader.get_data_path()).parent).encode(), 0)
        library.espeak_SetSynthCallback(callback)
        library.espeak_SetVoiceByName(b"en-us")
    chunks.clear()
    encoded = text.encode("utf-8") + b"\0"
    buffer = ctypes.create_string_buffer(encoded)
    library.espeak_Synth(buffer, len(encoded), 0, 1, 0, 1, None, None)
    library.espeak_Synchronize()
    return b"".join(chunks), library.rate


def chapter_job(arguments: tuple[int, str, str]) -> None:
    number, text, folder = arguments
    import imageio_ffmpeg

    samples, rate = speak(text)
    wav = Path(folder) / f"{number:02d}.wav"
    with wave.open(str(wav), "wb") as output:
        output.setnchannels(1)
        output.setsampwidth(2)
        output.setframerate(rate)
        output.writeframes(samples)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(wav), "-ar", "44100", "-ac", "1",
                    "-c:a", "libmp3lame", "-b:a", "96k", "-compression_level", "7", str(wav.with_suffix(".mp3"))],
                   check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--output", type=Path)
    options = parser.parse_args()
    texts = chapter_texts(options.source) if options.source.name != "iss-review.txt" else seed_chapters(options.source)
    folder = options.output or Path(tempfile.mkdtemp(prefix="raw-pipeline-"))
    folder.mkdir(parents=True, exist_ok=True)
    with concurrent.futures.ProcessPoolExecutor(max_workers=options.jobs) as pool:
        list(pool.map(chapter_job, [(number, text, str(folder)) for number, text in enumerate(texts, start=1)]))


def seed_chapters(path: Path) -> list[str]:
    """The seed review split at blank-line-separated short lines, close enough for a floor."""
    blocks = [block.strip() for block in path.read_text(encoding="utf-8").split("\n\n") if block.strip()]
    chapters: list[list[str]] = [[]]
    for block in blocks[1:]:
        if len(block.split()) <= 12 and "\n" not in block and not block.endswith((".", "?", "!")):
            chapters.append([block])
        else:
            chapters[-1].append(block)
    return [" ".join(chapter) for chapter in chapters if chapter]


if __name__ == "__main__":
    main()
