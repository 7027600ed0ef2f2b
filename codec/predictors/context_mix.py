"""Adaptive context-mixing predictor: order-k count models mixed in the logistic domain.

Each base is split into three binary nodes: ``hi`` = (G or T), then ``lo`` given hi=0 (C vs A) and
``lo`` given hi=1 (T vs G). Every context model keeps four 8-bit counts per context. A node's
counts (n1, n0) map to ``stretch((A*n1 + 1) / (A*(n0 + n1) + 2))`` (A = 1/alpha) through a table
built with exact integer division. A per-lane linear mixer with integer weights combines the models'
stretched probabilities per node and learns online. Models may also learn from the inverted repeat
(reverse complement) of every base, as in GeCo's "IR" mode.

Everything is integer numpy arithmetic with floor shifts, so encoder and decoder compute identical
frequencies on any machine. All models share one flat count table, so a step costs a fixed number
of numpy operations over (lanes x models), whatever the number of models. The update rule is
order-independent (increments are summed per row before the row is halved), so lanes that hit the
same context in the same step give one defined result.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, Sequence

import numpy as np

from codec.constants import FREQ_TOTAL, PROB_BITS, STRETCH_LIMIT
from codec.fixedpoint import squash_table, stretch_table

HASH_MULT = 0x9E3779B97F4A7C15
MAX_DIRECT_ORDER = 13
MAX_ORDER = 31
MAX_COUNT = 255
_LR_SHIFT = 24
_BIAS = 256
_PAIR_BITS = 9  # a node count is at most 2 * MAX_COUNT = 510 < 2**9


@dataclass(frozen=True)
class ContextModelSpec:
    """One context model.

    ``order`` bases of context; a direct table of 4**order contexts (``hash_bits`` = 0) or a hashed
    one of 2**hash_bits; ``alpha_inv`` is the estimator's 1/alpha; a context's four counts are
    halved while one exceeds ``limit`` (<= 255); ``ir`` also learns from reverse complements.
    """

    order: int
    hash_bits: int
    alpha_inv: int
    limit: int
    ir: bool

    def rows(self) -> int:
        return 1 << (self.hash_bits if self.hash_bits else 2 * self.order)


@dataclass(frozen=True)
class ContextMixSpec:
    """Every parameter of the predictor; it is stored in the archive and fingerprinted."""

    models: tuple[ContextModelSpec, ...]
    learning_rate: int  # mixer step: w += (stretch * err * learning_rate) >> 24
    weight_init: int  # initial mixer weight of every model input (16.16 fixed point)

    def table_offsets(self) -> np.ndarray:
        """int64[models + 1]: first row of each model in the flat count table, then the total."""
        return np.concatenate([[0], np.cumsum([m.rows() for m in self.models])]).astype(np.int64)

    def memory_bytes(self) -> int:
        """Bytes of count tables this predictor allocates (lane state excluded)."""
        return int(self.table_offsets()[-1]) * 4


@lru_cache(maxsize=None)
def _node_stretch(alpha_inv: int) -> np.ndarray:
    """int16[2**18]: stretch of P(bit=1) for node counts (n1, n0), index (n1 << 9) | n0."""
    n1, n0 = np.divmod(np.arange(1 << (2 * _PAIR_BITS), dtype=np.int64), 1 << _PAIR_BITS)
    p = ((alpha_inv * n1 + 1) << PROB_BITS) // (alpha_inv * (n0 + n1) + 2)
    return stretch_table()[np.minimum(p, (1 << PROB_BITS) - 1)].astype(np.int16)


class MixerInput(Protocol):
    """An extra mixer input (the neural predictor): per step, one stretched P(bit=1) per node."""

    def stretches(self, k: int) -> np.ndarray:
        """(k, 3) int64 stretch-domain inputs for lanes 0..k-1."""

    def update(self, symbols: np.ndarray) -> None:
        """Learn the true symbols of the step just predicted."""


class ContextMixPredictor:
    """Implements :class:`codec.predictors.Predictor` for a :class:`ContextMixSpec`.

    ``extra`` inputs join the mixer after the bias; ``mixer_init`` ((3, models + 1 + extras) int)
    replaces the default initial weights; ``primed`` = (rows, packed counts) sets table entries
    before the first base (statistics a trained model ships with).
    """

    def __init__(self, spec: ContextMixSpec, lanes: int, extra: Sequence[MixerInput] = (),
                 mixer_init: np.ndarray | None = None,
                 primed: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.spec = spec
        self.lanes = lanes
        self._extra = tuple(extra)
        models = spec.models
        nm = len(models)
        offsets = spec.table_offsets()
        self._offsets = offsets[:-1]
        # one uint32 per context: its four 8-bit counts, little-endian (A, C, G, T)
        self._table = np.zeros(int(offsets[-1]), dtype=np.uint32)
        orders = np.array([m.order for m in models], dtype=np.uint64)
        self._ctx_mask = (np.uint64(1) << (np.uint64(2) * orders)) - np.uint64(1)
        # direct tables use the context itself: multiplier 1, shift 0
        bits = np.array([m.hash_bits for m in models], dtype=np.uint64)
        hashed = bits > 0
        self._hash_mult = np.where(hashed, np.uint64(HASH_MULT), np.uint64(1)).astype(np.uint64)
        self._hash_shift = np.where(hashed, np.uint64(64) - bits, np.uint64(0)).astype(np.uint64)
        limits = [m.limit for m in models]
        self._limit_by_model = np.array(limits, dtype=np.int64)
        self._same_limit = limits[0] if len(set(limits)) == 1 else None
        self._ir = np.flatnonzero([m.ir for m in models])
        self._ir_shift = (np.uint64(64) - np.uint64(2) * orders[self._ir]).astype(np.uint64)
        self._ir_sym_shift = (np.uint64(2) * orders[self._ir]).astype(np.uint64)
        alphas = sorted({m.alpha_inv for m in models})
        self._st2 = np.concatenate([_node_stretch(a) for a in alphas])
        self._st_offset = np.array(
            [alphas.index(m.alpha_inv) << (2 * _PAIR_BITS) for m in models], dtype=np.int32
        )
        self._hist = np.zeros(lanes, dtype=np.uint64)  # last 32 bases, newest in the low bits
        self._rc = np.zeros(lanes, dtype=np.uint64)  # reverse complement of the last 32 bases
        if primed is not None:
            self._table[primed[0]] = primed[1]
        n_in = nm + 1 + len(self._extra)
        if mixer_init is None:
            self._w = np.full((lanes, 3, n_in), spec.weight_init, dtype=np.int64)
            self._w[:, :, nm] = 0
        else:
            self._w = np.empty((lanes, 3, n_in), dtype=np.int64)
            self._w[:] = mixer_init
        self._squash = squash_table()
        self._k = 0

    def table_entries(self) -> tuple[np.ndarray, np.ndarray]:
        """(non-empty table rows, their packed counts): what a trained model ships as ``primed``."""
        rows = np.flatnonzero(self._table)
        return rows, self._table[rows]

    def start_block(self, lane_lengths: np.ndarray) -> None:
        """Nothing to do: context models address bases by context, not position."""

    def _index(self, ctx: np.ndarray, cols: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Table row of context values ``ctx`` (shape (k, len(models[cols])))."""
        local = (ctx * self._hash_mult[cols]) >> self._hash_shift[cols]
        return local.astype(np.int64) + self._offsets[cols]

    def predict(self, k: int) -> np.ndarray:
        self._k = k
        nm = len(self.spec.models)
        self._rows = rows = self._index(self._hist[:k, None] & self._ctx_mask)
        n = _unpack(self._table[rows], np.int32)  # (k, M, 4)
        s01 = n[..., 0] + n[..., 1]
        s23 = n[..., 2] + n[..., 3]
        idx = np.empty((k, 3, nm), dtype=np.int32)
        idx[:, 0] = (s23 << _PAIR_BITS) | s01
        idx[:, 1] = (n[..., 1] << _PAIR_BITS) | n[..., 0]
        idx[:, 2] = (n[..., 3] << _PAIR_BITS) | n[..., 2]
        idx += self._st_offset
        st = np.empty((k, 3, nm + 1 + len(self._extra)), dtype=np.int64)
        st[..., :nm] = self._st2[idx]
        st[..., nm] = _BIAS
        for j, source in enumerate(self._extra):
            st[..., nm + 1 + j] = source.stretches(k)
        self._st = st
        dot = np.einsum("kjm,kjm->kj", self._w[:k], st) >> 16
        np.minimum(dot, STRETCH_LIMIT, out=dot)
        np.maximum(dot, -STRETCH_LIMIT, out=dot)
        dot += STRETCH_LIMIT
        self._p = p = self._squash[dot]
        return node_frequencies(p)

    def update(self, symbols: np.ndarray) -> None:
        k = self._k
        s = symbols.astype(np.int64)
        hi = s >> 1
        # mixer: node 0 always learns; of the two lo nodes only the one on the taken branch
        err = np.zeros((k, 3), dtype=np.int64)
        err[:, 0] = (hi << PROB_BITS) - self._p[:, 0]
        r = np.arange(k)
        err[r, 1 + hi] = ((s & 1) << PROB_BITS) - self._p[r, 1 + hi]
        err *= self.spec.learning_rate
        self._w[:k] += (self._st * err[..., None]) >> _LR_SHIFT
        for source in self._extra:
            source.update(symbols)
        # histories
        su = s.astype(np.uint64)
        h = (self._hist[:k] << np.uint64(2)) | su
        rc = (self._rc[:k] >> np.uint64(2)) | ((np.uint64(3) - su) << np.uint64(62))
        self._hist[:k] = h
        self._rc[:k] = rc
        # counts: forward context -> s; inverted repeat context -> complement of the older base
        keys = [(self._rows * 4 + s[:, None]).ravel()]
        if len(self._ir):
            ir_rows = self._index(rc[:, None] >> self._ir_shift, self._ir)
            ir_sym = np.uint64(3) - ((h[:, None] >> self._ir_sym_shift) & np.uint64(3))
            keys.append((ir_rows * 4 + ir_sym.astype(np.int64)).ravel())
        self._add_counts(np.concatenate(keys))

    def _add_counts(self, keys: np.ndarray) -> None:
        add_counts(self._table, keys, self._offsets, self._limit_by_model, self._same_limit)


def add_counts(table: np.ndarray, keys: np.ndarray, offsets: np.ndarray, limit_by_model: np.ndarray,
               same_limit: int | None) -> None:
    """Add one count per key (row * 4 + symbol) to a flat table of packed 8-bit counts; then halve each
    touched row while its largest count exceeds its model's limit (models start at ``offsets``).
    Sorting makes the result independent of lane order."""
    keys = np.sort(keys)
    first = np.empty(len(keys), dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    reps = np.empty(len(starts), dtype=np.int32)
    reps[:-1] = starts[1:] - starts[:-1]
    reps[-1] = len(keys) - starts[-1]
    ukeys = keys[starts]
    urows = ukeys >> 2
    new_row = np.empty(len(urows), dtype=bool)
    new_row[0] = True
    np.not_equal(urows[1:], urows[:-1], out=new_row[1:])
    rank = np.cumsum(new_row) - 1
    rows = urows[new_row]
    counts = _unpack(table[rows])
    counts.reshape(-1)[(rank << 2) | (ukeys & 3)] += reps.astype(np.uint16)
    mx = np.maximum(np.maximum(counts[:, 0], counts[:, 1]), np.maximum(counts[:, 2], counts[:, 3]))
    if same_limit is not None:
        limit = same_limit
    else:
        limit = limit_by_model[np.searchsorted(offsets, rows, side="right") - 1]
    over = np.flatnonzero(mx > limit)
    if len(over):
        # halve the whole row while its largest count exceeds the limit
        shift = np.zeros(len(over), dtype=np.uint16)
        mx = mx[over]
        if same_limit is None:
            limit = limit[over]
        while (pending := (mx >> shift) > limit).any():
            shift += pending
        counts[over] >>= shift[:, None]
    table[rows] = counts.astype(np.uint8).view(np.uint32).reshape(-1)


def _unpack(rows: np.ndarray, dtype: type = np.uint16) -> np.ndarray:
    """uint32 packed counts (any shape) -> counts with a trailing axis of 4."""
    return rows.view(np.uint8).reshape(rows.shape + (4,)).astype(dtype)


def node_frequencies(p: np.ndarray) -> np.ndarray:
    """(k, 3) node probabilities -> (k, 4) integer frequencies summing exactly to FREQ_TOTAL,
    each >= 1: P(hi) splits the total, then each lo node splits its half."""
    total = FREQ_TOTAL
    f_hi = np.minimum(np.maximum((p[:, 0] * total) >> PROB_BITS, 2), total - 2)
    f_lo_side = total - f_hi
    # f1 in [1, f_lo_side - 1] and f3 in [1, f_hi - 1]
    f1 = np.minimum(np.maximum((f_lo_side * p[:, 1]) >> PROB_BITS, 1), f_lo_side - 1)
    f3 = np.minimum(np.maximum((f_hi * p[:, 2]) >> PROB_BITS, 1), f_hi - 1)
    out = np.empty((len(p), 4), dtype=np.int64)
    out[:, 0] = f_lo_side - f1
    out[:, 1] = f1
    out[:, 2] = f_hi - f3
    out[:, 3] = f3
    return out
