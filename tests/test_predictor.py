"""The context-mixing predictor: valid exact frequencies, determinism, lane-order independence,
and golden values that pin its integer arithmetic (any change here changes archives)."""

from __future__ import annotations

import hashlib

import numpy as np

from codec import models
from codec.constants import FREQ_TOTAL
from codec.fixedpoint import squash_table, stretch_table
from codec.predictors import encode_block
from codec.predictors.context_mix import ContextMixPredictor
from codec.predictors.context_models import ContextModels, add_counts


def _bases(n: int, seed: int = 1) -> np.ndarray:
    """A sequence with repeats, inverted repeats and mutations, so every model is exercised."""
    rng = np.random.default_rng(seed)
    unit = rng.integers(0, 4, 500)
    parts = [unit, rng.integers(0, 4, 300), (3 - unit)[::-1], unit.copy()]
    parts[-1][::37] = rng.integers(0, 4, len(parts[-1][::37]))
    seq = np.concatenate(parts)
    return np.resize(seq, n).astype(np.uint8)


def _run(spec, bases: np.ndarray, lanes: int) -> tuple[np.ndarray, np.ndarray]:
    pred = ContextMixPredictor(spec, lanes)
    steps = bases.reshape(-1, lanes)
    counts = np.full(len(steps), lanes)
    return encode_block(pred, steps, counts)


def test_tables_are_pinned() -> None:
    # computed with correctly rounded decimal arithmetic: identical on every platform
    assert hashlib.sha256(squash_table().astype("<i8").tobytes()).hexdigest()[:16] == SQUASH_SHA
    assert hashlib.sha256(stretch_table().astype("<i8").tobytes()).hexdigest()[:16] == STRETCH_SHA
    st = stretch_table()
    assert (st[1:] == -st[1:][::-1]).all()


def test_fixed_point_tables_equal_their_decimal_definitions() -> None:
    """Every logistic table, built from float64 with decimal only near a rounding boundary, equals
    its definition evaluated entirely in correctly rounded decimal arithmetic."""
    import decimal

    from codec import fixedpoint as fp
    from codec.predictors.mixer import cost_table

    ctx = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
    D = decimal.Decimal

    def table(values, rounding=decimal.ROUND_HALF_EVEN):
        return np.array([int(v.to_integral_value(rounding=rounding)) for v in values], dtype=np.int64)

    d = range(-3072, 3073)
    squash = np.clip(table(ctx.divide(65536, ctx.add(1, ctx.exp(ctx.divide(-x, 256)))) for x in d), 1, 65535)
    assert np.array_equal(fp.squash_table(), squash)
    ln2 = ctx.ln(D(2))
    cost = table((ctx.multiply(ctx.divide(ctx.ln(ctx.divide(D(65536), D(int(p)))), ln2), 256) for p in squash),
                 decimal.ROUND_FLOOR)
    assert np.array_equal(cost_table(), cost)
    g = range(-1023, 1024)
    assert np.array_equal(fp.sigmoid_table(), table(ctx.multiply(
        ctx.divide(1, ctx.add(1, ctx.exp(ctx.divide(-x, 128)))), 1 << 15) for x in g))
    assert np.array_equal(fp.tanh_table(), table(ctx.multiply(ctx.divide(
        ctx.subtract(1, ctx.exp(ctx.divide(-2 * x, 128))), ctx.add(1, ctx.exp(ctx.divide(-2 * x, 128)))), 1 << 15)
        for x in g))
    assert np.array_equal(fp.exp_table(), table(ctx.multiply(ctx.exp(ctx.divide(-x, 256)), 1 << 16)
                                                for x in range(4096)))
    assert np.array_equal(fp.pow2_table(), table(ctx.multiply(ctx.power(D(2), ctx.divide(-x, 256)), 1 << 16)
                                                 for x in range(4096)))


def test_decided_integers_uses_the_exact_value_near_a_boundary() -> None:
    from codec.fixedpoint import decided_integers

    approx = np.array([2.4999999999, 2.5, 3.5000000001, 7.2, -1.5])
    # the float side alone would give 2, 3, 4, 7, -1; the exact callback decides the three near ties
    out = decided_integers(approx, 0.5, lambda i: 100 + i)
    assert out.tolist() == [100, 101, 102, 7, 104]


def test_frequencies_valid_and_deterministic() -> None:
    spec = models.BUNDLED["cm-v1"].spec
    bases = _bases(4096)
    pred = ContextMixPredictor(spec, 8)
    for t, step in enumerate(bases.reshape(-1, 8)):
        f = pred.predict(8)
        assert f.dtype == np.int64 and f.shape == (8, 4)
        assert (f >= 1).all() and (f.sum(1) == FREQ_TOTAL).all()
        pred.update(step)
    a = _run(spec, bases, 8)
    b = _run(spec, bases, 8)
    assert all((x == y).all() for x, y in zip(a, b))


def test_count_updates_do_not_depend_on_lane_order() -> None:
    """Lanes that hit the same context in one step update it with one defined result."""
    spec = models.BUNDLED["cm-fast-v1"].spec
    t1, t2 = (ContextModels(spec.models, 64) for _ in range(2))
    limits = np.array([m.limit for m in spec.models])
    rng = np.random.default_rng(5)
    perm = rng.permutation(64)
    for _ in range(200):
        sym = rng.integers(0, 4, 64) * (rng.random(64) < 0.3)  # many lanes share contexts
        rows = t1.index(t1.hist[:, None] & t1.ctx_mask)
        add_counts(t1.table, np.sort(rows.ravel() * 4 + np.repeat(sym, rows.shape[1])), t1.offsets, limits, None)
        add_counts(t2.table, (rows * 4 + sym[:, None])[perm].ravel(), t2.offsets, limits, None)
        assert (t1.table == t2.table).all()
        t1.hist[:] = t2.hist[:] = (t1.hist << np.uint64(2)) | sym.astype(np.uint64)


def test_learns_repeats() -> None:
    spec = models.BUNDLED["cm-v1"].spec
    freq, _ = _run(spec, _bases(20000), 4)
    bits = -np.log2(freq / FREQ_TOTAL)
    # the sequence is mostly repeats: far below 2 bits per base once learned
    assert bits[-1000:].mean() < 0.6


def test_golden_frequencies() -> None:
    """Fixed input -> fixed frequencies. If this fails, archives changed: bump the model/format."""
    for name, expected in GOLDEN.items():
        freq, start = _run(models.BUNDLED[name].spec, _bases(2048), 4)
        digest = hashlib.sha256(freq.astype("<u4").tobytes() + start.astype("<u4").tobytes()).hexdigest()
        assert digest[:16] == expected, name


SQUASH_SHA = "1ec4058ed6fda8da"
STRETCH_SHA = "789d43b782e0b933"
GOLDEN = {"cm-fast-v1": "5cf9be4bd3264ea1", "cm-v1": "65d965c377d50c2f"}
