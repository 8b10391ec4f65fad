"""Chapter audio: trim clips, join them with pauses, bring to the profile's level, encode.

Sentences are joined as raw PCM and each chapter is encoded once (never by gluing MP3
pieces), so sentence times taken from PCM offsets stay exact. Loudness is measured per ITU-R
BS.1770 in process as the chapter's PCM is written (``loudness.LoudnessMeter``), then
reached with one linear gain; when that gain would push peaks over the profile's ceiling, a
look-ahead peak limiter lowers the gain around those peaks only (``levelling``). Both are
pure gains (no delay, no dynamic ``loudnorm``), so every sentence keeps its sample position.
Chapters are streamed through files in chunks of seconds: memory does not grow with the
length of a chapter.

Helpers other modules reuse: ``measure_loudness``, ``read_pcm``, ``decode_pcm`` (MP3 encoding is in
``reviewpub.media``, which writers share).
"""

from __future__ import annotations

import array
import collections
import concurrent.futures
import functools
import random
import re
import warnings
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reviewpub.ffmpeg import run_ffmpeg, run_ffmpeg_analysis
from reviewpub.narration.levelling import (
    FULL_SCALE,
    SILENT_BELOW_DB,
    GainPlan,
    WindowLevels,
    WindowMeter,
    apply_gains,
    plan_gain,
)

# Re-exported: the chapter cache key and the chapter worker name them through this module.
from reviewpub.narration.levelling import LIMITER_STEP_DB as LIMITER_STEP_DB
from reviewpub.narration.levelling import LIMITER_WINDOW_MS as LIMITER_WINDOW_MS
from reviewpub.narration.loudness import LoudnessMeter as LoudnessMeter
from reviewpub.narration.settings import AudioSettings, LoudnessProfile

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the C module pydub uses; audioop-lts provides it on Python 3.13+

SAMPLE_WIDTH = 2
"""Bytes per sample: signed 16-bit little-endian throughout."""
TRIM_WINDOW_MS = 5
TRIM_FLOOR = 64
"""Amplitude (about -54 dBFS) under which a clip's head and tail are always silence."""
TRIM_RELATIVE = 100
"""…and so is anything 40 dB (a hundredth) below the clip's own peak."""
TRIM_MARGIN_MS = 25
"""Kept before the first and after the last audible window, so soft onsets are not clipped."""
MONO_TARGET_LUFS = -19.0
"""The podcast profile's level for the mono PCM; its stereo copy measures 3 LU more, -16 LUFS."""
PODCAST_CEILING_DBFS = -3.0
"""Sample-peak ceiling leaving room for MP3 overshoot under the -1.5 dBTP true-peak limit."""
AUDIOBOOK_RMS_DBFS = -20.5
"""Middle of ACX's -23 to -18 dB RMS window."""
AUDIOBOOK_CEILING_DBFS = -4.5
"""Sample-peak ceiling under ACX's -3 dB peak limit, with room for MP3 overshoot."""
ROOM_TONE_RMS_DBFS = -72.0
"""Level of the room tone laid under audiobook chapters: ACX wants a noise floor below -60 dB
but rejects dead digital silence between sentences."""
ROOM_TONE_SEED = 1770
CHUNK_WINDOWS = 1000
"""Windows processed at a time: ten seconds of audio, whatever the rate."""
FLUSH_SECONDS = 4
"""Seconds of a chapter gathered before they are written and measured."""
MEASURE_BACKLOG = 4
"""Pieces that may wait for the measuring thread before writing waits for it."""
LEVELLING_VERSION = 2
"""Bumped when levelling changes the samples it writes (2: in-process BS.1770, numpy gains
rounded to nearest), so chapters levelled the old way are made again, not reused."""


@dataclass(frozen=True)
class Loudness:
    """A BS.1770 measurement of an audio file (``measure_loudness``)."""

    integrated_lufs: float
    true_peak_dbtp: float
    loudness_range_lu: float
    sample_peak_dbfs: float
    rms_dbfs: float
    """Plain RMS of the whole file, as ACX measures it."""


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


@dataclass(frozen=True)
class RenderedChapter:
    """What ``render_chapter`` made."""

    sample_rate: int
    sample_count: int
    gain_db: float
    is_limited: bool
    """True when the peak limiter had to work."""


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


def summary_value(report: str, label: str, unit: str) -> float | None:
    """A number from the Summary of ffmpeg's ebur128 report (None for -inf or missing)."""
    summary = report[report.rfind("Summary:") :]
    found = re.search(rf"{label}:\s+(-?[\d.]+|-inf|nan) {unit}", summary)
    if found is None or found.group(1) in ("-inf", "nan"):
        return None
    return float(found.group(1))


def integrated_loudness(raw: Path, sample_rate: int) -> float | None:
    """BS.1770 integrated loudness (LUFS) of a raw mono PCM file by ffmpeg's ebur128; None when silent.

    The reference the in-process ``LoudnessMeter`` is held to (within 0.5 LU); chapters are
    measured in process.
    """
    report = run_ffmpeg_analysis(
        [
            "-nostats",
            "-f",
            "s16le",
            "-ar",
            str(sample_rate),
            "-ac",
            "1",
            "-i",
            raw,
            "-af",
            "ebur128=framelog=quiet",
            "-f",
            "null",
            "-",
        ],
        what=str(raw),
    )
    return summary_value(report, "I", "LUFS")


def window_levels(path: Path, window_samples: int) -> WindowLevels:
    """Peak and energy of every window of a raw mono PCM file, read ten seconds at a time."""
    meter = WindowMeter(window_samples)
    for chunk in read_chunks(path, window_samples * SAMPLE_WIDTH * CHUNK_WINDOWS):
        meter.feed(np.frombuffer(chunk, dtype="<i2"))
    return meter.levels()


def file_loudness(path: Path, sample_rate: int) -> float | None:
    """BS.1770 integrated loudness of a raw mono PCM file, measured in process (None when silent)."""
    meter = LoudnessMeter(sample_rate)
    for chunk in read_chunks(path, sample_rate * SAMPLE_WIDTH * 10):
        meter.feed(chunk)
    return meter.loudness()


@functools.lru_cache(maxsize=4)
def room_tone(sample_count: int) -> bytes:
    """A fixed, seeded stretch of faint noise (ACX room tone), the same on every run."""
    generator = random.Random(ROOM_TONE_SEED)
    sigma = FULL_SCALE * 10 ** (ROOM_TONE_RMS_DBFS / 20)
    noise = array.array("h", (max(-32768, min(32767, round(generator.gauss(0.0, sigma)))) for _ in range(sample_count)))
    return noise.tobytes()


def write_wav(
    raw: Path,
    wav: Path,
    sample_rate: int,
    gains: float | npt.NDArray[np.float64],
    window_samples: int,
    with_room_tone: bool,
) -> None:
    """Write raw mono PCM as a WAV with ``gains`` applied (one, or one per window), ten seconds at a time."""
    chunk_samples = window_samples * CHUNK_WINDOWS
    tone = np.frombuffer(room_tone(chunk_samples), dtype="<i2").astype(np.int32) if with_room_tone else None
    with wave.open(str(wav), "wb") as output:
        output.setnchannels(1)
        output.setsampwidth(SAMPLE_WIDTH)
        output.setframerate(sample_rate)
        for chunk_index, chunk in enumerate(read_chunks(raw, chunk_samples * SAMPLE_WIDTH)):
            rendered = apply_gains(
                np.frombuffer(chunk, dtype="<i2"), gains, chunk_index * CHUNK_WINDOWS, window_samples
            )
            if tone is not None:
                rendered = np.clip(rendered + tone[: len(rendered)], -FULL_SCALE, FULL_SCALE - 1).astype(np.int16)
            output.writeframesraw(rendered.astype("<i2").tobytes())


def render_chapter(
    raw: Path,
    sample_rate: int,
    wav: Path,
    settings: AudioSettings,
    *,
    levels: WindowLevels | None = None,
    loudness: float | None = None,
) -> RenderedChapter:
    """Turn a chapter's assembled raw PCM into its final WAV, at the profile's level.

    The podcast profile aims the mono PCM at -19 LUFS (its stereo copy measures -16) under a
    -3 dBFS sample ceiling; the audiobook profile aims at -20.5 dB RMS under -4.5 dBFS, with
    room tone underneath; ``off`` keeps the level. The chapter stays at the engine's rate
    (eSpeak NG's 22.05 kHz is half the samples of 44.1 kHz): the MP3 and M4B encoders resample
    once, as they must anyway. ``levels`` and ``loudness`` are what a ``PcmFile`` measured as
    the PCM was written (measured from the file when not given); the gain is planned from the
    10 ms window levels and applied in one more pass over the file.
    """
    window_samples = window_samples_for(sample_rate)
    sample_count = raw.stat().st_size // SAMPLE_WIDTH
    profile = settings.loudness
    is_audiobook = profile is LoudnessProfile.AUDIOBOOK
    if profile is LoudnessProfile.OFF:
        write_wav(raw, wav, sample_rate, 1.0, window_samples, with_room_tone=False)
        return RenderedChapter(sample_rate, sample_count, 0.0, False)
    if levels is None:
        levels = window_levels(raw, window_samples)
    if is_audiobook:
        measured: float | None = levels.rms_dbfs
    else:
        measured = loudness if loudness is not None else file_loudness(raw, sample_rate)
    if measured is None or measured < SILENT_BELOW_DB or levels.peak == 0:
        write_wav(raw, wav, sample_rate, 1.0, window_samples, with_room_tone=is_audiobook)
        return RenderedChapter(sample_rate, sample_count, 0.0, False)
    plan: GainPlan = plan_gain(
        levels,
        measured,
        AUDIOBOOK_RMS_DBFS if is_audiobook else MONO_TARGET_LUFS,
        AUDIOBOOK_CEILING_DBFS if is_audiobook else PODCAST_CEILING_DBFS,
        window_samples=window_samples,
        every_window=is_audiobook,
    )
    write_wav(raw, wav, sample_rate, plan.gains, window_samples, with_room_tone=is_audiobook)
    return RenderedChapter(sample_rate, sample_count, plan.gain_db, plan.is_limited)


def measure_loudness(path: Path) -> Loudness:
    """BS.1770 integrated loudness, true and sample peak, loudness range and RMS of any audio file."""
    report = run_ffmpeg_analysis(
        [
            "-nostats",
            "-i",
            path,
            "-af",
            "ebur128=peak=sample+true:framelog=quiet,astats=measure_perchannel=none:measure_overall=RMS_level",
            "-f",
            "null",
            "-",
        ],
        what=str(path),
    )
    peaks = re.findall(r"Peak:\s+(-?[\d.]+|-inf) dBFS", report[report.rfind("Summary:") :])
    rms = re.findall(r"RMS level dB:\s+(-?[\d.]+|-inf)", report)

    def number(text: str | None) -> float:
        return float(text) if text not in (None, "-inf") else -120.0

    integrated = summary_value(report, "I", "LUFS")
    loudness_range = summary_value(report, "LRA", "LU")
    return Loudness(
        integrated_lufs=-120.0 if integrated is None else integrated,
        true_peak_dbtp=number(peaks[1] if len(peaks) > 1 else None),
        loudness_range_lu=0.0 if loudness_range is None else loudness_range,
        sample_peak_dbfs=number(peaks[0] if peaks else None),
        rms_dbfs=number(rms[-1] if rms else None),
    )


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
