"""The compiled step in numba: the arithmetic of the numpy reference classes, fused into one call per
``predict`` and one per ``update``; the backend :mod:`codec.predictors.kernel` falls back to where the
C extension (``codec/native/kernel.c``, the same statements) is not built.

The numpy classes (``context_models``, ``tolerant``, ``repeat``, ``repeat_votes``, ``mixer``,
``sse``) are the readable reference of ``spec/MIX.md``; this module runs the same integer arithmetic lane by lane in
compiled loops, over the *same* state arrays, so a predictor may switch between the two at any step.
Everything that several lanes write in one step is a commutative integer sum (or a maximum) applied
after all lanes were read, exactly as in the reference: the context-count update adds each
increment to its byte in place while the byte holds the sum, keeps the rest aside, and halves each row
over its limit once every lane's increments are in, which is what the reference's sort + per-row sum
computes. ``tests/test_kernel.py`` proves the backends and the reference identical, frequency for
frequency and state for state.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir as _llvm_ir
from numba.core import cgutils as _cgutils, types as _nb_types
from numba.extending import intrinsic as _intrinsic

from codec.coder import XMAX_SHIFT
from codec.constants import FREQ_BITS, FREQ_TOTAL, PROB_BITS, RANS_LOW, RANS_WORD_BITS, STRETCH_LIMIT
from codec.numba_cache import cached_njit
from codec.predictors.context_models import HASH_MULT, PAIR_BITS
from codec.predictors.kernel import BLOCK_LANES, CLAIM_STRIDE, CODE_DECODE, CODE_ENCODE, LEARN_GROUPS
from codec.predictors.mixer import BIAS, CASE_RESIDUAL, CASE_SHARED, CASE_SSE, LR_SHIFT, RESIDUAL_REPEAT
from codec.predictors.repeat import COUNT_LIMIT, MISS_BUCKETS, REPEAT_STATES, RUN_BOUNDS, RUN_CAP
from codec.predictors.repeat_votes import VOTE_FLOOR
from codec.predictors.sse import BUCKETS as APM_BUCKETS, STEP as APM_STEP

_HASH_MULT = np.uint64(HASH_MULT)
_U2 = np.uint64(2)
_U3 = np.uint64(3)
_U62 = np.uint64(62)
_U255 = np.uint64(255)
_ONE = 1 << PROB_BITS


def _jit(fn):
    return cached_njit(fn, boundscheck=False)


def _jit_lanes(fn):
    """Compiled with its ``prange`` loops over lanes spread over threads: each iteration writes only
    its own lane's state, so the result does not depend on the thread count."""
    return cached_njit(fn, boundscheck=False, parallel=True)


_prange = numba.prange


@_intrinsic
def _prefetch(typingctx, arr, idx):
    """Hint that ``arr[idx]`` is wanted soon (``llvm.prefetch`` with write intent, as the count
    rows it serves are read and then written; kept in all cache levels). It changes no value: it
    starts early a load that a later loop would wait for."""
    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = _cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i32 = _llvm_ir.IntType(32)
        fnty = _llvm_ir.FunctionType(_llvm_ir.VoidType(), [_cgutils.voidptr_t, i32, i32, i32])
        fn = _cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, _cgutils.voidptr_t), i32(1), i32(3), i32(1)])
        return context.get_dummy_value()
    return _nb_types.void(arr, idx), codegen


@_intrinsic
def _fetch_add(typingctx, arr, idx):
    """``arr[idx] += 1`` as one atomic step; returns the value before. How threads share out a
    step's blocks of lanes and tasks: which thread takes which never changes a result."""
    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = _cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        return builder.atomic_rmw("add", ptr, context.get_constant(_nb_types.int64, 1), "monotonic")
    return _nb_types.int64(arr, idx), codegen


@_jit
def _popcount(x):
    """Ones in a 32-bit register (SWAR: constant time)."""
    x = np.uint64(x) & np.uint64(0xFFFFFFFF)
    x = x - ((x >> np.uint64(1)) & np.uint64(0x55555555))
    x = (x & np.uint64(0x33333333)) + ((x >> np.uint64(2)) & np.uint64(0x33333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F)
    return np.int64((x * np.uint64(0x01010101)) >> np.uint64(24) & np.uint64(0xFF))


@_jit
def _candidate_state(run, miss):
    """``repeat.candidate_states`` of one candidate."""
    return run * MISS_BUCKETS + min(_popcount(miss & np.uint32(0xFF)), MISS_BUCKETS - 1)


@_jit
def _follow(run, miss, live, i, c, hit, wmask, threshold):
    """``repeat.follow`` for candidate c of lane i (``hit`` implies live)."""
    lv = live[i, c]
    run[i, c] = min(run[i, c] + 1, RUN_CAP) if hit else 0
    mm = ((miss[i, c] << np.uint32(1)) | np.uint32(1 if (lv and not hit) else 0)) & wmask
    miss[i, c] = mm
    if lv and _popcount(mm) > threshold:
        live[i, c] = False


@_jit
def _node_stretches(st, i, col, c0, c1, c2, c3, st2, off):
    st[i, 0, col] = st2[(((c2 + c3) << PAIR_BITS) | (c0 + c1)) + off]
    st[i, 1, col] = st2[((c1 << PAIR_BITS) | c0) + off]
    st[i, 2, col] = st2[((c3 << PAIR_BITS) | c2) + off]


@_jit
def _unpack(packed):
    """The four counts packed one byte each (A lowest) in ``packed``."""
    v = np.uint64(packed)
    return (np.int64(v & _U255), np.int64((v >> np.uint64(8)) & _U255), np.int64((v >> np.uint64(16)) & _U255),
            np.int64(v >> np.uint64(24)))


@_jit
def _packed_node_stretches(st, i, col, packed, st2, off):
    """:func:`_node_stretches` of four counts packed one byte each (A lowest) in ``packed``."""
    c0, c1, c2, c3 = _unpack(packed)
    _node_stretches(st, i, col, c0, c1, c2, c3, st2, off)


@_jit
def _path_cost(cost, s0, s1, hi, lo):
    """Code length (``mixer.path_cost``) of node stretches s0 (node 0) and s1 (node 1 + hi) for the
    coded bits hi, lo."""
    return cost[(s0 if hi == 1 else -s0) + STRETCH_LIMIT] + cost[(s1 if lo == 1 else -s1) + STRETCH_LIMIT]


@_jit
def _local_bases(phase, offset, period, stride):
    """Each local model's first row at this step (its table for the step phase): the same for every
    lane, so it is computed once per step."""
    out = np.empty(len(offset), dtype=np.int64)
    for c in range(len(offset)):
        out[c] = offset[c] + (phase % period[c]) * stride[c]
    return out


@_jit
def _row(ctx, m, mult, shift, offsets):
    return np.int64((ctx * mult[m]) >> shift[m]) + offsets[m]


@_jit
def _output(acc, i, j, squash, dot, p):
    """A mixer's node j of lane i from its dot product (16.16): the clamped stretch and its probability."""
    d = acc >> 16
    if d > STRETCH_LIMIT:
        d = STRETCH_LIMIT
    elif d < -STRETCH_LIMIT:
        d = -STRETCH_LIMIT
    dot[i, j] = d
    p[i, j] = squash[d + STRETCH_LIMIT]


@_jit
def _mix(w, wrow, st, i, n_in, squash, dot, p):
    """Mixer output of lane i with weight row ``wrow`` over the first n_in inputs of st[i]."""
    for j in range(3):
        acc = np.int64(0)
        for m in range(n_in):
            acc += w[wrow, j, m] * st[i, j, m]
        _output(acc, i, j, squash, dot, p)


@_jit
def _learn(w, wrow, st, i, n_in, p, hi, lo, rate, rnd):
    """Mixer learning on the coded path: node 0 (bit hi) and node 1 + hi (bit lo); ``rnd`` is added
    before the shift (:func:`codec.predictors.mixer.learn_round`)."""
    for j in (0, 1 + hi):
        err = _scaled_error(p, i, j, hi, lo, rate)
        for m in range(n_in):
            w[wrow, j, m] += (st[i, j, m] * err + rnd) >> LR_SHIFT


@_jit
def _scaled_error(p, i, j, hi, lo, rate):
    """Lane i's error on node j (bit hi on node 0, lo on node 1 + hi) times the learning rate."""
    return (((hi if j == 0 else lo) << PROB_BITS) - p[i, j]) * rate


@_jit
def _mix_residual(w, wrow, first, st, i, n_in, squash, dot, p):
    """:func:`_mix` of the residual mixer of lane i with weight row ``wrow``: its inputs are
    ``first[i]`` (the mixed stretch) followed by the n_in model inputs st[i] (read in place)."""
    for j in range(3):
        acc = w[wrow, j, 0] * first[i, j]
        for m in range(n_in):
            acc += w[wrow, j, 1 + m] * st[i, j, m]
        _output(acc, i, j, squash, dot, p)




@_jit
def _chunks(threads):
    """How many contiguous chunks of lanes :func:`predict` and :func:`update` take: one per thread in
    use (``threads[0]``, set by :class:`KernelStep` before each call), at most LEARN_GROUPS. Results
    never depend on it."""
    return min(max(threads[0], 1), LEARN_GROUPS)


@_jit
def _lane_chunk(ch, chunks, k):
    """Lanes i0..i1-1 of chunk ``ch`` of ``chunks`` contiguous chunks of lanes 0..k-1."""
    per = (k + chunks - 1) // chunks
    return ch * per, min(k, (ch + 1) * per)




@_jit
def _reset_claims(claims, first, end):
    """Zero claim counters first..end-1 (``claims`` holds one every CLAIM_STRIDE)."""
    for c in range(first, end):
        claims[c * CLAIM_STRIDE] = 0


@_jit
def _claim_lanes(claims, first, ch, chunks, k):
    """The next block of lanes for the thread of chunk ``ch``: BLOCK_LANES of its own chunk's lanes
    while any are left, then of the other chunks' (so that a thread that finishes early takes over
    work from one that is behind, instead of waiting for it); (k, k) when none are left. Counter
    ``first + c`` counts the blocks of chunk c claimed so far."""
    for v in range(chunks):
        c = (ch + v) % chunks
        c0, c1 = _lane_chunk(c, chunks, k)
        i0 = c0 + _fetch_add(claims, (first + c) * CLAIM_STRIDE) * BLOCK_LANES
        if i0 < c1:
            return i0, min(c1, i0 + BLOCK_LANES)
    return k, k


@_jit
def _learn_partial(acc, ws, st, i, n_in, p, sym, rate, rnd, first, off):
    """:func:`_learn` of lane i into ``acc[ws]``, its thread's sums for the weight sets shared by
    lanes, over the inputs st[i] preceded by first[i] when ``off`` is 1 (the residual mixer; else
    0). Each lane's increments come from its own inputs and error alone and are summed as integers
    (:func:`_add_partials`), so the result depends on neither the chunking nor the lane order."""
    hi, lo = sym[i] >> 1, sym[i] & 1
    for j in (0, 1 + hi):
        err = _scaled_error(p, i, j, hi, lo, rate)
        if off:
            acc[ws, j, 0] += (first[i, j] * err + rnd) >> LR_SHIFT
        for m in range(n_in):
            acc[ws, j, off + m] += (st[i, j, m] * err + rnd) >> LR_SHIFT


@_jit
def _add_partials(w, wset, k, n_cols, partial, chunks):
    """Add the threads' sums (``partial``: LEARN_GROUPS, sets, 3, columns) of the weight sets lanes
    0..k-1 used (``wset``) to ``w`` and clear them. ``partial`` is zero between steps: clearing only
    what was used keeps the step's fixed cost to the sets its lanes chose."""
    used = np.zeros(w.shape[0], dtype=np.bool_)
    for i in range(k):
        used[wset[i]] = True
    for ws in range(w.shape[0]):
        if used[ws]:
            for g in range(chunks):
                for j in range(3):
                    for m in range(n_cols):
                        w[ws, j, m] += partial[g, ws, j, m]
                        partial[g, ws, j, m] = 0


@_jit_lanes
def predict(k, cm, tol, rep, vote, loc, mixers, comp, sse, layout, scratch, extra, case, coding):
    """Frequencies (k, 4) of lanes 0..k-1; fills ``scratch`` for :func:`update`. ``case`` (lanes,):
    each lane's lowercase bit at this step, a context where ``layout[22]`` says (CASE_* flags);
    ``coding``: each lane's part of coding the step (:func:`_code_lane`)."""
    table, hist, ctx_mask, mult, shift, offsets, st2, st_offset = cm[0], cm[1], cm[3], cm[4], cm[5], \
        cm[6], cm[7], cm[8]
    tol_hist, tol_cols, tol_mask, tol_st_offset = tol[0], tol[2], tol[3], tol[4]
    buf, rdir, rq, rlive, rrun, rmiss, rhits, rtotal = rep[0], rep[1], rep[2], rep[3], rep[4], \
        rep[5], rep[6], rep[7]
    lane_w, shared_w, final_w, res_w = mixers
    loc_counts, loc_mask, loc_st_offset, loc_st2 = loc[0], loc[1], loc[3], loc[4]
    loc_period, loc_stride, phase = loc[5], loc[6], loc[7][0]
    ctable, cmask, coff, cnh, cst2, cbest, crows = loc[8], loc[9], loc[10], loc[11][0], loc[12], loc[14], \
        loc[17]
    n_loc = len(loc_mask)
    n_cod = len(cmask)
    lbase = _local_bases(phase, loc[21], loc_period, loc_stride)
    res_rate, case_flags, res_flags = layout[20], layout[22], layout[23]
    res_cases = 2 if case_flags & CASE_RESIDUAL else 1
    p5, dot5, res_set = scratch[26], scratch[27], scratch[28]
    score, classes = comp[0], comp[1]
    apm = sse[0]
    stretch, squash = scratch[0], scratch[1]
    rows, st, tol_pred, tol_seen, rep_pred, rep_state = scratch[2:8]
    p, dot, p2, dot2, p3, dot3, wset, st_fin, near = scratch[8:17]
    n_cm, n_tol, n_rep, extra_col, bias_col, n_in, competition = layout[:7]
    sse_order, buf_mask = layout[10], layout[12]
    sse_mask = np.uint64((1 << (2 * sse_order)) - 1)
    n_models = n_in - 1
    # the repeat models' confidence per state
    n_states = len(rtotal)
    st_hi = np.empty(n_states, dtype=np.int64)
    st_lo = np.empty(n_states, dtype=np.int64)
    for s in range(n_states):
        pr = ((2 * rhits[s] + 1) << PROB_BITS) // (2 * rtotal[s] + 2)
        st_hi[s] = stretch[min((_ONE + 2 * pr) // 3, _ONE - 1)]
        st_lo[s] = stretch[min((3 * pr << PROB_BITS) // (_ONE + 2 * pr), _ONE - 1)]
    trows, vals, rbase = scratch[19], scratch[20], scratch[21]
    n_vote = vote[13][0]
    vph = _vote_state_probabilities(vote[7], vote[8])
    lcol = n_cm + n_tol  # the local models' and then the codon models' counts follow in vals
    loc_col = n_cm + n_tol + n_rep + (1 if n_vote else 0)
    out = np.empty((k, 4), dtype=np.int64)
    pos = np.empty((k, 3), dtype=np.int64)
    chunks = _chunks(scratch[30])
    claims = scratch[33]
    _reset_claims(claims, 0, chunks)
    # one parallel region (one launch per step, not four): each thread takes blocks of lanes through
    # every phase, each phase its own loop over the block
    for ch in _prange(chunks):
        for _ in range(k):
            i0, i1 = _claim_lanes(claims, 0, ch, chunks, k)
            if i0 >= i1:
                break
            # rows first, then one tight gather: the lanes' table reads are independent, so their cache
            # misses overlap instead of queueing behind the arithmetic
            for i in range(i0, i1):
                h = hist[i]
                for m in range(n_cm):
                    rows[i, m] = _row(h & ctx_mask[m], m, mult, shift, offsets)
                for t in range(n_tol):
                    trows[i, t] = _row(tol_hist[i, t] & tol_mask[t], tol_cols[t], mult, shift, offsets)
                if n_cod:
                    hb = cbest[i]
                    cls = (hb // 3) * 3 + (phase + hb) % 3
                    for c in range(n_cod):
                        crows[i, c] = coff[c] + np.int64(h & cmask[c]) * cnh + cls
            for i in range(i0, i1):
                h = hist[i]
                for m in range(n_cm):
                    vals[i, m] = table[rows[i, m]]
                for t in range(n_tol):
                    vals[i, n_cm + t] = table[trows[i, t]]
                for c in range(n_loc):
                    vals[i, lcol + c] = loc_counts[i, lbase[c] + np.int64(h & np.uint64(loc_mask[c]))]
                for c in range(n_cod):
                    vals[i, lcol + n_loc + c] = ctable[crows[i, c]]
                for r in range(n_rep):
                    # a dead candidate's base is never used: it reads buf[0], always cached, instead of a
                    # cache miss where its position has walked to (no branch: live and dead alternate)
                    rbase[i, r] = buf[(rq[i, r] & buf_mask) * np.int64(rlive[i, r])]
            # the count models' node stretches: table lookups only, so that many lanes' misses overlap
            for i in range(i0, i1):
                for m in range(n_cm):
                    _packed_node_stretches(st, i, m, vals[i, m], st2, st_offset[m])
                for t in range(n_tol):
                    c0, c1, c2, c3 = _unpack(vals[i, n_cm + t])
                    best, bc = 0, c0
                    if c1 > bc:
                        best, bc = 1, c1
                    if c2 > bc:
                        best, bc = 2, c2
                    if c3 > bc:
                        best, bc = 3, c3
                    tol_pred[i, t] = best
                    tol_seen[i, t] = bc > 0
                    _node_stretches(st, i, n_cm + t, c0, c1, c2, c3, st2, tol_st_offset[t])
                for c in range(n_loc):
                    _packed_node_stretches(st, i, loc_col + c, vals[i, lcol + c], loc_st2, loc_st_offset[c])
                for c in range(n_cod):
                    _packed_node_stretches(st, i, loc_col + n_loc + c, vals[i, lcol + n_loc + c], cst2, 0)
            for i in range(i0, i1):
                h = hist[i]
                po = pos[i]
                cs = np.int64(case[i])
                best_run = 0
                for r in range(n_rep):
                    col = n_cm + n_tol + r
                    b = np.int64(rbase[i, r])
                    pred = b if rdir[r] > 0 else 3 - b
                    state = _candidate_state(rrun[i, r], rmiss[i, r])
                    rep_pred[i, r] = pred
                    rep_state[i, r] = state
                    sh, sl = 0, 0
                    if rlive[i, r]:
                        sh, sl = st_hi[state], st_lo[state]
                        best_run = max(best_run, rrun[i, r] + 1)
                    hi = pred >> 1
                    lo = sl if (pred & 1) == 1 else -sl
                    st[i, 0, col] = sh if hi == 1 else -sh
                    st[i, 1, col] = lo if hi == 0 else 0
                    st[i, 2, col] = lo if hi == 1 else 0
                if n_vote:
                    _vote_predict(i, vote, vph, buf, buf_mask, st, n_cm + n_tol + n_rep, stretch)
                for e in range(extra.shape[2]):
                    for j in range(3):
                        st[i, j, extra_col + e] = extra[i, j, e]
                for j in range(3):
                    st[i, j, bias_col] = BIAS
                _mix(lane_w, i, st, i, n_in, squash, dot, p)
                if competition:
                    c = 0
                    for m in range(1, n_models):
                        if score[i, m] < score[i, c]:
                            c = m
                    rs = 0
                    for bound in RUN_BOUNDS:
                        rs += 1 if best_run > bound else 0
                    wset[i] = classes[c] * REPEAT_STATES + rs
                    if case_flags & CASE_SHARED:
                        wset[i] = 2 * wset[i] + cs
                    _mix(shared_w, wset[i], st, i, n_in, squash, dot2, p2)
                    for j in range(3):
                        st_fin[i, j, 0] = dot[i, j]
                        st_fin[i, j, 1] = dot2[i, j]
                        st_fin[i, j, 2] = BIAS
                    _mix(final_w, i, st_fin, i, 3, squash, dot3, p3)
                    for j in range(3):
                        po[j] = p3[i, j]
                else:
                    for j in range(3):
                        po[j] = p[i, j]
                if res_rate:
                    res_set[i] = cs if case_flags & CASE_RESIDUAL else 0
                    if res_flags & RESIDUAL_REPEAT:
                        for bound in RUN_BOUNDS:
                            res_set[i] += res_cases if best_run > bound else 0
                    _mix_residual(res_w, res_set[i], dot3 if competition else dot, st, i, n_in, squash, dot5, p5)
                    for j in range(3):
                        po[j] = p5[i, j]
                if sse_order:
                    hctx = np.int64(h & sse_mask)
                    if case_flags & CASE_SSE:
                        hctx += cs * (3 << (2 * sse_order))
                    for j in range(3):
                        ctx = hctx + (j << (2 * sse_order))
                        sv = stretch[po[j]] + STRETCH_LIMIT
                        lo = min(sv // APM_STEP, APM_BUCKETS - 2)
                        frac = sv - lo * APM_STEP
                        base = ctx * APM_BUCKETS + lo
                        q = (apm[base] * (APM_STEP - frac) + apm[base + 1] * frac) // APM_STEP
                        near[i, j] = base + 1 if frac * 2 >= APM_STEP else base
                        po[j] = max(min((po[j] + 3 * q) >> 2, _ONE - 1), 1)
                _frequencies(po, i, out)
                _code_lane(i, out, coding)
    return out


@_jit
def _frequencies(p, i, out):
    total = FREQ_TOTAL
    f_hi = min(max((p[0] * total) >> PROB_BITS, 2), total - 2)
    f_lo_side = total - f_hi
    f1 = min(max((f_lo_side * p[1]) >> PROB_BITS, 1), f_lo_side - 1)
    f3 = min(max((f_hi * p[2]) >> PROB_BITS, 1), f_hi - 1)
    out[i, 0] = f_lo_side - f1
    out[i, 1] = f1
    out[i, 2] = f_hi - f3
    out[i, 3] = f3




@_jit
def _code_lane(i, f, coding):
    """Lane i's part of coding the step, in predict's parallel region where its frequencies ``f[i]``
    were just written (a later serial loop over the lanes would read half of them from the other
    core's cache). ``coding``: (mode, coded lanes, step) then the step's symbols (lanes,), ``sym``,
    ``freq``, ``start``, the rANS states ``x`` and the lanes' lengths. Encoding: the symbol's
    frequency and cumulative start. Decoding (:class:`codec.coder.LaneDecoder`): a coded lane's
    symbol from its state, which moves past it (the caller renormalises the states in lane order),
    or a tail symbol from the recovered state; the symbol goes to both ``symbols`` and ``sym``."""
    ints, symbols, sym, freq, start, x, lens = coding
    mode = ints[0]
    if mode == CODE_ENCODE:
        s = np.int64(symbols[i])
        sym[i] = s
        # no branches on the symbol, as with decoding
        freq[i] = f[i, s]
        start[i] = (f[i, 0] if s > 0 else 0) + (f[i, 1] if s > 1 else 0) + (f[i, 2] if s > 2 else 0)
    elif mode == CODE_DECODE:
        if i < ints[1]:
            xi = x[i]
            slot = np.int64(xi & np.uint64(FREQ_TOTAL - 1))
            c1 = f[i, 0]
            c2 = c1 + f[i, 1]
            c3 = c2 + f[i, 2]
            s = np.int64(slot >= c1) + np.int64(slot >= c2) + np.int64(slot >= c3)
            c = 0 if s == 0 else c1 if s == 1 else c2 if s == 2 else c3
            x[i] = np.uint64(f[i, s]) * (xi >> np.uint64(FREQ_BITS)) + np.uint64(slot - c)
        else:
            s = np.int64((x[i] >> np.uint64(2 * (lens[i] - 1 - ints[2]))) & _U3)
        sym[i] = s
        symbols[i] = s


@_jit_lanes
def update(k, sym, t_rep, cm, tol, rep, vote, loc, mixers, comp, sse, layout, scratch, pending):
    """Learn the true symbols ``sym`` (k,) of the step :func:`predict` just made."""
    table, hist, rc, ctx_mask, mult, shift, offsets = cm[:7]
    ir_cols, ir_shift, ir_sym_shift, limit_by_model = cm[9], cm[10], cm[11], cm[12]
    tol_hist, tol_miss, tol_cols, tol_mask, tol_window, tol_threshold = tol[0], tol[1], tol[2], tol[3], tol[5], tol[6]
    buf, rdir, rq, rlive, rrun, rmiss, rhits, rtotal, rindex, lane_start = rep
    lane_w, shared_w, final_w, res_w = mixers
    loc_counts, loc_mask, loc_limit = loc[0], loc[1], loc[2]
    loc_period, loc_stride, phase_a = loc[5], loc[6], loc[7]
    # cparams: the codon score decay, then whether codon rows start above the limit (check_all below)
    ctable, cmask, coff, cnh, cst2, cscore, cbest, cparams, climit, crows = loc[8:18]
    c_over, c_check, ccost = loc[18], loc[19], loc[20]
    phase = phase_a[0]
    lbase = _local_bases(phase, loc[21], loc_period, loc_stride)
    n_loc = len(loc_mask)
    n_cod = len(cmask)
    res_rate, rnd = layout[20], layout[21]
    res_partial, p5, res_set, shared_partial = scratch[25], scratch[26], scratch[28], scratch[29]
    score, classes, cost = comp
    apm, apm_total, apm_count, apm_used = sse
    rows, st, tol_pred, tol_seen, rep_pred, rep_state = scratch[2:8]
    p, dot, p2, dot2, p3, dot3, wset, st_fin, near, rep_key, rep_pos = scratch[8:19]
    stretch_t = scratch[0]
    n_cm, n_tol, n_rep, extra_col, bias_col, n_in, competition = layout[:7]
    mixer_rate, final_rate, decay, sse_order, sse_rate, buf_mask, slots, kmer, kshift, rc_shift, \
        rep_wmask, rep_threshold, rep_ir = layout[7:20]
    kmask = np.uint64(0xFFFFFFFFFFFFFFFF) >> np.uint64(64 - 2 * max(kmer, 1))
    over_keys, check_rows, ir_pos = pending
    n_models = n_in - 1
    irrows, rlook, tally = scratch[22], scratch[23], scratch[24]
    n_ir = len(ir_cols)
    n_vote, vshift = vote[13][0], np.uint64(vote[13][3])
    vkey = vote[14]
    res_first = dot3 if competition else dot
    chunks = _chunks(scratch[30])
    claims = scratch[33]
    _reset_claims(claims, LEARN_GROUPS, 2 * LEARN_GROUPS + len(scratch[32]))
    # one parallel region for what each lane keeps to itself (one launch, not three, per step: the
    # launches were most of a step's fixed cost): each thread takes blocks of lanes (as in predict)
    # through both phases
    for ch in _prange(chunks):
        for _ in range(k):
            i0, i1 = _claim_lanes(claims, LEARN_GROUPS, ch, chunks, k)
            if i0 >= i1:
                break
            # 1. histories, the rows and k-mer keys the shared phase needs, per-lane mixers, competition
            # scores, tolerant histories and repeat candidates
            for i in range(i0, i1):
                s = sym[i]
                hi, lo = s >> 1, s & 1
                su = np.uint64(s)
                h0 = hist[i]
                hv = (h0 << _U2) | su
                rv = (rc[i] >> _U2) | ((_U3 - su) << _U62)
                hist[i] = hv
                rc[i] = rv
                # the rows and index entries this step's shared phase reads, requested now so that their
                # cache misses overlap this lane's arithmetic below
                for j in range(n_ir):
                    irrows[i, j] = _row(rv >> ir_shift[j], ir_cols[j], mult, shift, offsets)
                    _prefetch(table, irrows[i, j])
                if n_rep:
                    hd = (hv & kmask) * _HASH_MULT
                    hr = (rv >> np.uint64(rc_shift)) * _HASH_MULT
                    rep_key[i] = np.int64(hd >> np.uint64(kshift))
                    rlook[i, 1] = np.int64(hr >> np.uint64(kshift))
                    _prefetch(rindex, rep_key[i])
                    _prefetch(rindex, rlook[i, 1])
                for c in range(n_loc):
                    r = lbase[c] + np.int64(h0 & np.uint64(loc_mask[c]))
                    sh = np.uint64(8 * s)
                    v = np.uint64(loc_counts[i, r]) + (np.uint64(1) << sh)
                    if np.int64((v >> sh) & _U255) > loc_limit[c]:
                        v = (v >> np.uint64(1)) & np.uint64(0x7F7F7F7F)  # each count halved, rounding down
                    loc_counts[i, r] = np.uint32(v)
                if n_cod:
                    _frame_score(i, hi, lo, h0, phase, ctable, cmask, coff, cnh, cst2, cscore, cbest, cparams, ccost)
                _learn(lane_w, i, st, i, n_in, p, hi, lo, mixer_rate, rnd)
                if competition:
                    _learn(final_w, i, st_fin, i, 3, p3, hi, lo, final_rate, rnd)
                    for m in range(n_models):
                        c = _path_cost(cost, st[i, 0, m], st[i, 1 + hi, m], hi, lo)
                        score[i, m] += c - (score[i, m] >> decay)
                for t in range(n_tol):
                    seen = tol_seen[i, t]
                    pt = tol_pred[i, t]
                    ts = np.uint64(pt if seen else s)
                    miss = np.uint32(1 if (seen and pt != s) else 0)
                    th = (tol_hist[i, t] << _U2) | ts
                    tm = ((tol_miss[i, t] << np.uint32(1)) | miss) & tol_window[t]
                    if _popcount(tm) > tol_threshold[t]:
                        th = hv
                        tm = np.uint32(0)
                    tol_hist[i, t] = th
                    tol_miss[i, t] = tm
                if n_rep:
                    rep_pos[i] = lane_start[i] + t_rep
                    for r in range(n_rep):
                        live = rlive[i, r]
                        hit = live and rep_pred[i, r] == s
                        # the statistics per candidate state, summed per chunk here (in parallel) and
                        # over the chunks in the shared phase
                        if live:
                            tally[ch, 0, rep_state[i, r]] += 1
                            tally[ch, 1, rep_state[i, r]] += hit
                        _follow(rrun, rmiss, rlive, i, r, hit, np.uint32(rep_wmask), rep_threshold)
                        rq[i, r] += rdir[r]
                    if n_vote:
                        _vote_learn(i, s, vote, stretch_t)
                        vkey[i, 0] = np.int64(hd >> vshift)
                        vkey[i, 1] = np.int64(hr >> vshift)
                # the next step's rows, requested for its predict
                for m in range(n_cm):
                    _prefetch(table, _row(hv & ctx_mask[m], m, mult, shift, offsets))
                for t in range(n_tol):
                    _prefetch(table, _row(tol_hist[i, t] & tol_mask[t], tol_cols[t], mult, shift, offsets))
            # 2. the new repeat candidates and voters, which need the index entries requested in 1, and
            # the thread's sums for the shared and residual mixers
            for i in range(i0, i1):
                if n_rep:
                    rlook[i, 0] = rindex[rep_key[i]]
                    rlook[i, 1] = rindex[rlook[i, 1]]
                    _start(i, rlook[i, 0], 0, rep_pos[i], rq, rlive, rrun, rmiss, slots, buf_mask)
                    if rep_ir:
                        _start(i, rlook[i, 1] - (kmer + 1), slots, rep_pos[i], rq, rlive, rrun, rmiss, slots, buf_mask)
                    # a new candidate's first base, read by the next predict: far back in the sequence, so
                    # requested now (the shared tasks run in between)
                    _prefetch(buf, rlook[i, 0] & buf_mask)
                    if rep_ir:
                        _prefetch(buf, (rlook[i, 1] - (kmer + 1)) & buf_mask)
                    if n_vote:
                        _vote_start(i, vkey[i, 0], rep_pos[i], 1, 1, vote, buf_mask)
                        _vote_start(i, vkey[i, 1], rep_pos[i], -kmer, -1, vote, buf_mask)
                if competition:
                    _learn_partial(shared_partial[ch], wset[i], st, i, n_in, p2, sym, mixer_rate, rnd, dot, 0)
                if res_rate:
                    _learn_partial(res_partial[ch], res_set[i], st, i, n_in, p5, sym, res_rate, rnd, res_first, 1)
    # 3. what lanes share, as independent tasks spread over the threads (each writes only its own
    # state, so neither the order nor the thread of a task changes a result): one per context model
    # table and codon model table (the count increments), then the shared and residual mixers'
    # sums, the APM, the repeat statistics and bases. Each thread claims its own chunk's tasks
    # (_task_owners), then any of the others' not yet claimed.
    owner, order = scratch[31][chunks], scratch[32]
    for ch in _prange(chunks):
        for v in range(chunks):  # its own tasks, costliest first, then those of others not yet started
            for g in order:
                if owner[g] != (ch + v) % chunks or _fetch_add(claims, (2 * LEARN_GROUPS + g) * CLAIM_STRIDE):
                    continue
                if g < n_cm:
                    _count_model(g, k, sym, table, rows, irrows, ir_pos[g], ir_sym_shift, hist, limit_by_model[g],
                                 over_keys, check_rows, False)
                elif g < n_cm + n_cod:
                    _count_model(g - n_cm, k, sym, ctable, crows, irrows, -1, ir_sym_shift, hist, climit[0],
                                 c_over, c_check, cparams[1] != 0)
                elif g == n_cm + n_cod:
                    if competition:
                        _add_partials(shared_w, wset, k, n_in, shared_partial, chunks)
                    if res_rate:
                        _add_partials(res_w, res_set, k, n_in + 1, res_partial, chunks)
                elif g == n_cm + n_cod + 1:
                    if sse_order:
                        _apm_update(k, sym, near, apm, apm_total, apm_count, apm_used, sse_rate)
                elif n_rep:
                    _repeat_shared(k, sym, buf, buf_mask, rep_pos, tally, chunks, rhits, rtotal, rindex, rep_key)
                    if n_vote:
                        _vote_shared(k, rep_pos, vote)
    phase_a[0] = (phase + 1) % 3


@_jit
def _apm_update(k, sym, near, apm, apm_total, apm_count, apm_used, rate):
    """The APM's step: each entry the lanes used moves by the mean of their errors (``sse.APM``)."""
    n_used = 0
    for i in range(k):
        s = sym[i]
        hi, lo = s >> 1, s & 1
        for j in (0, 1 + hi):
            idx = near[i, j]
            if apm_count[idx] == 0:
                apm_used[n_used] = idx
                n_used += 1
            apm_total[idx] += ((hi if j == 0 else lo) << PROB_BITS) - apm[idx]
            apm_count[idx] += 1
    for u in range(n_used):
        idx = apm_used[u]
        apm[idx] = max(min(apm[idx] + ((apm_total[idx] // apm_count[idx]) >> rate), _ONE - 1), 1)
        apm_total[idx] = 0
        apm_count[idx] = 0


@_jit
def _tally_states(k, flags, state, hits, total):
    """Per candidate state, the live candidates of lanes 0..k-1 in ``total`` (flag 1 or 2) and those
    that hit in ``hits`` (flag 2); then both halved where the total is over the limit."""
    for i in range(k):
        for c in range(flags.shape[1]):
            f = flags[i, c]
            if f:
                total[state[i, c]] += 1
            if f == 2:
                hits[state[i, c]] += 1
    _halve_states(hits, total)


@_jit
def _repeat_shared(k, sym, buf, buf_mask, rep_pos, tally, chunks, rhits, rtotal, rindex, rep_key):
    """The repeat models' shared step: the lanes' bases into the ring buffer, the candidates' totals
    and hits per state (``tally``: the sums of each lane chunk, which this clears; then halved over
    the limit), each lane's k-mer position into the index."""
    for i in range(k):
        buf[rep_pos[i] & buf_mask] = sym[i]
    for g in range(chunks):
        for s in range(len(rtotal)):
            rtotal[s] += tally[g, 0, s]
            rhits[s] += tally[g, 1, s]
            tally[g, 0, s] = 0
            tally[g, 1, s] = 0
    _halve_states(rhits, rtotal)
    for i in range(k):
        rindex[rep_key[i]] = max(rindex[rep_key[i]], rep_pos[i] + 1)


@_jit
def encode(t_begin, t_end, steps, counts, t_rep, cm, tol, rep, vote, loc, mixers, comp, sse, layout, scratch,
           pending, extra, case, freq, start):
    """Steps t_begin..t_end-1 of the encoder's block in one call: per step, :func:`predict` with
    each lane's frequency and cumulative start of its symbol (``freq``, ``start``), :func:`update`."""
    rep_read = (rep[0], rep[1], rep[2], rep[3], rep[4], rep[5], rep[6], rep[7])
    sym = np.empty(steps.shape[1], dtype=np.int64)
    ints = np.array([CODE_ENCODE, 0, 0], dtype=np.int64)
    no_x, no_lens = np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    for t in range(t_begin, t_end):
        k = counts[t]
        predict(k, cm, tol, rep_read, vote, loc, mixers, comp, (sse[0],), layout, scratch, extra,
                case[t if case.shape[0] > 1 else 0], (ints, steps[t], sym, freq[t], start[t], no_x, no_lens))
        update(k, sym[:k], t_rep + t - t_begin, cm, tol, rep, vote, loc, mixers, comp, sse, layout, scratch,
               pending)


@_jit
def decode(t_begin, t_end, counts, coded, lens, x, words, pos, t_rep, cm, tol, rep, vote, loc, mixers, comp, sse,
           layout, scratch, pending, extra, case, steps_out):
    """Steps t_begin..t_end-1 of the decoder's block in one call: per step, :func:`predict` with the
    rANS decoding of :class:`codec.coder.LaneDecoder` (:func:`_code_lane`), the renormalisation
    words in lane order (the next one at ``pos``), :func:`update`. Returns the position after the
    last word read, or -1 when they ran out."""
    rep_read = (rep[0], rep[1], rep[2], rep[3], rep[4], rep[5], rep[6], rep[7])
    sym = np.empty(steps_out.shape[1], dtype=np.int64)
    low = np.uint64(RANS_LOW)
    ints = np.array([CODE_DECODE, 0, 0], dtype=np.int64)
    no_freq = np.empty(0, dtype=np.uint32)
    for t in range(t_begin, t_end):
        k = counts[t]
        m = coded[t] if t < len(coded) else 0
        ints[1], ints[2] = m, t
        predict(k, cm, tol, rep_read, vote, loc, mixers, comp, (sse[0],), layout, scratch, extra,
                case[t if case.shape[0] > 1 else 0], (ints, steps_out[t], sym, no_freq, no_freq, x, lens))
        for i in range(m):
            if x[i] < low:
                if pos >= len(words):
                    return -1
                x[i] = (x[i] << np.uint64(RANS_WORD_BITS)) | words[pos]
                pos += 1
        update(k, sym[:k], t_rep + t - t_begin, cm, tol, rep, vote, loc, mixers, comp, sse, layout, scratch,
               pending)
    return pos


@_jit
def rans_encode_steps(freq, start, coded, x):
    """The step loop of :func:`codec.coder.encode` (same arithmetic, same output): steps from last to
    first, the coded lanes of each renormalising in lane order and then taking their symbol. ``x``
    (lanes,) holds the initial states and ends with the final ones; returns the renormalisation
    words in stream order (step by step, lane order within a step)."""
    xmax_shift = np.uint64(XMAX_SHIFT)
    word_mask = np.uint64((1 << RANS_WORD_BITS) - 1)
    n_steps = len(coded)
    words = np.empty(max(coded.sum(), 1), dtype=np.uint32)
    ends = np.empty(n_steps + 1, dtype=np.int64)  # step t's words are words[ends[t + 1]:ends[t]]
    n = 0
    for t in range(n_steps - 1, -1, -1):
        ends[t + 1] = n
        for i in range(coded[t]):
            f = np.uint64(freq[t, i])
            xi = x[i]
            if xi >= (f << xmax_shift):
                words[n] = np.uint32(xi & word_mask)
                n += 1
                xi >>= np.uint64(RANS_WORD_BITS)
            x[i] = ((xi // f) << np.uint64(FREQ_BITS)) + (xi % f) + np.uint64(start[t, i])
    ends[0] = n
    out = np.empty(n, dtype=np.uint32)
    m = 0
    for t in range(n_steps):
        for j in range(ends[t + 1], ends[t]):
            out[m] = words[j]
            m += 1
    return out


@_jit
def _count_model(g, k, sym, table, rows, irrows, jir, ir_sym_shift, hist, lim, over_keys, check_rows, check_all):
    """Model g's count increments of the step: the lanes' contexts and, when ``jir`` >= 0 (its
    column among the inverted-repeat models), their inverted-repeat contexts. A count is added in
    place while its byte holds the sum; past 255 the increment waits in ``over_keys``; once all are
    in, those rows get the rest and every row over the limit is halved (the reference's per-row sum,
    then halving). A row over the limit is found by the count just added, since every row was within
    it after its last update; ``check_all`` checks every touched row instead, for tables whose rows
    start above the limit (codon rows start with ``FRAME_PRIOR``, up to 3, and a limit may be 1 or 2)."""
    n_over = 0
    n_check = 0
    for i in range(k):
        for d in range(2 if jir >= 0 else 1):
            if d == 0:
                row, cs = rows[i, g], sym[i]
            else:
                row = irrows[i, jir]
                cs = 3 - np.int64((hist[i] >> ir_sym_shift[jir]) & _U3)
            sh8 = np.uint64(8 * cs)
            v = np.uint64(table[row])
            c = (v >> sh8) & _U255
            if c == _U255:
                over_keys[g, n_over] = row * 4 + cs
                n_over += 1
            else:
                table[row] = np.uint32(v + (np.uint64(1) << sh8))
                if np.int64(c) + 1 > lim or check_all:
                    check_rows[g, n_check] = row
                    n_check += 1
    if n_over:
        keys = np.sort(over_keys[g, :n_over])
        inc = np.zeros(4, dtype=np.int64)
        i = 0
        while i < n_over:
            row = keys[i] >> 2
            inc[:] = 0
            j = i
            while j < n_over and (keys[j] >> 2) == row:
                inc[keys[j] & 3] += 1
                j += 1
            _settle(table, row, inc, lim)
            i = j
    zero = np.zeros(4, dtype=np.int64)
    for e in range(n_check):
        _settle(table, check_rows[g, e], zero, lim)


@_jit
def _frame_score(i, hi, lo, h, phase, ctable, cmask, coff, nh, cst2, cscore, cbest, decay, cost):
    """``CodonModels.update``'s frame tracking for lane i (bits hi, lo of the true symbol; ``h`` the
    history before it): every hypothesis is charged the code length of the first codon model's row
    of its class, then the lane's hypothesis for the next step is the lowest score (lowest index on
    ties)."""
    base = coff[0] + np.int64(h & cmask[0]) * nh[0]
    d = decay[0]
    best = 0
    for hy in range(nh[0]):
        c0, c1, c2, c3 = _unpack(ctable[base + (hy // 3) * 3 + (phase + hy) % 3])
        s0 = cst2[((c2 + c3) << PAIR_BITS) | (c0 + c1)]
        s1 = cst2[(c3 << PAIR_BITS) | c2] if hi == 1 else cst2[(c1 << PAIR_BITS) | c0]
        code = _path_cost(cost, s0, s1, hi, lo)
        sc = cscore[i, hy]
        sc += code - (sc >> d)
        cscore[i, hy] = sc
        if sc < cscore[i, best]:
            best = hy
    cbest[i] = best


@_jit
def _settle(table, row, inc, lim):
    """Add ``inc`` to a row's counts and halve them while the largest exceeds ``lim``."""
    v = np.uint64(table[row])
    c0 = np.int64(v & _U255) + inc[0]
    c1 = np.int64((v >> np.uint64(8)) & _U255) + inc[1]
    c2 = np.int64((v >> np.uint64(16)) & _U255) + inc[2]
    c3 = np.int64(v >> np.uint64(24)) + inc[3]
    mx = max(max(c0, c1), max(c2, c3))
    sh = 0
    while (mx >> sh) > lim:
        sh += 1
    table[row] = np.uint32((c0 >> sh) | ((c1 >> sh) << 8) | ((c2 >> sh) << 16) | ((c3 >> sh) << 24))


@_jit
def _start(i, q, c0, pos, rq, rlive, rrun, rmiss, slots, buf_mask):
    """Start a candidate at q in the first free slot among columns c0..c0+slots-1 of lane i (see
    ``RepeatModels._start``)."""
    if q < 0 or q <= pos - buf_mask:
        return
    free = -1
    for c in range(c0, c0 + slots):
        if rlive[i, c]:
            if rq[i, c] == q:
                return
        elif free < 0:
            free = c
    if free < 0:
        return
    rq[i, free] = q
    rlive[i, free] = True
    rrun[i, free] = 0
    rmiss[i, free] = np.uint32(0)


@_jit
def _vote_state_probabilities(hits, total):
    """``repeat_votes.state_probabilities``."""
    out = np.empty(len(total), dtype=np.int64)
    for s in range(len(total)):
        out[s] = min(max(((2 * hits[s] + 1) << PROB_BITS) // (2 * total[s] + 2), 1), _ONE - VOTE_FLOOR)
    return out


@_jit
def _vote_predict(i, vote, vph, buf, buf_mask, st, col, stretch):
    """``RepeatVoters.stretches`` of lane i into column ``col``."""
    q, dr, live, run, miss, L = vote[1], vote[2], vote[3], vote[4], vote[5], vote[6]
    pred, state, ph, pow2 = vote[9], vote[10], vote[11], vote[12]
    nv = q.shape[1]
    lmin = np.int64(0x7FFFFFFFFFFFFFFF)
    for c in range(nv):
        if live[i, c] and L[i, c] < lmin:
            lmin = L[i, c]
    f0, f1, f2, f3 = np.int64(0), np.int64(0), np.int64(0), np.int64(0)
    common = np.int64(0)
    any_live = False
    for c in range(nv):
        if not live[i, c]:
            continue  # a free slot's prediction is never read
        b = np.int64(buf[q[i, c] & buf_mask])
        pc = b if dr[i, c] > 0 else 3 - b
        sc = _candidate_state(run[i, c], miss[i, c])
        h = vph[sc]
        pred[i, c] = pc
        state[i, c] = sc
        ph[i, c] = h
        any_live = True
        w = pow2[min(max(L[i, c] - lmin, 0), len(pow2) - 1)]
        pm = (_ONE - h) // 3
        common += w * pm
        if pc == 0:
            f0 += w * (h - pm)
        elif pc == 1:
            f1 += w * (h - pm)
        elif pc == 2:
            f2 += w * (h - pm)
        else:
            f3 += w * (h - pm)
    if not any_live:
        for j in range(3):
            st[i, j, col] = 0
        return
    f0, f1, f2, f3 = f0 + common, f1 + common, f2 + common, f3 + common
    n0 = ((f2 + f3) << PROB_BITS) // (f0 + f1 + f2 + f3)
    n1 = (f1 << PROB_BITS) // (f0 + f1)
    n2 = (f3 << PROB_BITS) // (f2 + f3)
    st[i, 0, col] = stretch[min(max(n0, 1), _ONE - 1)]
    st[i, 1, col] = stretch[min(max(n1, 1), _ONE - 1)]
    st[i, 2, col] = stretch[min(max(n2, 1), _ONE - 1)]


@_jit
def _vote_learn(i, s, vote, stretch):
    """The per-lane part of ``RepeatVoters.update`` for lane i (statistics wait in the flags)."""
    q, dr, live, run, miss, L = vote[1], vote[2], vote[3], vote[4], vote[5], vote[6]
    pred, ph, prm, flags, cost = vote[9], vote[11], vote[13], vote[15], vote[16]
    wmask, threshold, decay = np.uint32(prm[4]), prm[5], prm[6]
    for c in range(q.shape[1]):
        lv = live[i, c]
        hit = lv and pred[i, c] == s
        flags[i, c] = 2 if hit else 1 if lv else 0
        if lv:
            h = ph[i, c]
            code = h if hit else (_ONE - h) // 3
            L[i, c] += cost[stretch[code] + STRETCH_LIMIT] - (L[i, c] >> decay)
        _follow(run, miss, live, i, c, hit, wmask, threshold)
        q[i, c] += dr[i, c]


@_jit
def _entry_position(entry, pos):
    age = (pos + 1 - np.int64(entry)) & np.int64(0xFFFFFFFF)
    if age >= np.int64(1) << 31:
        age -= np.int64(1) << 32
    return pos - age


@_jit
def _vote_start(i, key, pos, shift, direction, vote, buf_mask):
    """``RepeatVoters._start`` for lane i."""
    index, q, dr, live, run, miss, L, prm = vote[0], vote[1], vote[2], vote[3], vote[4], vote[5], vote[6], \
        vote[13]
    nb, init = prm[2], prm[7]
    nv = q.shape[1]
    free = -1
    lmin = np.int64(0x7FFFFFFFFFFFFFFF)
    for c in range(nv):
        if live[i, c]:
            lmin = min(lmin, L[i, c])
        elif free < 0:
            free = c
    if free < 0:
        return  # no free slot: the bucket is not even read
    best = np.int64(-1)
    for e in range(nb):
        ent = index[key * nb + e]
        if ent == 0:
            continue
        qq = _entry_position(ent, pos) + shift
        if qq < 0 or qq <= pos - buf_mask or qq <= best:
            continue
        followed = False
        for c in range(nv):
            if live[i, c] and dr[i, c] == direction and q[i, c] == qq:
                followed = True
        if not followed:
            best = qq
    if best < 0:
        return
    if lmin == np.int64(0x7FFFFFFFFFFFFFFF):
        lmin = 0
    q[i, free] = best
    dr[i, free] = direction
    live[i, free] = True
    run[i, free] = 0
    miss[i, free] = np.uint32(0)
    L[i, free] = lmin + init


@_jit
def _halve_states(hits, total):
    """``repeat.count_states``' halving: both counts of every state whose total exceeds the limit."""
    for s in range(len(total)):
        if total[s] > COUNT_LIMIT:
            total[s] >>= 1
            hits[s] >>= 1


@_jit
def _vote_shared(k, pos, vote):
    """The shared part of ``RepeatVoters.update``: statistics, then the lanes' positions into
    their buckets, lanes in order."""
    index, hits, total, state, prm, vkey, flags = vote[0], vote[7], vote[8], vote[10], vote[13], vote[14], \
        vote[15]
    nb = prm[2]
    _tally_states(k, flags, state, hits, total)
    for i in range(k):
        base = vkey[i, 0] * nb
        slot = -1
        oldest = np.int64(0)
        for e in range(nb):
            ent = index[base + e]
            if ent == 0:
                slot = e
                break
            age = pos[i] - _entry_position(ent, pos[i])
            if age > oldest:
                slot, oldest = e, age
        if slot >= 0:
            index[base + slot] = np.uint32((pos[i] + 1) & 0xFFFFFFFF)
