"""The mix predictor: context, tolerant, repeat models (optionally with repeat voters, per-lane
local models and frame-tracking codon models) and (optionally) neural models, mixed by logistic
mixers, refined by an SSE stage.

Per step and lane every model gives three stretched node probabilities (``context_mix`` explains the
node split). A per-lane mixer combines them. With ``competition``, a second mixer whose weight sets
are shared by all lanes is selected by Jarvis's competitive prediction (the class of the model that
has been predicting best) and the repeat models' state, and a small per-lane final mixer combines
the two. Optionally (kind 5) a residual mixer shared by all lanes takes the mixed value and every
input again, learning what the lanes have in common. An APM keyed by the node and the last
``sse_order`` bases refines the result. With the case context (kind 7) each base's lowercase bit
(soft-masking, from the side streams) also selects weight sets and APM contexts; with the residual
context (kind 8) the repeat models' state also selects the residual mixer's weight set. Then
:func:`context_mix.node_frequencies` turns it into exact integer frequencies. Everything is integer
arithmetic with specified rounding, so encoder and decoder agree bit for bit (``spec/MIX.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from codec.predictors.codon import CodonModels, CodonSpec
from codec.predictors.context_mix import BIAS, MixerInput, node_bits, node_frequencies
from codec.predictors.context_models import ContextModels, ContextModelSpec
from codec.predictors.compiled import CompiledBlocks
from codec.predictors.local_models import LocalModels, LocalSpec
from codec.predictors.mixer import CASE_RESIDUAL, CASE_SHARED, CASE_SSE, RESIDUAL_REPEAT, Competition, Mixer
from codec.predictors.repeat import REPEAT_STATES, RUN_BOUNDS, RepeatModels, RepeatSpec
from codec.predictors.repeat_votes import RepeatVoters, VoteSpec
from codec.predictors.sse import APM
from codec.predictors.tolerant import TolerantModels, TolerantSpec

# competition classes of the inputs
CLASS_SHORT, CLASS_MEDIUM, CLASS_LONG, CLASS_TOLERANT, CLASS_REPEAT, CLASS_NEURAL = range(6)
N_CLASSES = 6


@dataclass(frozen=True)
class MixSpec:
    """Every parameter of a mix predictor; stored in the model file and fingerprinted."""

    context: tuple[ContextModelSpec, ...]
    tolerant: tuple[TolerantSpec, ...] = ()
    repeat: RepeatSpec | None = None
    mixer_rate: int = 512  # mixer step: w += (stretch * err * rate) >> 24
    weight_init: int = 16000  # initial weight of every model input (16.16)
    competition: bool = True  # add the shared, competitively selected mixer and the final mixer
    competition_decay: int = 4  # a model's score loses 1/2**decay per step
    final_rate: int = 256
    sse_order: int = 2  # 0: no SSE stage
    sse_rate: int = 6
    votes: VoteSpec | None = None  # repeat voters (need ``repeat``: its k-mers and ring buffer)
    local: tuple[LocalSpec, ...] = ()  # per-lane low-order models (kind 5)
    residual_rate: int = 0  # kind 5: a last mixer shared by all lanes over every input (0: none)
    codon: CodonSpec | None = None  # kind 6: frame-tracking codon models (and local periods)
    case_context: int = 0  # kind 7: CASE_* flags, where a base's lowercase bit selects weights/contexts
    residual_context: int = 0  # kind 8: RESIDUAL_* flags, what else selects the residual mixer's weight set

    @property
    def rounding(self) -> bool:
        """Kinds 5 to 8 (local or codon models, the residual mixer, case or residual context): mixer
        learning steps round to nearest."""
        return (bool(self.local) or self.residual_rate > 0 or self.codon is not None or self.case_context != 0
                or self.residual_context != 0)

    @property
    def framed(self) -> bool:
        """Kind 6: codon models or a local model with a period."""
        return self.codon is not None or any(m.period != 1 for m in self.local)

    def table_offsets(self) -> np.ndarray:
        """int64[models + 1]: first row of each context model in the flat count table, then the total."""
        return np.concatenate([[0], np.cumsum([m.rows() for m in self.context])]).astype(np.int64)

    def memory_bytes(self) -> int:
        """Bytes of tables this predictor allocates (per-lane state excluded)."""
        tables = int(self.table_offsets()[-1]) * 4
        return (tables + (self.repeat.memory_bytes() if self.repeat else 0)
                + (self.votes.memory_bytes() if self.votes else 0) + (4 * self.codon.rows() if self.codon else 0))


def _class_of(m: ContextModelSpec) -> int:
    return CLASS_SHORT if m.order <= 8 else CLASS_MEDIUM if m.order <= 14 else CLASS_LONG


class MixPredictor(CompiledBlocks):
    """Implements :class:`codec.predictors.Predictor` for a :class:`MixSpec`. ``extra`` inputs (the
    neural predictor) join the mixers after the models; ``primed`` = (rows, packed counts) sets count
    table entries before the first base. Steps run compiled (:mod:`.kernel`) when ``compiled`` is
    true (default: wherever a compiled backend is) and through the numpy reference otherwise; the
    results are identical."""

    def __init__(self, spec: MixSpec, lanes: int, extra: Sequence[MixerInput] = (),
                 primed: tuple[np.ndarray, np.ndarray] | None = None, compiled: bool | None = None) -> None:
        self.spec = spec
        self.lanes = lanes
        self._cm = ContextModels(spec.context, lanes, primed)
        self._tol = TolerantModels(spec.tolerant, self._cm, lanes)
        self._rep = RepeatModels(spec.repeat, lanes) if spec.repeat else None
        self._votes = RepeatVoters(spec.votes, spec.repeat.kmer, lanes) if spec.votes else None
        self._local = LocalModels(spec.local, lanes)
        self._codon = CodonModels(spec.codon, lanes)
        self._extra = tuple(extra)
        classes = [_class_of(m) for m in spec.context] + [CLASS_TOLERANT] * self._tol.inputs
        if self._rep:
            classes += [CLASS_REPEAT] * (self._rep.inputs + (1 if self._votes else 0))
        classes += [CLASS_SHORT] * (self._local.inputs + self._codon.inputs)
        classes += [CLASS_NEURAL] * len(self._extra)
        self._n_models = n = len(classes)
        init = np.full(n + 1, spec.weight_init, dtype=np.int64)
        init[-1] = 0  # the bias input
        r = spec.rounding
        self._lane_mixer = Mixer(n + 1, 1, spec.mixer_rate, init, lanes, rounding=r)
        self._competition = None
        if spec.competition:
            self._competition = Competition(np.array(classes), lanes, spec.competition_decay)
            sets = N_CLASSES * REPEAT_STATES * (2 if spec.case_context & CASE_SHARED else 1)
            self._shared_mixer = Mixer(n + 1, sets, spec.mixer_rate, init, rounding=r)
            self._final = Mixer(3, 1, spec.final_rate, np.array([1 << 15, 1 << 15, 0]), lanes, rounding=r)
        self._residual = None
        # the residual mixer's weight sets: (repeat state) x (case)
        self._residual_cases = 2 if spec.case_context & CASE_RESIDUAL else 1
        self._residual_states = REPEAT_STATES if spec.residual_context & RESIDUAL_REPEAT else 1
        if spec.residual_rate:
            # inputs: the mixed stretch (weight 1.0), then every model input and the bias (weight 0)
            res_init = np.zeros(n + 2, dtype=np.int64)
            res_init[0] = 1 << 16
            self._residual = Mixer(n + 2, self._residual_cases * self._residual_states, spec.residual_rate, res_init,
                                   rounding=r)
        sse_cases = 2 if spec.case_context & CASE_SSE else 1
        self._sse = APM(sse_cases * 3 << (2 * spec.sse_order), spec.sse_rate) if spec.sse_order else None
        self._sse_mask = np.uint64((1 << (2 * spec.sse_order)) - 1)
        self._node = np.arange(3, dtype=np.int64) << (2 * spec.sse_order)
        self._kernel = None
        from codec.predictors import kernel  # loaded when a predictor is built, not with codec

        if kernel.available() if compiled is None else compiled:
            comp = self._competition
            self._kernel = kernel.KernelStep(
                self._cm, lanes, self._lane_mixer, bias_col=n, extra_col=n - len(self._extra),
                n_extra=len(self._extra), tol=self._tol, rep=self._rep, votes=self._votes, local=self._local,
                codon=self._codon, competition=comp, shared_mixer=self._shared_mixer if comp else None,
                final_mixer=self._final if comp else None, residual=self._residual, sse=self._sse,
                sse_order=spec.sse_order, case_flags=spec.case_context, residual_flags=spec.residual_context)
        self._case = None
        self._step = 0

    def table_entries(self) -> tuple[np.ndarray, np.ndarray]:
        """(non-empty count-table rows, packed counts): the statistics a trained model ships."""
        return self._cm.table_entries()

    @property
    def reads_case(self) -> bool:
        """Whether this model takes the bases' lowercase bits as a context (``start_block``'s case)."""
        return self.spec.case_context != 0

    def start_block(self, lane_lengths: np.ndarray, case: np.ndarray | None = None) -> None:
        """A block of contiguous lanes with these lengths begins (the repeat models' positions);
        ``case`` is its (T, lanes) grid of lowercase bits (None: all upper case)."""
        if self._rep:
            self._rep.start_block(lane_lengths)
        self._case = case if self.reads_case else None
        self._step = 0

    def predict(self, k: int) -> np.ndarray:
        case = self._case[self._step, :k].astype(np.int64) if self._case is not None else None
        if self._compiled():
            return self._kernel.predict(k, [source.stretches(k) for source in self._extra], case)
        if case is None:
            case = np.zeros(k, dtype=np.int64)
        st = np.empty((k, 3, self._n_models + 1), dtype=np.int64)
        a = self._cm.inputs
        st[..., :a] = self._cm.stretches(k)
        if self._tol.inputs:
            st[..., a:a + self._tol.inputs] = self._tol.stretches(k)
            a += self._tol.inputs
        if self._rep:
            st[..., a:a + self._rep.inputs] = self._rep.stretches(k)
            a += self._rep.inputs
        if self._votes:
            st[..., a] = self._votes.stretches(k, self._rep.buf, self._rep.buf_mask)
            a += 1
        phase = int(self._local.phase[0])
        if self._local.inputs:
            st[..., a:a + self._local.inputs] = self._local.stretches(k, self._cm.hist, phase)
            a += self._local.inputs
        if self._codon.inputs:
            st[..., a:a + self._codon.inputs] = self._codon.stretches(k, self._cm.hist, phase)
            a += self._codon.inputs
        for source in self._extra:
            st[..., a] = source.stretches(k)
            a += 1
        st[..., a] = BIAS
        self._st = st
        zero = np.zeros(k, dtype=np.int64)
        p = self._lane_mixer.mix(st, zero)
        mixed = self._lane_mixer
        if self._competition is not None or self._residual_states > 1:
            run = self._rep.best_run(k) if self._rep else zero
            rep_state = sum((run > b).astype(np.int64) for b in RUN_BOUNDS)
        if self._competition is not None:
            wset = self._competition.winner(k) * REPEAT_STATES + rep_state
            if self.spec.case_context & CASE_SHARED:
                wset = 2 * wset + case
            self._shared_mixer.mix(st, wset)
            st2 = np.empty((k, 3, 3), dtype=np.int64)
            st2[..., 0] = self._lane_mixer.dot
            st2[..., 1] = self._shared_mixer.dot
            st2[..., 2] = BIAS
            p = self._final.mix(st2, zero)
            mixed = self._final
        if self._residual is not None:
            res_set = case if self.spec.case_context & CASE_RESIDUAL else zero
            if self._residual_states > 1:
                res_set = res_set + self._residual_cases * rep_state
            p = self._residual.mix(np.concatenate([mixed.dot[..., None], st], axis=2), res_set)
        if self._sse is not None:
            ctx = (self._cm.hist[:k] & self._sse_mask).astype(np.int64)[:, None] + self._node
            if self.spec.case_context & CASE_SSE:
                ctx += case[:, None] * (3 << (2 * self.spec.sse_order))
            p = self._sse.refine(p, ctx)
        return node_frequencies(p)

    def update(self, symbols: np.ndarray) -> None:
        self._step += 1
        if self._compiled():
            self._kernel.update(symbols)
            for source in self._extra:
                source.update(symbols)
            return
        s = symbols.astype(np.int64)
        bits, on_path = node_bits(s)
        self._lane_mixer.update(bits, on_path)
        if self._competition is not None:
            self._shared_mixer.update(bits, on_path)
            self._final.update(bits, on_path)
            self._competition.update(self._st[..., :self._n_models], bits, on_path)
        if self._residual is not None:
            self._residual.update(bits, on_path)
        if self._sse is not None:
            self._sse.update(bits, on_path)
        if self._local.inputs:
            self._local.update(s)
        if self._codon.inputs:
            self._codon.update(s)
        self._local.phase[0] = (self._local.phase[0] + 1) % 3
        self._cm.update(s)
        if self._tol.inputs:
            self._tol.update(s, self._cm.hist)
        if self._rep:
            self._rep.update(s, self._cm.hist, self._cm.rc)
        if self._votes:
            self._votes.update(s, self._cm.hist, self._cm.rc, self._rep.pos, self._rep.buf_mask)
        for source in self._extra:
            source.update(symbols)
