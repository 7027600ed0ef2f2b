"""Repeat models (after Jarvis's weighted stochastic repeat models): follow earlier copies of the
sequence, direct and inverted.

A k-mer index maps the hash of every ``kmer`` bases to the newest position where they ended. Each
lane has ``slots`` direct and ``slots`` inverted repeat candidates. When a lane has a free slot and
its last k bases occurred before, a direct candidate starts at the base after that occurrence; when
the reverse complement of its last k bases occurred before, an inverted candidate starts at the base
before that occurrence and walks backwards, predicting complements. A candidate predicts the base
its copy holds; it is dropped when more than ``threshold`` of its last ``window`` predictions
failed.

A candidate's confidence comes from its state (hits in a row, capped, and recent misses): adaptive
hit/total counts per state, shared by all lanes, turn into the probability that the copy is right.
The predicted base then gives each binary node a stretched probability (0 for the node off its
branch). Positions are global (blocks continue the numbering); bases live in a ring buffer of
``2**history_bits``. Reading a slot that is stale or not yet written is harmless: encoder and decoder
see the same buffer at every step, so they make the same (poor) prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codec import allocator
from codec.constants import PROB_BITS
from codec.fixedpoint import stretch_table
from codec.predictors.context_models import HASH_MULT

MAX_KMER = 32  # a lane's history holds 32 bases
RUN_CAP = 15
MISS_BUCKETS = 4  # recent misses 0, 1, 2, 3+
STATES = (RUN_CAP + 1) * MISS_BUCKETS
COUNT_LIMIT = 1 << 16
# the repeat state that selects the mix predictor's shared mixer set: no live candidate, or the best
# live run length + 1 up to 4, up to 12, longer
RUN_BOUNDS = (0, 4, 12)
REPEAT_STATES = len(RUN_BOUNDS) + 1


def candidate_states(run: np.ndarray, miss: np.ndarray) -> np.ndarray:
    """State of candidates: run of hits (capped) and recent misses (the last 8, up to 3)."""
    return run * MISS_BUCKETS + np.minimum(np.bitwise_count(miss & np.uint32(0xFF)), MISS_BUCKETS - 1)


def follow(run: np.ndarray, miss: np.ndarray, live: np.ndarray, hit: np.ndarray, wmask: np.uint32,
           threshold: int) -> None:
    """In place, after a step: runs grow on a hit and restart otherwise, the live candidates' misses
    shift into their ``wmask`` registers, and a candidate with more than ``threshold`` of them drops."""
    run[:] = np.where(hit, np.minimum(run + 1, RUN_CAP), 0)
    miss[:] = ((miss << np.uint32(1)) | (live & ~hit).astype(np.uint32)) & wmask
    live &= np.bitwise_count(miss) <= threshold


def count_states(hits: np.ndarray, total: np.ndarray, state: np.ndarray, live: np.ndarray,
                 hit: np.ndarray) -> None:
    """Add the step's live candidates to ``total`` and their hits to ``hits`` per state (sums over
    lanes), then halve both counts of every state whose total exceeds ``COUNT_LIMIT``."""
    total += np.bincount(state[live], minlength=STATES)
    hits += np.bincount(state[hit], minlength=STATES)
    over = total > COUNT_LIMIT
    total[over] >>= 1
    hits[over] >>= 1


@dataclass(frozen=True)
class RepeatSpec:
    """``kmer`` bases (1..32) start a candidate; index of ``2**index_bits`` entries; ring buffer of
    ``2**history_bits`` bases; ``slots`` candidates per direction and lane; drop after more than
    ``threshold`` misses among the last ``window`` (<= 32); ``ir`` adds inverted repeats."""

    kmer: int
    index_bits: int
    history_bits: int
    slots: int
    window: int
    threshold: int
    ir: bool

    def memory_bytes(self) -> int:
        return (8 << self.index_bits) + (1 << self.history_bits)


class RepeatModels:
    """Direct (and inverted) repeat candidates over ``lanes`` lanes; one mixer input per slot."""

    def __init__(self, spec: RepeatSpec, lanes: int) -> None:
        self.spec = spec
        dirs = 2 if spec.ir else 1
        self.inputs = n = spec.slots * dirs
        # 1 + the newest position where each k-mer hash ended, 0 for none: zero-filled memory is a
        # fresh index, so its pages are only touched when used
        self._index = allocator.table(1 << spec.index_bits, np.int64)
        self._buf = allocator.table(1 << spec.history_bits, np.uint8)
        self._buf_mask = np.int64((1 << spec.history_bits) - 1)
        self._kmask = np.uint64((1 << (2 * spec.kmer)) - 1)
        self._kshift = np.uint64(64 - spec.index_bits)
        self._rc_shift = np.uint64(64 - 2 * spec.kmer)
        self._wmask = np.uint32((1 << spec.window) - 1)
        # direction of each slot: +1 direct, -1 inverted; a slot is live where _live
        self._dir = np.repeat(np.array([1, -1][:dirs], dtype=np.int64), spec.slots)
        self._q = np.zeros((lanes, n), dtype=np.int64)  # position of the base a slot predicts next
        self._live = np.zeros((lanes, n), dtype=bool)
        self._run = np.zeros((lanes, n), dtype=np.int64)
        self._miss = np.zeros((lanes, n), dtype=np.uint32)
        self._hits = np.zeros(STATES, dtype=np.int64)
        self._total = np.zeros(STATES, dtype=np.int64)
        self._lane_start = np.zeros(lanes, dtype=np.int64)
        self._next_block = 0  # global position where the next block starts
        self._t = 0
        self._stretch = stretch_table()

    @property
    def buf(self) -> np.ndarray:
        """The ring buffer of bases (position p at ``p & buf_mask``)."""
        return self._buf

    @property
    def buf_mask(self) -> np.int64:
        return self._buf_mask

    def start_block(self, lane_lengths: np.ndarray) -> None:
        """A new block of contiguous lanes with these lengths begins (positions continue)."""
        starts = np.concatenate([[0], np.cumsum(lane_lengths)[:-1]]).astype(np.int64)
        self._lane_start[:len(starts)] = self._next_block + starts
        self._next_block += int(np.sum(lane_lengths))
        self._t = 0

    def stretches(self, k: int) -> np.ndarray:
        """(k, 3, slots) inputs of lanes 0..k-1."""
        live = self._live[:k]
        base = self._buf[self._q[:k] & self._buf_mask].astype(np.int64)
        self._pred = pred = np.where(self._dir > 0, base, 3 - base)
        self._state_k = state = candidate_states(self._run[:k], self._miss[:k])
        one = 1 << PROB_BITS
        # P(copy is right) per state, then the node probabilities of the predicted base:
        # P(hi bit) = (1 + 2p) / 3 and P(lo bit | hi) = 3p / (1 + 2p), from p + 3 * (1 - p) / 3 = 1
        p = ((2 * self._hits + 1) << PROB_BITS) // (2 * self._total + 2)
        p_hi = np.minimum((one + 2 * p) // 3, one - 1)
        p_lo = np.minimum((3 * p << PROB_BITS) // (one + 2 * p), one - 1)
        st_hi = self._stretch[p_hi][state]
        st_lo = self._stretch[p_lo][state]
        st_hi = np.where(live, st_hi, 0)
        st_lo = np.where(live, st_lo, 0)
        hi = pred >> 1
        out = np.zeros((k, 3, self.inputs), dtype=np.int64)
        out[:, 0] = np.where(hi == 1, st_hi, -st_hi)
        lo = np.where((pred & 1) == 1, st_lo, -st_lo)
        out[:, 1] = np.where(hi == 0, lo, 0)
        out[:, 2] = np.where(hi == 1, lo, 0)
        return out

    def best_run(self, k: int) -> np.ndarray:
        """(k,) int: best run length among the lane's live candidates (0 when none)."""
        return np.where(self._live[:k], self._run[:k] + 1, 0).max(axis=1)

    def update(self, s: np.ndarray, hist: np.ndarray, rc: np.ndarray) -> None:
        """Learn the true symbols (int64 (k,)) of the step just predicted; ``hist`` and ``rc`` are the
        lanes' last 32 bases and their reverse complement after them (the context bank's)."""
        spec = self.spec
        k = len(s)
        self.pos = pos = self._lane_start[:k] + self._t
        self._t += 1
        self._buf[pos & self._buf_mask] = s
        # candidates: statistics, then runs, misses, drops, and the next position
        live = self._live[:k]
        hit = live & (self._pred == s[:, None])
        count_states(self._hits, self._total, self._state_k, live, hit)
        follow(self._run[:k], self._miss[:k], live, hit, self._wmask, spec.threshold)
        self._q[:k] += self._dir
        # the k-mer index: look up before inserting this step's positions
        h, rc = hist[:k], rc[:k]
        key = (((h & self._kmask) * np.uint64(HASH_MULT)) >> self._kshift).astype(np.int64)
        self._start(k, self._index[key], 1, pos)
        if spec.ir:
            key_rc = (((rc >> self._rc_shift) * np.uint64(HASH_MULT)) >> self._kshift).astype(np.int64)
            self._start(k, self._index[key_rc] - (spec.kmer + 1), -1, pos)
        np.maximum.at(self._index, key, pos + 1)

    def _start(self, k: int, q: np.ndarray, direction: int, pos: np.ndarray) -> None:
        """Start a candidate at ``q`` in the first free slot of ``direction`` where the earlier
        occurrence exists, is still in the ring buffer, and no live slot already follows it."""
        cols = np.flatnonzero(self._dir == direction)
        live = self._live[:k, cols]
        found = (q >= 0) & (q > pos - self._buf_mask) & ~live.all(axis=1)
        found &= ~(live & (self._q[:k, cols] == q[:, None])).any(axis=1)
        lanes = np.flatnonzero(found)
        if len(lanes) == 0:
            return
        slot = cols[np.argmin(live[lanes], axis=1)]
        self._q[lanes, slot] = q[lanes]
        self._live[lanes, slot] = True
        self._run[lanes, slot] = 0
        self._miss[lanes, slot] = 0
