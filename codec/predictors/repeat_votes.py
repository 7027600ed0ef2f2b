"""Repeat voters (after JARVIS's many concurrent repeat models): several earlier copies of the current
context vote on the next base, weighted by how well each has been predicting.

A bucket index keeps, for the hash of every ``kmer`` bases, the ``bucket`` newest positions where
they ended. A position is stored as ``(position + 1) mod 2**32`` (0: empty) and read back relative to
the reading lane's position, so positions within 2**31 of it come back exactly. Each lane has
``voters`` candidate copies, direct or inverted, reading the repeat models' ring buffer
(:mod:`.repeat`). Each step, a lane with a free slot starts at most one direct voter, at the newest
indexed occurrence that no live direct voter already follows, then likewise one inverted voter
(walking backwards, predicting complements). A voter is dropped after more than ``threshold`` misses
among its last ``window`` predictions.

A voter predicts the base of its copy with probability ``ph`` from adaptive hit/total counts per
state (run of hits, capped, and recent misses; shared by all lanes), each other base with
``(1 - ph) / 3``. Its log-weight ``L`` (1/256 bit) loses ``L >> decay`` per step and gains the code
length the voter spent on the true base; a new voter starts at the lane's smallest ``L`` plus
``init``. The lane's distribution is the sum of the voters' distributions, each weighted by
``2**(-(L - min L) / 256)`` (a table); its three node probabilities, stretched, are one mixer input
(``context_mix`` explains the nodes). ``spec/MIX.md`` is the normative text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codec import allocator
from codec.constants import PROB_BITS, STRETCH_LIMIT
from codec.fixedpoint import pow2_table, stretch_table
from codec.predictors.context_models import HASH_MULT, run_starts
from codec.predictors.mixer import cost_table
from codec.predictors.repeat import STATES, candidate_states, count_states, follow

MAX_VOTERS = 64
MAX_BUCKET = 32
VOTE_FLOOR = 3  # P(copy right) <= 1 - 3/2**16, so each other base keeps a probability >= 1/2**16
_ONE = 1 << PROB_BITS
_M32 = (1 << 32) - 1


@dataclass(frozen=True)
class VoteSpec:
    """``voters`` (1..64) per lane; ``bucket`` (1..32) positions per k-mer in an index of
    ``2**index_bits`` buckets; drop after more than ``threshold`` misses among the last ``window``
    (<= 32); log-weights decay by ``1/2**decay``; a new voter starts ``init``/256 bits behind the
    lane's best."""

    voters: int
    bucket: int
    index_bits: int
    window: int
    threshold: int
    decay: int
    init: int

    def memory_bytes(self) -> int:
        return (4 * self.bucket) << self.index_bits


def state_probabilities(hits: np.ndarray, total: np.ndarray) -> np.ndarray:
    """P(the copy is right) per state, 16-bit, in [1, 2**16 - 3] so the other bases keep >= 1."""
    p = ((2 * hits + 1) << PROB_BITS) // (2 * total + 2)
    return np.clip(p, 1, _ONE - VOTE_FLOOR)


def entry_positions(entries: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Positions of stored index entries (uint32 ``position + 1``), read relative to lane positions
    ``pos`` (broadcast): exact within 2**31 of ``pos``."""
    age = (pos + 1 - entries.astype(np.int64)) & _M32
    return pos - np.where(age >= 1 << 31, age - (1 << 32), age)


class RepeatVoters:
    """``spec.voters`` voters per lane over ``lanes`` lanes, reading ``kmer``-base keys and the ring
    buffer of a :class:`~codec.predictors.repeat.RepeatModels`; one mixer input."""

    def __init__(self, spec: VoteSpec, kmer: int, lanes: int) -> None:
        self.spec = spec
        self.kmer = kmer
        v = spec.voters
        self.index = allocator.table(spec.bucket << spec.index_bits, np.uint32)
        self.q = np.zeros((lanes, v), dtype=np.int64)  # position of the base a voter reads next
        self.dir = np.zeros((lanes, v), dtype=np.int64)  # +1 direct, -1 inverted
        self.live = np.zeros((lanes, v), dtype=bool)
        self.run = np.zeros((lanes, v), dtype=np.int64)
        self.miss = np.zeros((lanes, v), dtype=np.uint32)
        self.L = np.zeros((lanes, v), dtype=np.int64)
        self.hits = np.zeros(STATES, dtype=np.int64)
        self.total = np.zeros(STATES, dtype=np.int64)
        self.pred = np.zeros((lanes, v), dtype=np.int64)
        self.state = np.zeros((lanes, v), dtype=np.int64)
        self.ph = np.zeros((lanes, v), dtype=np.int64)
        self._kmask = np.uint64((1 << (2 * kmer)) - 1)
        self._kshift = np.uint64(64 - spec.index_bits)
        self._rc_shift = np.uint64(64 - 2 * kmer)
        self._wmask = np.uint32((1 << spec.window) - 1)
        self._stretch = stretch_table()
        self._cost = cost_table()
        self._pow2 = pow2_table()

    def stretches(self, k: int, buf: np.ndarray, buf_mask: np.int64) -> np.ndarray:
        """(k, 3) input of lanes 0..k-1 (0 where a lane has no live voter)."""
        live = self.live[:k]
        base = buf[self.q[:k] & buf_mask].astype(np.int64)
        self.pred[:k] = pred = np.where(self.dir[:k] > 0, base, 3 - base)
        self.state[:k] = state = candidate_states(self.run[:k], self.miss[:k])
        self.ph[:k] = ph = state_probabilities(self.hits, self.total)[state]
        pm = (_ONE - ph) // 3
        L = self.L[:k]
        lmin = np.where(live, L, np.iinfo(np.int64).max).min(axis=1)
        d = np.clip(L - lmin[:, None], 0, len(self._pow2) - 1)
        w = np.where(live, self._pow2[d], 0)
        f = np.broadcast_to((w * pm).sum(axis=1)[:, None], (k, 4)).copy()
        f += ((w * (ph - pm))[..., None] * (pred[..., None] == np.arange(4))).sum(axis=1)
        out = np.zeros((k, 3), dtype=np.int64)
        any_live = live.any(axis=1)
        f = f[any_live]
        node = np.stack([((f[:, 2] + f[:, 3]) << PROB_BITS) // f.sum(axis=1),
                         (f[:, 1] << PROB_BITS) // (f[:, 0] + f[:, 1]),
                         (f[:, 3] << PROB_BITS) // (f[:, 2] + f[:, 3])], axis=1)
        out[any_live] = self._stretch[np.clip(node, 1, _ONE - 1)]
        return out

    def update(self, s: np.ndarray, hist: np.ndarray, rc: np.ndarray, pos: np.ndarray,
               buf_mask: np.int64) -> None:
        """Learn the true symbols (int64 (k,)) of the step just predicted; ``hist``/``rc`` are the
        lanes' histories after it and ``pos`` its positions (the repeat models')."""
        spec = self.spec
        k = len(s)
        live = self.live[:k]
        hit = live & (self.pred[:k] == s[:, None])
        ph = self.ph[:k]
        code = np.where(hit, ph, (_ONE - ph) // 3)
        cost = self._cost[self._stretch[code] + STRETCH_LIMIT]
        L = self.L[:k]
        L[:] = np.where(live, L - (L >> spec.decay) + cost, L)
        count_states(self.hits, self.total, self.state[:k], live, hit)
        follow(self.run[:k], self.miss[:k], live, hit, self._wmask, spec.threshold)
        self.q[:k] += self.dir[:k]
        key = self._key(hist[:k] & self._kmask)
        self._start(key, pos, 1, 1, buf_mask)
        self._start(self._key(rc[:k] >> self._rc_shift), pos, -self.kmer, -1, buf_mask)
        self._insert(key, pos)

    def _key(self, kmers: np.ndarray) -> np.ndarray:
        return ((kmers * np.uint64(HASH_MULT)) >> self._kshift).astype(np.int64)

    def _start(self, key: np.ndarray, pos: np.ndarray, shift: int, direction: int, buf_mask: np.int64) -> None:
        """Per lane with a free slot, start a voter at the newest indexed position + ``shift`` that
        is in the ring buffer and not already followed by a live voter of ``direction``."""
        k = len(key)
        b = self.spec.bucket
        entries = self.index[(key * b)[:, None] + np.arange(b)]
        q = entry_positions(entries, pos[:, None]) + shift
        live = self.live[:k]
        same = live & (self.dir[:k] == direction)
        followed = (same[:, None, :] & (self.q[:k, None, :] == q[:, :, None])).any(axis=2)
        ok = (entries != 0) & (q >= 0) & (q > (pos - buf_mask)[:, None]) & ~followed
        best = np.where(ok, q, -1).max(axis=1)
        lanes = np.flatnonzero((best >= 0) & ~live.all(axis=1))
        if len(lanes) == 0:
            return
        lmin = np.where(live[lanes], self.L[lanes], np.iinfo(np.int64).max).min(axis=1)
        lmin = np.where(live[lanes].any(axis=1), lmin, 0)
        slot = np.argmin(live[lanes], axis=1)
        self.q[lanes, slot] = best[lanes]
        self.dir[lanes, slot] = direction
        self.live[lanes, slot] = True
        self.run[lanes, slot] = 0
        self.miss[lanes, slot] = 0
        self.L[lanes, slot] = lmin + self.spec.init

    def _insert(self, key: np.ndarray, pos: np.ndarray) -> None:
        """Enter every lane's position into its key's bucket, lanes in order: into the first empty
        entry, else over the oldest entry if that is older than the position."""
        b = self.spec.bucket
        order = np.argsort(key, kind="stable")
        starts = run_starts(key[order])
        rank = np.arange(len(key)) - np.repeat(starts, np.diff(np.append(starts, len(key))))
        lane_rank = np.empty(len(key), dtype=np.int64)
        lane_rank[order] = rank
        for r in range(int(lane_rank.max()) + 1 if len(key) else 0):
            lanes = np.flatnonzero(lane_rank == r)  # distinct keys: one vectorised round
            cells = (key[lanes] * b)[:, None] + np.arange(b)
            entries = self.index[cells]
            p = pos[lanes]
            empty = entries == 0
            age = p[:, None] - entry_positions(entries, p[:, None])
            age = np.where(empty, np.iinfo(np.int64).max, age)
            slot = np.argmax(age, axis=1)
            take = age[np.arange(len(lanes)), slot] > 0
            self.index[cells[take, slot[take]]] = ((p[take] + 1) & _M32).astype(np.uint32)
