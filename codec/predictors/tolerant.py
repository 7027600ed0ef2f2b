"""Substitution-tolerant context models (STCM, after GeCo): a repeat with point mutations keeps
predicting.

An STCM reads the count table of one of the bank's models, but through its own context: a history
that appends the symbol the model *predicted* (the most frequent count of the context; the lowest
symbol on a tie) instead of the actual one, whenever the context has been seen. So after a
substitution the context still matches the earlier copy of the repeat. When more than
``threshold`` of the last ``window`` predictions failed, the tolerant history is reset to the actual
one. An STCM never writes to the table: the bank's model learns from the actual context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from codec.predictors.context_models import ContextModels

MAX_WINDOW = 32  # miss history bits


@dataclass(frozen=True)
class TolerantSpec:
    """An STCM over bank model ``model`` (an index); reset after > ``threshold`` misses among the last
    ``window`` (<= 32) predictions."""

    model: int
    window: int
    threshold: int


class TolerantModels:
    """STCMs over a :class:`ContextModels` bank; ``stretches(k)`` gives one input per STCM."""

    def __init__(self, specs: Sequence[TolerantSpec], bank: ContextModels, lanes: int) -> None:
        self.specs = tuple(specs)
        self.inputs = len(self.specs)
        self._bank = bank
        self._cols = np.array([t.model for t in self.specs], dtype=np.int64)
        self._mask = bank.ctx_mask[self._cols]
        self._st_offset = bank.st_offset[self._cols]
        self._window = np.array([(1 << t.window) - 1 for t in self.specs], dtype=np.uint32)
        self._threshold = np.array([t.threshold for t in self.specs], dtype=np.int64)
        n = len(self.specs)
        self.hist = np.zeros((lanes, n), dtype=np.uint64)
        self.misses = np.zeros((lanes, n), dtype=np.uint32)

    def stretches(self, k: int) -> np.ndarray:
        """(k, 3, STCMs) inputs; remembers each STCM's predicted symbol for :meth:`update`."""
        rows = self._bank.index(self.hist[:k] & self._mask, self._cols)
        counts = self._bank.counts(rows)  # (k, n, 4)
        self._pred = counts.argmax(axis=2)
        self._seen = counts.max(axis=2) > 0
        return self._bank.node_stretches(counts, self._st_offset)

    def update(self, s: np.ndarray, actual_hist: np.ndarray) -> None:
        """Advance with the true symbols (int64 (k,)); ``actual_hist`` is the bank's history after
        them (the reset value)."""
        k = len(s)
        sym = np.where(self._seen, self._pred, s[:, None]).astype(np.uint64)
        miss = (self._seen & (self._pred != s[:, None])).astype(np.uint32)
        h = (self.hist[:k] << np.uint64(2)) | sym
        m = ((self.misses[:k] << np.uint32(1)) | miss) & self._window
        reset = np.bitwise_count(m) > self._threshold
        h[reset] = np.broadcast_to(actual_hist[:k, None], h.shape)[reset]
        m[reset] = 0
        self.hist[:k] = h
        self.misses[:k] = m
