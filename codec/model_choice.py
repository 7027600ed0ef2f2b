"""Pick a level's model from the input: genomes like a primed model's training set get that model,
and repeat-rich genomes at the default level the default with repeat voters.

A primed model (``mito-lite-v1``, ``mix-mito-v1``) starts its long-context tables from the
statistics of its training genomes, which makes it about 100 times better on genomes like them
(human mitochondria) and slightly worse on others (the primed rows act like hash collisions
there). The encoder looks at the first bases of the input: when nearly all of their order-20
contexts are among the primed model's primed rows, the input is like the training set. The choice
is recorded in the archive like any model, so decoding never depends on it.

Repeat voters (``repeat_votes.py``) follow several earlier copies of the current k-mer at once: on
genomes full of repeat families (transposons in plants and animals) they make the default's archive
0.3-0.4% smaller, and coding a fifth to a third slower, which the repeat-poor genomes of bacteria
and phages (0.08% from them) don't pay. The encoder measures the sample's repeat content: the share
of its 16-mers that occurred earlier in the sample, on either strand.
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
# level -> its alternative for repeat-rich input (levels 7-9 run voters anyway)
REPEAT = {6: "mix-rep-v13"}
REPEAT_SAMPLE_BASES = 1 << 17
REPEAT_MIN_BASES = 1 << 15  # smaller inputs are start-up bound and their repeat content is noise
REPEAT_K = 16
# repeated 16-mers in the first 2^17 bases: bacteria 0.3-0.4%, yeast chrI 1.8%, human chr22 6%,
# D. melanogaster chr4 16% (spec/LEVELS.md)
REPEAT_THRESHOLD = 0.01


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


def repeat_fraction(bases: np.ndarray) -> float:
    """Share of the 16-mers of ``bases`` (uint8 0..3) that occurred earlier in ``bases``, directly
    or reverse-complemented: the sorted canonical k-mers, less the distinct ones."""
    n = len(bases) - REPEAT_K + 1
    if n <= 0:
        return 0.0
    b = bases.astype(np.uint32)
    fwd = np.zeros(n, dtype=np.uint32)
    rev = np.zeros(n, dtype=np.uint32)
    for i in range(REPEAT_K):  # 2 bits a base: a 16-mer fills the 32 bits exactly
        fwd = (fwd << np.uint32(2)) | b[i:i + n]
        rev |= (np.uint32(3) - b[i:i + n]) << np.uint32(2 * i)
    canonical = np.sort(np.minimum(fwd, rev))
    return float(np.count_nonzero(canonical[1:] == canonical[:-1]) / n)


def switches(level: int) -> bool:
    """Whether :func:`choose` may pick another model than level ``level``'s own."""
    return level in PRIMED or level in REPEAT


def choose(level: int, model: models.Model, bases: np.ndarray) -> models.Model:
    """``model`` (level ``level``'s), or the level's primed alternative when the sample looks like that
    model's training set, or its repeat alternative when the sample is repeat-rich."""
    if len(bases) < MIN_SAMPLE_BASES:
        return model
    primed = PRIMED.get(level)
    if primed is not None:
        candidate = models.BUNDLED[primed]
        if primed_hit_rate(candidate, bases[:SAMPLE_BASES]) >= THRESHOLD:
            return candidate
    repeat = REPEAT.get(level)
    if (repeat is not None and len(bases) >= REPEAT_MIN_BASES
            and repeat_fraction(bases[:REPEAT_SAMPLE_BASES]) >= REPEAT_THRESHOLD):
        return models.BUNDLED[repeat]
    return model
