"""Chapter audio: trim, join with pauses, bring to the profile's loudness, encode MP3.

Sentences are joined as PCM and each chapter is encoded once (never by gluing MP3 pieces),
so sentence times taken from PCM offsets stay exact. Loudness is measured per ITU-R BS.1770
by ffmpeg's ebur128 filter; a linear gain (plus a peak limiter when the peaks need it) keeps
timings sample-exact.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from reviewpub.ffmpeg import ffmpeg_executable, run_ffmpeg, run_ffmpeg_analysis
from reviewpub.narration.settings import AudioSettings, Loudness

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the C module pydub uses; audioop-lts provides it on Python 3.13+

SILENCE_THRESHOLD = 400
"""Sample amplitude (about -38 dBFS) under which a sentence's head and tail count as silence."""
TRIM_WINDOW_MS = 5
KEEP_MARGIN_MS = 20
PODCAST_PEAK_CEILING_DBFS = -2.5
"""Sample-peak ceiling giving true peaks at or below -1.5 dBTP after MP3 encoding."""
AUDIOBOOK_PEAK_CEILING_DBFS = -3.5
LIMITER_MAKEUP_DB = 0.5
AUDIOBOOK_RMS_DB = -20.0
"""Middle of ACX's -23 to -18 dB RMS window."""
MP3_QUALITY = 7
"""LAME's algorithm quality (0 best, 9 fastest); 7 is fast and transparent for speech at 96 kbps."""


@dataclass(frozen=True)
class LoudnessReport:
    """A BS.1770 measurement of a file or buffer."""

    integrated_lufs: float
    true_peak_dbtp: float
    loudness_range_lu: float


def silence(milliseconds: int, sample_rate: int, channels: int = 1) -> bytes:
    """Digital silence (mono or interleaved) of the given length."""
    return b"\0\0" * channels * (milliseconds * sample_rate // 1000)


def trim(samples: bytes, sample_rate: int) -> bytes:
    """Drop the engine's leading and trailing silence, keeping a short margin for the ear."""
    window = max(2, sample_rate * TRIM_WINDOW_MS // 1000) * 2
    start, end = 0, len(samples)
    while start < end and audioop.max(samples[start:start + window], 2) < SILENCE_THRESHOLD:
        start += window
    while end > start and audioop.max(samples[max(start, end - window):end], 2) < SILENCE_THRESHOLD:
        end -= window
    margin = sample_rate * KEEP_MARGIN_MS // 1000 * 2
    start, end = max(0, start - margin), min(len(samples), end + margin)
    return samples[start:end]


def integrated_loudness(samples: bytes, sample_rate: int) -> float:
    """Integrated loudness (LUFS) of mono PCM, by ffmpeg's BS.1770 meter."""
    report = run_ffmpeg_analysis_stdin(samples, sample_rate)
    found = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", report)
    if not found or found.group(1) == "-inf":
        return -70.0
    return float(found.group(1))


def run_ffmpeg_analysis_stdin(samples: bytes, sample_rate: int) -> str:
    """ebur128 over raw mono PCM given on stdin; returns ffmpeg's report."""
    import subprocess

    completed = subprocess.run(
        [ffmpeg_executable(), "-hide_banner", "-nostats", "-f", "s16le", "-ar", str(sample_rate), "-ac", "1",
         "-i", "pipe:0", "-af", "ebur128=framelog=quiet", "-f", "null", "-"],
        input=samples, capture_output=True, check=False,
    )
    return completed.stderr.decode("utf-8", "replace")


def decibels(ratio: float) -> float:
    """An amplitude ratio in dB."""
    return 20 * math.log10(ratio) if ratio > 0 else -120.0


def plan_gain(samples: bytes, sample_rate: int, settings: AudioSettings) -> tuple[float, float | None]:
    """(gain in dB, sample-peak ceiling in dBFS or None) that meet the loudness profile."""
    if settings.loudness is Loudness.OFF or not samples:
        return 0.0, None
    peak_db = decibels(audioop.max(samples, 2) / 32768)
    if settings.loudness is Loudness.AUDIOBOOK:
        gain = AUDIOBOOK_RMS_DB - decibels(audioop.rms(samples, 2) / 32768)
        ceiling = AUDIOBOOK_PEAK_CEILING_DBFS
    else:
        # The mono target; a stereo copy of the same signal measures 3 LU louder (-16 LUFS).
        gain = -19.0 - integrated_loudness(samples, sample_rate)
        ceiling = PODCAST_PEAK_CEILING_DBFS
    if peak_db + gain <= ceiling:
        return gain, None
    # The limiter shaves the loudest peaks, which lowers integrated loudness a little.
    return gain + LIMITER_MAKEUP_DB, ceiling


LIMITER_WINDOW_MS = 10
LIMITER_STEP_DB = 1.0
"""The gain moves at most this much from one 10 ms window to the next: smooth, no clicks."""


def limiter_gains(samples: bytes, sample_rate: int, gain: float, ceiling: float) -> list[float]:
    """Per-window linear gains: ``gain`` where it fits under ``ceiling``, less around peaks.

    A look-ahead peak limiter in two passes: each window gets the largest gain that keeps its
    peak under the ceiling, then gains are slope-limited forwards (release) and backwards
    (attack, so the gain is already down when the peak arrives). Pure gain: no delay, so every
    sentence keeps its sample-exact position.
    """
    width = max(1, sample_rate * LIMITER_WINDOW_MS // 1000) * 2
    limit = ceiling * 32767
    wanted = []
    for offset in range(0, len(samples), width):
        peak = audioop.max(samples[offset:offset + width], 2)
        wanted.append(gain if peak * gain <= limit else limit / peak)
    step = 10 ** (LIMITER_STEP_DB / 20)
    for index in range(1, len(wanted)):
        wanted[index] = min(wanted[index], wanted[index - 1] * step)
    for index in range(len(wanted) - 2, -1, -1):
        wanted[index] = min(wanted[index], wanted[index + 1] * step)
    return wanted


def render_wav(samples: bytes, sample_rate: int, gain_db: float, ceiling_dbfs: float | None, path: Path) -> None:
    """Write mono PCM as a WAV with the gain applied and, when needed, peaks limited."""
    import wave

    gain = 10 ** (gain_db / 20)
    if ceiling_dbfs is None:
        rendered = audioop.mul(samples, 2, gain)
    else:
        width = max(1, sample_rate * LIMITER_WINDOW_MS // 1000) * 2
        gains = limiter_gains(samples, sample_rate, gain, 10 ** (ceiling_dbfs / 20))
        pieces = []
        run_start = 0
        # Most windows keep the full gain: multiply runs of equal gain in one call each.
        for index in range(1, len(gains) + 1):
            if index == len(gains) or gains[index] != gains[run_start]:
                pieces.append(audioop.mul(samples[run_start * width:index * width], 2, gains[run_start]))
                run_start = index
        rendered = b"".join(pieces)
    with wave.open(str(path), "wb") as output:
        output.setnchannels(1)
        output.setsampwidth(2)
        output.setframerate(sample_rate)
        output.writeframes(rendered)


def encode_mp3(wav: Path, mp3: Path, settings: AudioSettings) -> None:
    """Encode a chapter WAV once, as CBR MP3 at the settings' rate, channels and bitrate."""
    # A stereo file carries the mono signal on both channels at full level (ffmpeg's own
    # upmix would lower it by 3 dB), so it measures 3 LU louder: -16 LUFS for -19 mono.
    channels = ["-af", "pan=stereo|c0=c0|c1=c0"] if settings.channels == 2 else ["-ac", "1"]
    run_ffmpeg(
        ["-i", wav, "-map_metadata", "-1", "-ar", str(settings.sample_rate), *channels,
         "-c:a", "libmp3lame", "-b:a", f"{settings.bitrate_kbps}k", "-compression_level", str(MP3_QUALITY),
         "-write_xing", "1", "-id3v2_version", "0", "-f", "mp3", mp3],
        what=str(mp3),
    )


def measure_loudness(path: Path) -> LoudnessReport:
    """BS.1770 integrated loudness, true peak and loudness range of an audio file."""
    report = run_ffmpeg_analysis(["-nostats", "-i", path, "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
                                 what=str(path))
    summary = report[report.rfind("Summary:"):]

    def number(label: str, unit: str) -> float:
        found = re.search(rf"{label}:\s+(-?[\d.]+|-inf) {unit}", summary)
        return float(found.group(1)) if found and found.group(1) != "-inf" else -120.0

    return LoudnessReport(number("I", "LUFS"), number("Peak", "dBFS"), number("LRA", "LU"))


def decode_pcm(path: Path, sample_rate: int | None = None) -> bytes:
    """Decode any audio file to mono 16-bit PCM (for checks and tests)."""
    rate = ["-ar", str(sample_rate)] if sample_rate else []
    return run_ffmpeg(["-i", path, "-f", "s16le", "-ac", "1", *rate, "pipe:1"], what=str(path))
