"""Chapter audio helpers: the limiter's gains and the loudness meter that listens while a chapter is written."""

from __future__ import annotations

import array
import math
import random
from pathlib import Path

import pytest

from reviewpub.errors import WriterError
from reviewpub.narration import audio
from reviewpub.narration.audio import FULL_SCALE, LIMITER_STEP_DB, LoudnessMeter, PcmFile, integrated_loudness


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
def test_the_limiter_gives_the_two_pass_gains_exactly(seed: int) -> None:
    generator = random.Random(seed)
    count = generator.randint(1, 300)
    peaks = array.array("l", (generator.choice([0, generator.randint(0, 32767), generator.randint(20000, 32767)])
                              for _ in range(count)))
    gain, ceiling = 10 ** (generator.uniform(-5, 25) / 20), 10 ** (-3 / 20)
    assert list(audio.limiter_gains(peaks, gain, ceiling)) == two_pass_limiter(peaks, gain, ceiling)


def test_the_limiter_keeps_every_peak_under_the_ceiling_and_the_slope_gentle() -> None:
    peaks = array.array("l", [1000] * 50 + [32000] + [1000] * 50)
    gains = audio.limiter_gains(peaks, 8.0, 0.5)
    assert all(peak * gain <= 0.5 * (FULL_SCALE - 1) + 1e-9 for peak, gain in zip(peaks, gains))
    step = 10 ** (LIMITER_STEP_DB / 20)
    assert all(max(a, b) / min(a, b) <= step + 1e-12 for a, b in zip(gains, gains[1:]))
    assert gains[0] == gains[-1] == 8.0


def speech_like(sample_rate: int, seconds: float) -> bytes:
    """A warbling tone with pauses, something a loudness meter has to gate."""
    samples = array.array("h")
    for index in range(int(sample_rate * seconds)):
        time = index / sample_rate
        envelope = 0.0 if int(time * 2) % 3 == 2 else 0.3 + 0.2 * math.sin(2 * math.pi * 3 * time)
        samples.append(int(FULL_SCALE * 0.5 * envelope * math.sin(2 * math.pi * (200 + 50 * math.sin(time)) * time)))
    return samples.tobytes()


def test_the_meter_hears_what_is_written_as_ffmpeg_measures_the_file(tmp_path: Path) -> None:
    pcm = speech_like(22050, 6.0)
    raw = tmp_path / "chapter.raw"
    meter = LoudnessMeter(22050, tmp_path / "report.txt")
    try:
        written = PcmFile(raw, meter)
        for offset in range(0, len(pcm), 3001 * 2):  # uneven pieces, as clips and pauses are
            written.append(pcm[offset:offset + 3001 * 2])
        written.close()
        heard = meter.loudness()
    finally:
        meter.close()
    assert raw.read_bytes() == pcm
    assert heard is not None and heard == integrated_loudness(raw, 22050)
    assert not (tmp_path / "report.txt").exists(), "the report is dropped with the meter"


def test_silence_measures_at_the_absolute_gate_or_nothing(tmp_path: Path) -> None:
    # ffmpeg says -70 LUFS (BS.1770's absolute gate) for silence; render_chapter leaves it alone.
    meter = LoudnessMeter(22050, tmp_path / "report.txt")
    try:
        meter.feed(b"\0" * 44100)
        heard = meter.loudness()
        assert heard is None or heard <= audio.SILENT_BELOW_DB
    finally:
        meter.close()


def test_a_meter_closed_mid_chapter_stops_its_ffmpeg(tmp_path: Path) -> None:
    meter = LoudnessMeter(22050, tmp_path / "report.txt")
    meter.feed(speech_like(22050, 1.0))
    meter.close()
    assert meter.process.poll() is not None
    assert not list(tmp_path.iterdir())


def test_a_meter_whose_ffmpeg_died_says_so_in_one_line(tmp_path: Path) -> None:
    meter = LoudnessMeter(22050, tmp_path / "report.txt")
    try:
        meter.process.kill()
        meter.process.wait()
        with pytest.raises(WriterError, match="loudness meter"):
            for _ in range(100):  # the pipe may take a few writes to notice
                meter.feed(b"\1\0" * 65536)
            meter.loudness()
    finally:
        meter.close()
