"""Chapter audio helpers: the limiter's gains, the window levels, and the PCM file that measures as it is written."""

from __future__ import annotations

import array
import itertools
import math
import random
from pathlib import Path

import numpy as np
import pytest

from reviewpub.narration import levelling, wav
from reviewpub.narration.levelling import FULL_SCALE, WindowMeter
from reviewpub.narration.loudness import LoudnessMeter
from reviewpub.narration.pcm import PcmFile
from reviewpub.narration.rules import LIMITER_STEP_DB
from reviewpub.narration.wav import integrated_loudness


def two_pass_limiter(peaks: array.array[int], gain: float, ceiling: float) -> list[float]:
    """The textbook slope limiter: each window's own limit, then forwards and backwards passes."""
    limit = ceiling * (FULL_SCALE - 1)
    gains = [gain if peak * gain <= limit else limit / peak for peak in peaks]
    step = 10 ** (LIMITER_STEP_DB / 20)
    for index in range(1, len(gains)):
        gains[index] = min(gains[index], gains[index - 1] * step)
    for index in range(len(gains) - 2, -1, -1):
        gains[index] = min(gains[index], gains[index + 1] * step)
    return gains


@pytest.mark.parametrize("seed", range(40))
def test_the_limiter_gives_the_two_pass_gains(seed: int) -> None:
    generator = random.Random(seed)
    count = generator.randint(1, 300)
    peaks = array.array(
        "l", (generator.choice([0, generator.randint(0, 32767), generator.randint(20000, 32767)]) for _ in range(count))
    )
    gain, ceiling = 10 ** (generator.uniform(-5, 25) / 20), 10 ** (-3 / 20)
    gains = levelling.limiter_gains(peaks, gain, ceiling)
    # The same gains to rounding; never above a window's own limit, not even by rounding.
    assert gains.tolist() == pytest.approx(two_pass_limiter(peaks, gain, ceiling), rel=1e-12)
    limit = ceiling * (FULL_SCALE - 1)
    assert all(peak * value <= limit * (1 + 1e-12) for peak, value in zip(peaks, gains))


def test_the_limiter_keeps_every_peak_under_the_ceiling_and_the_slope_gentle() -> None:
    peaks = array.array("l", [1000] * 50 + [32000] + [1000] * 50)
    gains = levelling.limiter_gains(peaks, 8.0, 0.5)
    assert all(peak * gain <= 0.5 * (FULL_SCALE - 1) + 1e-9 for peak, gain in zip(peaks, gains))
    step = 10 ** (LIMITER_STEP_DB / 20)
    assert all(max(a, b) / min(a, b) <= step + 1e-12 for a, b in itertools.pairwise(gains))
    assert gains[0] == gains[-1] == 8.0


def test_window_levels_are_the_same_however_the_pcm_is_cut() -> None:
    samples = np.random.default_rng(3).integers(-32768, 32768, 10_007).astype(np.int16)
    whole, pieces = WindowMeter(220), WindowMeter(220)
    whole.feed(samples)
    for offset in range(0, len(samples), 331):
        pieces.feed(samples[offset : offset + 331])
    expected, got = whole.levels(), pieces.levels()
    assert got.sample_count == expected.sample_count == len(samples)
    assert len(got.peaks) == math.ceil(len(samples) / 220)
    assert got.peaks.tolist() == expected.peaks.tolist()
    assert got.energies.tolist() == expected.energies.tolist()
    last = samples[-(len(samples) % 220) :].astype(np.int64)
    assert got.peaks[-1] == np.abs(last).max()
    assert got.energies[-1] == pytest.approx(float((last * last).sum()), rel=1e-6)
    assert got.peak == max(abs(int(value)) for value in samples)


def test_gains_are_applied_per_window_rounded_and_clipped() -> None:
    samples = np.array([100, -100, 30000, -30000, 7, 8], dtype=np.int16)
    gains = np.array([0.5, 2.0, 1.26])
    assert levelling.apply_gains(samples, gains, 0, 2).tolist() == [50, -50, 32767, -32768, 9, 10]
    assert levelling.apply_gains(samples[2:], gains, 1, 2).tolist() == [32767, -32768, 9, 10]
    assert levelling.apply_gains(samples, 1.0, 0, 2) is samples


def speech_like(sample_rate: int, seconds: float) -> bytes:
    """A warbling tone with pauses, something a loudness meter has to gate."""
    samples = array.array("h")
    for index in range(int(sample_rate * seconds)):
        time = index / sample_rate
        envelope = 0.0 if int(time * 2) % 3 == 2 else 0.3 + 0.2 * math.sin(2 * math.pi * 3 * time)
        samples.append(int(FULL_SCALE * 0.5 * envelope * math.sin(2 * math.pi * (200 + 50 * math.sin(time)) * time)))
    return samples.tobytes()


def test_the_pcm_file_measures_what_is_written(tmp_path: Path) -> None:
    pcm = speech_like(22050, 6.0)
    raw = tmp_path / "chapter.raw"
    meter = LoudnessMeter(22050)
    written = PcmFile(raw, 22050, meter)
    for offset in range(0, len(pcm), 3001 * 2):  # uneven pieces, as clips and pauses are
        written.append(pcm[offset : offset + 3001 * 2])
    written.close()
    assert raw.read_bytes() == pcm
    assert written.sample_count == len(pcm) // 2
    heard = meter.loudness()
    reference = integrated_loudness(raw, 22050)
    assert heard is not None and reference is not None and abs(heard - reference) <= 0.5
    levels = written.levels()
    assert levels.peaks.tolist() == wav.window_levels(raw, 220).peaks.tolist()
    assert wav.file_loudness(raw, 22050) == pytest.approx(heard, abs=1e-6)


def test_silence_measures_nothing() -> None:
    # ffmpeg says -70 LUFS (BS.1770's absolute gate) for silence; render_chapter_wav leaves it alone.
    meter = LoudnessMeter(22050)
    meter.feed(b"\0" * 441000)
    assert meter.loudness() is None
    short = LoudnessMeter(22050)
    short.feed(speech_like(22050, 0.3))
    assert short.loudness() is None, "shorter than one 400 ms block"


@pytest.mark.parametrize("profile", ["podcast", "audiobook", "off"])
@pytest.mark.parametrize("seconds", [0.0, 0.3, 25.0])
def test_the_rendered_wav_checksum_is_the_files(profile: str, seconds: float, tmp_path: Path) -> None:
    # The WAV is hashed as it is written; the cache records that checksum without reading the file back.
    from reviewpub.files import file_sha256
    from reviewpub.narration.settings import AudioSettings, LoudnessProfile

    rate = 22050
    samples = (np.sin(np.arange(int(rate * seconds)) / 7.0) * 9000).astype("<i2")
    raw = tmp_path / "chapter.raw"
    raw.write_bytes(samples.tobytes())
    rendered = wav.render_chapter_wav(
        raw, rate, tmp_path / "chapter.wav", AudioSettings(loudness=LoudnessProfile(profile))
    )
    assert rendered.sha256 == file_sha256(tmp_path / "chapter.wav")
    assert (tmp_path / "chapter.wav").stat().st_size == 44 + 2 * len(samples)
