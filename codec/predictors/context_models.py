"""A bank of order-k count models over one flat table: the context-model class of the mix predictor.

Every model keeps four 8-bit counts per context (direct tables for short orders, hashed tables for
long ones), halved while one exceeds the model's limit, and turns a context's counts into three
stretched node probabilities with its own estimator parameter alpha (``context_mix`` explains the
node split and the exact tables). Models may learn from inverted repeats too. The substitution
tolerant models (``tolerant.py``) read this bank's tables through other contexts.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from codec import allocator
from codec.predictors.context_mix import (
    _PAIR_BITS,
    HASH_MULT,
    ContextModelSpec,
    _node_stretch,
    _unpack,
    add_counts,
)


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
        self.st_offset = np.array([alphas.index(m.alpha_inv) << (2 * _PAIR_BITS) for m in self.specs],
                                  dtype=np.int32)
        self.hist = np.zeros(lanes, dtype=np.uint64)  # last 32 bases, newest in the low bits
        self.rc = np.zeros(lanes, dtype=np.uint64)  # their reverse complement, newest in the high bits
        self._rows = np.zeros((0, self.inputs), dtype=np.int64)

    def table_entries(self) -> tuple[np.ndarray, np.ndarray]:
        """(non-empty table rows, their packed counts): what a trained model ships as ``primed``."""
        rows = np.flatnonzero(self.table)
        return rows, self.table[rows]

    def index(self, ctx: np.ndarray, cols: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Table rows of context values ``ctx`` (shape (k, len(specs[cols])))."""
        local = (ctx * self._mult[cols]) >> self._shift[cols]
        return local.astype(np.int64) + self.offsets[cols]

    def node_stretches(self, counts: np.ndarray, st_offset: np.ndarray) -> np.ndarray:
        """(k, M, 4) counts -> (k, 3, M) stretched node probabilities (alpha per model column)."""
        s01 = counts[..., 0] + counts[..., 1]
        s23 = counts[..., 2] + counts[..., 3]
        k, m = s01.shape
        idx = np.empty((k, 3, m), dtype=np.int32)
        idx[:, 0] = (s23 << _PAIR_BITS) | s01
        idx[:, 1] = (counts[..., 1] << _PAIR_BITS) | counts[..., 0]
        idx[:, 2] = (counts[..., 3] << _PAIR_BITS) | counts[..., 2]
        idx += st_offset
        return self._st2[idx]

    def stretches(self, k: int) -> np.ndarray:
        """(k, 3, models) int16 inputs of lanes 0..k-1; remembers the rows for :meth:`update`."""
        self._rows = rows = self.index(self.hist[:k, None] & self.ctx_mask)
        counts = _unpack(self.table[rows], np.int32)
        return self.node_stretches(counts, self.st_offset)

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
