"""Pick a level's model from the input: genomes like a primed model's training set get that model.

A primed model (``mito-lite-v1``, ``mix-mito-v1``) starts its long-context tables from the
statistics of its training genomes, which makes it about 100 times better on genomes like them
(human mitochondria) and slightly worse on others (the primed rows act like hash collisions
there). The encoder looks at the first bases of the input: when nearly all of their order-20
contexts are among the primed model's primed rows, the input is like the training set. The choice
is recorded in the archive like any model, so decoding never depends on it.
"""

from __future__ import annotations

import numpy as np

from codec import models
from codec.predictors.context_models import table_rows

SAMPLE_BASES = 20_000
MIN_SAMPLE_BASES = 2_000
THRESHOLD = 0.9  # unrelated genomes measure the table's fill ratio (about 0.5); training-like ones ~1
# level -> the primed alternative to its model (only a level's own model is ever switched); levels
# 5-6 get one without the network, 3-4 times faster (spec/LEVELS.md)
PRIMED = {5: "mito-lite-v1", 6: "mito-lite-v1", 7: "mix-mito-v1", 8: "mix-mito-v1", 9: "mix-max-mito-v1"}


def primed_hit_rate(model: models.Model, bases: np.ndarray) -> float:
    """Fraction of the longest-order contexts of ``bases`` whose table rows ``model`` primes."""
    parts = model.parts
    spec = parts.spec
    context = spec.context
    m = max(range(len(context)), key=lambda i: context[i].order)
    order = context[m].order
    if len(bases) <= order or parts.primed is None or not len(parts.primed[0]):
        return 0.0
    b = bases.astype(np.uint64)
    ctx = np.zeros(len(bases) - order + 1, dtype=np.uint64)
    for i in range(order):  # ctx[j] = bases j .. j+order-1, the newest in the low bits
        ctx = (ctx << np.uint64(2)) | b[i:len(bases) - order + 1 + i]
    rows = table_rows(context[m], int(spec.table_offsets()[m]), ctx)
    primed = parts.primed[0]
    at = np.minimum(np.searchsorted(primed, rows), len(primed) - 1)
    return float(np.mean(primed[at] == rows))


def choose(level: int, model: models.Model, bases: np.ndarray) -> models.Model:
    """``model`` (level ``level``'s), or the level's primed alternative when the sample looks like that
    model's training set."""
    alternative = PRIMED.get(level)
    if alternative is None or len(bases) < MIN_SAMPLE_BASES:
        return model
    candidate = models.BUNDLED[alternative]
    return candidate if primed_hit_rate(candidate, bases[:SAMPLE_BASES]) >= THRESHOLD else model
