"""Chapter audio: trim clips, join them with pauses, bring to the profile's level, encode.

Sentences are joined as raw PCM and each chapter is encoded once (never by gluing MP3
pieces), so sentence times taken from PCM offsets stay exact. Loudness is measured per ITU-R
BS.1770 by ffmpeg's ``ebur128`` filter on the chapter's PCM, then reached with one linear
gain; when that gain would push peaks over the profile's ceiling, a look-ahead peak limiter
lowers the gain around those peaks only. Both are pure gains (no delay, no dynamic
``loudnorm``), so every sentence keeps its sample position. Chapters are processed from files
in one-second chunks: memory does not grow with the length of a chapter.

Helpers other writers reuse: ``encode_mp3``, ``measure_loudness``, ``read_pcm``, ``decode_pcm``.
"""

from __future__ import annotations

import array
import functools
import math
import random
import re
import subprocess
import warnings
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reviewpub.errors import WriterError
from reviewpub.ffmpeg import ffmpeg_executable, run_ffmpeg, run_ffmpeg_analysis
from reviewpub.narration.settings import AudioSettings, LoudnessProfile

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the C module pydub uses; audioop-lts provides it on Python 3.13+

SAMPLE_WIDTH = 2
"""Bytes per sample: signed 16-bit little-endian throughout."""
FULL_SCALE = 32768
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
LEVEL_TOLERANCE_DB = 0.05
"""How close the planned level must come to the target before the gain plan stops refining."""
LEVEL_ATTEMPTS = 8
SILENT_BELOW_DB = -60.0
"""A chapter quieter than this is (nearly) silence: it is left alone, not amplified. Windows
quieter than this do not count when the limiter's effect on loudness is estimated."""
MAX_GAIN_DB = 30.0
LIMITER_WINDOW_MS = 10
LIMITER_STEP_DB = 1.0
"""The limiter's gain moves at most this much between 10 ms windows (100 dB/s): no clicks."""
CHUNK_WINDOWS = 100
"""Windows processed at a time: one second of audio at most, whatever the rate."""
MP3_QUALITY = 7
"""LAME's algorithm quality (0 best, 9 fastest): 7 encodes about twice as fast as the default
and is transparent for speech at 96 kbps (encoding dominates a build's time)."""


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


def decibels(ratio: float) -> float:
    """An amplitude ratio in dB (-120 for zero)."""
    return 20 * math.log10(ratio) if ratio > 0 else -120.0


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
    while start < end and audioop.max(samples[start:start + window], SAMPLE_WIDTH) < threshold:
        start += window
    if start >= end:
        return b""
    while end > start and audioop.max(samples[max(start, end - window):end], SAMPLE_WIDTH) < threshold:
        end = max(start, end - window)
    margin = sample_count_for(TRIM_MARGIN_MS, sample_rate) * SAMPLE_WIDTH
    return samples[max(0, start - margin):min(len(samples), end + margin)]


def convert_rate(samples: bytes, from_rate: int, to_rate: int) -> bytes:
    """Mono PCM at another rate (for the rare engine that changes rate between sentences)."""
    if from_rate == to_rate:
        return samples
    converted, _ = audioop.ratecv(samples, SAMPLE_WIDTH, 1, from_rate, to_rate, None)
    return bytes(converted)


class LoudnessMeter:
    """BS.1770 integrated loudness of PCM while it is being written: ffmpeg's ``ebur128``
    listens on a pipe as the chapter is assembled, so measuring costs no pass of its own
    (the meter runs beside synthesis, on a core the engine is not using)."""

    def __init__(self, sample_rate: int, report: Path) -> None:
        """Start ffmpeg reading mono 16-bit PCM at ``sample_rate``; its report goes to the file ``report``."""
        self.report_path = report
        self.report = report.open("w+b")  # a file, not a pipe: ffmpeg can never block on it
        command = [ffmpeg_executable(), "-hide_banner", "-nostats", "-loglevel", "info", "-f", "s16le",
                   "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0", "-af", "ebur128=framelog=quiet",
                   "-f", "null", "-"]
        # Its own session: a Ctrl-C in the terminal is for reviewpub to handle (it stops the
        # meter); if reviewpub dies, the pipe closes and ffmpeg ends by itself.
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=self.report, start_new_session=True)

    def feed(self, samples: bytes) -> None:
        """Give the meter the next samples."""
        try:
            self.process.stdin.write(samples)  # type: ignore[union-attr]
        except BrokenPipeError:
            raise WriterError(f"{self.report_path}: ffmpeg's loudness meter stopped: {self.last_line()}") from None

    def loudness(self) -> float | None:
        """End of the PCM: the integrated loudness in LUFS (None when silent)."""
        try:
            self.process.stdin.close()  # type: ignore[union-attr]
        except BrokenPipeError:
            pass
        if self.process.wait() != 0:
            raise WriterError(f"{self.report_path}: ffmpeg's loudness meter failed: {self.last_line()}")
        return summary_value(self.report_text(), "I", "LUFS")

    def report_text(self) -> str:
        """What ffmpeg wrote so far."""
        self.report.seek(0)
        return self.report.read().decode("utf-8", "replace")

    def last_line(self) -> str:
        """ffmpeg's last line, for an error message."""
        lines = self.report_text().strip().splitlines()
        return lines[-1] if lines else f"exit status {self.process.poll()}"

    def close(self) -> None:
        """Stop ffmpeg if still running (an interrupted chapter) and drop the report."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        self.report.close()
        self.report_path.unlink(missing_ok=True)


class PcmFile:
    """Raw mono PCM appended to a file, counting samples: a chapter is assembled on disk.

    With a ``meter``, every sample written is measured too.
    """

    def __init__(self, path: Path, meter: LoudnessMeter | None = None) -> None:
        """Open ``path`` for writing (truncating it)."""
        self.path = path
        self.stream = path.open("wb")
        self.meter = meter
        self.sample_count = 0

    def append(self, samples: bytes) -> None:
        """Add samples at the end."""
        self.stream.write(samples)
        if self.meter is not None:
            self.meter.feed(samples)
        self.sample_count += len(samples) // SAMPLE_WIDTH

    def close(self) -> None:
        """Flush and close the file."""
        self.stream.close()


def read_chunks(path: Path, chunk_bytes: int) -> Iterator[bytes]:
    """A file's bytes in pieces of ``chunk_bytes`` (the last may be shorter)."""
    with path.open("rb") as stream:
        while chunk := stream.read(chunk_bytes):
            yield chunk


def summary_value(report: str, label: str, unit: str) -> float | None:
    """A number from the Summary of ffmpeg's ebur128 report (None for -inf or missing)."""
    summary = report[report.rfind("Summary:"):]
    found = re.search(rf"{label}:\s+(-?[\d.]+|-inf|nan) {unit}", summary)
    if found is None or found.group(1) in ("-inf", "nan"):
        return None
    return float(found.group(1))


def integrated_loudness(raw: Path, sample_rate: int) -> float | None:
    """BS.1770 integrated loudness (LUFS) of a raw mono PCM file by ffmpeg's ebur128; None when silent."""
    report = run_ffmpeg_analysis(["-nostats", "-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", raw,
                                  "-af", "ebur128=framelog=quiet", "-f", "null", "-"], what=str(raw))
    return summary_value(report, "I", "LUFS")


@dataclass(frozen=True)
class WindowLevels:
    """Peak and energy of every 10 ms window of a chapter: what the gain plan works from."""

    peaks: array.array[int]
    energies: array.array[float]
    """Sum of squared samples of each window."""
    sample_count: int

    @property
    def peak(self) -> int:
        """The chapter's sample peak."""
        return max(self.peaks, default=0)

    @property
    def rms_dbfs(self) -> float:
        """RMS of the whole chapter in dBFS (ACX's measure: pauses included)."""
        if not self.sample_count:
            return -120.0
        return decibels(math.sqrt(math.fsum(self.energies) / self.sample_count) / FULL_SCALE)


def window_levels(path: Path, window_bytes: int) -> WindowLevels:
    """Peak and energy of every window of a raw mono PCM file, read a second at a time."""
    peaks: array.array[int] = array.array("l")
    energies: array.array[float] = array.array("f")
    count = 0
    for chunk in read_chunks(path, window_bytes * CHUNK_WINDOWS):
        for offset in range(0, len(chunk), window_bytes):
            window = chunk[offset:offset + window_bytes]
            samples = len(window) // SAMPLE_WIDTH
            peaks.append(audioop.max(window, SAMPLE_WIDTH))
            energies.append(float(audioop.rms(window, SAMPLE_WIDTH)) ** 2 * samples)
            count += samples
    return WindowLevels(peaks, energies, count)


def limiter_gains(peaks: array.array[int], gain: float, ceiling: float) -> array.array[float]:
    """Per-window linear gains: ``gain`` where it keeps the window's peak under ``ceiling``, less near peaks.

    Each window gets the largest gain that keeps its peak under the ceiling; the gains are
    then slope-limited forwards (release) and backwards (attack, so the gain is already down
    when a peak arrives). A pure gain: no delay, every sample stays where it was.
    """
    limit = ceiling * (FULL_SCALE - 1)
    step = 10 ** (LIMITER_STEP_DB / 20)
    count = len(peaks)
    gains = array.array("d", [gain]) * count
    # Only windows whose peak the plain gain would push over the ceiling pull the gain down,
    # and each only as far as the slope takes it back up to ``gain``: the two slope passes
    # (forwards, backwards) reduce to a walk either side of those windows.
    for index, peak in enumerate(peaks):
        if peak * gain <= limit:
            continue
        value = limit / peak
        if value >= gains[index]:
            continue
        gains[index] = value
        for direction in (1, -1):
            reach, position = value, index + direction
            while 0 <= position < count:
                reach *= step
                if reach >= gains[position]:
                    break
                gains[position] = reach
                position += direction
    return gains


def limiting_loss_db(levels: WindowLevels, gains: array.array[float], gain: float, *, window_samples: int,
                     every_window: bool) -> float:
    """How much (dB, ≤ 0) the limiter lowers the level compared with the plain ``gain``.

    Energy-weighted over the windows that are heard (above -60 dBFS), as the gated BS.1770
    loudness is; over every window when ``every_window`` (plain RMS, as ACX measures). The
    limiter touches a few loud windows, so this estimate lands within a tenth of a dB.
    """
    floor = (FULL_SCALE * 10 ** (SILENT_BELOW_DB / 20)) ** 2 * window_samples
    plain = limited = 0.0
    for energy, window_gain in zip(levels.energies, gains):
        if every_window or energy >= floor:
            plain += energy * gain * gain
            limited += energy * window_gain * window_gain
    return 10 * math.log10(limited / plain) if plain > 0 and limited > 0 else 0.0


@dataclass(frozen=True)
class GainPlan:
    """The gain that brings a chapter to its target: one number, or one per window when limited."""

    gain_db: float
    gains: float | array.array[float]

    @property
    def is_limited(self) -> bool:
        """True when the peak limiter works on some windows."""
        return not isinstance(self.gains, float)


def plan_gain(levels: WindowLevels, measured: float, target: float, ceiling_dbfs: float, *, window_samples: int,
              every_window: bool) -> GainPlan:
    """The linear gain taking ``measured`` to ``target``, with the limiter where peaks need it.

    When the limiter is needed, its loss is estimated and made up for, a few times over,
    until the planned level is within 0.05 dB of the target.
    """
    ceiling = 10 ** (ceiling_dbfs / 20)
    gain_db = min(MAX_GAIN_DB, target - measured)
    for _ in range(LEVEL_ATTEMPTS):
        gain = 10 ** (gain_db / 20)
        if levels.peak * gain <= ceiling * (FULL_SCALE - 1):
            return GainPlan(gain_db, gain)
        gains = limiter_gains(levels.peaks, gain, ceiling)
        reached = measured + gain_db + limiting_loss_db(levels, gains, gain, window_samples=window_samples,
                                                        every_window=every_window)
        if abs(target - reached) <= LEVEL_TOLERANCE_DB or gain_db >= MAX_GAIN_DB:
            break
        gain_db = min(MAX_GAIN_DB, gain_db + target - reached)
    return GainPlan(gain_db, gains)


@functools.lru_cache(maxsize=4)
def room_tone(sample_count: int) -> bytes:
    """A fixed, seeded stretch of faint noise (ACX room tone), the same on every run."""
    generator = random.Random(ROOM_TONE_SEED)
    sigma = FULL_SCALE * 10 ** (ROOM_TONE_RMS_DBFS / 20)
    noise = array.array("h", (max(-32768, min(32767, round(generator.gauss(0.0, sigma)))) for _ in range(sample_count)))
    return noise.tobytes()


def write_wav(raw: Path, wav: Path, sample_rate: int, gains: float | array.array[float], window_bytes: int,
              with_room_tone: bool) -> None:
    """Write raw mono PCM as a WAV with ``gains`` applied (one, or one per window), a second at a time."""
    chunk_bytes = window_bytes * CHUNK_WINDOWS
    tone = room_tone(chunk_bytes // SAMPLE_WIDTH) if with_room_tone else b""
    with wave.open(str(wav), "wb") as output:
        output.setnchannels(1)
        output.setsampwidth(SAMPLE_WIDTH)
        output.setframerate(sample_rate)
        for chunk_index, chunk in enumerate(read_chunks(raw, chunk_bytes)):
            if isinstance(gains, float):
                rendered = audioop.mul(chunk, SAMPLE_WIDTH, gains) if gains != 1.0 else chunk
            else:
                rendered = apply_window_gains(chunk, gains, chunk_index * CHUNK_WINDOWS, window_bytes)
            if tone:
                rendered = audioop.add(rendered, tone[:len(rendered)], SAMPLE_WIDTH)
            output.writeframesraw(rendered)


def apply_window_gains(chunk: bytes, gains: array.array[float], first_window: int, window_bytes: int) -> bytes:
    """Multiply each window of ``chunk`` by its gain; runs of equal gain take one call each."""
    pieces = []
    windows = (len(chunk) + window_bytes - 1) // window_bytes
    run_start = 0
    for index in range(1, windows + 1):
        if index == windows or gains[first_window + index] != gains[first_window + run_start]:
            piece = chunk[run_start * window_bytes:index * window_bytes]
            pieces.append(audioop.mul(piece, SAMPLE_WIDTH, gains[first_window + run_start]))
            run_start = index
    return b"".join(pieces)


def render_chapter(raw: Path, sample_rate: int, wav: Path, settings: AudioSettings, *,
                   loudness: float | None = None) -> RenderedChapter:
    """Turn a chapter's assembled raw PCM into its final WAV, at the profile's level.

    The podcast profile aims the mono PCM at -19 LUFS (its stereo copy measures -16) under a
    -3 dBFS sample ceiling; the audiobook profile aims at -20.5 dB RMS under -4.5 dBFS, with
    room tone underneath; ``off`` keeps the level. The chapter stays at the engine's rate
    (eSpeak NG's 22.05 kHz is half the samples of 44.1 kHz): the MP3 and M4B encoders resample
    once, as they must anyway. ffmpeg measures the loudness (``loudness``, when a
    ``LoudnessMeter`` heard the PCM as it was written); the gain is planned from 10 ms window
    levels and applied in one more pass over the file.
    """
    window_samples = max(1, sample_count_for(LIMITER_WINDOW_MS, sample_rate))
    window_bytes = window_samples * SAMPLE_WIDTH
    sample_count = raw.stat().st_size // SAMPLE_WIDTH
    profile = settings.loudness
    is_audiobook = profile is LoudnessProfile.AUDIOBOOK
    if profile is LoudnessProfile.OFF:
        write_wav(raw, wav, sample_rate, 1.0, window_bytes, with_room_tone=False)
        return RenderedChapter(sample_rate, sample_count, 0.0, False)
    levels = window_levels(raw, window_bytes)
    if is_audiobook:
        measured: float | None = levels.rms_dbfs
    else:
        measured = loudness if loudness is not None else integrated_loudness(raw, sample_rate)
    if measured is None or measured < SILENT_BELOW_DB or levels.peak == 0:
        write_wav(raw, wav, sample_rate, 1.0, window_bytes, with_room_tone=is_audiobook)
        return RenderedChapter(sample_rate, sample_count, 0.0, False)
    plan = plan_gain(
        levels, measured,
        AUDIOBOOK_RMS_DBFS if is_audiobook else MONO_TARGET_LUFS,
        AUDIOBOOK_CEILING_DBFS if is_audiobook else PODCAST_CEILING_DBFS,
        window_samples=window_samples, every_window=is_audiobook,
    )
    write_wav(raw, wav, sample_rate, plan.gains, window_bytes, with_room_tone=is_audiobook)
    return RenderedChapter(sample_rate, sample_count, plan.gain_db, plan.is_limited)


def lame_scale(bitrate_kbps: int) -> float:
    """The gain LAME's CBR/ABR presets apply to the input (``scale`` in its ``abr_switch_map``).

    LAME lowers the level by 0.95 (-0.45 dB) up to 160 kbps, 0.97 at 192 and 0.98 at 224
    kbps, to keep its own rounding from clipping; ``encode_mp3`` undoes it so the MP3 is
    exactly as loud as the PCM it came from.
    """
    if bitrate_kbps >= 256:
        return 1.0
    if bitrate_kbps >= 224:
        return 0.98
    if bitrate_kbps >= 192:
        return 0.97
    return 0.95


def encode_mp3(wav: Path, mp3: Path, settings: AudioSettings) -> None:
    """Encode a chapter WAV once, as CBR MP3 at the settings' rate, channels and bitrate (no tags).

    The level is raised by exactly what LAME's presets take away (``lame_scale``; not with
    ``--loudness off``, which keeps the engine's level and headroom), so the encoded file
    measures what the PCM measured. A stereo file carries the mono signal on both channels at
    full level (ffmpeg's own upmix would lower it by 3 dB), so it measures 3 LU louder:
    -16 LUFS from -19 LUFS mono. A LAME header records the encoder delay and padding, so
    decoders drop them and the decoded audio lines up sample for sample with the WAV.
    """
    # soxr: a band-limited resampler over the whole chapter at once, so the engine's 22.05 kHz
    # reaches 44.1 kHz without imaging and without a seam at any clip join.
    filters = [f"aresample={settings.sample_rate}:resampler=soxr"]
    if settings.loudness is not LoudnessProfile.OFF:
        filters.append(f"volume={1 / lame_scale(settings.bitrate_kbps):.6f}:precision=float")
    if settings.channels == 2:
        filters.append("pan=stereo|c0=c0|c1=c0")
    run_ffmpeg(
        ["-i", wav, "-map_metadata", "-1", "-af", ",".join(filters),
         "-ar", str(settings.sample_rate), "-ac", str(settings.channels),
         "-c:a", "libmp3lame", "-b:a", f"{settings.bitrate_kbps}k", "-compression_level", str(MP3_QUALITY),
         "-write_xing", "1", "-id3v2_version", "0", "-f", "mp3", mp3],
        what=str(mp3),
    )


def measure_loudness(path: Path) -> Loudness:
    """BS.1770 integrated loudness, true and sample peak, loudness range and RMS of any audio file."""
    report = run_ffmpeg_analysis(
        ["-nostats", "-i", path, "-af",
         "ebur128=peak=sample+true:framelog=quiet,astats=measure_perchannel=none:measure_overall=RMS_level",
         "-f", "null", "-"],
        what=str(path),
    )
    peaks = re.findall(r"Peak:\s+(-?[\d.]+|-inf) dBFS", report[report.rfind("Summary:"):])
    rms = re.findall(r"RMS level dB:\s+(-?[\d.]+|-inf)", report)

    def number(text: str | None) -> float:
        return float(text) if text not in (None, "-inf") else -120.0  # type: ignore[arg-type]

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
