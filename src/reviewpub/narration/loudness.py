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

import math
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
CHUNK_SAMPLES = FILTER_BLOCK * STATE_BLOCK * 128
"""Samples filtered at a time (about 12 s at 22.05 kHz, 2 MB of floats): memory stays flat."""
Floats = npt.NDArray[np.float64]


def k_weighting(sample_rate: int) -> tuple[Floats, Floats]:
    """The K-weighting filter at ``sample_rate`` as one 4th-order (b, a): BS.1770's shelf, then its high-pass.

    Coefficients from the analogue prototypes by the bilinear transform with pre-warping
    (libebur128's design); at 48 kHz they are the standard's published ones.
    """
    gain_db, shelf_hz, shelf_q = 3.999843853973347, 1681.974450955533, 0.7071752369554196
    k = math.tan(math.pi * shelf_hz / sample_rate)
    high, band = 10 ** (gain_db / 20), (10 ** (gain_db / 20)) ** 0.4996667741545416
    scale = 1 + k / shelf_q + k * k
    shelf_b = [
        (high + band * k / shelf_q + k * k) / scale,
        2 * (k * k - high) / scale,
        (high - band * k / shelf_q + k * k) / scale,
    ]
    shelf_a = [1.0, 2 * (k * k - 1) / scale, (1 - k / shelf_q + k * k) / scale]
    pass_hz, pass_q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * pass_hz / sample_rate)
    scale = 1 + k / pass_q + k * k
    pass_b = [1.0, -2.0, 1.0]
    pass_a = [1.0, 2 * (k * k - 1) / scale, (1 - k / pass_q + k * k) / scale]
    return np.convolve(shelf_b, pass_b), np.convolve(shelf_a, pass_a)


class BlockedFilter:
    """A linear recursive filter run over whole arrays by matrix products, state carried between calls.

    State space of (b, a) (controllable canonical form): ``s[n+1] = A s[n] + B x[n]``,
    ``y[n] = C s[n] + D x[n]``. For a block of L samples starting in state ``t``:
    ``y = T x + O t`` (T: the impulse response as an L×L Toeplitz matrix, O: rows ``C A^i``)
    and the next block starts in ``A^L t + G x``. The block-start states are solved in
    groups of ``STATE_BLOCK`` blocks the same way, so Python steps once per group.
    """

    def __init__(self, b: Floats, a: Floats) -> None:
        """Prepare the matrices for the filter ``b / a`` (``a[0]`` = 1)."""
        order = len(a) - 1
        transition = np.zeros((order, order))
        transition[0, :] = -a[1:]
        transition[1:, :-1] = np.eye(order - 1)
        feed = np.zeros(order)
        feed[0] = 1.0
        direct = b[0]
        readout = b[1:] - b[0] * a[1:]
        length = FILTER_BLOCK
        powers = [np.eye(order)]
        for _ in range(max(length, STATE_BLOCK) + 1):
            powers.append(transition @ powers[-1])
        impulse = np.array([direct] + [readout @ powers[step - 1] @ feed for step in range(1, length)])
        toeplitz = np.zeros((length, length))
        for lag in range(length):
            toeplitz[np.arange(lag, length), np.arange(0, length - lag)] = impulse[lag]
        self.order = order
        self.toeplitz_t32 = toeplitz.T.astype(np.float32)
        """x-block (row) @ this = the block's output from its own input."""
        self.state_out = np.array([readout @ powers[step] for step in range(length)]).T.copy()
        """block-start state (row) @ this = the block's output from that state (order × L)."""
        self.input_state = np.array([powers[length - 1 - j] @ feed for j in range(length)])
        """x-block (row) @ this = the input's contribution to the next block-start state (L × order)."""
        step_matrix = powers[length]
        self.step_matrix = step_matrix
        # Second level: block-start states in groups of STATE_BLOCK blocks.
        group = STATE_BLOCK
        block_powers = [np.eye(order)]
        for _ in range(group):
            block_powers.append(step_matrix @ block_powers[-1])
        self.group_powers = np.stack(block_powers[:group])
        """M^k for k < group: a group's start state reaches its k-th block-start as M^k t."""
        local = np.zeros((group * order, group * order))
        for k in range(group):
            for j in range(k):
                local[j * order : (j + 1) * order, k * order : (k + 1) * order] = block_powers[k - 1 - j].T
        self.group_local = local
        """Group inputs (row, flattened) @ this = each block-start state from the group's own inputs."""
        self.group_step = block_powers[group]
        self.group_input = np.concatenate([block_powers[group - 1 - j].T for j in range(group)], axis=0)
        """Group inputs (row, flattened) @ this = their contribution to the next group's start state."""
        self.state = np.zeros(order)
        self.inputs: tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]] | None = None
        """The last call's padded input, in both precisions: reused, since new arrays of a
        chunk's size cost page faults each time (a quarter of the meter's CPU)."""

    def padded_inputs(self, samples: npt.NDArray[Any], size: int) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """``samples`` then zeros up to ``size``, as float64 and float32, in arrays kept between calls."""
        if self.inputs is None or len(self.inputs[0]) != size:
            self.inputs = (np.zeros(size), np.zeros(size, dtype=np.float32))
        flat, flat32 = self.inputs
        count = len(samples)
        flat[:count] = samples
        flat[count:] = 0.0
        flat32[:count] = samples
        flat32[count:] = 0.0
        return flat, flat32

    def process(self, samples: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """Filter ``samples``, continuing from the state the last call left.

        Every call but the last must pass a multiple of ``FILTER_BLOCK * STATE_BLOCK``
        samples: a shorter piece is padded with zeros, so the state after it is not kept.
        Products are batched per group (stacked small matrices): OpenBLAS then stays on one
        thread, where one large product would start threads that fight the other workers
        for this machine's cores. The impulse-response product dominates the cost and runs
        in float32, which keeps loudness exact to far better than 0.01 LU.
        """
        count = len(samples)
        length, group, order = FILTER_BLOCK, STATE_BLOCK, self.order
        groups = max(1, -(-count // (length * group)))
        flat, flat32 = self.padded_inputs(samples, groups * group * length)
        x = flat.reshape(groups, group, length)
        # The states of a filter with poles this close to 1 are large and cancel in the
        # output: they are carried in float64; only the impulse-response product is float32.
        inputs = (x @ self.input_state).reshape(groups, 1, group * order)
        local = (inputs @ self.group_local).reshape(groups, group, order)
        ends = (inputs @ self.group_input).reshape(groups, order)
        starts = np.empty((groups, order))
        state = self.state
        for index in range(groups):
            starts[index] = state
            state = self.group_step @ state + ends[index]
        self.state = state if count == groups * group * length else np.full(order, np.nan)
        # Each block starts from its group's start state carried forward, plus the group's own inputs.
        block_states = np.einsum("kab,gb->gka", self.group_powers, starts) + local
        output = flat32.reshape(groups, group, length) @ self.toeplitz_t32
        output += block_states @ self.state_out
        return output.reshape(-1)[:count]


class LoudnessMeter:
    """BS.1770 integrated loudness of mono 16-bit PCM fed in pieces of any length.

    Keeps one chunk of samples, the filter's state and one number per 100 ms: memory does
    not grow with the length of a chapter beyond 80 bytes a second.
    """

    def __init__(self, sample_rate: int) -> None:
        """A meter for PCM at ``sample_rate``."""
        self.sample_rate = sample_rate
        self.filter = BlockedFilter(*k_weighting(sample_rate))
        self.pending: list[npt.NDArray[np.int16]] = []
        self.pending_count = 0
        self.position = 0
        """Samples filtered so far."""
        self.segment_energies: list[float] = []
        """Sum of squared K-weighted samples (full scale = 1) of every whole 100 ms segment."""
        self.segment_lengths: list[int] = []
        self.partial_energy = 0.0

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

    def segment_end(self, index: int) -> int:
        """The sample at which 100 ms segment ``index`` ends (segments follow the rate exactly)."""
        return (index + 1) * self.sample_rate // SEGMENTS_PER_SECOND

    def measure(self, samples: npt.NDArray[np.int16]) -> None:
        """Filter samples and add their energy to the 100 ms segments they fall in."""
        weighted = self.filter.process(samples)
        count = len(weighted)
        # Energy from the chunk's start to any sample: whole filter blocks by a prefix sum of
        # block energies, plus the squares inside the block the boundary falls in.
        whole = count - count % FILTER_BLOCK
        blocks = weighted[:whole].reshape(-1, FILTER_BLOCK)
        block_sums = np.concatenate(([0.0], np.cumsum(np.einsum("ij,ij->i", blocks, blocks), dtype=np.float64)))
        block_sums /= FULL_SCALE * FULL_SCALE
        first = len(self.segment_energies)
        last = first
        while self.segment_end(last) <= self.position + count:
            last += 1
        offsets = np.array([self.segment_end(index) - self.position for index in range(first, last)] + [count])
        block_of, inside = np.divmod(offsets, FILTER_BLOCK)
        partial = np.zeros(len(offsets))
        for number, (block, length) in enumerate(zip(block_of, inside)):
            if length:
                piece = weighted[block * FILTER_BLOCK : block * FILTER_BLOCK + length].astype(np.float64)
                partial[number] = float(np.dot(piece, piece)) / (FULL_SCALE * FULL_SCALE)
        running = block_sums[block_of] + partial
        previous = 0.0
        for index, upto in zip(range(first, last), running[:-1]):
            self.segment_energies.append(self.partial_energy + float(upto) - previous)
            self.segment_lengths.append(self.segment_end(index) - (self.segment_end(index - 1) if index else 0))
            self.partial_energy, previous = 0.0, float(upto)
        self.partial_energy += float(running[-1]) - previous
        self.position += count

    def loudness(self) -> float | None:
        """End of the PCM: the gated integrated loudness in LUFS, None when no block passes the gates."""
        if self.pending_count:
            self.measure(np.concatenate(self.pending))
            self.pending, self.pending_count = [], 0
        return gated_loudness(np.array(self.segment_energies), np.array(self.segment_lengths))


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
