"""Lane-parallel rANS: exact round trips, ragged lanes, and corruption detection."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from codec.coder import LaneDecoder, active_counts, encode
from codec.constants import FREQ_TOTAL
from formats.errors import CodecError


def _random_freqs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Frequencies >= 1 summing to FREQ_TOTAL, from near-uniform to very skewed."""
    raw = rng.dirichlet(np.full(4, 0.3), size=shape)
    f = np.maximum(1, np.floor(raw * (FREQ_TOTAL - 4)).astype(np.int64))
    f[..., 0] += FREQ_TOTAL - f.sum(-1)
    bad = f[..., 0] < 1
    f[bad] = FREQ_TOTAL // 4
    return f


def _lens(n: int, lanes: int) -> np.ndarray:
    out = np.full(lanes, n // lanes, dtype=np.int64)
    out[: n % lanes] += 1
    return out


def _roundtrip(n: int, lanes: int, seed: int) -> tuple[bytes, float]:
    rng = np.random.default_rng(seed)
    lens = _lens(n, lanes)
    steps = int(lens[0]) if n else 0
    freqs = _random_freqs(rng, (steps, lanes))
    cum = np.cumsum(freqs, -1)
    u = rng.integers(0, FREQ_TOTAL, size=(steps, lanes))
    sym = (u[..., None] >= cum[..., :3]).sum(-1)
    f = np.take_along_axis(freqs, sym[..., None], -1)[..., 0]
    c = np.take_along_axis(cum, sym[..., None], -1)[..., 0] - f
    data = encode(f.astype(np.uint32), c.astype(np.uint32), sym, lens)
    dec = LaneDecoder(data, lens)
    for t, k in enumerate(active_counts(lens)):
        got = dec.decode(freqs[t, :k])
        assert (got == sym[t, :k]).all()
    dec.finish()
    active = np.arange(steps)[:, None] < lens[None, :]
    ideal = float(-np.log2(f[active] / FREQ_TOTAL).sum() / 8)
    return data, ideal


@given(n=st.integers(0, 3000), lanes=st.integers(1, 64), seed=st.integers(0, 2**32 - 1))
def test_roundtrip_any_lane_layout(n: int, lanes: int, seed: int) -> None:
    if n < lanes:
        lanes = max(1, n)
    _roundtrip(n, lanes, seed)


def test_overhead_is_the_state_flush() -> None:
    data, ideal = _roundtrip(400_000, 16, 7)
    # beyond the ideal code length: about 8 bytes of final state per lane, less the tail symbols
    # carried in the initial states (up to 30 bits per lane)
    assert ideal - 16 * 4 <= len(data) <= ideal + 16 * 8
    assert abs(len(data) - ideal) / ideal < 0.002


def test_active_counts_prefix() -> None:
    assert active_counts(np.array([3, 3, 2, 2])).tolist() == [4, 4, 2]
    assert active_counts(np.array([], dtype=np.int64)).tolist() == []


def test_truncated_and_corrupt_bodies_raise() -> None:
    data, _ = _roundtrip(5000, 4, 3)
    lens = _lens(5000, 4)
    freqs = np.full((4, 4), FREQ_TOTAL // 4)
    for bad in (data[:-4], data[:20], data + b"\0\0\0\0", data[:-1]):
        with pytest.raises(CodecError):
            dec = LaneDecoder(bad, lens)
            for k in active_counts(lens):
                dec.decode(freqs[:k])
            dec.finish()
    with pytest.raises(CodecError):
        LaneDecoder(b"\xff" * 32, lens)  # initial states out of range


@given(n=st.integers(0, 3000), lanes=st.integers(1, 64), seed=st.integers(0, 2**32 - 1))
def test_lane_layout_is_contiguous_runs_and_inverts(n: int, lanes: int, seed: int) -> None:
    """The engine's (T, lanes) layout: lane j holds the j-th contiguous run of the block (the longer
    lanes first), zeros past its end, and from_lanes restores block order."""
    from codec.engine import from_lanes, lane_lengths, to_lanes

    values = np.random.default_rng(seed).integers(1, 256, n).astype(np.uint8)
    lens = lane_lengths(n, lanes)
    steps = to_lanes(values, lens)
    assert steps.shape == (int(lens[0]), lanes)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    for j in range(lanes):
        assert np.array_equal(steps[:lens[j], j], values[starts[j]:starts[j] + lens[j]])
        assert not steps[lens[j]:, j].any()
    assert np.array_equal(from_lanes(steps, lens), values)


@given(n=st.integers(0, 600), lanes=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_compiled_encoder_steps_equal_the_numpy_steps(n: int, lanes: int, seed: int) -> None:
    """The compiled step loop gives the same words and final states as the numpy loop."""
    from codec.coder import coded_counts, encode_steps
    from codec.predictors.kernel import available

    if not available():
        pytest.skip("no compiled path")
    rng = np.random.default_rng(seed)
    lens = _lens(n, lanes)
    steps = int(lens[0]) if n else 0
    f = _random_freqs(rng, (steps, lanes))
    sym = rng.integers(0, 4, (steps, lanes))
    cum = np.cumsum(f, axis=-1) - f
    freq = np.take_along_axis(f, sym[..., None], -1)[..., 0].astype(np.uint32)
    start = np.take_along_axis(cum, sym[..., None], -1)[..., 0].astype(np.uint32)
    x0 = rng.integers(1 << 31, 1 << 40, lanes, dtype=np.uint64)
    x_numpy, x_compiled = x0.copy(), x0.copy()
    coded = coded_counts(lens)
    w_numpy = encode_steps(freq, start, coded, x_numpy, compiled=False)
    w_compiled = encode_steps(freq, start, coded, x_compiled, compiled=True)
    assert w_numpy.astype("<u4").tobytes() == w_compiled.astype("<u4").tobytes()
    assert np.array_equal(x_numpy, x_compiled)
