"""Adaptive context-mixing predictor: order-k count models mixed in the logistic domain.

Each base is split into three binary nodes: ``hi`` = (G or T), then ``lo`` given hi=0 (C vs A) and
``lo`` given hi=1 (T vs G). Every context model keeps four 8-bit counts per context. A node's
counts (n1, n0) map to ``stretch((A*n1 + 1) / (A*(n0 + n1) + 2))`` (A = 1/alpha) through a table
built with exact integer division. A per-lane linear mixer with integer weights combines the models'
stretched probabilities per node and learns online. Models may also learn from the inverted repeat
(reverse complement) of every base, as in GeCo's "IR" mode.

Everything is integer numpy arithmetic with floor shifts, so encoder and decoder compute identical
frequencies on any machine. The count tables live in :mod:`codec.predictors.context_models`, the
mixer in :mod:`codec.predictors.mixer`; this module defines the kind-1/2 predictor (context models
plus one per-lane mixer) and the node-to-frequency split every predictor uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from codec.constants import FREQ_TOTAL, PROB_BITS
from codec.predictors.context_models import ContextModels, ContextModelSpec
from codec.predictors.compiled import CompiledBlocks
from codec.predictors.mixer import BIAS, Mixer


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


class MixerInput(Protocol):
    """An extra mixer input (the neural predictor): per step, one stretched P(bit=1) per node."""

    def stretches(self, k: int) -> np.ndarray:
        """(k, 3) int64 stretch-domain inputs for lanes 0..k-1."""

    def update(self, symbols: np.ndarray) -> None:
        """Learn the true symbols of the step just predicted."""


class ContextMixPredictor(CompiledBlocks):
    """Implements :class:`codec.predictors.Predictor` for a :class:`ContextMixSpec`: the context
    models of :class:`codec.predictors.context_models.ContextModels` and one per-lane mixer.

    ``extra`` inputs join the mixer after the bias; ``mixer_init`` ((3, models + 1 + extras) int)
    replaces the default initial weights; ``primed`` = (rows, packed counts) sets table entries
    before the first base (statistics a trained model ships with). Steps run compiled
    (:mod:`.kernel`) when ``compiled`` is true (default: wherever a compiled backend is), through the
    numpy reference otherwise, with identical results.
    """

    def __init__(self, spec: ContextMixSpec, lanes: int, extra: Sequence[MixerInput] = (),
                 mixer_init: np.ndarray | None = None,
                 primed: tuple[np.ndarray, np.ndarray] | None = None, compiled: bool | None = None) -> None:
        self.spec = spec
        self.lanes = lanes
        self._extra = tuple(extra)
        self._cm = ContextModels(spec.models, lanes, primed)
        nm = len(spec.models)
        n_in = nm + 1 + len(self._extra)
        if mixer_init is None:
            mixer_init = np.full((3, n_in), spec.weight_init, dtype=np.int64)
            mixer_init[:, nm] = 0
        self._mixer = Mixer(n_in, 1, spec.learning_rate, mixer_init, lanes)
        self._zero = np.zeros(lanes, dtype=np.int64)
        self._kernel = None
        from codec.predictors import kernel  # loaded when a predictor is built, not with codec

        if kernel.available() if compiled is None else compiled:
            self._kernel = kernel.KernelStep(self._cm, lanes, self._mixer, bias_col=nm, extra_col=nm + 1,
                                             n_extra=len(self._extra))

    def table_entries(self) -> tuple[np.ndarray, np.ndarray]:
        """(non-empty table rows, their packed counts): what a trained model ships as ``primed``."""
        return self._cm.table_entries()

    def start_block(self, lane_lengths: np.ndarray, case: np.ndarray | None = None) -> None:
        """Nothing to do: context models address bases by context, not position, and read no case."""

    def predict(self, k: int) -> np.ndarray:
        if self._compiled():
            return self._kernel.predict(k, [source.stretches(k) for source in self._extra])
        nm = len(self.spec.models)
        st = np.empty((k, 3, nm + 1 + len(self._extra)), dtype=np.int64)
        st[..., :nm] = self._cm.stretches(k)
        st[..., nm] = BIAS
        for j, source in enumerate(self._extra):
            st[..., nm + 1 + j] = source.stretches(k)
        return node_frequencies(self._mixer.mix(st, self._zero[:k]))

    def update(self, symbols: np.ndarray) -> None:
        if self._compiled():
            self._kernel.update(symbols)
        else:
            s = symbols.astype(np.int64)
            bits, on_path = node_bits(s)
            self._mixer.update(bits, on_path)
            self._cm.update(s)
        for source in self._extra:
            source.update(symbols)


def node_bits(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, 3) node bits of symbols ``s`` and (k, 3) whether each node is on the coded path: node 0
    always, and the lo node of the taken branch."""
    k = len(s)
    hi = s >> 1
    bits = np.empty((k, 3), dtype=np.int64)
    bits[:, 0] = hi
    bits[:, 1] = bits[:, 2] = s & 1
    on_path = np.zeros((k, 3), dtype=bool)
    on_path[:, 0] = True
    on_path[np.arange(k), 1 + hi] = True
    return bits, on_path


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
