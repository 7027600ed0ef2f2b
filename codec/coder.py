"""Lane-parallel rANS with exact integer frequencies (format v1).

Each of ``L`` lanes has its own 64-bit rANS state; all lanes advance together, one symbol per step,
with numpy operations over the lanes (no per-symbol Python loop). Lanes are active for a prefix of
steps: lane lengths never increase with the lane number, so the active lanes at any step are
``0 .. k-1``. Renormalisation words of all lanes share one stream: at each step the lanes that need
words take them in lane order. The byte layout is specified in ``spec/FORMAT.md`` (body stream).
"""

from __future__ import annotations

import numpy as np

from codec.constants import FREQ_BITS, RANS_LOW, RANS_WORD_BITS
from formats.errors import CodecError

_U64 = np.uint64
_FREQ_MASK = _U64((1 << FREQ_BITS) - 1)
_SHIFT = _U64(FREQ_BITS)
_WORD_SHIFT = _U64(RANS_WORD_BITS)
_WORD_MASK = _U64((1 << RANS_WORD_BITS) - 1)
_LOW = _U64(RANS_LOW)
# x_max(f) = ((RANS_LOW >> FREQ_BITS) << RANS_WORD_BITS) * f
_XMAX_SHIFT = _U64((RANS_LOW.bit_length() - 1) - FREQ_BITS + RANS_WORD_BITS)
STATE_LIMIT = RANS_LOW << RANS_WORD_BITS  # states live in [RANS_LOW, STATE_LIMIT)


def active_counts(lane_lengths: np.ndarray) -> np.ndarray:
    """Number of active lanes at each step (lane lengths must be non-increasing)."""
    steps = int(lane_lengths[0]) if len(lane_lengths) else 0
    # lanes with length > t are active at step t
    return np.searchsorted(-lane_lengths, -np.arange(steps), side="left").astype(np.int64)


def encode(freq: np.ndarray, start: np.ndarray, lane_lengths: np.ndarray) -> bytes:
    """Encode a block. ``freq``/``start`` are (steps, lanes) arrays holding, for each coded symbol,
    its frequency and cumulative start; entries outside a lane's length are ignored."""
    lanes = len(lane_lengths)
    counts = active_counts(lane_lengths)
    x = np.full(lanes, RANS_LOW, dtype=_U64)
    pieces: list[np.ndarray] = []
    for t in range(len(counts) - 1, -1, -1):
        k = counts[t]
        f = freq[t, :k].astype(_U64)
        xs = x[:k]
        need = xs >= (f << _XMAX_SHIFT)
        if need.any():
            pieces.append((xs[need] & _WORD_MASK).astype("<u4"))
            xs[need] >>= _WORD_SHIFT
        else:
            pieces.append(np.empty(0, "<u4"))
        x[:k] = ((xs // f) << _SHIFT) + (xs % f) + start[t, :k].astype(_U64)
    pieces.reverse()
    words = np.concatenate(pieces) if pieces else np.empty(0, "<u4")
    return x.astype("<u8").tobytes() + words.tobytes()


class LaneDecoder:
    """Decodes one block's body stream, step by step, for the active prefix of lanes."""

    def __init__(self, data: bytes, lanes: int) -> None:
        head = 8 * lanes
        if len(data) < head or (len(data) - head) % 4:
            raise CodecError(f"body stream: {len(data)} bytes is not a valid size for {lanes} lanes")
        self._x = np.frombuffer(data, "<u8", count=lanes).astype(_U64)
        if lanes and (self._x.min() < RANS_LOW or self._x.max() >= STATE_LIMIT):
            raise CodecError("body stream: initial coder state out of range (corrupt body)")
        self._words = np.frombuffer(data, "<u4", offset=head).astype(_U64)
        self._pos = 0

    def decode(self, freqs: np.ndarray) -> np.ndarray:
        """Decode one symbol for lanes 0..k-1 given their (k, 4) frequencies; returns (k,) int64."""
        k = len(freqs)
        x = self._x[:k]
        cum = np.cumsum(freqs, axis=1)
        slot = (x & _FREQ_MASK).astype(np.int64)
        sym = (slot[:, None] >= cum[:, :3]).sum(axis=1)
        rows = np.arange(k)
        f = freqs[rows, sym]
        c = cum[rows, sym] - f
        x = f.astype(_U64) * (x >> _SHIFT) + (slot - c).astype(_U64)
        need = x < _LOW
        n = int(np.count_nonzero(need))
        if n:
            if self._pos + n > len(self._words):
                raise CodecError("body stream: truncated (coder ran out of words)")
            x[need] = (x[need] << _WORD_SHIFT) | self._words[self._pos : self._pos + n]
            self._pos += n
        self._x[:k] = x
        return sym

    def finish(self) -> None:
        """Check the stream ended exactly where it should: every lane back at its initial state."""
        if self._pos != len(self._words):
            raise CodecError("body stream: trailing words after the last symbol (corrupt body)")
        if len(self._x) and not (self._x == _LOW).all():
            raise CodecError("body stream: final coder state mismatch (corrupt body)")
