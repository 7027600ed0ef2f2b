"""Local context models: low-order counts kept per lane, so they follow the lane's own recent bases.

The context models' tables are shared by every lane of a step, so their statistics are global: a fast
adapting order-2 table there would follow the mix of all lanes, not the region a lane is in (a gene on
one strand, a GC-rich island). A local model keeps, per lane, the four counts of every context of
``order`` bases (at most :data:`MAX_LOCAL_ORDER`), adds 1 to the true symbol's count and halves the
row once that count exceeds ``limit``: a small ``limit`` means a short memory. Its input is the node
stretches of the counts with the estimator ``1/alpha_inv`` (``context_mix`` explains the nodes). With
``period`` 3 (model kind 6) a model keeps one table per step phase (the step index mod 3): in a gene,
each codon position gets its own statistics, whatever the gene's frame relative to the lane.
``spec/MIX.md`` is the normative text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from codec.predictors.context_models import PAIR_BITS, _node_stretch, node_stretches, unpack

MAX_LOCAL_ORDER = 4
MAX_LOCAL_MODELS = 8


@dataclass(frozen=True)
class LocalSpec:
    """One local model: ``order`` bases of context (0..4), counts halved past ``limit`` (1..255),
    estimator 1/``alpha_inv``, one table per step phase mod ``period`` (1 or 3)."""

    order: int
    limit: int
    alpha_inv: int = 1
    period: int = 1

    def rows(self) -> int:
        return self.period * 4 ** self.order


class LocalModels:
    """The local models of ``specs`` over ``lanes`` lanes; one input per model."""

    def __init__(self, specs: Sequence[LocalSpec], lanes: int) -> None:
        self.specs = tuple(specs)
        self.inputs = len(self.specs)
        sizes = [m.rows() for m in self.specs]
        # packed counts (A, C, G, T: one byte each, A lowest) per lane and row; model c's rows start at
        # offset[c] (one compact row of tables per lane: a step reads every lane's, so they stay cached)
        self.counts = np.zeros((lanes, max(sum(sizes), 1)), dtype=np.uint32)
        self.offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if sizes else np.zeros(0, np.int64)
        self.mask = np.array([4 ** m.order - 1 for m in self.specs], dtype=np.int64)
        self.limit = np.array([m.limit for m in self.specs], dtype=np.int64)
        self.period = np.array([m.period for m in self.specs], dtype=np.int64)
        self.stride = np.array([4 ** m.order for m in self.specs], dtype=np.int64)
        alphas = sorted({m.alpha_inv for m in self.specs})
        self.st2 = np.concatenate([_node_stretch(a) for a in alphas]) if alphas else np.zeros(1, np.int16)
        self.st_offset = np.array([alphas.index(m.alpha_inv) << (2 * PAIR_BITS) for m in self.specs],
                                  dtype=np.int64)
        self._rows = np.zeros((0, self.inputs), dtype=np.int64)
        self.phase = np.zeros(1, dtype=np.int64)  # the step index mod 3 (codon models read it too)

    def _cells(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Index of each lane's current row in every model, for lanes 0..k-1."""
        return np.arange(k)[:, None], self._rows

    def stretches(self, k: int, hist: np.ndarray, phase: int = 0) -> np.ndarray:
        """(k, 3, models) inputs of lanes 0..k-1 given their histories (newest base lowest) and the
        step phase (0..2)."""
        self._rows = self.offset + (hist[:k, None].astype(np.int64) & self.mask) + (phase % self.period) * self.stride
        counts = unpack(self.counts[self._cells(k)], np.int64)
        return node_stretches(self.st2, counts, self.st_offset).astype(np.int64)

    def update(self, s: np.ndarray) -> None:
        """Count the true symbols (int64 (k,)) in the contexts just read."""
        k = len(s)
        cells = self._cells(k)
        c = unpack(self.counts[cells], np.int64)
        c[np.arange(k), :, s] += 1
        c[c[np.arange(k), :, s] > self.limit] >>= 1
        self.counts[cells] = c.astype(np.uint8).view(np.uint32)[..., 0]
