"""The gain that brings a chapter to its level: 10 ms window levels, the limiter's plan, applying it.

A chapter is brought to its target with one linear gain; where that gain would push a
window's peak over the profile's ceiling, a look-ahead limiter lowers the gain around that
window only, its gain moving at most ``LIMITER_STEP_DB`` per 10 ms window. All of it is
array arithmetic on one value per window (100 a second), so planning an hour of audio takes
milliseconds; the samples themselves are touched once, when the gains are applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from reviewpub.narration.rules import LIMITER_STEP_DB

FULL_SCALE = 32768
SILENT_BELOW_DB = -60.0
"""A chapter quieter than this is (nearly) silence: it is left alone, not amplified. Windows
quieter than this do not count when the limiter's effect on loudness is estimated."""
MAX_GAIN_DB = 30.0
LEVEL_TOLERANCE_DB = 0.05
"""How close the planned level must come to the target before the gain plan stops refining."""
LEVEL_ATTEMPTS = 8
ROUNDING = 1e-9
"""Relative differences below this in a planned gain are float rounding, not the limiter's slope."""
Gains = npt.NDArray[np.float64]


def decibels(ratio: float) -> float:
    """An amplitude ratio in dB (-120 for zero)."""
    return 20 * math.log10(ratio) if ratio > 0 else -120.0


@dataclass(frozen=True)
class WindowLevels:
    """Peak and energy of every 10 ms window of a chapter: what the gain plan works from."""

    peaks: npt.NDArray[np.int64]
    energies: npt.NDArray[np.float64]
    """Sum of squared samples of each window."""
    sample_count: int

    @property
    def peak(self) -> int:
        """The chapter's sample peak."""
        return int(self.peaks.max()) if len(self.peaks) else 0

    @property
    def rms_dbfs(self) -> float:
        """RMS of the whole chapter in dBFS (ACX's measure: pauses included)."""
        if not self.sample_count:
            return -120.0
        return decibels(math.sqrt(math.fsum(self.energies) / self.sample_count) / FULL_SCALE)


class WindowMeter:
    """Collects ``WindowLevels`` from mono 16-bit PCM fed in pieces of any length (one array per second kept)."""

    def __init__(self, window_samples: int) -> None:
        """Windows of ``window_samples`` samples (the last one may be shorter)."""
        self.window_samples = window_samples
        self.carry = np.zeros(0, dtype=np.int16)
        self.peaks: list[npt.NDArray[np.int64]] = []
        self.energies: list[npt.NDArray[np.float64]] = []
        self.sample_count = 0

    def feed(self, samples: npt.NDArray[np.int16]) -> None:
        """Add the next samples."""
        self.sample_count += len(samples)
        joined = np.concatenate((self.carry, samples)) if len(self.carry) else samples
        whole = len(joined) - len(joined) % self.window_samples
        if whole:
            self.add_windows(joined[:whole].reshape(-1, self.window_samples))
        self.carry = joined[whole:].copy()

    def add_windows(self, windows: npt.NDArray[np.int16]) -> None:
        """Peaks and energies of whole windows (one per row)."""
        # float32 holds every int16 exactly (peaks are exact); a window's energy is a sum of a
        # few hundred squares, good to 1e-7, far finer than the gain plan needs.
        wide = windows.astype(np.float32)
        self.peaks.append(np.maximum(wide.max(axis=1), -wide.min(axis=1)).astype(np.int64))
        self.energies.append(np.einsum("ij,ij->i", wide, wide).astype(np.float64))

    def levels(self) -> WindowLevels:
        """Every window's levels so far, the partial last window included."""
        if len(self.carry):
            self.add_windows(self.carry.reshape(1, -1))
            self.carry = np.zeros(0, dtype=np.int16)
        peaks = np.concatenate(self.peaks) if self.peaks else np.zeros(0, dtype=np.int64)
        energies = np.concatenate(self.energies) if self.energies else np.zeros(0)
        self.peaks, self.energies = [peaks], [energies]
        return WindowLevels(peaks, energies, self.sample_count)


def limiter_gains(peaks: npt.ArrayLike, gain: float, ceiling: float) -> Gains:
    """Per-window linear gains: ``gain`` where it keeps the window's peak under ``ceiling``, less near peaks.

    Each window gets the largest gain that keeps its peak under the ceiling; the gains are
    then slope-limited forwards (release) and backwards (attack, so the gain is already down
    when a peak arrives): window i gets min over k of ``own[k] * step ** |i - k|``. In dB
    that is a distance transform: two running minimums (forwards and backwards) of
    ``log(own[k]) ∓ k·log(step)``. A pure gain: no delay, every sample stays where it was.
    """
    peak_values = np.asarray(peaks, dtype=np.float64)
    limit = ceiling * (FULL_SCALE - 1)
    with np.errstate(divide="ignore"):
        own = np.where(peak_values * gain <= limit, gain, limit / peak_values)
    if not len(own) or bool(np.all(own == gain)):
        return own
    step_nepers = math.log(10 ** (LIMITER_STEP_DB / 20))
    positions = np.arange(len(own)) * step_nepers
    logs = np.log(own)
    forwards = np.minimum.accumulate(logs - positions) + positions
    backwards = (np.minimum.accumulate((logs + positions)[::-1]) - positions[::-1])[::-1]
    sloped = np.exp(np.minimum(forwards, backwards))
    # Where the slope does not bind, keep the window's own gain exactly: exp(log(g)) may be off
    # by an ulp either way, and must neither lift a window over its limit nor leave the plain
    # gain a hair under ``gain`` (which would mark every window as limited).
    return np.where(sloped < own * (1 - ROUNDING), sloped, own)


def limiting_loss_db(
    levels: WindowLevels, gains: Gains, gain: float, *, window_samples: int, every_window: bool
) -> float:
    """How much (dB, ≤ 0) the limiter lowers the level compared with the plain ``gain``.

    Energy-weighted over the windows that are heard (above -60 dBFS), as the gated BS.1770
    loudness is; over every window when ``every_window`` (plain RMS, as ACX measures). The
    limiter touches a few loud windows, so this estimate lands within a tenth of a dB.
    """
    floor = (FULL_SCALE * 10 ** (SILENT_BELOW_DB / 20)) ** 2 * window_samples
    heard = levels.energies if every_window else np.where(levels.energies >= floor, levels.energies, 0.0)
    plain = float(heard.sum()) * gain * gain
    limited = float(np.dot(heard, gains * gains))
    return 10 * math.log10(limited / plain) if plain > 0 and limited > 0 else 0.0


@dataclass(frozen=True)
class GainPlan:
    """The gain that brings a chapter to its target: one number, or one per window when limited."""

    gain_db: float
    gains: float | Gains

    @property
    def is_limited(self) -> bool:
        """True when the peak limiter works on some windows."""
        return not isinstance(self.gains, float)


def plan_gain(
    levels: WindowLevels,
    measured: float,
    target: float,
    ceiling_dbfs: float,
    *,
    window_samples: int,
    every_window: bool,
) -> GainPlan:
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
        reached = (
            measured
            + gain_db
            + limiting_loss_db(levels, gains, gain, window_samples=window_samples, every_window=every_window)
        )
        if abs(target - reached) <= LEVEL_TOLERANCE_DB or gain_db >= MAX_GAIN_DB:
            break
        gain_db = min(MAX_GAIN_DB, gain_db + target - reached)
    return GainPlan(gain_db, gains)


def apply_gains(
    samples: npt.NDArray[np.int16], gains: float | Gains, first_window: int, window_samples: int
) -> npt.NDArray[np.int16]:
    """``samples`` (starting at window ``first_window``) times their window's gain, rounded and clipped to 16 bits."""
    if isinstance(gains, float):
        if gains == 1.0:
            return samples
        scaled = samples * np.float32(gains)
    else:
        windows = -(-len(samples) // window_samples)
        per_sample = np.repeat(gains[first_window : first_window + windows].astype(np.float32), window_samples)
        scaled = samples * per_sample[: len(samples)]
    # float32 products of 16-bit samples are exact to far below one step of the output.
    np.rint(scaled, out=scaled)
    np.clip(scaled, -FULL_SCALE, FULL_SCALE - 1, out=scaled)
    rendered: npt.NDArray[np.int16] = scaled.astype(np.int16)
    return rendered
