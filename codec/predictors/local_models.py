"""Local context models: low-order counts kept per lane, so they follow the lane's own recent bases.

The context models' tables are shared by every lane of a step, so their statistics are global: a fast
adapting order-2 table there would follow the mix of all lanes, not the region a lane is in (a gene on
one strand, a GC-rich island). A local model keeps, per lane, the four counts of every context of
``order`` bases (at most :data:`MAX_LOCAL_ORDER`), adds 1 to the true symbol's count and halves the
row once that count exceeds ``limit``: a small ``limit`` means a short memory. Its input is the node
stretches of the counts with the estimator ``1/alpha_inv`` (``context_mix`` explains the nodes).
``spec/MIX.md`` is the normative text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from codec.predictors.context_models import PAIR_BITS, _node_stretch

MAX_LOCAL_ORDER = 4
MAX_LOCAL_MODELS = 8


@dataclass(frozen=True)
class LocalSpec:
    """One local model: ``order`` bases of context (0..4), counts halved past ``limit`` (1..255),
    estimator 1/``alpha_inv``."""

    order: int
    limit: int
    alpha_inv: int = 1

    def rows(self) -> int:
        return 4 ** self.order


class LocalModels:
    """The local models of ``specs`` over ``lanes`` lanes; one input per model."""

    def __init__(self, specs: Sequence[LocalSpec], lanes: int) -> None:
        self.specs = tuple(specs)
        self.inputs = len(self.specs)
        rows = max((m.rows() for m in self.specs), default=1)
        # packed counts (A, C, G, T: one byte each, A lowest) per lane, model and context
        self.counts = np.zeros((lanes, self.inputs, rows), dtype=np.uint32)
        self.mask = np.array([m.rows() - 1 for m in self.specs], dtype=np.int64)
        self.limit = np.array([m.limit for m in self.specs], dtype=np.int64)
        alphas = sorted({m.alpha_inv for m in self.specs})
        self.st2 = np.concatenate([_node_stretch(a) for a in alphas]) if alphas else np.zeros(1, np.int16)
        self.st_offset = np.array([alphas.index(m.alpha_inv) << (2 * PAIR_BITS) for m in self.specs],
                                  dtype=np.int64)
        self._rows = np.zeros((0, self.inputs), dtype=np.int64)

    def _unpacked(self, k: int, rows: np.ndarray) -> np.ndarray:
        lanes = np.arange(k)[:, None]
        packed = self.counts[lanes, np.arange(self.inputs)[None, :], rows]
        return packed.view(np.uint8).reshape(k, self.inputs, 4).astype(np.int64)

    def stretches(self, k: int, hist: np.ndarray) -> np.ndarray:
        """(k, 3, models) inputs of lanes 0..k-1 given their histories (newest base lowest)."""
        self._rows = rows = (hist[:k, None].astype(np.int64) & self.mask) if self.inputs else \
            np.zeros((k, 0), dtype=np.int64)
        c = self._unpacked(k, rows)
        idx = np.empty((k, 3, self.inputs), dtype=np.int64)
        idx[:, 0] = ((c[..., 2] + c[..., 3]) << PAIR_BITS) | (c[..., 0] + c[..., 1])
        idx[:, 1] = (c[..., 1] << PAIR_BITS) | c[..., 0]
        idx[:, 2] = (c[..., 3] << PAIR_BITS) | c[..., 2]
        return self.st2[idx + self.st_offset].astype(np.int64)

    def update(self, s: np.ndarray) -> None:
        """Count the true symbols (int64 (k,)) in the contexts just read."""
        k = len(s)
        c = self._unpacked(k, self._rows)
        c[np.arange(k), :, s] += 1
        over = c[np.arange(k), :, s] > self.limit
        c[over] >>= 1
        lanes = np.arange(k)[:, None]
        self.counts[lanes, np.arange(self.inputs)[None, :], self._rows] = \
            c.astype(np.uint8).reshape(k, self.inputs * 4).view(np.uint32).reshape(k, self.inputs)
