"""Next-base predictors. Every predictor is exact integer arithmetic over all lanes at once.

The stream engine drives a predictor block after block; its state (tables, mixer weights, per-lane
histories) carries across blocks. Before a block the engine calls ``start_block(lane_lengths,
case)``; per step it calls ``predict(k)`` for the active lanes ``0..k-1`` and then
``update(symbols)`` with their true symbols; the encoder does it in :func:`encode_block`, the
decoder interleaves it with the entropy decoder, and both see identical frequencies.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from codec.coder import active_counts


class Predictor(Protocol):
    """A stateful next-base model evaluated over ``lanes`` parallel lanes."""

    lanes: int

    def start_block(self, lane_lengths: np.ndarray, case: np.ndarray | None = None) -> None:
        """A block begins whose lanes are contiguous runs of these lengths, in order (models that
        address earlier bases by position use it). ``case``: the block's (T, lanes) uint8 grid of
        lowercase bits, given only to a predictor whose ``reads_case`` is true (None: all upper)."""

    def predict(self, k: int) -> np.ndarray:
        """Integer frequencies, shape (k, 4), int64, each >= 1, each row summing to FREQ_TOTAL."""

    def update(self, symbols: np.ndarray) -> None:
        """Learn the true symbols (shape (k,), values 0..3) of the step just predicted."""


def sequences_as_lanes(seqs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Whole sequences as lanes, longest first: (steps (T, n) int64 with the symbol of lane j at
    step t, active lanes per step). For evaluation and training, where a lane is one sequence."""
    ordered = sorted(seqs, key=len, reverse=True)
    lens = np.array([len(s) for s in ordered], dtype=np.int64)
    steps = np.zeros((int(lens.max(initial=0)), len(ordered)), dtype=np.int64)
    for j, s in enumerate(ordered):
        steps[:len(s), j] = s
    return steps, active_counts(lens)


def encode_block(predictor: Predictor, steps: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Encoder side: run ``predictor`` over a block of symbols.

    ``steps`` is (T, lanes) with the symbol of lane j at step t; ``counts[t]`` is the number of active
    lanes at step t. Returns (freq, start): for every coded symbol its frequency and cumulative start,
    as (T, lanes) uint32 arrays (entries of inactive lanes are zero). A predictor with an
    ``encode_steps(steps, counts)`` method may do the whole block itself (the compiled path does).
    """
    fused = getattr(predictor, "encode_steps", None)
    result = fused(steps, counts) if fused is not None else None
    if result is not None:
        return result
    freq = np.zeros(steps.shape, dtype=np.uint32)
    start = np.zeros(steps.shape, dtype=np.uint32)
    for t, k in enumerate(counts.tolist()):
        f = predictor.predict(k)
        sym = steps[t, :k]
        rows = np.arange(k)
        fs = f[rows, sym]
        freq[t, :k] = fs
        start[t, :k] = np.cumsum(f, axis=1)[rows, sym] - fs
        predictor.update(sym)
    return freq, start


def small_matrix_threads() -> AbstractContextManager:
    """Run BLAS single-threaded while stepping a predictor. Its matrix products are small (lanes x a
    few hundred); a multi-threaded BLAS gains nothing on them and, when the cores are busy, its
    spinning threads slow a step down a hundredfold. Results are identical either way."""
    return threadpool_limits(limits=1, user_api="blas")
