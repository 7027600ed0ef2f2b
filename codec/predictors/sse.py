"""Secondary symbol estimation (an APM, as in lpaq): refine a mixed probability by context.

For each context, 33 entries map the stretch domain (steps of ``STRETCH_LIMIT / 16``) to a 16-bit
probability; the output interpolates linearly between the two entries around the input. Entries start
as the identity. Learning moves the nearer entry towards the coded bit by the *mean* error of the
lanes that used it this step, shifted by ``rate`` (integer floor arithmetic, independent of lane
order). The output is ``(p + 3 * p_sse) / 4``.
"""

from __future__ import annotations

import numpy as np

from codec.constants import PROB_BITS, STRETCH_LIMIT
from codec.fixedpoint import squash_table, stretch_table

BUCKETS = 33
STEP = 2 * STRETCH_LIMIT // (BUCKETS - 1)  # 192


class APM:
    """``contexts`` x 33 interpolated probability entries."""

    def __init__(self, contexts: int, rate: int) -> None:
        self.contexts = contexts
        self.rate = rate
        ident = squash_table()[np.arange(BUCKETS) * STEP]
        self.t = np.tile(ident, (contexts, 1)).reshape(-1).astype(np.int64)
        self._stretch = stretch_table()

    def refine(self, p: np.ndarray, ctx: np.ndarray) -> np.ndarray:
        """(k, 3) probabilities and (k, 3) contexts -> refined (k, 3) probabilities."""
        s = self._stretch[p] + STRETCH_LIMIT
        lo = s // STEP
        lo = np.minimum(lo, BUCKETS - 2)
        frac = s - lo * STEP
        base = ctx * BUCKETS + lo
        a, b = self.t[base], self.t[base + 1]
        q = (a * (STEP - frac) + b * frac) // STEP
        self._near = np.where(frac * 2 >= STEP, base + 1, base)
        out = (p + 3 * q) >> 2
        np.minimum(out, (1 << PROB_BITS) - 1, out=out)
        return np.maximum(out, 1, out=out)

    def update(self, bits: np.ndarray, on_path: np.ndarray) -> None:
        """Learn the (k, 3) node bits on the coded path."""
        idx = self._near[on_path]
        err = (bits[on_path].astype(np.int64) << PROB_BITS) - self.t[idx]
        n = len(self.t)
        total = np.bincount(idx, weights=err, minlength=n)  # exact: |sums| < 2**53
        count = np.bincount(idx, minlength=n)
        used = np.flatnonzero(count)
        mean = total[used].astype(np.int64) // count[used]
        self.t[used] += mean >> self.rate
        np.minimum(self.t, (1 << PROB_BITS) - 1, out=self.t)
        np.maximum(self.t, 1, out=self.t)
