"""A chapter's WAV: its assembled PCM brought to the profile's level, and loudness measured by ffmpeg.

Loudness is measured per ITU-R BS.1770 in process as the chapter's PCM is written
(``loudness.LoudnessMeter``, fed by ``pcm.PcmFile``), then reached with one linear gain; when
that gain would push peaks over the profile's ceiling, a look-ahead peak limiter lowers the
gain around those peaks only (``levelling``). Both are pure gains (no delay, no dynamic
``loudnorm``), so every sentence keeps its sample position. MP3 encoding is in
``reviewpub.media``, which the writers share.
"""

from __future__ import annotations

import array
import functools
import hashlib
import random
import re
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, cast

import numpy as np
import numpy.typing as npt

from reviewpub.ffmpeg import run_ffmpeg_analysis
from reviewpub.narration.levelling import (
    FULL_SCALE,
    SILENT_BELOW_DB,
    GainPlan,
    WindowLevels,
    WindowMeter,
    apply_gains,
    plan_gain,
)
from reviewpub.narration.loudness import LoudnessMeter
from reviewpub.narration.pcm import SAMPLE_WIDTH, read_chunks, window_samples_for
from reviewpub.narration.rules import (
    AUDIOBOOK_CEILING_DBFS,
    AUDIOBOOK_RMS_DBFS,
    MONO_TARGET_LUFS,
    PODCAST_CEILING_DBFS,
    ROOM_TONE_RMS_DBFS,
)
from reviewpub.narration.settings import AudioSettings, LoudnessProfile

ROOM_TONE_SEED = 1770
CHUNK_WINDOWS = 1000
"""Windows processed at a time: ten seconds of audio, whatever the rate."""


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
class RenderedChapter:
    """What ``render_chapter_wav`` made."""

    sample_rate: int
    sample_count: int
    gain_db: float
    is_limited: bool
    """True when the peak limiter had to work."""
    sha256: str
    """Of the WAV file, taken as it was written (the cache's index records it)."""


class HashedStream:
    """A binary file being written, hashed on the way: the cache need not read a chapter back for its checksum.

    ``wave`` writes its header first and rewrites it only when the frame count it was given
    is wrong (which would need ``seek``, which this stream lacks, so a wrong count fails
    loudly instead of leaving a checksum of other bytes).
    """

    def __init__(self, stream: BinaryIO) -> None:
        """Wrap ``stream``, open for writing at its start."""
        self.stream = stream
        self.hasher = hashlib.sha256()

    def write(self, data: bytes) -> int:
        """Write and hash ``data``."""
        self.hasher.update(data)
        return self.stream.write(data)

    def tell(self) -> int:
        """Where the next byte goes (``wave`` asks)."""
        return self.stream.tell()

    def flush(self) -> None:
        """Flush the file."""
        self.stream.flush()


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
) -> str:
    """Write raw mono PCM as a WAV with ``gains`` applied (one, or one per window), ten seconds at a time.

    Returns the WAV's SHA-256, taken as it is written.
    """
    chunk_samples = window_samples * CHUNK_WINDOWS
    tone = np.frombuffer(room_tone(chunk_samples), dtype="<i2").astype(np.int32) if with_room_tone else None
    with wav.open("wb") as file:
        stream = HashedStream(file)
        with wave.open(cast(IO[bytes], stream), "wb") as output:  # wave needs only write, tell and flush
            output.setnchannels(1)
            output.setsampwidth(SAMPLE_WIDTH)
            output.setframerate(sample_rate)
            output.setnframes(raw.stat().st_size // SAMPLE_WIDTH)
            for chunk_index, chunk in enumerate(read_chunks(raw, chunk_samples * SAMPLE_WIDTH)):
                rendered = apply_gains(
                    np.frombuffer(chunk, dtype="<i2"), gains, chunk_index * CHUNK_WINDOWS, window_samples
                )
                if tone is not None:
                    rendered = np.clip(rendered + tone[: len(rendered)], -FULL_SCALE, FULL_SCALE - 1).astype(np.int16)
                # The array's own memory (wave takes any buffer, and byte-swaps on big-endian machines).
                output.writeframesraw(rendered.data)
    return stream.hasher.hexdigest()


def render_chapter_wav(
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
        checksum = write_wav(raw, wav, sample_rate, 1.0, window_samples, with_room_tone=False)
        return RenderedChapter(sample_rate, sample_count, 0.0, False, checksum)
    if levels is None:
        levels = window_levels(raw, window_samples)
    if is_audiobook:
        measured: float | None = levels.rms_dbfs
    else:
        measured = loudness if loudness is not None else file_loudness(raw, sample_rate)
    if measured is None or measured < SILENT_BELOW_DB or levels.peak == 0:
        checksum = write_wav(raw, wav, sample_rate, 1.0, window_samples, with_room_tone=is_audiobook)
        return RenderedChapter(sample_rate, sample_count, 0.0, False, checksum)
    plan: GainPlan = plan_gain(
        levels,
        measured,
        AUDIOBOOK_RMS_DBFS if is_audiobook else MONO_TARGET_LUFS,
        AUDIOBOOK_CEILING_DBFS if is_audiobook else PODCAST_CEILING_DBFS,
        window_samples=window_samples,
        every_window=is_audiobook,
    )
    checksum = write_wav(raw, wav, sample_rate, plan.gains, window_samples, with_room_tone=is_audiobook)
    return RenderedChapter(sample_rate, sample_count, plan.gain_db, plan.is_limited, checksum)


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
