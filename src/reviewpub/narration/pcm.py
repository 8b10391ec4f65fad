"""Mono 16-bit PCM: silences, trimming, rate conversion, a chapter assembled on disk, and reading it back.

Sentences are joined as raw PCM and each chapter is encoded once (never by gluing MP3
pieces), so sentence times taken from PCM offsets stay exact. Chapters are streamed through
files in chunks of seconds: memory does not grow with the length of a chapter.
"""

from __future__ import annotations

import collections
import concurrent.futures
import warnings
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reviewpub.ffmpeg import run_ffmpeg
from reviewpub.narration.levelling import WindowLevels, WindowMeter
from reviewpub.narration.loudness import LoudnessMeter
from reviewpub.narration.rules import LIMITER_WINDOW_MS, TRIM_FLOOR, TRIM_MARGIN_MS, TRIM_RELATIVE, TRIM_WINDOW_MS

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the C module pydub uses; audioop-lts provides it on Python 3.13+

SAMPLE_WIDTH = 2
"""Bytes per sample: signed 16-bit little-endian throughout."""
FLUSH_SECONDS = 4
"""Seconds of a chapter gathered before they are written and measured."""
MEASURE_BACKLOG = 4
"""Pieces that may wait for the measuring thread before writing waits for it."""


@dataclass(frozen=True)
class Pcm:
    """Audio in memory: signed 16-bit little-endian samples, interleaved when stereo."""

    samples: bytes
    sample_rate: int
    channels: int = 1

    @property
    def sample_count(self) -> int:
        """Samples per channel."""
        return len(self.samples) // (SAMPLE_WIDTH * self.channels)


def sample_count_for(milliseconds: int, sample_rate: int) -> int:
    """How many samples ``milliseconds`` last."""
    return milliseconds * sample_rate // 1000


def silence(milliseconds: int, sample_rate: int) -> bytes:
    """Mono digital silence of the given length."""
    return b"\0" * SAMPLE_WIDTH * sample_count_for(milliseconds, sample_rate)


def trim_silence(samples: bytes, sample_rate: int) -> bytes:
    """The clip without the engine's leading and trailing silence (keeping a 25 ms margin).

    Silence is anything under -54 dBFS or 40 dB below the clip's peak, measured in 5 ms
    windows; all-silent clips come back empty.
    """
    samples = samples[: len(samples) - len(samples) % SAMPLE_WIDTH]
    if not samples:
        return b""
    threshold = max(TRIM_FLOOR, audioop.max(samples, SAMPLE_WIDTH) // TRIM_RELATIVE)
    window = max(1, sample_count_for(TRIM_WINDOW_MS, sample_rate)) * SAMPLE_WIDTH
    start, end = 0, len(samples)
    while start < end and audioop.max(samples[start : start + window], SAMPLE_WIDTH) < threshold:
        start += window
    if start >= end:
        return b""
    while end > start and audioop.max(samples[max(start, end - window) : end], SAMPLE_WIDTH) < threshold:
        end = max(start, end - window)
    margin = sample_count_for(TRIM_MARGIN_MS, sample_rate) * SAMPLE_WIDTH
    return samples[max(0, start - margin) : min(len(samples), end + margin)]


def convert_rate(samples: bytes, from_rate: int, to_rate: int) -> bytes:
    """Mono PCM at another rate (for the rare engine that changes rate between sentences)."""
    if from_rate == to_rate:
        return samples
    converted, _ = audioop.ratecv(samples, SAMPLE_WIDTH, 1, from_rate, to_rate, None)
    return bytes(converted)


class PcmFile:
    """Raw mono PCM appended to a file, counting samples: a chapter is assembled on disk.

    Every sample written is also measured as it passes: 10 ms window levels for the gain
    plan and, with a ``meter``, BS.1770 loudness, so levelling needs no pass of its own.
    Clips and pauses are gathered into pieces of a few seconds (array arithmetic pays per
    call, not per sample), and the pieces are measured on a thread of their own: numpy
    releases the GIL, so with one worker per core the meter runs beside synthesis, as
    ffmpeg's meter once did, on a core the engine is not using.
    """

    def __init__(self, path: Path, sample_rate: int, meter: LoudnessMeter | None = None) -> None:
        """Open ``path`` for writing (truncating it)."""
        self.path = path
        self.stream = path.open("wb")
        self.meter = meter
        self.windows = WindowMeter(window_samples_for(sample_rate))
        self.flush_bytes = sample_rate * SAMPLE_WIDTH * FLUSH_SECONDS
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.sample_count = 0
        self.measuring = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pcm-meter")
        self.measured: collections.deque[concurrent.futures.Future[None]] = collections.deque()

    def append(self, samples: bytes) -> None:
        """Add samples at the end."""
        self.pending.append(samples)
        self.pending_bytes += len(samples)
        self.sample_count += len(samples) // SAMPLE_WIDTH
        if self.pending_bytes >= self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        """Write what was gathered and hand it to the measuring thread (in order)."""
        if not self.pending:
            return
        joined = b"".join(self.pending)
        self.pending, self.pending_bytes = [], 0
        self.stream.write(joined)
        # At most a few pieces wait for the meter, so memory stays flat even if it falls behind.
        while len(self.measured) >= MEASURE_BACKLOG:
            self.measured.popleft().result()
        self.measured.append(self.measuring.submit(self.measure, np.frombuffer(joined, dtype="<i2")))

    def measure(self, samples: npt.NDArray[np.int16]) -> None:
        """Window levels and loudness of the next piece (on the measuring thread)."""
        self.windows.feed(samples)
        if self.meter is not None:
            self.meter.feed(samples)

    def levels(self) -> WindowLevels:
        """The levels of every 10 ms window written (call after ``close``)."""
        return self.windows.levels()

    def close(self) -> None:
        """Write and measure what is left, then close the file; raises what the meter raised."""
        try:
            self.flush()
            while self.measured:
                self.measured.popleft().result()
        finally:
            self.measuring.shutdown(wait=True, cancel_futures=True)
            self.stream.close()


def window_samples_for(sample_rate: int) -> int:
    """Samples in one of the limiter's 10 ms windows."""
    return max(1, sample_count_for(LIMITER_WINDOW_MS, sample_rate))


def read_chunks(path: Path, chunk_bytes: int) -> Iterator[bytes]:
    """A file's bytes in pieces of ``chunk_bytes`` (the last may be shorter)."""
    with path.open("rb") as stream:
        while chunk := stream.read(chunk_bytes):
            yield chunk


def read_pcm(wav: Path) -> Pcm:
    """The PCM of a 16-bit WAV file (a chapter's ``wav_path``)."""
    with wave.open(str(wav), "rb") as source:
        if source.getsampwidth() != SAMPLE_WIDTH:
            raise ValueError(f"{wav}: expected 16-bit samples, found {8 * source.getsampwidth()}-bit")
        return Pcm(source.readframes(source.getnframes()), source.getframerate(), source.getnchannels())


def decode_pcm(path: Path, sample_rate: int | None = None) -> bytes:
    """Decode any audio file to mono 16-bit PCM with ffmpeg (raises WriterError on any decoding error)."""
    rate = ["-ar", str(sample_rate)] if sample_rate else []
    return run_ffmpeg(["-i", path, "-f", "s16le", "-ac", "1", *rate, "pipe:1"], what=str(path))
