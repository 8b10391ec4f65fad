"""BS.1770 integrated loudness of mono PCM, measured in process as a chapter is written.

ITU-R BS.1770-4: the signal is K-weighted (a high shelf, then a high-pass), its mean square
taken over 400 ms blocks every 100 ms, blocks under -70 LUFS dropped (absolute gate), then
blocks more than 10 LU under the mean of the rest (relative gate). The filter is the
standard's pair of biquads, designed for the PCM's own rate as libebur128 and pyloudnorm do.

Why not an ffmpeg ``ebur128`` process per chapter, fed through a pipe: it cost two thirds as
much CPU as eSpeak NG's synthesis of the same chapter (6.6 s against 10.2 s for ten book
chapters), a core's worth that two workers on two cores do not have.
Here the recursive filter runs as matrix products instead of a sample loop: within a block
of ``FILTER_BLOCK`` samples the output is the input convolved with the filter's impulse
response plus what the state at the block's start contributes, and those block-start
states follow their own (short) recurrence, solved the same way one level up. That is exact
(to float rounding), not an approximation of the filter.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
BLOCK_SEGMENTS = 4
"""A gating block is 400 ms: four 100 ms segments, one new segment per step (75 % overlap)."""
SEGMENTS_PER_SECOND = 10
LOUDNESS_OFFSET = -0.691
"""BS.1770's constant: a 997 Hz sine at 0 dBFS measures -3.01 LUFS."""
FULL_SCALE = 32768.0
FILTER_BLOCK = 64
"""Samples per block of the blocked filter: cost per sample grows with it, the Python steps shrink."""
STATE_BLOCK = 32
"""Filter blocks per block of the block-start recurrence (its second level)."""
CHUNK_GROUPS = 128
"""Groups of blocks filtered at a time (the third level: their start states in one product)."""
CHUNK_SAMPLES = FILTER_BLOCK * STATE_BLOCK * CHUNK_GROUPS
"""Samples filtered at a time (about 12 s at 22.05 kHz, 2 MB of floats): memory stays flat."""
Floats = npt.NDArray[np.float64]


Section = tuple[tuple[float, float, float], tuple[float, float, float]]
"""One biquad: (b0, b1, b2), (1, a1, a2)."""


def k_weighting(sample_rate: int) -> tuple[Floats, Floats]:
    """The K-weighting filter at ``sample_rate`` as one 4th-order (b, a): BS.1770's shelf, then its high-pass."""
    (shelf_b, shelf_a), (pass_b, pass_a) = k_weighting_sections(sample_rate)
    return np.convolve(shelf_b, pass_b), np.convolve(shelf_a, pass_a)


def k_weighting_sections(sample_rate: int) -> tuple[Section, Section]:
    """The K-weighting filter at ``sample_rate`` as its two biquads: BS.1770's shelf, then its high-pass.

    Coefficients from the analogue prototypes by the bilinear transform with pre-warping
    (libebur128's design); at 48 kHz they are the standard's published ones.
    """
    gain_db, shelf_hz, shelf_q = 3.999843853973347, 1681.974450955533, 0.7071752369554196
    k = math.tan(math.pi * shelf_hz / sample_rate)
    high, band = 10 ** (gain_db / 20), (10 ** (gain_db / 20)) ** 0.4996667741545416
    scale = 1 + k / shelf_q + k * k
    shelf_b = (
        (high + band * k / shelf_q + k * k) / scale,
        2 * (k * k - high) / scale,
        (high - band * k / shelf_q + k * k) / scale,
    )
    shelf_a = (1.0, 2 * (k * k - 1) / scale, (1 - k / shelf_q + k * k) / scale)
    pass_hz, pass_q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * pass_hz / sample_rate)
    scale = 1 + k / pass_q + k * k
    pass_b = (1.0, -2.0, 1.0)
    pass_a = (1.0, 2 * (k * k - 1) / scale, (1 - k / pass_q + k * k) / scale)
    return (shelf_b, shelf_a), (pass_b, pass_a)


def cascade_state_space(sections: tuple[Section, ...]) -> tuple[Floats, Floats, Floats, float]:
    """(A, B, C, D) of biquads in series, each in transposed direct form II.

    In that form a section's two states are its output less its direct feed, and what its
    inputs add: they stay at the signal's scale, where the controllable canonical form of the
    4th-order filter carries states a thousand times larger that cancel in the output, and
    need float64.
    """
    transition, feed, readout, direct = np.zeros((0, 0)), np.zeros(0), np.zeros(0), 1.0
    for (b0, b1, b2), (_, a1, a2) in sections:
        own = np.array([[-a1, 1.0], [-a2, 0.0]])
        own_feed = np.array([b1 - a1 * b0, b2 - a2 * b0])
        size = len(feed)
        combined = np.zeros((size + 2, size + 2))
        combined[:size, :size] = transition
        combined[size:, :size] = np.outer(own_feed, readout)  # this section's input is the last one's output
        combined[size:, size:] = own
        transition = combined
        feed = np.concatenate([feed, own_feed * direct])
        readout = np.concatenate([b0 * readout, [1.0, 0.0]])
        direct = b0 * direct
    return transition, feed, readout, direct


@dataclass(frozen=True)
class FilterMatrices:
    """The blocked filter's matrices for one filter: the same for every chapter at a rate, so made once."""

    order: int
    toeplitz: npt.NDArray[np.float32]
    """x-block (row) @ this = the block's output from its own input."""
    state_out: npt.NDArray[np.float32]
    """block-start state (row) @ this = the block's output from that state (order × L)."""
    input_state: npt.NDArray[np.float32]
    """x-block (row) @ this = the input's contribution to the next block-start state (L × order)."""
    group_local: Floats
    """Group inputs (row, flattened) @ this = each block-start state from the group's own inputs."""
    group_input: Floats
    """Group inputs (row, flattened) @ this = their contribution to the next group's start state."""
    group_starts: Floats
    """A group's start state (row) @ this = its carried part at each of the group's blocks (order × group·order)."""
    group_step: Floats
    """A group's start state → the next group's, without its inputs."""
    chunk_local: Floats
    """Every group's inputs' contribution (row, flattened) @ this = each group's start state within a chunk."""
    chunk_powers: Floats
    """group_step to the power k, for the k-th group of a chunk: what the chunk's start state contributes."""


def matrix_powers(matrix: Floats, count: int) -> list[Floats]:
    """``matrix`` to the powers 0 to ``count``."""
    powers = [np.eye(len(matrix))]
    for _ in range(count):
        powers.append(matrix @ powers[-1])
    return powers


def carried_inputs(powers: list[Floats], steps: int) -> Floats:
    """Steps' contributions (row, flattened) @ this = what reaches each later step's start state.

    Block (j, k), for j < k, is ``powers[k - 1 - j]`` transposed: step j's contribution carried
    through the steps between them; a step's own contribution reaches only later ones.
    """
    order = len(powers[0])
    carried = np.zeros((steps * order, steps * order))
    for k in range(steps):
        for j in range(k):
            carried[j * order : (j + 1) * order, k * order : (k + 1) * order] = powers[k - 1 - j].T
    return carried


@functools.lru_cache(maxsize=8)
def filter_matrices(sections: tuple[Section, ...]) -> FilterMatrices:
    """The matrices of ``BlockedFilter`` for biquads in series (made once per rate: the meter's are always the same)."""
    transition, feed, readout, direct = cascade_state_space(sections)
    order = len(feed)
    length, group = FILTER_BLOCK, STATE_BLOCK
    powers = matrix_powers(transition, max(length, group) + 1)
    impulse = np.array([direct] + [readout @ powers[step - 1] @ feed for step in range(1, length)])
    lags = np.arange(length)[:, None] - np.arange(length)[None, :]
    toeplitz = np.where(lags >= 0, impulse[np.clip(lags, 0, None)], 0.0)
    block_powers = matrix_powers(powers[length], group)
    group_local = carried_inputs(block_powers, group)
    group_step = block_powers[group]
    group_powers = matrix_powers(group_step, CHUNK_GROUPS)
    chunk_local = carried_inputs(group_powers, CHUNK_GROUPS)
    return FilterMatrices(
        order=order,
        toeplitz=toeplitz.T.astype(np.float32),
        state_out=np.array([readout @ powers[step] for step in range(length)]).T.astype(np.float32),
        input_state=np.array([powers[length - 1 - j] @ feed for j in range(length)]).astype(np.float32),
        group_local=group_local,
        group_input=np.concatenate([block_powers[group - 1 - j].T for j in range(group)], axis=0),
        group_starts=np.concatenate([power.T for power in block_powers[:group]], axis=1),
        group_step=group_step,
        chunk_local=chunk_local,
        chunk_powers=np.stack(group_powers[:CHUNK_GROUPS]),
    )


class BlockedFilter:
    """A linear recursive filter run over whole arrays by matrix products, state carried between calls.

    State space of the biquads in series (``cascade_state_space``): ``s[n+1] = A s[n] + B x[n]``,
    ``y[n] = C s[n] + D x[n]``. For a block of L samples starting in state ``t``:
    ``y = T x + O t`` (T: the impulse response as an L×L Toeplitz matrix, O: rows ``C A^i``)
    and the next block starts in ``A^L t + G x``. The block-start states are solved the same
    way in groups of ``STATE_BLOCK`` blocks, and the groups' start states once more over a
    chunk, so each chunk is a handful of matrix products and no Python loop.

    The products over every sample run in float32; the states' short recurrences (a few
    numbers per 2,048 samples) in float64.
    """

    def __init__(self, sections: tuple[Section, ...]) -> None:
        """Prepare the biquads ``sections`` in series; their matrices are shared by every filter at that rate."""
        self.matrices = filter_matrices(tuple(sections))
        self.order = self.matrices.order
        self.state = np.zeros(self.order)
        self.inputs: npt.NDArray[np.float32] | None = None
        """The last call's padded input: reused, since new arrays of a chunk's size cost page
        faults each time (a quarter of the meter's CPU)."""
        self.state_part: npt.NDArray[np.float32] | None = None
        """The block-start states' share of the output (kept for the same reason)."""

    def padded_inputs(self, samples: npt.NDArray[Any], size: int) -> npt.NDArray[np.float32]:
        """``samples`` then zeros up to ``size``, as float32, in an array kept between calls."""
        if self.inputs is None or len(self.inputs) != size:
            self.inputs = np.zeros(size, dtype=np.float32)
        flat = self.inputs
        count = len(samples)
        flat[:count] = samples
        flat[count:] = 0.0
        return flat

    def process(self, samples: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """Filter ``samples``, continuing from the state the last call left.

        Every call but the last must pass a multiple of ``FILTER_BLOCK * STATE_BLOCK``
        samples: a shorter piece is padded with zeros, so the state after it is not kept.
        Each product is one two-dimensional product, one OpenBLAS call, where stacked small
        products cost a call each: 30% less CPU with OpenBLAS on one thread, as the command
        line runs it (``cli.BLAS_THREADS``); with a thread per core these products would
        start threads that fight the other workers for the cores. Float32 for the products
        over every sample keeps the output within 1e-4 of the signal's RMS and loudness
        exact to far better than 0.01 LU.
        """
        if len(samples) > CHUNK_SAMPLES:
            offsets = range(0, len(samples), CHUNK_SAMPLES)
            return np.concatenate([self.process(samples[offset : offset + CHUNK_SAMPLES]) for offset in offsets])
        matrices, count = self.matrices, len(samples)
        length, group, order = FILTER_BLOCK, STATE_BLOCK, self.order
        groups = max(1, -(-count // (length * group)))
        blocks = groups * group
        flat = self.padded_inputs(samples, blocks * length).reshape(blocks, length)
        # Each block's input carried to the next block-start, then to every block-start of its
        # group and to the next group's start; the group starts follow from the chunk's start.
        inputs = (flat @ matrices.input_state).reshape(groups, group * order).astype(np.float64)
        ends = inputs @ matrices.group_input
        carried = groups * order
        starts = (ends.reshape(1, carried) @ matrices.chunk_local[:carried, :carried]).reshape(groups, order)
        starts += matrices.chunk_powers[:groups] @ self.state
        final = matrices.group_step @ starts[-1] + ends[-1]
        self.state = final if count == blocks * length else np.full(order, np.nan)
        block_states = (starts @ matrices.group_starts + inputs @ matrices.group_local).astype(np.float32)
        if self.state_part is None or len(self.state_part) != blocks:
            self.state_part = np.empty((blocks, length), dtype=np.float32)
        np.matmul(block_states.reshape(blocks, order), matrices.state_out, out=self.state_part)
        output = flat @ matrices.toeplitz
        output += self.state_part
        return output.reshape(-1)[:count]


class LoudnessMeter:
    """BS.1770 integrated loudness of mono 16-bit PCM fed in pieces of any length.

    Keeps one chunk of samples, the filter's state and one number per 100 ms: memory does
    not grow with the length of a chapter beyond 80 bytes a second.
    """

    def __init__(self, sample_rate: int) -> None:
        """A meter for PCM at ``sample_rate``."""
        self.sample_rate = sample_rate
        self.filter = BlockedFilter(k_weighting_sections(sample_rate))
        self.pending: list[npt.NDArray[np.int16]] = []
        self.pending_count = 0
        self.position = 0
        """Samples filtered so far."""
        self.segments = 0
        """Whole 100 ms segments measured so far."""
        self.segment_energies: list[Floats] = []
        """Sum of squared K-weighted samples (full scale = 1) of every whole 100 ms segment, a chunk's at a time."""
        self.segment_lengths: list[npt.NDArray[np.int64]] = []
        self.partial_energy = 0.0
        """The energy of the segment in progress, so far."""

    def feed(self, samples: bytes | npt.NDArray[np.int16]) -> None:
        """Give the meter the next samples (signed 16-bit little-endian, or an int16 array)."""
        array = np.frombuffer(samples, dtype="<i2") if isinstance(samples, (bytes, bytearray, memoryview)) else samples
        if not len(array):
            return
        self.pending.append(array)
        self.pending_count += len(array)
        if self.pending_count >= CHUNK_SAMPLES:
            joined = np.concatenate(self.pending)
            whole = len(joined) - len(joined) % CHUNK_SAMPLES
            self.measure(joined[:whole])
            self.pending = [joined[whole:]] if whole < len(joined) else []
            self.pending_count = len(joined) - whole

    def segment_ends(self, first: int, count: int) -> npt.NDArray[np.int64]:
        """Where ``count`` segments from ``first`` on end, in samples (they follow the rate exactly)."""
        return (np.arange(first + 1, first + count + 1, dtype=np.int64) * self.sample_rate) // SEGMENTS_PER_SECOND

    def measure(self, samples: npt.NDArray[np.int16]) -> None:
        """Filter samples and add their energy to the 100 ms segments they fall in.

        The segments ending in this piece are cut out of its squared samples in one
        ``reduceat`` (squares in float32, summed in float64); what follows the last one is
        the next segment's start.
        """
        weighted = self.filter.process(samples)
        count = len(weighted)
        if not count:
            return
        start = self.position
        most = count * SEGMENTS_PER_SECOND // self.sample_rate + 2
        ends = self.segment_ends(self.segments, most)
        ends = ends[ends <= start + count]
        cuts = np.concatenate(([0], ends - start))
        cuts = cuts[cuts < count]
        squares = np.multiply(weighted, weighted, out=weighted)
        pieces = np.add.reduceat(squares, cuts, dtype=np.float64) / (FULL_SCALE * FULL_SCALE)
        finished = len(ends)
        if finished:
            energies = pieces[:finished].copy()
            energies[0] += self.partial_energy
            self.partial_energy = 0.0
            previous_end = self.segment_ends(self.segments - 1, 1)[0] if self.segments else 0
            self.segment_energies.append(energies)
            self.segment_lengths.append(np.diff(ends, prepend=previous_end))
            self.segments += finished
        if len(pieces) > finished:
            self.partial_energy += float(pieces[finished])
        self.position += count

    def loudness(self) -> float | None:
        """End of the PCM: the gated integrated loudness in LUFS, None when no block passes the gates."""
        if self.pending_count:
            self.measure(np.concatenate(self.pending))
            self.pending, self.pending_count = [], 0
        if not self.segment_energies:
            return None
        return gated_loudness(np.concatenate(self.segment_energies), np.concatenate(self.segment_lengths))


def gated_loudness(energies: Floats, lengths: npt.NDArray[np.int64]) -> float | None:
    """Integrated loudness from 100 ms segment energies: 400 ms blocks, absolute then relative gate."""
    if len(energies) < BLOCK_SEGMENTS:
        return None
    window = np.ones(BLOCK_SEGMENTS)
    # Energies are differences of running sums: in silence they can come out a rounding
    # error below zero, which is zero.
    block_power = np.maximum(np.convolve(energies, window, "valid"), 0.0) / np.convolve(lengths, window, "valid")
    with np.errstate(divide="ignore"):
        block_lufs = LOUDNESS_OFFSET + 10 * np.log10(block_power)
    audible = block_power[block_lufs > ABSOLUTE_GATE_LUFS]
    if not len(audible):
        return None
    relative_gate = LOUDNESS_OFFSET + 10 * math.log10(float(np.mean(audible))) + RELATIVE_GATE_LU
    kept = audible[LOUDNESS_OFFSET + 10 * np.log10(audible) > relative_gate]
    return LOUDNESS_OFFSET + 10 * math.log10(float(np.mean(kept)))
