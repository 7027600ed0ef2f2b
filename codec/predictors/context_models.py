"""A bank of order-k count models over one flat table: the context models of every predictor.

Every model keeps four 8-bit counts per context (direct tables for short orders, hashed tables for
long ones), halved while one exceeds the model's limit, and turns a context's counts into three
stretched node probabilities with its own estimator parameter alpha (``context_mix`` explains the
node split): counts (n1, n0) map to ``stretch((A*n1 + 1) / (A*(n0 + n1) + 2))`` (A = 1/alpha)
through a table built with exact integer division. Models may learn from inverted repeats too (as in
GeCo's "IR" mode). The update is order-independent (increments are summed per row before the row is
halved), so lanes that hit the same context in one step give one defined result. The substitution
tolerant models (``tolerant.py``) read this bank's tables through other contexts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from codec import allocator
from codec.constants import PROB_BITS
from codec.fixedpoint import stretch_table

HASH_MULT = 0x9E3779B97F4A7C15
MAX_DIRECT_ORDER = 13
MAX_ORDER = 31
MAX_COUNT = 255
PAIR_BITS = 9  # a node count is at most 2 * MAX_COUNT = 510 < 2**9


def table_rows(model: "ContextModelSpec", offset: int, ctx: np.ndarray) -> np.ndarray:
    """Rows of ``model``'s table (starting at ``offset`` in the flat table) for uint64 contexts."""
    if model.hash_bits == 0:
        return ctx.astype(np.int64) + offset
    return ((ctx * np.uint64(HASH_MULT)) >> np.uint64(64 - model.hash_bits)).astype(np.int64) + offset


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


@lru_cache(maxsize=None)
def _node_stretch(alpha_inv: int) -> np.ndarray:
    """int16[2**18]: stretch of P(bit=1) for node counts (n1, n0), index (n1 << 9) | n0."""
    n1, n0 = np.divmod(np.arange(1 << (2 * PAIR_BITS), dtype=np.int64), 1 << PAIR_BITS)
    p = ((alpha_inv * n1 + 1) << PROB_BITS) // (alpha_inv * (n0 + n1) + 2)
    return stretch_table()[np.minimum(p, (1 << PROB_BITS) - 1)].astype(np.int16)

def run_starts(sorted_values: np.ndarray) -> np.ndarray:
    """Indices where a new run of equal values begins in a sorted, non-empty array."""
    first = np.empty(len(sorted_values), dtype=bool)
    first[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=first[1:])
    return np.flatnonzero(first)


def add_counts(table: np.ndarray, keys: np.ndarray, offsets: np.ndarray, limit_by_model: np.ndarray,
               same_limit: int | None) -> None:
    """Add one count per key (row * 4 + symbol) to a flat table of packed 8-bit counts; then halve each
    touched row while its largest count exceeds its model's limit (models start at ``offsets``).
    Sorting makes the result independent of lane order."""
    keys = np.sort(keys)
    starts = run_starts(keys)
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
    counts = unpack(table[rows])
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


def unpack(rows: np.ndarray, dtype: type = np.uint16) -> np.ndarray:
    """uint32 packed counts (any shape) -> counts with a trailing axis of 4."""
    return rows.view(np.uint8).reshape(rows.shape + (4,)).astype(dtype)


def node_stretches(st2: np.ndarray, counts: np.ndarray, st_offset: np.ndarray) -> np.ndarray:
    """(k, M, 4) counts -> (k, 3, M) stretched node probabilities, read from the node-stretch tables
    ``st2`` at each model column's ``st_offset`` (its estimator)."""
    s01 = counts[..., 0] + counts[..., 1]
    s23 = counts[..., 2] + counts[..., 3]
    k, m = s01.shape
    idx = np.empty((k, 3, m), dtype=np.int64)
    idx[:, 0] = (s23 << PAIR_BITS) | s01
    idx[:, 1] = (counts[..., 1] << PAIR_BITS) | counts[..., 0]
    idx[:, 2] = (counts[..., 3] << PAIR_BITS) | counts[..., 2]
    idx += st_offset
    return st2[idx]




class ContextModels:
    """Count models of ``specs`` over ``lanes`` lanes; ``stretches(k)`` gives one input per model."""

    def __init__(self, specs: Sequence[ContextModelSpec], lanes: int,
                 primed: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.specs = tuple(specs)
        self.inputs = len(self.specs)
        rows = [m.rows() for m in self.specs]
        offsets = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
        self.offsets = offsets[:-1]
        self.table = allocator.table(int(offsets[-1]), np.uint32)
        if primed is not None:
            self.table[primed[0]] = primed[1]
        orders = np.array([m.order for m in self.specs], dtype=np.uint64)
        self.ctx_mask = (np.uint64(1) << (np.uint64(2) * orders)) - np.uint64(1)
        bits = np.array([m.hash_bits for m in self.specs], dtype=np.uint64)
        hashed = bits > 0
        self._mult = np.where(hashed, np.uint64(HASH_MULT), np.uint64(1)).astype(np.uint64)
        self._shift = np.where(hashed, np.uint64(64) - bits, np.uint64(0)).astype(np.uint64)
        limits = [m.limit for m in self.specs]
        self._limit_by_model = np.array(limits, dtype=np.int64)
        self._same_limit = limits[0] if len(set(limits)) == 1 else None
        self._ir = np.flatnonzero([m.ir for m in self.specs])
        self._ir_shift = (np.uint64(64) - np.uint64(2) * orders[self._ir]).astype(np.uint64)
        self._ir_sym_shift = (np.uint64(2) * orders[self._ir]).astype(np.uint64)
        alphas = sorted({m.alpha_inv for m in self.specs})
        self._st2 = np.concatenate([_node_stretch(a) for a in alphas])
        self.st_offset = np.array([alphas.index(m.alpha_inv) << (2 * PAIR_BITS) for m in self.specs],
                                  dtype=np.int32)
        self.hist = np.zeros(lanes, dtype=np.uint64)  # last 32 bases, newest in the low bits
        self.rc = np.zeros(lanes, dtype=np.uint64)  # their reverse complement, newest in the high bits
        self._rows = np.zeros((0, self.inputs), dtype=np.int64)

    def table_entries(self) -> tuple[np.ndarray, np.ndarray]:
        """(non-empty table rows, their packed counts): what a trained model ships as ``primed``."""
        rows = np.flatnonzero(self.table)
        return rows, self.table[rows]

    def counts(self, rows: np.ndarray) -> np.ndarray:
        """int32 counts (A, C, G, T) of table ``rows``: shape ``rows.shape + (4,)``."""
        return unpack(self.table[rows], np.int32)

    def index(self, ctx: np.ndarray, cols: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Table rows of context values ``ctx`` (shape (k, len(specs[cols])))."""
        local = (ctx * self._mult[cols]) >> self._shift[cols]
        return local.astype(np.int64) + self.offsets[cols]

    def node_stretches(self, counts: np.ndarray, st_offset: np.ndarray) -> np.ndarray:
        """(k, M, 4) counts -> (k, 3, M) stretched node probabilities (alpha per model column)."""
        return node_stretches(self._st2, counts, st_offset)

    def stretches(self, k: int) -> np.ndarray:
        """(k, 3, models) int16 inputs of lanes 0..k-1; remembers the rows for :meth:`update`."""
        self._rows = rows = self.index(self.hist[:k, None] & self.ctx_mask)
        return self.node_stretches(self.counts(rows), self.st_offset)

    def update(self, s: np.ndarray) -> None:
        """Count the true symbols (int64 (k,)) in the contexts just read, and in the inverted
        repeat contexts; then shift them into the histories."""
        k = len(s)
        su = s.astype(np.uint64)
        h = (self.hist[:k] << np.uint64(2)) | su
        rc = (self.rc[:k] >> np.uint64(2)) | ((np.uint64(3) - su) << np.uint64(62))
        self.hist[:k] = h
        self.rc[:k] = rc
        keys = [(self._rows * 4 + s[:, None]).ravel()]
        if len(self._ir):
            ir_rows = self.index(rc[:, None] >> self._ir_shift, self._ir)
            ir_sym = np.uint64(3) - ((h[:, None] >> self._ir_sym_shift) & np.uint64(3))
            keys.append((ir_rows * 4 + ir_sym.astype(np.int64)).ravel())
        add_counts(self.table, np.concatenate(keys), self.offsets, self._limit_by_model, self._same_limit)
