"""Codon models: context models that know the reading frame of protein-coding DNA.

Coding sequence is period-3: the base statistics at the first, second and third position of a codon
differ strongly (and differently again on the reverse strand). A plain context model mixes the three
positions; a codon model keeps one table per frame class (3, or 6 with the reverse strand as three
more) of ``order``-base contexts, shared by all lanes. Which class the current base belongs to is
not known, so every lane tracks ``hypotheses`` frame hypotheses: hypothesis h at step phase f
(the step index mod 3) reads class ``(h // 3) * 3 + (f + h) % 3``. Each hypothesis keeps a decayed
sum of the code length its class would have given the lane's bases (``score -= score >> decay;
score += cost``, as the competition does); the lane predicts with, and teaches, the class of its
lowest-scoring hypothesis (the lowest index on ties). A new gene in another frame or on the other
strand moves the lane to another hypothesis within a few codons; the tables, trained by every lane
in its own inferred frame, learn the codon statistics of the whole genome (the self-training of a
gene finder such as GeneMark, in exact integers).

The counts and their estimator are the context models' (``context_models``): four 8-bit counts per
row, halved past ``limit``, node stretches with estimator 1/``alpha_inv``, order-independent
updates. ``spec/MIX.md`` is the normative text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from codec import allocator
from codec.constants import STRETCH_LIMIT
from codec.predictors.context_models import PAIR_BITS, _node_stretch, add_counts, node_stretches, unpack
from codec.predictors.mixer import cost_table

MAX_CODON_ORDER = 8
MAX_CODON_MODELS = 4
FRAME_HYPOTHESES = (3, 6)


@dataclass(frozen=True)
class CodonSpec:
    """One codon model: ``order`` bases of context (1..8), ``hypotheses`` frames tracked per lane (3:
    one strand's three codon positions; 6: both strands), score decay 1/2**``decay``, counts halved
    past ``limit`` (1..255), estimator 1/``alpha_inv``."""

    order: int
    hypotheses: int = 6
    decay: int = 6
    limit: int = 255
    alpha_inv: int = 2

    def rows(self) -> int:
        return self.hypotheses * 4 ** self.order


def frame_classes(hypotheses: int, phase: int) -> np.ndarray:
    """int64[hypotheses]: the table class each hypothesis reads at step ``phase`` (0..2)."""
    h = np.arange(hypotheses, dtype=np.int64)
    return (h // 3) * 3 + (phase + h) % 3


class CodonModels:
    """The codon models of ``specs`` over ``lanes`` lanes; one input per model. The step phase is
    the caller's (``MixPredictor`` counts steps)."""

    def __init__(self, specs: Sequence[CodonSpec], lanes: int) -> None:
        self.specs = tuple(specs)
        self.inputs = len(self.specs)
        rows = [m.rows() for m in self.specs]
        offsets = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
        self.offsets = offsets[:-1]
        self.table = allocator.table(max(int(offsets[-1]), 1), np.uint32)
        self.mask = np.array([(1 << (2 * m.order)) - 1 for m in self.specs], dtype=np.uint64)
        self.hypotheses = np.array([m.hypotheses for m in self.specs], dtype=np.int64)
        self.decay = np.array([m.decay for m in self.specs], dtype=np.int64)
        self.limit = np.array([m.limit for m in self.specs], dtype=np.int64)
        alphas = sorted({m.alpha_inv for m in self.specs})
        self.st2 = np.concatenate([_node_stretch(a) for a in alphas]) if alphas else np.zeros(1, np.int16)
        self.st_offset = np.array([alphas.index(m.alpha_inv) << (2 * PAIR_BITS) for m in self.specs],
                                  dtype=np.int64)
        width = max(FRAME_HYPOTHESES)
        self.score = np.zeros((lanes, self.inputs, width), dtype=np.int64)
        self.best = np.zeros((lanes, self.inputs), dtype=np.int64)  # each lane's current hypothesis
        self._cost = cost_table()
        self._ctx = np.zeros((0, self.inputs), dtype=np.int64)
        self._rows = np.zeros((0, self.inputs), dtype=np.int64)

    def _classes(self, phase: int) -> list[np.ndarray]:
        return [frame_classes(m.hypotheses, phase) for m in self.specs]

    def stretches(self, k: int, hist: np.ndarray, phase: int) -> np.ndarray:
        """(k, 3, models) inputs of lanes 0..k-1 given their histories (newest base lowest)."""
        self._ctx = (hist[:k, None] & self.mask).astype(np.int64)
        cls = np.stack([c[self.best[:k, j]] for j, c in enumerate(self._classes(phase))], axis=1)
        self._rows = self.offsets + self._ctx * self.hypotheses + cls
        counts = unpack(self.table[self._rows], np.int64)
        return node_stretches(self.st2, counts, self.st_offset).astype(np.int64)

    def update(self, s: np.ndarray, phase: int) -> None:
        """Score every hypothesis on the true symbols (int64 (k,)) with the counts as they were
        read, count them in the chosen rows, and pick each lane's hypothesis for the next step."""
        k = len(s)
        hi, lo = s >> 1, s & 1
        for j, (m, cls) in enumerate(zip(self.specs, self._classes(phase))):
            rows = self.offsets[j] + self._ctx[:, j, None] * m.hypotheses + cls  # (k, hypotheses)
            st = node_stretches(self.st2, unpack(self.table[rows], np.int64),
                                np.full(m.hypotheses, self.st_offset[j]))  # (k, 3, hypotheses)
            n0 = np.where(hi[:, None] == 1, st[:, 0], -st[:, 0])
            lo_st = np.where(hi[:, None] == 1, st[:, 2], st[:, 1])
            n1 = np.where(lo[:, None] == 1, lo_st, -lo_st)
            cost = self._cost[n0 + STRETCH_LIMIT] + self._cost[n1 + STRETCH_LIMIT]
            sc = self.score[:k, j, :m.hypotheses]
            sc -= sc >> m.decay
            sc += cost
        add_counts(self.table, (self._rows * 4 + s[:, None]).ravel(), self.offsets, self.limit, None)
        for j, m in enumerate(self.specs):
            self.best[:k, j] = np.argmin(self.score[:k, j, :m.hypotheses], axis=1)
