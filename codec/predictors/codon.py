"""Codon models: context models that know the reading frame of protein-coding DNA.

Coding sequence is period-3: the base statistics at the first, second and third position of a codon
differ strongly (and differently again on the reverse strand). A plain context model mixes the three
positions; a codon model keeps one table per frame class (3, or 6 with the reverse strand as three
more) of ``order``-base contexts, shared by all lanes. Which class the current base belongs to is
not known, so every lane tracks ``hypotheses`` frame hypotheses: hypothesis h at step phase f
(the step index mod 3) reads class ``(h // 3) * 3 + (f + h) % 3``. Each hypothesis keeps a decayed
sum of the code length that the first codon model's row of its class would have given the lane's
bases (``score -= score >> decay; score += cost``, as the competition does); every codon model
predicts with, and teaches, the class of the lane's lowest-scoring hypothesis (the lowest index on
ties). One model tracks the frame for all: its choice served the others as well as their own did
(measured), at a third of the cost; a low order tracks best (order 6 tracked 1% worse on bacteria).
A new gene in another frame or on the other
strand moves the lane to another hypothesis within a few codons; the tables, trained by every lane
in its own inferred frame, learn the codon statistics of the whole genome (the self-training of a
gene finder such as GeneMark, in exact integers).

The counts and their estimator are the context models' (``context_models``): four 8-bit counts per
row, halved past ``limit``, node stretches with estimator 1/``alpha_inv``, order-independent
updates. ``spec/MIX.md`` is the normative text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codec import allocator
from codec.predictors.context_mix import node_bits
from codec.predictors.context_models import _node_stretch, add_counts, node_stretches, unpack
from codec.predictors.mixer import charge, path_cost

MAX_CODON_ORDER = 8
MAX_CODON_MODELS = 4
FRAME_HYPOTHESES = (3, 6)
# Every row of a codon table starts with these counts (A, C, G, T) of its class: a weak prior that
# gives every lane the same labelling of the classes from the first base (classes 0-2: codon
# positions 1-3 of the forward strand, G-rich, then T-rich, then flat; classes 3-5: the reverse
# strand's positions 3, 2, 1 complemented, as they follow each other along the sequence). Without
# it, the lanes' frames settle on a common labelling only slowly and by chance, which cost 0.2-0.5%
# on bacteria and made the result erratic in every parameter.
FRAME_PRIOR = np.array([[2, 2, 3, 1], [2, 2, 1, 3], [2, 2, 2, 2], [2, 2, 2, 2], [3, 1, 2, 2], [1, 3, 2, 2]],
                       dtype=np.uint32)


@dataclass(frozen=True)
class CodonSpec:
    """The codon models: one per context order in ``orders`` (1..8 bases), all reading the frame
    that the first of them tracks; ``hypotheses`` frames per lane (3: one strand's three codon
    positions; 6: both strands), score decay 1/2**``decay``, counts halved past ``limit`` (1..255),
    estimator 1/``alpha_inv``."""

    orders: tuple[int, ...]
    hypotheses: int = 6
    decay: int = 6
    limit: int = 255
    alpha_inv: int = 2

    def rows(self) -> int:
        return sum(self.hypotheses * 4 ** o for o in self.orders)


def frame_classes(hypotheses: int, phase: int) -> np.ndarray:
    """int64[hypotheses]: the table class each hypothesis reads at step ``phase`` (0..2)."""
    h = np.arange(hypotheses, dtype=np.int64)
    return (h // 3) * 3 + (phase + h) % 3


class CodonModels:
    """The codon models of ``spec`` (or none) over ``lanes`` lanes; one input per model. The step
    phase is the caller's (``MixPredictor`` counts steps)."""

    def __init__(self, spec: CodonSpec | None, lanes: int) -> None:
        self.spec = spec
        orders = spec.orders if spec else ()
        self.inputs = len(orders)
        self.hypotheses = spec.hypotheses if spec else 3
        rows = [self.hypotheses * 4 ** o for o in orders]
        self.offsets = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)[:-1]
        self.table = allocator.table(max(sum(rows), 1), np.uint32)
        prior = FRAME_PRIOR[:self.hypotheses]
        packed = prior[:, 0] | (prior[:, 1] << 8) | (prior[:, 2] << 16) | (prior[:, 3] << 24)
        for off, n in zip(self.offsets, rows):
            self.table[off:off + n] = np.tile(packed, n // self.hypotheses)
        self.mask = np.array([(1 << (2 * o)) - 1 for o in orders], dtype=np.uint64)
        self.limit = np.full(self.inputs, spec.limit if spec else 1, dtype=np.int64)
        # rows start above the limit (limit 1 or 2): an update must check every touched row
        self.starts_over_limit = bool(spec) and spec.limit < int(FRAME_PRIOR.max())
        self.st2 = _node_stretch(spec.alpha_inv if spec else 1)
        self.score = np.zeros((lanes, max(FRAME_HYPOTHESES)), dtype=np.int64)
        self.best = np.zeros(lanes, dtype=np.int64)  # each lane's current frame hypothesis
        self._rows = np.zeros((0, self.inputs), dtype=np.int64)
        self._tracked = np.zeros(0, dtype=np.int64)

    def stretches(self, k: int, hist: np.ndarray, phase: int) -> np.ndarray:
        """(k, 3, models) inputs of lanes 0..k-1 given their histories (newest base lowest)."""
        ctx = (hist[:k, None] & self.mask).astype(np.int64)
        classes = frame_classes(self.hypotheses, phase)
        # rows of the tracking model (the first) for every hypothesis, then each model's chosen row
        self._tracked = self.offsets[0] + ctx[:, :1] * self.hypotheses + classes
        self._rows = self.offsets + ctx * self.hypotheses + classes[self.best[:k], None]
        counts = unpack(self.table[self._rows], np.int64)
        return node_stretches(self.st2, counts, np.zeros(self.inputs, np.int64)).astype(np.int64)

    def update(self, s: np.ndarray) -> None:
        """Score every frame hypothesis on the true symbols (int64 (k,)) with the tracking model's
        counts as they were read, count the symbols in the chosen rows, and pick each lane's
        hypothesis for the next step."""
        k = len(s)
        st = node_stretches(self.st2, unpack(self.table[self._tracked], np.int64),
                            np.zeros(self.hypotheses, np.int64))  # (k, 3, hypotheses)
        score = self.score[:k, :self.hypotheses]
        charge(score, path_cost(st, *node_bits(s)), self.spec.decay)
        add_counts(self.table, (self._rows * 4 + s[:, None]).ravel(), self.offsets, self.limit, self.spec.limit)
        self.best[:k] = np.argmin(score, axis=1)
