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
# level model -> its primed alternative
PRIMED = {"mix-v1": "mix-mito-v1", "mix-max-v1": "mix-max-mito-v1",
          "mix-v2": "mix-mito-v1", "mix-max-v2": "mix-max-mito-v1",
          "mix-v3": "mix-mito-v1", "mix-max-v3": "mix-max-mito-v1",
          "mix-v4": "mix-mito-v1", "mix-max-v4": "mix-max-mito-v1", "mix-lite-v4": "mix-mito-v1",
          "mix-v5": "mix-mito-v1", "mix-max-v5": "mix-max-mito-v1", "mix-lite-v5": "mix-mito-v1",
          "mix-v6": "mix-mito-v1", "mix-max-v6": "mix-max-mito-v1", "mix-lite-v6": "mix-mito-v1",
          "mix-v7": "mix-mito-v1", "mix-max-v7": "mix-max-mito-v1", "mix-lite-v7": "mix-mito-v1",
          "mix-mid-v7": "mix-mito-v1", "mix-lite-v8": "mix-mito-v1", "mix-lite-v9": "mix-mito-v1",
          # levels 5-6: primed without the network, 3-4 times faster (spec/LEVELS.md)
          "mix-mid-v8": "mito-lite-v1", "mix-lite-v10": "mito-lite-v1",
          "mix-v12": "mix-mito-v1", "mix-v11": "mix-mito-v1",
          "mix-max-v11": "mix-max-mito-v1",
          "mix-lite-v13": "mito-lite-v1", "mix-v13": "mix-mito-v1", "mix-v14": "mix-mito-v1",
          "mix-max-v13": "mix-max-mito-v1", "mix-mid-v9": "mito-lite-v1"}


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


def choose(model: models.Model, bases: np.ndarray) -> models.Model:
    """``model``, or its primed alternative when the sample looks like that model's training set."""
    alternative = PRIMED.get(model.name)
    if alternative is None or len(bases) < MIN_SAMPLE_BASES:
        return model
    candidate = models.BUNDLED[alternative]
    return candidate if primed_hit_rate(candidate, bases[:SAMPLE_BASES]) >= THRESHOLD else model
