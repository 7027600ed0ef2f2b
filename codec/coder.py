"""Lane-parallel rANS with exact integer frequencies (format v1).

Each of ``L`` lanes has its own 64-bit rANS state; all lanes advance together, one symbol per step,
with numpy operations over the lanes (no per-symbol Python loop). Lane lengths never increase with
the lane number, so the active lanes at any step are ``0 .. k-1``. Renormalisation words of all lanes
share one stream: at each step the lanes that need words take them in lane order.

The last ``TAIL`` symbols of each lane are not rANS-coded: they ride, 2 bits each, in the lane's
initial encoder state, which the decoder recovers as its final state. This turns the 31 bits that a
fixed initial state would waste into payload, and cuts the per-lane flush cost by about 60%.
The byte layout is specified in ``spec/FORMAT.md`` (body stream). The encoder's step loop also runs
compiled (``kernel.rans_encode_steps``, the same arithmetic), as the decoder's does inside the
predictor's fused block.
"""

from __future__ import annotations

import numpy as np

from codec.constants import FREQ_BITS, RANS_LOW, RANS_WORD_BITS
from formats.errors import CodecError

TAIL = 15  # symbols per lane carried in the initial state (2 * TAIL < log2(RANS_LOW))
_U64 = np.uint64
_FREQ_MASK = _U64((1 << FREQ_BITS) - 1)
_SHIFT = _U64(FREQ_BITS)
_WORD_SHIFT = _U64(RANS_WORD_BITS)
_WORD_MASK = _U64((1 << RANS_WORD_BITS) - 1)
_LOW = _U64(RANS_LOW)
# x_max(f) = ((RANS_LOW >> FREQ_BITS) << RANS_WORD_BITS) * f = f << XMAX_SHIFT
XMAX_SHIFT = (RANS_LOW.bit_length() - 1) - FREQ_BITS + RANS_WORD_BITS
_XMAX_SHIFT = _U64(XMAX_SHIFT)
STATE_LIMIT = RANS_LOW << RANS_WORD_BITS  # states live in [RANS_LOW, STATE_LIMIT)


def active_counts(lane_lengths: np.ndarray) -> np.ndarray:
    """Number of active lanes at each step (lane lengths must be non-increasing)."""
    steps = int(lane_lengths[0]) if len(lane_lengths) else 0
    return np.searchsorted(-lane_lengths, -np.arange(steps), side="left").astype(np.int64)


def coded_counts(lane_lengths: np.ndarray) -> np.ndarray:
    """Number of lanes whose symbol is rANS-coded (not a tail symbol) at each step."""
    return active_counts(np.maximum(lane_lengths - TAIL, 0))


def _tail_bits(lane_lengths: np.ndarray, t: int, lanes: slice) -> np.ndarray:
    """Bit position of step t's tail symbol in the initial state of each lane in ``lanes``."""
    return (2 * (lane_lengths[lanes] - 1 - t)).astype(_U64)


def encode(freq: np.ndarray, start: np.ndarray, symbols: np.ndarray, lane_lengths: np.ndarray) -> bytes:
    """Encode a block. ``freq``/``start``/``symbols`` are (steps, lanes) arrays holding, for each
    symbol, its frequency, cumulative start and value; entries past a lane's length are ignored."""
    lanes = len(lane_lengths)
    x = np.full(lanes, RANS_LOW, dtype=_U64)
    active = active_counts(lane_lengths)
    coded = coded_counts(lane_lengths)
    for t in range(len(active)):  # tail symbols into the initial states
        lo, hi = coded[t] if t < len(coded) else 0, active[t]
        if hi > lo:
            sl = slice(lo, hi)
            x[sl] |= symbols[t, sl].astype(_U64) << _tail_bits(lane_lengths, t, sl)
    words = encode_steps(freq, start, coded, x)
    return x.astype("<u8").tobytes() + words.astype("<u4").tobytes()


def encode_steps(freq: np.ndarray, start: np.ndarray, coded: np.ndarray, x: np.ndarray,
                 compiled: bool | None = None) -> np.ndarray:
    """The rANS steps of :func:`encode`, last step first: each step's ``coded[t]`` lanes renormalise
    (in lane order) and take their symbol. ``x`` holds the initial states and ends with the final
    ones; returns the renormalisation words in stream order. ``compiled`` picks the compiled loop (C),
    which gives the same words and states (a level-6 block of E. coli in 0.03 s against the numpy
    loop's 0.2-0.3 s); by default it runs where it is built."""
    from codec.predictors import kernel  # lazily: the predictors package imports this module

    if compiled is None:
        compiled = kernel.available() and kernel.runs_here()
    if compiled:
        return kernel.rans_encode_steps(freq, start, np.asarray(coded, dtype=np.int64), x)
    pieces: list[np.ndarray] = []
    for t in range(len(coded) - 1, -1, -1):
        k = coded[t]
        f = freq[t, :k].astype(_U64)
        xs = x[:k]
        need = xs >= (f << _XMAX_SHIFT)
        pieces.append((xs[need] & _WORD_MASK).astype("<u4"))
        xs[need] >>= _WORD_SHIFT
        x[:k] = ((xs // f) << _SHIFT) + (xs % f) + start[t, :k].astype(_U64)
    pieces.reverse()
    return np.concatenate(pieces) if pieces else np.empty(0, "<u4")


class LaneDecoder:
    """Decodes one block's body stream, step by step, for the active prefix of lanes."""

    def __init__(self, data: bytes, lane_lengths: np.ndarray) -> None:
        lanes = len(lane_lengths)
        head = 8 * lanes
        if len(data) < head or (len(data) - head) % 4:
            raise CodecError(f"body stream: {len(data)} bytes is not a valid size for {lanes} lanes")
        self._x = np.frombuffer(data, "<u8", count=lanes).astype(_U64)
        if lanes and (self._x.min() < RANS_LOW or self._x.max() >= STATE_LIMIT):
            raise CodecError("body stream: initial coder state out of range (corrupt body)")
        self._words = np.frombuffer(data, "<u4", offset=head).astype(_U64)
        self._pos = 0
        self._lens = lane_lengths
        self._coded = coded_counts(lane_lengths)
        self._t = 0

    def decode(self, freqs: np.ndarray) -> np.ndarray:
        """Decode step t's symbols for lanes 0..k-1 given their (k, 4) frequencies; (k,) int64."""
        k = len(freqs)
        t = self._t
        self._t += 1
        m = int(self._coded[t]) if t < len(self._coded) else 0
        sym = np.empty(k, dtype=np.int64)
        if m < k:  # tail symbols: read from the recovered initial states
            sl = slice(m, k)
            sym[sl] = ((self._x[sl] >> _tail_bits(self._lens, t, sl)) & _U64(3)).astype(np.int64)
        if m:
            sym[:m] = self._decode_coded(freqs[:m])
        return sym

    def _decode_coded(self, freqs: np.ndarray) -> np.ndarray:
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

    def arrays(self) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
        """(lane states, renormalisation words, position of the next word, lane lengths, coded lanes
        per step): the state a compiled decoding loop works on in place (then :meth:`advance`)."""
        return self._x, self._words, self._pos, self._lens.astype(np.int64), self._coded.astype(np.int64)

    def advance(self, steps: int, words_read: int) -> None:
        """Record that a compiled loop decoded ``steps`` steps reading ``words_read`` words (-1: it ran
        out of words, which raises like :meth:`decode`)."""
        if words_read < 0:
            raise CodecError("body stream: truncated (coder ran out of words)")
        self._t += steps
        self._pos += words_read

    def finish(self) -> None:
        """Check the stream ended exactly where it should: every lane back at an initial state."""
        if self._pos != len(self._words):
            raise CodecError("body stream: trailing words after the last symbol (corrupt body)")
        tail = np.minimum(self._lens, TAIL).astype(_U64)
        if len(self._x) and ((self._x - _LOW) >> (_U64(2) * tail)).any():
            raise CodecError("body stream: final coder state mismatch (corrupt body)")
