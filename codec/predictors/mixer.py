"""Logistic mixing with weight sets shared by all lanes, and Jarvis-style competitive selection.

The mixer combines stretched node probabilities with integer weights (16.16 fixed point). Each lane
picks one of ``sets`` weight sets per step by a small context; every set is shared by all lanes and
learns from all of them: per step, each lane's gradient step ``(st * err * rate) >> 24`` is summed
into its set (integer sums, so the result is independent of lane order).

Competition (Jarvis's "competitive prediction"): per lane, every input keeps a decayed sum of its
code length on the nodes it predicted; the class of the currently best input (context, tolerant,
repeat, neural) selects the weight set, so each regime learns its own weights.
"""

from __future__ import annotations

import decimal
from functools import lru_cache

import numpy as np

from codec.constants import PROB_BITS, STRETCH_LIMIT
from codec.fixedpoint import decided_integers, squash_table
from codec.predictors.context_models import run_starts

LR_SHIFT = 24
BIAS = 256  # the mixers' bias input
# case context (model kind 7): what a base's lowercase bit selects (flags of MixSpec.case_context)
CASE_RESIDUAL = 1  # the residual mixer's weight set
CASE_SHARED = 2  # the shared mixer's weight set (set index * 2 + case)
CASE_SSE = 4  # the APM's context (+ case * 3 * 4**sse_order)
CASE_ALL = CASE_RESIDUAL | CASE_SHARED | CASE_SSE
# residual context (model kind 8): what else selects the residual mixer's weight set (MixSpec.residual_context)
RESIDUAL_REPEAT = 1  # the repeat state (no live slot, or the best run's bucket by repeat.RUN_BOUNDS)
_COST_BITS = 8  # code lengths in units of 1/256 bit


def learn_round(rounding: bool) -> int:
    """What a learning step adds before its ``>> LR_SHIFT``: half a unit to round, else 0 (floor)."""
    return 1 << (LR_SHIFT - 1) if rounding else 0


@lru_cache(maxsize=None)
def cost_table() -> np.ndarray:
    """int64[2*STRETCH_LIMIT+1]: code length, in 1/256 bit, of a 1 bit predicted with stretch d
    (index d + STRETCH_LIMIT): floor(-log2(squash(d) / 2**16) * 256), computed with :mod:`decimal`
    (correctly rounded, identical on every platform)."""
    ctx = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
    ln2 = ctx.ln(decimal.Decimal(2))
    scale = decimal.Decimal(1 << _COST_BITS)
    one = decimal.Decimal(1 << PROB_BITS)
    p = squash_table()

    @lru_cache(maxsize=None)  # the saturated ends of the squash table repeat a few values
    def exact_bits(q: int) -> int:
        bits = ctx.divide(ctx.ln(ctx.divide(one, decimal.Decimal(q))), ln2)
        return int(ctx.multiply(bits, scale).to_integral_value(rounding=decimal.ROUND_FLOOR))

    out = decided_integers((PROB_BITS - np.log2(p)) * (1 << _COST_BITS), 0.0, lambda i: exact_bits(int(p[i])))
    out.setflags(write=False)
    return out


def path_cost(st: np.ndarray, bits: np.ndarray, on_path: np.ndarray) -> np.ndarray:
    """(k, inputs) code length, in 1/256 bit, of every input's node stretches ``st`` (k, 3, inputs)
    on the coded path (``bits`` and ``on_path`` (k, 3) from ``context_mix.node_bits``)."""
    signed = np.where(bits[..., None] == 1, st, -st) + STRETCH_LIMIT
    return np.where(on_path[..., None], cost_table()[signed], 0).sum(axis=1)


def charge(score: np.ndarray, cost: np.ndarray, decay: int) -> None:
    """A decayed code-length score in place: ``score -= score >> decay; score += cost``."""
    score -= score >> decay
    score += cost


class Mixer:
    """``inputs`` stretched inputs per node -> one 16-bit probability per node, by weight set.

    With ``lanes`` = 0 the sets are shared by all lanes; otherwise every lane has its own sets. With
    ``rounding`` (model kind 5) a learning step rounds to nearest instead of down: a floor's bias of
    half a unit per lane and step would pull a slowly learning shared set steadily negative."""

    def __init__(self, inputs: int, sets: int, rate: int, weight_init: np.ndarray, lanes: int = 0,
                 rounding: bool = False) -> None:
        self.inputs = inputs
        self.sets = sets
        self.rate = rate
        self.round = learn_round(rounding)
        self.per_lane = lanes > 0
        self.w = np.empty(((lanes * sets) if lanes else sets, 3, inputs), dtype=np.int64)
        self.w[:] = weight_init
        self._squash = squash_table()

    def mix(self, st: np.ndarray, ctx: np.ndarray) -> np.ndarray:
        """(k, 3, inputs) stretches, (k,) set per lane -> (k, 3) probabilities P(bit = 1)."""
        if self.per_lane:
            # lane j's sets are rows j * sets ...; one set per lane is a plain slice (no copy)
            rows = slice(0, len(ctx)) if self.sets == 1 else np.arange(len(ctx)) * self.sets + ctx
        else:
            rows = ctx
        self._st, self._ctx = st, rows
        self.dot = dot = np.einsum("kjm,kjm->kj", self.w[rows], st) >> 16
        np.minimum(dot, STRETCH_LIMIT, out=dot)
        np.maximum(dot, -STRETCH_LIMIT, out=dot)
        self.p = self._squash[dot + STRETCH_LIMIT]
        return self.p

    def update(self, bits: np.ndarray, on_path: np.ndarray) -> None:
        """Learn the (k, 3) node bits on the coded path (nodes off the path do not learn)."""
        err = np.where(on_path, (bits << PROB_BITS) - self.p, 0)
        delta = (self._st * (err * self.rate)[..., None] + self.round) >> LR_SHIFT
        if self.per_lane:
            self.w[self._ctx] += delta
            return
        # sum the increments of the lanes that share a set (exact integers, any order)
        order = np.argsort(self._ctx, kind="stable")
        sets = self._ctx[order]
        starts = run_starts(sets)
        self.w[sets[starts]] += np.add.reduceat(delta[order], starts, axis=0)


class Competition:
    """Per lane, the class of the input with the smallest decayed code length."""

    def __init__(self, classes: np.ndarray, lanes: int, decay_shift: int) -> None:
        self.classes = np.asarray(classes, dtype=np.int64)
        self._score = np.zeros((lanes, len(self.classes)), dtype=np.int64)
        self._decay = decay_shift
        self._cost = cost_table()

    def winner(self, k: int) -> np.ndarray:
        """(k,) class of each lane's best input so far."""
        return self.classes[np.argmin(self._score[:k], axis=1)]

    def update(self, st: np.ndarray, bits: np.ndarray, on_path: np.ndarray) -> None:
        """Charge each input its code length for the coded nodes: ``st`` (k, 3, inputs) stretches,
        ``bits`` (k, 3) node bits, ``on_path`` (k, 3) bool."""
        charge(self._score[:len(bits)], path_cost(st, bits, on_path), self._decay)
