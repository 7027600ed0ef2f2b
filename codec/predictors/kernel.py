"""The compiled step of the count-model predictors: ``predict`` and ``update`` fused into one call
each, and whole blocks of them, over the state arrays of the numpy reference classes.

The step is C: the extension ``codec._native`` (``codec/native/kernel.c``), built by ``pip install``
and called through ctypes (:mod:`codec.predictors.kernel_c`). It computes exactly what the numpy
reference (``context_models``, ``tolerant``, ``repeat``, ``repeat_votes``, ``mixer``, ``sse``;
``spec/MIX.md``) computes, so a predictor may switch between the two at any step. Where the
extension is not built (no C compiler at install), or ``DNACODEC_KERNEL=0``, the numpy reference
runs alone: the same archives, 50-100 times slower. Everything that several lanes write in one step
is a commutative integer sum (or a maximum) applied after all lanes were read, so no result depends
on the thread count or which thread takes which lanes. ``tests/test_kernel.py`` proves the C step and
the reference identical, frequency for frequency and state for state.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from functools import lru_cache

import numpy as np

from codec.fixedpoint import pow2_table, squash_table, stretch_table
from codec.predictors.mixer import cost_table

# GNU OpenMP (the C step's threading) spins 300,000 times at every join before it sleeps: with
# another busy process on the cores, the spinning thread takes the core the lagging one needs and a
# step runs 3-8 times slower (spec/LEVELS.md, session 24). A short spin costs nothing measurable on
# an idle machine. libgomp reads this when it is first loaded; a value the user set (or
# OMP_WAIT_POLICY) wins.
_GOMP_SPINCOUNT = "300"
if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = _GOMP_SPINCOUNT

LEARN_GROUPS = 8  # most lane chunks of a step's parallel regions (the shared mixers' sums are the same for any)
BLOCK_LANES = 16  # lanes a thread takes at a time in predict's and update's per-lane regions
CLAIM_STRIDE = 8  # int64s between claim counters: one cache line each, so that threads don't contend
CODE_NONE, CODE_ENCODE, CODE_DECODE = 0, 1, 2  # what a step does with each lane's frequencies
# steps per compiled call of a fused block: short enough that Ctrl-C and other signals, which Python
# handles between calls, get through within a fraction of a second
_CHUNK_STEPS = 256


@lru_cache(maxsize=None)
def backend() -> str | None:
    """The compiled step this process runs: ``"c"`` where the extension is built and current, else
    None (the numpy path, with a warning once: it is much slower). ``DNACODEC_KERNEL=0``: None,
    silently."""
    if os.environ.get("DNACODEC_KERNEL", "1").strip() == "0":
        return None
    from codec import extension
    from codec.predictors import kernel_c

    if kernel_c.library() is not None:
        return "c"
    if not extension.built():  # a stale build has said so itself
        warnings.warn(f"the C extension codec._native is not built; {extension.FALLBACK}. Reinstall with a "
                      "C compiler at hand (pip install .) to build it.", RuntimeWarning, stacklevel=2)
    return None


def available() -> bool:
    """Whether a compiled step runs here (:func:`backend` is not None)."""
    return backend() is not None


_lock = threading.Lock()  # one compiled call at a time: each holds the process's OpenMP threads
_ran = False  # a compiled step ran in this process
_forked_after_run = False
_threads = 0  # the C step's thread count (0: one per core)


def _after_fork_in_child() -> None:
    global _forked_after_run
    _forked_after_run = _forked_after_run or _ran


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def runs_here() -> bool:
    """False in a process forked after this one ran a compiled step: GNU OpenMP, the C step's
    threading, does not survive fork, so predictors there take the numpy path (the
    same arithmetic over the same state, only slower)."""
    return not _forked_after_run


@lru_cache(maxsize=None)
def _cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - platforms without affinity
        return max(1, os.cpu_count() or 1)


def set_threads(n: int) -> int:
    """Run the compiled step on ``n`` threads (0: one per core, at most that many); returns the
    number in use. Results never depend on it."""
    global _threads
    _threads = 0 if n <= 0 else min(n, _cores())
    return _threads_in_use()


def _threads_in_use() -> int:
    """The threads the compiled step may run on now (:func:`set_threads`)."""
    return _threads or _cores()


def _step_threads(k: int) -> int:
    """Threads a step over k lanes runs on, which is also its parallel regions' lane chunk count:
    those in use, but no more than its blocks of BLOCK_LANES lanes. A thread with no block of its
    own would only add a launch and a join to every region: on a small input (tens of lanes) that
    was most of the step."""
    return max(1, min(_threads_in_use(), -(-k // BLOCK_LANES)))


def rans_encode_steps(freq: np.ndarray, start: np.ndarray, coded: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The step loop of :func:`codec.coder.encode` compiled (same arithmetic, same output): steps
    from last to first, the coded lanes of each renormalising in lane order and then taking their
    symbol. ``x`` (lanes,) holds the initial states and ends with the final ones; returns the
    renormalisation words in stream order."""
    from codec.predictors import kernel_c

    return kernel_c.rans_encode_steps(freq, start, coded, x)


_I64 = np.int64
_CACHED_TABLE_BYTES = 1 << 20  # a table larger than this misses a core's cache (update's task costs)


def _empty(*shape, dtype=np.int64):
    return np.zeros(shape, dtype=dtype)


def _task_costs(cm, ir_cols: np.ndarray, codon, has_repeat: bool) -> np.ndarray:
    """Estimated cost of each of :func:`update`'s shared tasks, to spread them evenly over the
    threads (:func:`_task_owners`): a table's increments cost a random access per lane and
    direction, four times as much for a table larger than a core's cache; then the mixers' sums,
    the APM and the repeat models' shared step. Only the speed depends on it."""
    def table_cost(offsets: np.ndarray, total: int) -> np.ndarray:
        spans = np.diff(np.append(offsets, total)) * 4
        return np.where(spans > _CACHED_TABLE_BYTES, 4, 1).astype(_I64)

    cm_cost = table_cost(cm.offsets.astype(_I64), len(cm.table))
    cm_cost[ir_cols] *= 2
    cod_cost = table_cost(codon.offsets, len(codon.table)) if codon is not None else _empty(0)
    return np.concatenate([cm_cost, cod_cost, [2, 1, 4 if has_repeat else 0]]).astype(_I64)


def _task_owners(cost: np.ndarray, chunks: int) -> np.ndarray:
    """Which lane chunk (thread) runs each of :func:`update`'s shared tasks: the costliest first, each
    to the chunk with the least so far (``cost``: each task's estimated cost)."""
    owner = np.zeros(len(cost), dtype=_I64)
    load = np.zeros(chunks, dtype=_I64)
    for t in np.argsort(-cost, kind="stable"):
        best = int(np.argmin(load))
        owner[t] = best
        load[best] += cost[t]
    return owner


class KernelStep:
    """The compiled ``predict``/``update`` of a predictor built from the reference components: a
    :class:`~codec.predictors.context_models.ContextModels` bank, optional tolerant and repeat
    models, a per-lane mixer, optional competition (shared + final mixers), optional per-lane local
    models and a residual mixer (kind 5), optional codon models (kind 6), the case context (kind 7),
    the residual context (kind 8) and an optional APM. It reads and writes the components' own
    arrays. Mixer input columns: the bank's models, then the tolerant and repeat models, ``n_extra``
    inputs from ``extra_col`` and the bias at ``bias_col``."""

    def __init__(self, cm, lanes: int, lane_mixer, *, bias_col: int, extra_col: int, n_extra: int,
                 tol=None, rep=None, votes=None, local=None, codon=None, competition=None, shared_mixer=None,
                 final_mixer=None, residual=None, sse=None, sse_order: int = 0, case_flags: int = 0,
                 residual_flags: int = 0) -> None:
        from codec.predictors import kernel_c

        self._rep = rep
        n_in = lane_mixer.inputs
        n_tol = tol.inputs if tol is not None else 0
        n_rep = rep.inputs if rep is not None else 0
        ir_cols = cm._ir.astype(np.int64)
        # update's shared tasks: their costs, and in scratch[31][c] their chunks when there are c
        task_cost = _task_costs(cm, ir_cols, codon, rep is not None)
        self._cm = (cm.table, cm.hist, cm.rc, cm.ctx_mask, cm._mult, cm._shift, cm.offsets.astype(_I64),
                    cm._st2, cm.st_offset.astype(_I64), ir_cols, cm._ir_shift,
                    cm._ir_sym_shift, cm._limit_by_model.astype(_I64))
        if tol is not None:
            self._tol = (tol.hist, tol.misses, tol._cols, tol._mask, tol._st_offset.astype(_I64),
                         tol._window, tol._threshold)
        else:
            self._tol = (_empty(lanes, 0, dtype=np.uint64), _empty(lanes, 0, dtype=np.uint32), _empty(0),
                         _empty(0, dtype=np.uint64), _empty(0), _empty(0, dtype=np.uint32), _empty(0))
        if rep is not None:
            sp = rep.spec
            self._rep_arrays = (rep._buf, rep._dir, rep._q, rep._live, rep._run, rep._miss, rep._hits,
                                rep._total, rep._index, rep._lane_start)
            rep_layout = (int(rep._buf_mask), sp.slots, sp.kmer, 64 - sp.index_bits, 64 - 2 * sp.kmer,
                          (1 << sp.window) - 1, sp.threshold, int(sp.ir))
        else:
            self._rep_arrays = (_empty(1, dtype=np.uint8), _empty(0), _empty(lanes, 0),
                                _empty(lanes, 0, dtype=np.bool_), _empty(lanes, 0),
                                _empty(lanes, 0, dtype=np.uint32), _empty(0), _empty(0), _empty(1),
                                _empty(lanes))
            rep_layout = (0, 0, 1, 0, 0, 0, 0, 0)
        if votes is not None:
            vs = votes.spec
            self._vote = (votes.index, votes.q, votes.dir, votes.live, votes.run, votes.miss, votes.L, votes.hits,
                          votes.total, votes.pred, votes.state, votes.ph, pow2_table().astype(_I64),
                          np.array([1, vs.voters, vs.bucket, 64 - vs.index_bits, (1 << vs.window) - 1,
                                    vs.threshold, vs.decay, vs.init], dtype=_I64),
                          _empty(lanes, 2), _empty(lanes, vs.voters), cost_table().astype(_I64))
        else:
            self._vote = (_empty(1, dtype=np.uint32), _empty(lanes, 0), _empty(lanes, 0),
                          _empty(lanes, 0, dtype=np.bool_), _empty(lanes, 0), _empty(lanes, 0, dtype=np.uint32),
                          _empty(lanes, 0), _empty(1), _empty(1), _empty(lanes, 0), _empty(lanes, 0),
                          _empty(lanes, 0), _empty(1), _empty(8), _empty(lanes, 2), _empty(lanes, 0), _empty(1))
        n_loc = local.inputs if local is not None else 0
        n_cod = codon.inputs if codon is not None else 0
        if n_loc:
            loc = (local.counts, local.mask, local.limit, local.st_offset, local.st2, local.period,
                   local.stride)
            loc_offset = local.offset
        else:
            loc = (_empty(lanes, 1, dtype=np.uint32), _empty(0), _empty(0), _empty(0),
                   _empty(1, dtype=np.int16), _empty(0), _empty(0))
            loc_offset = _empty(0)
        phase = local.phase if local is not None else _empty(1)
        if n_cod:
            cod = (codon.table, codon.mask, codon.offsets, np.array([codon.hypotheses], dtype=_I64),
                   codon.st2, codon.score, codon.best,
                   np.array([codon.spec.decay, codon.starts_over_limit], dtype=_I64),
                   codon.limit, _empty(lanes, n_cod), _empty(n_cod, lanes), _empty(n_cod, lanes),
                   cost_table().astype(_I64))
        else:
            cod = (_empty(1, dtype=np.uint32), _empty(0, dtype=np.uint64), _empty(0), _empty(1),
                   _empty(1, dtype=np.int16), _empty(lanes, 6), _empty(lanes), _empty(1), _empty(1), _empty(lanes, 0),
                   _empty(0, lanes), _empty(0, lanes), _empty(1))
        # local models, the step phase, codon models, the local models' row offsets (one tuple keeps the
        # step functions' signatures)
        self._loc = (*loc, phase, *cod, loc_offset)
        res_w = residual.w if residual is not None else _empty(1, 3, n_in + 1)
        shared_sets = shared_mixer.w.shape[0] if competition is not None else 1
        if competition is not None:
            self._mixers = (lane_mixer.w, shared_mixer.w, final_mixer.w, res_w)
            self._comp = (competition._score, competition.classes, competition._cost.astype(_I64))
            rates = (lane_mixer.rate, final_mixer.rate, competition._decay)
        else:
            self._mixers = (lane_mixer.w, _empty(1, 3, n_in), _empty(lanes, 3, 3), res_w)
            self._comp = (_empty(lanes, max(n_in - 1, 1)), _empty(1), _empty(1))
            rates = (lane_mixer.rate, 0, 0)
        if sse is not None:
            n = len(sse.t)
            self._sse = (sse.t, _empty(n), _empty(n), _empty(n))
            sse_params = (sse_order, sse.rate)
        else:
            self._sse = (_empty(1), _empty(1), _empty(1), _empty(1))
            sse_params = (0, 0)
        self._layout = (cm.inputs, n_tol, n_rep, extra_col, bias_col, n_in, int(competition is not None),
                        *rates, *sse_params, *rep_layout, residual.rate if residual is not None else 0,
                        lane_mixer.round, case_flags, residual_flags)
        # the stretch table as int16 (|stretch| <= STRETCH_LIMIT): 128 KB, which stays cached
        self._scratch = (stretch_table().astype(np.int16), squash_table().astype(_I64),
                         _empty(lanes, cm.inputs), _empty(lanes, 3, n_in, dtype=np.int16), _empty(lanes, n_tol),
                         _empty(lanes, n_tol, dtype=np.bool_), _empty(lanes, n_rep), _empty(lanes, n_rep),
                         *(_empty(lanes, 3) for _ in range(6)), _empty(lanes), _empty(lanes, 3, 3),
                         _empty(lanes, 3), _empty(lanes), _empty(lanes),
                         _empty(lanes, n_tol), _empty(lanes, cm.inputs + n_tol + n_loc + n_cod, dtype=np.uint32),
                         _empty(lanes, n_rep), _empty(lanes, len(ir_cols)), _empty(lanes, 2),
                         # 24: the repeat statistics per lane chunk (update's phase 1; the shared phase sums and clears)
                         np.zeros((LEARN_GROUPS, 2, len(rep._total) if rep is not None else 1), dtype=_I64),
                         _empty(LEARN_GROUPS, res_w.shape[0], 3, n_in + 1), _empty(lanes, 3),
                         _empty(lanes, 3), np.zeros(lanes, dtype=_I64),
                         _empty(LEARN_GROUPS, shared_sets, 3, n_in), np.ones(2, dtype=_I64),
                         np.stack([_task_owners(task_cost, max(c, 1)) for c in range(LEARN_GROUPS + 1)]),
                         np.argsort(-task_cost, kind="stable").astype(_I64),
                         _empty((2 * LEARN_GROUPS + len(task_cost)) * CLAIM_STRIDE))
        self._threads = self._scratch[30]  # the step's chunk count and threads, set before each compiled call
        ir_pos = np.full(cm.inputs, -1, dtype=_I64)
        ir_pos[ir_cols] = np.arange(len(ir_cols))
        self._pending = (_empty(cm.inputs, 2 * lanes), _empty(cm.inputs, 2 * lanes), ir_pos)
        self._n_extra = n_extra
        self._no_extra = _empty(lanes, 3, 0)
        self._upper = _empty(1, lanes, dtype=np.uint8)  # the case grid of a block without one
        # the C step reads the arrays above through one table of their addresses, made once
        self._native = kernel_c.NativeStep(self)

    def predict(self, k: int, extra: list[np.ndarray], case: np.ndarray | None = None) -> np.ndarray:
        """(k, 4) frequencies; ``extra`` holds one (k, 3) stretch array per extra input, ``case``
        (k,) the lanes' lowercase bits (None: all upper case)."""
        ex = np.stack(extra, axis=2).astype(_I64) if extra else self._no_extra[:k]
        case = self._upper[0] if case is None else np.ascontiguousarray(case, dtype=np.uint8)
        with self._stepping(k):
            return self._native.predict(k, ex, case)

    def encode(self, steps: np.ndarray, counts: np.ndarray, case: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """:func:`codec.predictors.encode_block` in one compiled call (no extra inputs); ``case``
        is the block's (T, lanes) lowercase grid (None: all upper case)."""
        assert self._n_extra == 0
        freq = np.zeros(steps.shape, dtype=np.uint32)
        start = np.zeros(steps.shape, dtype=np.uint32)
        steps = np.ascontiguousarray(steps, dtype=np.uint8)
        counts = np.asarray(counts, dtype=_I64)
        case = self._case_grid(case)
        for t0 in range(0, len(counts), _CHUNK_STEPS):
            t1 = min(t0 + _CHUNK_STEPS, len(counts))
            t = self._rep._t if self._rep is not None else 0
            with self._stepping(int(counts[t0])):
                self._native.encode(t0, t1, steps, counts, t, case, freq, start)
            if self._rep is not None:
                self._rep._t += t1 - t0
        return freq, start

    def decode(self, decoder, counts: np.ndarray, steps: np.ndarray, case: np.ndarray | None = None) -> None:
        """Decode a block with ``decoder`` (a :class:`codec.coder.LaneDecoder`) into ``steps``
        ((T, lanes) uint8), predicting and learning as it goes (no extra inputs); ``case`` as for
        :meth:`encode`."""
        assert self._n_extra == 0
        counts = np.asarray(counts, dtype=_I64)
        x, words, pos, lens, coded = decoder.arrays()
        case = self._case_grid(case)
        for t0 in range(0, len(counts), _CHUNK_STEPS):
            t1 = min(t0 + _CHUNK_STEPS, len(counts))
            t = self._rep._t if self._rep is not None else 0
            with self._stepping(int(counts[t0])):
                end = self._native.decode(t0, t1, counts, coded, lens, x, words, pos, t, case, steps)
            if self._rep is not None:
                self._rep._t += t1 - t0
            decoder.advance(t1 - t0, end - pos if end >= 0 else -1)
            pos = end

    @contextlib.contextmanager
    def _stepping(self, k: int):
        """Hold the lock for a compiled call whose steps have at most k lanes, run on
        :func:`_step_threads` threads (the chunk count the call reads from ``_threads``)."""
        global _ran
        n = _step_threads(k)
        with _lock:
            _ran = True
            self._threads[0] = self._threads[1] = n
            yield

    def _case_grid(self, case: np.ndarray | None) -> np.ndarray:
        return self._upper if case is None else np.ascontiguousarray(case, dtype=np.uint8)

    def update(self, symbols: np.ndarray) -> None:
        """Learn the true symbols (k,) of the step just predicted."""
        t = self._rep._t if self._rep is not None else 0
        sym = np.ascontiguousarray(symbols, dtype=_I64)
        with self._stepping(len(symbols)):
            self._native.update(len(sym), sym, t)
        if self._rep is not None:
            self._rep._t += 1
