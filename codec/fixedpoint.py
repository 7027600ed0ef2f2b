"""Integer logistic tables shared by every predictor (bit-exact on any machine).

``squash`` maps the stretch domain ``[-STRETCH_LIMIT, STRETCH_LIMIT]`` to a 16-bit probability;
``stretch`` is its integer inverse. The squash table is computed with :mod:`decimal` (software
arithmetic, correctly rounded, identical on every platform); stretch is derived from it by an integer
search, exactly as lpaq1 does. ``tests/test_fixedpoint.py`` pins the SHA-256 of both tables.
"""

from __future__ import annotations

import decimal
from functools import lru_cache

import numpy as np

from codec.constants import PROB_BITS, STRETCH_LIMIT, STRETCH_SCALE

PROB_ONE = 1 << PROB_BITS


@lru_cache(maxsize=None)
def squash_table() -> np.ndarray:
    """int64[2*STRETCH_LIMIT+1]: round(2**16 / (1 + exp(-d / 256))) clamped to [1, 2**16-1]."""
    ctx = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
    one = decimal.Decimal(1)
    out = np.empty(2 * STRETCH_LIMIT + 1, dtype=np.int64)
    for i, d in enumerate(range(-STRETCH_LIMIT, STRETCH_LIMIT + 1)):
        e = ctx.exp(ctx.divide(decimal.Decimal(-d), decimal.Decimal(STRETCH_SCALE)))
        p = ctx.divide(decimal.Decimal(PROB_ONE), ctx.add(one, e))
        out[i] = int(p.to_integral_value(rounding=decimal.ROUND_HALF_EVEN))
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


def _decimal_table(fn, args: range, scale: int) -> np.ndarray:
    ctx = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
    out = np.array([int(ctx.multiply(fn(ctx, decimal.Decimal(a)), scale).to_integral_value(
        rounding=decimal.ROUND_HALF_EVEN)) for a in args], dtype=np.int64)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=None)
def sigmoid_table() -> np.ndarray:
    """int64[2*GATE_LIMIT+1]: round(2**15 * sigmoid(n / 128)) for n = -GATE_LIMIT..GATE_LIMIT."""
    def f(ctx, n):
        return ctx.divide(1, ctx.add(1, ctx.exp(ctx.divide(-n, 1 << GATE_FRAC))))
    return _decimal_table(f, range(-GATE_LIMIT, GATE_LIMIT + 1), 1 << GATE_ONE_BITS)


@lru_cache(maxsize=None)
def tanh_table() -> np.ndarray:
    """int64[2*GATE_LIMIT+1]: round(2**15 * tanh(n / 128)) for n = -GATE_LIMIT..GATE_LIMIT."""
    def f(ctx, n):
        e = ctx.exp(ctx.divide(-2 * n, 1 << GATE_FRAC))
        return ctx.divide(ctx.subtract(1, e), ctx.add(1, e))
    return _decimal_table(f, range(-GATE_LIMIT, GATE_LIMIT + 1), 1 << GATE_ONE_BITS)


@lru_cache(maxsize=None)
def exp_table() -> np.ndarray:
    """int64[EXP_SIZE]: round(2**16 * exp(-d / 256)) for d = 0..EXP_SIZE-1."""
    return _decimal_table(lambda ctx, d: ctx.exp(ctx.divide(-d, 1 << EXP_FRAC)), range(EXP_SIZE), 1 << 16)


POW2_SIZE = 4096


@lru_cache(maxsize=None)
def pow2_table() -> np.ndarray:
    """int64[POW2_SIZE]: round(2**16 * 2**(-d / 256)) for d = 0..POW2_SIZE-1 (weights of code
    lengths in 1/256 bit; the repeat voters')."""
    return _decimal_table(lambda ctx, d: ctx.power(decimal.Decimal(2), ctx.divide(-d, 1 << 8)),
                          range(POW2_SIZE), 1 << 16)
