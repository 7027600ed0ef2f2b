"""Integer logistic tables shared by every predictor (bit-exact on any machine).

``squash`` maps the stretch domain ``[-STRETCH_LIMIT, STRETCH_LIMIT]`` to a 16-bit probability;
``stretch`` is its integer inverse. Every table is defined by correctly rounded :mod:`decimal`
arithmetic (identical on every platform); it is computed in float64 and falls back to decimal for the
few entries too close to a rounding boundary for float to decide (:func:`decided_integers`), which
gives the same integers. Stretch is derived from squash by an integer search, exactly as lpaq1 does.
``tests/test_predictor.py`` pins the tables and compares them with all-decimal evaluations.
"""

from __future__ import annotations

import decimal
from functools import lru_cache

import numpy as np

from codec.constants import PROB_BITS, STRETCH_LIMIT, STRETCH_SCALE

PROB_ONE = 1 << PROB_BITS


# A float64 value this close to a rounding boundary is decided with decimal instead. Float results are
# within a few ulp (about 1e-11 here) of the exact value, so every other decision is the exact one on
# any IEEE-754 machine; decimal for every entry would cost about 0.5 s of start-up for all the tables.
_GUARD = 1e-6


def decided_integers(approx: np.ndarray, boundary_offset: float, exact) -> np.ndarray:
    """Integers from float ``approx``: ``floor(approx + boundary_offset)`` (0.5: round to nearest,
    0: floor), with ``exact(i)`` (decimal) where entry i lies within :data:`_GUARD` of a boundary."""
    shifted = approx + boundary_offset
    out = np.floor(shifted).astype(np.int64)
    frac = shifted - np.floor(shifted)
    for i in np.flatnonzero((frac < _GUARD) | (frac > 1 - _GUARD)).tolist():
        out[i] = exact(i)
    return out


@lru_cache(maxsize=None)
def squash_table() -> np.ndarray:
    """int64[2*STRETCH_LIMIT+1]: round(2**16 / (1 + exp(-d / 256))) (ties to even) clamped to
    [1, 2**16-1]."""
    ctx = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
    d = np.arange(-STRETCH_LIMIT, STRETCH_LIMIT + 1)

    def exact(i: int) -> int:
        e = ctx.exp(ctx.divide(decimal.Decimal(-int(d[i])), decimal.Decimal(STRETCH_SCALE)))
        p = ctx.divide(decimal.Decimal(PROB_ONE), ctx.add(decimal.Decimal(1), e))
        return int(p.to_integral_value(rounding=decimal.ROUND_HALF_EVEN))

    out = decided_integers(PROB_ONE / (1 + np.exp(-d / STRETCH_SCALE)), 0.5, exact)
    np.clip(out, 1, PROB_ONE - 1, out=out)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=None)
def stretch_table() -> np.ndarray:
    """int64[2**16]: stretch(p) = smallest d with squash(d) >= p for p <= 2**15, mirrored above.

    The mirror makes stretch exactly odd (stretch(2**16 - p) == -stretch(p)), so a model has no
    bias towards either bit.
    """
    sq = squash_table()
    half = PROB_ONE // 2
    low = np.searchsorted(sq, np.arange(half + 1, dtype=np.int64), side="left") - STRETCH_LIMIT
    out = np.empty(PROB_ONE, dtype=np.int64)
    out[: half + 1] = low
    out[half + 1 :] = -low[1:half][::-1]
    out.setflags(write=False)
    return out


def squash(d: np.ndarray) -> np.ndarray:
    """Vectorised squash of stretch-domain integers (clamped to the table's domain)."""
    idx = np.clip(d, -STRETCH_LIMIT, STRETCH_LIMIT) + STRETCH_LIMIT
    return squash_table()[idx]


def stretch(p: np.ndarray) -> np.ndarray:
    """Vectorised stretch of 16-bit probabilities (0 .. 2**16-1); stretch(0) == -STRETCH_LIMIT."""
    return stretch_table()[p]


# Tables of the neural predictor (spec/NEURAL.md): gate activations and the output exponential.
GATE_FRAC = 7         # gate table index n means n / 2**GATE_FRAC
GATE_LIMIT = 1023     # index range -GATE_LIMIT..GATE_LIMIT
GATE_ONE_BITS = 15    # table values are in units of 2**-15
EXP_FRAC = 8          # EXP[d] = round(2**16 * exp(-d / 2**EXP_FRAC))
EXP_SIZE = 4096


def _decimal_table(fn, approx, args: range, scale: int) -> np.ndarray:
    """round(scale * fn(a)) (ties to even) for a in ``args``: ``fn`` in decimal, ``approx`` the same
    function in float64 (:func:`decided_integers` uses decimal only near a tie)."""
    ctx = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
    a = np.array(args, dtype=np.float64)

    def exact(i: int) -> int:
        return int(ctx.multiply(fn(ctx, decimal.Decimal(args[i])), scale).to_integral_value(
            rounding=decimal.ROUND_HALF_EVEN))

    out = decided_integers(approx(a) * scale, 0.5, exact)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=None)
def sigmoid_table() -> np.ndarray:
    """int64[2*GATE_LIMIT+1]: round(2**15 * sigmoid(n / 128)) for n = -GATE_LIMIT..GATE_LIMIT."""
    def f(ctx, n):
        return ctx.divide(1, ctx.add(1, ctx.exp(ctx.divide(-n, 1 << GATE_FRAC))))
    return _decimal_table(f, lambda n: 1 / (1 + np.exp(-n / (1 << GATE_FRAC))), range(-GATE_LIMIT, GATE_LIMIT + 1),
                          1 << GATE_ONE_BITS)


@lru_cache(maxsize=None)
def tanh_table() -> np.ndarray:
    """int64[2*GATE_LIMIT+1]: round(2**15 * tanh(n / 128)) for n = -GATE_LIMIT..GATE_LIMIT."""
    def f(ctx, n):
        e = ctx.exp(ctx.divide(-2 * n, 1 << GATE_FRAC))
        return ctx.divide(ctx.subtract(1, e), ctx.add(1, e))
    return _decimal_table(f, lambda n: np.tanh(n / (1 << GATE_FRAC)), range(-GATE_LIMIT, GATE_LIMIT + 1),
                          1 << GATE_ONE_BITS)


@lru_cache(maxsize=None)
def exp_table() -> np.ndarray:
    """int64[EXP_SIZE]: round(2**16 * exp(-d / 256)) for d = 0..EXP_SIZE-1."""
    return _decimal_table(lambda ctx, d: ctx.exp(ctx.divide(-d, 1 << EXP_FRAC)), lambda d: np.exp(-d / (1 << EXP_FRAC)),
                          range(EXP_SIZE), 1 << 16)


POW2_SIZE = 4096


@lru_cache(maxsize=None)
def pow2_table() -> np.ndarray:
    """int64[POW2_SIZE]: round(2**16 * 2**(-d / 256)) for d = 0..POW2_SIZE-1 (weights of code
    lengths in 1/256 bit; the repeat voters')."""
    return _decimal_table(lambda ctx, d: ctx.power(decimal.Decimal(2), ctx.divide(-d, 1 << 8)),
                          lambda d: np.exp2(-d / (1 << 8)), range(POW2_SIZE), 1 << 16)
