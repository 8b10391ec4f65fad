"""The in-process BS.1770 meter: held to ffmpeg's ebur128 on the same PCM, and its filter to the plain recursion."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from reviewpub.engines.espeak import EspeakEngine
from reviewpub.narration.loudness import (
    CHUNK_SAMPLES,
    BlockedFilter,
    LoudnessMeter,
    gated_loudness,
    k_weighting,
    k_weighting_sections,
)
from reviewpub.narration.wav import integrated_loudness

RATES = (16000, 22050, 24000, 44100, 48000)
KINDS = ("white", "pink", "hum 60 Hz", "tone 1 kHz", "tone 5 kHz", "gated noise", "bursts")


def signal(kind: str, rate: int, seconds: float) -> np.ndarray:
    """A test signal as int16: noises, tones, and two with long quiet stretches the gates must drop."""
    generator = np.random.default_rng(zlib.crc32(f"{kind} {rate}".encode()))
    count = int(rate * seconds)
    time = np.arange(count) / rate
    if kind == "white":
        values = generator.standard_normal(count) * 0.1
    elif kind == "pink":
        spectrum = np.fft.rfft(generator.standard_normal(count))
        frequencies = np.fft.rfftfreq(count, 1 / rate)
        frequencies[0] = 1.0
        values = np.fft.irfft(spectrum / np.sqrt(frequencies), count)
        values *= 0.1 / np.std(values)
    elif kind.startswith(("hum", "tone")):
        hertz = {"hum 60 Hz": 60, "tone 1 kHz": 1000, "tone 5 kHz": 5000}[kind]
        values = 0.3 * np.sin(2 * np.pi * hertz * time)
    elif kind == "gated noise":
        values = generator.standard_normal(count) * 0.1 * np.where(time % 3 < 1, 1.0, 0.003)
    else:
        values = np.sin(2 * np.pi * 440 * time) * np.where(time % 2.5 < 0.5, 0.8, 0.01)
    return np.clip(np.round(values * 32767), -32768, 32767).astype(np.int16)


def meter_loudness(samples: np.ndarray, rate: int, piece: int) -> float | None:
    meter = LoudnessMeter(rate)
    for offset in range(0, len(samples), piece):
        meter.feed(samples[offset : offset + piece].tobytes())
    return meter.loudness()


def ffmpeg_loudness(samples: np.ndarray, rate: int, folder: Path) -> float | None:
    raw = folder / "signal.raw"
    raw.write_bytes(samples.astype("<i2").tobytes())
    return integrated_loudness(raw, rate)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("kind", KINDS)
def test_the_meter_agrees_with_ffmpeg_within_half_a_lu(kind: str, rate: int, tmp_path: Path) -> None:
    samples = signal(kind, rate, 7.3)
    reference = ffmpeg_loudness(samples, rate, tmp_path)
    measured = meter_loudness(samples, rate, 7001)
    assert reference is not None and measured is not None
    assert abs(measured - reference) <= 0.5, (kind, rate, measured, reference)


def test_the_meter_agrees_with_ffmpeg_on_espeak_speech(tmp_path: Path) -> None:
    engine = EspeakEngine()
    speech = engine.synthesize(
        "The station's crew repaired the broken radio before dawn, and nobody moved. "
        "Later that evening, the signal came back, faint but steady.",
        voice="en-us",
    )
    samples = np.frombuffer(speech.samples, dtype="<i2")
    samples = np.concatenate([samples, np.zeros(speech.sample_rate, dtype=np.int16), samples // 4])
    reference = ffmpeg_loudness(samples, speech.sample_rate, tmp_path)
    measured = meter_loudness(samples, speech.sample_rate, 4410)
    assert reference is not None and measured is not None and abs(measured - reference) <= 0.5


def test_the_measure_does_not_depend_on_how_the_pcm_is_cut() -> None:
    # Longer than one filtering chunk, so the filter's state is carried from chunk to chunk.
    samples = signal("pink", 22050, 1.5 * CHUNK_SAMPLES / 22050)
    whole = meter_loudness(samples, 22050, len(samples))
    assert whole is not None
    for piece in (997, CHUNK_SAMPLES - 1, CHUNK_SAMPLES + 3):
        assert meter_loudness(samples, 22050, piece) == pytest.approx(whole, abs=1e-4)


def direct_form(b: np.ndarray, a: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """The filter as its difference equation, one sample at a time: what the blocked filter must equal."""
    inputs, outputs = [0.0] * len(b), [0.0] * len(a)
    result = np.empty(len(samples))
    for index, value in enumerate(samples):
        inputs = [float(value), *inputs[:-1]]
        output = sum(b[k] * inputs[k] for k in range(len(b))) - sum(a[k] * outputs[k - 1] for k in range(1, len(a)))
        outputs = [output, *outputs[:-1]]
        result[index] = output
    return result


@pytest.mark.parametrize("rate", (16000, 22050, 44100, 48000))
def test_the_blocked_filter_is_the_recursive_filter(rate: int) -> None:
    b, a = k_weighting(rate)
    samples = np.random.default_rng(rate).standard_normal(2 * 64 * 64 + 1234).astype(np.float32)
    blocked = BlockedFilter(k_weighting_sections(rate))
    step = 64 * 64
    output = np.concatenate(
        [
            blocked.process(samples[:step]),
            blocked.process(samples[step : 2 * step]),
            blocked.process(samples[2 * step :]),
        ]
    )
    expected = direct_form(b, a, samples)
    assert np.max(np.abs(output - expected)) <= 1e-4 * np.sqrt(np.mean(expected**2))


def test_k_weighting_at_48_khz_is_the_standards_filter() -> None:
    # ITU-R BS.1770-4, tables 1 and 2 (48 kHz), multiplied into one filter.
    shelf_b, shelf_a = (
        [1.53512485958697, -2.69169618940638, 1.19839281085285],
        [1.0, -1.69065929318241, 0.73248077421585],
    )
    pass_b, pass_a = [1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621]
    b, a = k_weighting(48000)
    assert b == pytest.approx(np.convolve(shelf_b, pass_b), abs=1e-8)
    assert a == pytest.approx(np.convolve(shelf_a, pass_a), abs=1e-8)


def plain_loudness(samples: np.ndarray, rate: int) -> float | None:
    """The meter's arithmetic done the plain way: filter everything at once, then cut each 100 ms segment out."""
    weighted = BlockedFilter(k_weighting_sections(rate)).process(samples).astype(np.float64) / 32768.0
    ends = [(index + 1) * rate // 10 for index in range(len(samples) * 10 // rate)]
    starts = [0, *ends[:-1]]
    energies = np.array([np.dot(weighted[start:end], weighted[start:end]) for start, end in zip(starts, ends)])
    return gated_loudness(energies, np.array([end - start for start, end in zip(starts, ends)]))


@pytest.mark.parametrize("rate", (11025, 22050))
def test_the_segments_fed_piece_by_piece_are_the_segments_of_the_whole(rate: int) -> None:
    # 11.025 kHz: segments alternate between 1,102 and 1,103 samples; pieces end anywhere.
    samples = signal("pink", rate, 2.5 * CHUNK_SAMPLES / rate)
    expected = plain_loudness(samples, rate)
    assert expected is not None
    for piece in (CHUNK_SAMPLES, 1103, 4 * rate + 7):
        assert meter_loudness(samples, rate, piece) == pytest.approx(expected, abs=1e-6)


def test_the_filter_takes_more_than_a_chunk_in_one_call() -> None:
    samples = np.random.default_rng(7).standard_normal(2 * CHUNK_SAMPLES + 5000).astype(np.float32)
    sections = k_weighting_sections(22050)
    whole = BlockedFilter(sections).process(samples)
    pieces = BlockedFilter(sections)
    cut = np.concatenate([pieces.process(samples[:CHUNK_SAMPLES]), pieces.process(samples[CHUNK_SAMPLES:])])
    assert whole.shape == samples.shape
    assert np.max(np.abs(whole - cut)) <= 1e-5 * np.sqrt(np.mean(cut.astype(np.float64) ** 2))
