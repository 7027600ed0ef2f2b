/* The compiled step of the count-model predictors in C: the arithmetic of codec/predictors/kernel.py
 * (and of the numpy reference classes it mirrors, spec/MIX.md), statement for statement, over the same
 * state arrays. codec/predictors/kernel_c.py packs those arrays into a table of descriptors (Arr) in
 * the order of the enum below and calls these functions through ctypes, which releases the GIL.
 *
 * Everything is integer arithmetic. Where Python's floor division or modulo could meet a negative
 * operand, floordiv() gives its result; shifts of negative values are arithmetic (GCC and Clang).
 * Lanes run in parallel with OpenMP exactly as the numba kernel's prange regions: what several lanes
 * write in one step is a commutative integer sum or a maximum, applied after all lanes were read, so
 * no result depends on the thread count or on which thread takes which lanes. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- constants: kernel_c.py checks each against its Python source (dnac_constants) ---- */
#define FREQ_BITS 16
#define FREQ_TOTAL (1 << FREQ_BITS)
#define PROB_BITS 16
#define ONE (1 << PROB_BITS)
#define STRETCH_LIMIT 3072
#define RANS_LOW (1ULL << 31)
#define RANS_WORD_BITS 32
#define XMAX_SHIFT 47
#define PAIR_BITS 9
#define HASH_MULT 0x9E3779B97F4A7C15ULL
#define LR_SHIFT 24
#define BIAS 256
#define CASE_RESIDUAL 1
#define CASE_SHARED 2
#define CASE_SSE 4
#define RESIDUAL_REPEAT 1
#define RUN_CAP 15
#define MISS_BUCKETS 4
#define COUNT_LIMIT (1 << 16)
#define REPEAT_STATES 4
#define VOTE_FLOOR 3
#define APM_BUCKETS 33
#define APM_STEP 192
#define LEARN_GROUPS 8
#define BLOCK_LANES 16
#define CLAIM_STRIDE 8
#define CODE_NONE 0
#define CODE_ENCODE 1
#define CODE_DECODE 2
static const int64_t RUN_BOUNDS[3] = {0, 4, 12};

int64_t dnac_constants(int64_t *out) {
    const int64_t c[] = {FREQ_BITS, PROB_BITS, STRETCH_LIMIT, (int64_t)RANS_LOW, RANS_WORD_BITS, XMAX_SHIFT,
                         PAIR_BITS, (int64_t)HASH_MULT, LR_SHIFT, BIAS, CASE_RESIDUAL, CASE_SHARED, CASE_SSE,
                         RESIDUAL_REPEAT, RUN_CAP, MISS_BUCKETS, COUNT_LIMIT, REPEAT_STATES, VOTE_FLOOR,
                         APM_BUCKETS, APM_STEP, LEARN_GROUPS, BLOCK_LANES, CLAIM_STRIDE, CODE_NONE, CODE_ENCODE,
                         CODE_DECODE, RUN_BOUNDS[0], RUN_BOUNDS[1], RUN_BOUNDS[2]};
    int64_t n = (int64_t)(sizeof c / sizeof c[0]);
    if (out) memcpy(out, c, sizeof c);
    return n;
}

/* ---- the state arrays ---- */
typedef struct { void *p; int64_t n0, n1, n2, n3; } Arr;

enum {
    CM_TABLE, CM_HIST, CM_RC, CM_CTX_MASK, CM_MULT, CM_SHIFT, CM_OFFSETS, CM_ST2, CM_ST_OFFSET, CM_IR_COLS,
    CM_IR_SHIFT, CM_IR_SYM_SHIFT, CM_LIMIT,
    TOL_HIST, TOL_MISS, TOL_COLS, TOL_MASK, TOL_ST_OFFSET, TOL_WINDOW, TOL_THRESHOLD,
    REP_BUF, REP_DIR, REP_Q, REP_LIVE, REP_RUN, REP_MISS, REP_HITS, REP_TOTAL, REP_INDEX, REP_LANE_START,
    V_INDEX, V_Q, V_DIR, V_LIVE, V_RUN, V_MISS, V_L, V_HITS, V_TOTAL, V_PRED, V_STATE, V_PH, V_POW2, V_PRM,
    V_KEY, V_FLAGS, V_COST,
    LOC_COUNTS, LOC_MASK, LOC_LIMIT, LOC_ST_OFFSET, LOC_ST2, LOC_PERIOD, LOC_STRIDE, LOC_PHASE, COD_TABLE,
    COD_MASK, COD_OFFSETS, COD_NH, COD_ST2, COD_SCORE, COD_BEST, COD_PARAMS, COD_LIMIT, COD_ROWS, COD_OVER,
    COD_CHECK, COD_COST, LOC_OFFSET,
    MIX_LANE, MIX_SHARED, MIX_FINAL, MIX_RES,
    COMP_SCORE, COMP_CLASSES, COMP_COST,
    SSE_T, SSE_TOTAL, SSE_COUNT, SSE_USED,
    S_STRETCH, S_SQUASH, S_ROWS, S_ST, S_TOL_PRED, S_TOL_SEEN, S_REP_PRED, S_REP_STATE, S_P, S_DOT, S_P2, S_DOT2,
    S_P3, S_DOT3, S_WSET, S_ST_FIN, S_NEAR, S_REP_KEY, S_REP_POS, S_TROWS, S_VALS, S_RBASE, S_IRROWS, S_RLOOK,
    S_TALLY, S_RES_PARTIAL, S_P5, S_DOT5, S_RES_SET, S_SHARED_PARTIAL, S_THREADS, S_OWNER, S_ORDER, S_CLAIMS,
    P_OVER_KEYS, P_CHECK_ROWS, P_IR_POS,
    N_ARRAYS
};

/* the layout integers */
enum {
    L_N_CM, L_N_TOL, L_N_REP, L_EXTRA_COL, L_BIAS_COL, L_N_IN, L_COMPETITION, L_MIXER_RATE, L_FINAL_RATE,
    L_DECAY, L_SSE_ORDER, L_SSE_RATE, L_BUF_MASK, L_SLOTS, L_KMER, L_KSHIFT, L_RC_SHIFT, L_REP_WMASK,
    L_REP_THRESHOLD, L_REP_IR, L_RES_RATE, L_RND, L_CASE_FLAGS, L_RES_FLAGS,
    N_LAYOUT
};

int64_t dnac_table_sizes(int64_t *out) {
    if (out) { out[0] = N_ARRAYS; out[1] = N_LAYOUT; out[2] = (int64_t)sizeof(Arr); }
    return 3;
}

/* each lane's part of coding a step (the numba kernel's ``coding`` tuple) */
typedef struct {
    int64_t mode, coded, step;
    uint8_t *symbols;
    int64_t *sym;
    uint32_t *freq, *start;
    uint64_t *x;
    const int64_t *lens;
} Coding;

#define PTR(T, name, idx) T *const name = (T *)A[idx].p
#define DIM(name, idx, d) const int64_t name = A[idx].d

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
/* SWAR: __builtin_popcount is a libgcc call on baseline x86-64 (no POPCNT) */
static inline int64_t popcount32(uint64_t x) {
    uint32_t v = (uint32_t)x;
    v = v - ((v >> 1) & 0x55555555u);
    v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
    return (int64_t)((((v + (v >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24);
}
static inline int64_t fetch_add(int64_t *a, int64_t idx) { return __atomic_fetch_add(&a[idx], 1, __ATOMIC_RELAXED); }
#define PREFETCH(addr) __builtin_prefetch((const void *)(addr), 1, 3)

/* S_THREADS holds the step's lane chunk count, then the threads it may run on (no more than chunks) */
static inline int64_t chunk_count(const Arr *A) { return min64(max64(((int64_t *)A[S_THREADS].p)[0], 1), LEARN_GROUPS); }
static inline int thread_count(const Arr *A, int64_t chunks) {
    return (int)min64(max64(((int64_t *)A[S_THREADS].p)[1], 1), chunks);
}

static inline void lane_chunk(int64_t ch, int64_t chunks, int64_t k, int64_t *i0, int64_t *i1) {
    int64_t per = (k + chunks - 1) / chunks;
    *i0 = ch * per;
    *i1 = min64(k, (ch + 1) * per);
}

static void reset_claims(int64_t *claims, int64_t first, int64_t end) {
    for (int64_t c = first; c < end; c++) claims[c * CLAIM_STRIDE] = 0;
}

static inline void claim_lanes(int64_t *claims, int64_t first, int64_t ch, int64_t chunks, int64_t k, int64_t *o0,
                               int64_t *o1) {
    for (int64_t v = 0; v < chunks; v++) {
        int64_t c = (ch + v) % chunks, c0, c1;
        lane_chunk(c, chunks, k, &c0, &c1);
        int64_t i0 = c0 + fetch_add(claims, (first + c) * CLAIM_STRIDE) * BLOCK_LANES;
        if (i0 < c1) { *o0 = i0; *o1 = min64(c1, i0 + BLOCK_LANES); return; }
    }
    *o0 = k; *o1 = k;
}

static inline int64_t candidate_state(int64_t run, uint32_t miss) {
    return run * MISS_BUCKETS + min64(popcount32(miss & 0xFFu), MISS_BUCKETS - 1);
}

static inline void follow(int64_t *run, uint32_t *miss, uint8_t *live, int64_t idx, int hit, uint32_t wmask,
                          int64_t threshold) {
    int lv = live[idx] != 0;
    run[idx] = hit ? min64(run[idx] + 1, RUN_CAP) : 0;
    uint32_t mm = (uint32_t)((((uint64_t)miss[idx] << 1) | (uint64_t)(lv && !hit)) & wmask);
    miss[idx] = mm;
    if (lv && popcount32(mm) > threshold) live[idx] = 0;
}

/* st: int16 (lanes, 3, n_in); n2 its last dimension */
static inline void node_stretches(int16_t *st, int64_t n2, int64_t i, int64_t col, int64_t c0, int64_t c1,
                                  int64_t c2, int64_t c3, const int16_t *st2, int64_t off) {
    int16_t *s = st + i * 3 * n2 + col;
    s[0] = st2[((((c2 + c3) << PAIR_BITS) | (c0 + c1))) + off];
    s[n2] = st2[((c1 << PAIR_BITS) | c0) + off];
    s[2 * n2] = st2[((c3 << PAIR_BITS) | c2) + off];
}

static inline void packed_node_stretches(int16_t *st, int64_t n2, int64_t i, int64_t col, uint32_t packed,
                                         const int16_t *st2, int64_t off) {
    node_stretches(st, n2, i, col, packed & 255, (packed >> 8) & 255, (packed >> 16) & 255, packed >> 24, st2, off);
}

static inline int64_t path_cost(const int64_t *cost, int64_t s0, int64_t s1, int64_t hi, int64_t lo) {
    return cost[(hi == 1 ? s0 : -s0) + STRETCH_LIMIT] + cost[(lo == 1 ? s1 : -s1) + STRETCH_LIMIT];
}

static inline int64_t row_of(uint64_t ctx, int64_t m, const uint64_t *mult, const uint64_t *shift,
                             const int64_t *offsets) {
    return (int64_t)((ctx * mult[m]) >> shift[m]) + offsets[m];
}

static inline void output(int64_t acc, int64_t i, int64_t j, const int64_t *squash, int64_t *dot, int64_t *p) {
    int64_t d = acc >> 16;
    if (d > STRETCH_LIMIT) d = STRETCH_LIMIT;
    else if (d < -STRETCH_LIMIT) d = -STRETCH_LIMIT;
    dot[i * 3 + j] = d;
    p[i * 3 + j] = squash[d + STRETCH_LIMIT];
}

/* mixer output of lane i with weight row wrow (w: sets, 3, wn) over the first n_in inputs of st[i]
 * (st: lanes, 3, sn of ST_T): mix16 over the models' int16 stretches, mix64 over the final mixer's */
#define DEFINE_MIX(NAME, ST_T)                                                                                   \
    static inline void NAME(const int64_t *w, int64_t wn, int64_t wrow, const ST_T *st, int64_t sn, int64_t i,    \
                            int64_t n_in, const int64_t *squash, int64_t *dot, int64_t *p) {                      \
        for (int64_t j = 0; j < 3; j++) {                                                                         \
            const int64_t *wr = w + (wrow * 3 + j) * wn;                                                          \
            const ST_T *s = st + (i * 3 + j) * sn;                                                                \
            int64_t acc = 0;                                                                                      \
            for (int64_t m = 0; m < n_in; m++) acc += wr[m] * s[m];                                               \
            output(acc, i, j, squash, dot, p);                                                                    \
        }                                                                                                         \
    }
DEFINE_MIX(mix16, int16_t)
DEFINE_MIX(mix64, int64_t)

static inline void mix_residual(const int64_t *w, int64_t wn, int64_t wrow, const int64_t *first,
                                const int16_t *st, int64_t sn, int64_t i, int64_t n_in, const int64_t *squash,
                                int64_t *dot, int64_t *p) {
    for (int64_t j = 0; j < 3; j++) {
        const int64_t *wr = w + (wrow * 3 + j) * wn;
        const int16_t *s = st + (i * 3 + j) * sn;
        int64_t acc = wr[0] * first[i * 3 + j];
        for (int64_t m = 0; m < n_in; m++) acc += wr[1 + m] * s[m];
        output(acc, i, j, squash, dot, p);
    }
}

static inline int64_t scaled_error(const int64_t *p, int64_t i, int64_t j, int64_t hi, int64_t lo, int64_t rate) {
    return ((((j == 0) ? hi : lo) << PROB_BITS) - p[i * 3 + j]) * rate;
}

/* mixer learning on the coded path of lane i: node 0 (bit hi) and node 1 + hi (bit lo); rnd is added
 * before the shift */
#define DEFINE_LEARN(NAME, ST_T)                                                                                 \
    static inline void NAME(int64_t *w, int64_t wn, int64_t wrow, const ST_T *st, int64_t sn, int64_t i,          \
                            int64_t n_in, const int64_t *p, int64_t hi, int64_t lo, int64_t rate, int64_t rnd) {  \
        for (int64_t jj = 0; jj < 2; jj++) {                                                                      \
            int64_t j = jj == 0 ? 0 : 1 + hi;                                                                     \
            int64_t err = scaled_error(p, i, j, hi, lo, rate);                                                    \
            int64_t *wr = w + (wrow * 3 + j) * wn;                                                                \
            const ST_T *s = st + (i * 3 + j) * sn;                                                                \
            for (int64_t m = 0; m < n_in; m++) wr[m] += (s[m] * err + rnd) >> LR_SHIFT;                           \
        }                                                                                                         \
    }
DEFINE_LEARN(learn16, int16_t)
DEFINE_LEARN(learn64, int64_t)

/* learn into a thread's sums acc (sets, 3, an) of the shared weight set ws; off 1: the residual mixer,
 * whose first input is first[i] */
static inline void learn_partial(int64_t *acc, int64_t an, int64_t ws, const int16_t *st, int64_t sn, int64_t i,
                                 int64_t n_in, const int64_t *p, const int64_t *sym, int64_t rate, int64_t rnd,
                                 const int64_t *first, int64_t off) {
    int64_t hi = sym[i] >> 1, lo = sym[i] & 1;
    for (int64_t jj = 0; jj < 2; jj++) {
        int64_t j = jj == 0 ? 0 : 1 + hi;
        int64_t err = scaled_error(p, i, j, hi, lo, rate);
        int64_t *ar = acc + (ws * 3 + j) * an;
        const int16_t *s = st + (i * 3 + j) * sn;
        if (off) ar[0] += (first[i * 3 + j] * err + rnd) >> LR_SHIFT;
        for (int64_t m = 0; m < n_in; m++) ar[off + m] += (s[m] * err + rnd) >> LR_SHIFT;
    }
}

/* add the threads' sums partial (LEARN_GROUPS, sets, 3, n_cols) of the sets lanes 0..k-1 used to w */
static void add_partials(int64_t *w, int64_t sets, const int64_t *wset, int64_t k, int64_t n_cols, int64_t *partial,
                         int64_t chunks) {
    uint8_t used[sets > 0 ? sets : 1];  /* a few dozen weight sets: on the stack, not the heap, every step */
    memset(used, 0, sizeof used);
    for (int64_t i = 0; i < k; i++) used[wset[i]] = 1;
    int64_t per_group = sets * 3 * n_cols;
    for (int64_t ws = 0; ws < sets; ws++) {
        if (!used[ws]) continue;
        for (int64_t g = 0; g < chunks; g++) {
            int64_t *src = partial + g * per_group + ws * 3 * n_cols;
            int64_t *dst = w + ws * 3 * n_cols;
            for (int64_t e = 0; e < 3 * n_cols; e++) { dst[e] += src[e]; src[e] = 0; }
        }
    }
}

static inline void frequencies(const int64_t *p, int64_t *out) {
    int64_t total = FREQ_TOTAL;
    int64_t f_hi = min64(max64((p[0] * total) >> PROB_BITS, 2), total - 2);
    int64_t f_lo_side = total - f_hi;
    int64_t f1 = min64(max64((f_lo_side * p[1]) >> PROB_BITS, 1), f_lo_side - 1);
    int64_t f3 = min64(max64((f_hi * p[2]) >> PROB_BITS, 1), f_hi - 1);
    out[0] = f_lo_side - f1;
    out[1] = f1;
    out[2] = f_hi - f3;
    out[3] = f3;
}

static inline void code_lane(int64_t i, const int64_t *f, const Coding *cd) {
    if (cd->mode == CODE_ENCODE) {
        int64_t s = cd->symbols[i];
        cd->sym[i] = s;
        cd->freq[i] = (uint32_t)f[s];
        cd->start[i] = (uint32_t)((s > 0 ? f[0] : 0) + (s > 1 ? f[1] : 0) + (s > 2 ? f[2] : 0));
    } else if (cd->mode == CODE_DECODE) {
        int64_t s;
        if (i < cd->coded) {
            uint64_t xi = cd->x[i];
            int64_t slot = (int64_t)(xi & (FREQ_TOTAL - 1));
            int64_t c1 = f[0], c2 = c1 + f[1], c3 = c2 + f[2];
            s = (int64_t)(slot >= c1) + (int64_t)(slot >= c2) + (int64_t)(slot >= c3);
            int64_t c = s == 0 ? 0 : s == 1 ? c1 : s == 2 ? c2 : c3;
            cd->x[i] = (uint64_t)f[s] * (xi >> FREQ_BITS) + (uint64_t)(slot - c);
        } else {
            s = (int64_t)((cd->x[i] >> (2 * (cd->lens[i] - 1 - cd->step))) & 3);
        }
        cd->sym[i] = s;
        cd->symbols[i] = (uint8_t)s;
    }
}

static int64_t vote_state_probability(const int64_t *hits, const int64_t *total, int64_t s) {
    return min64(max64(((2 * hits[s] + 1) << PROB_BITS) / (2 * total[s] + 2), 1), ONE - VOTE_FLOOR);
}

/* RepeatVoters.stretches of lane i into column col of st */
static void vote_predict(const Arr *A, int64_t i, const int64_t *vph, const uint8_t *buf, int64_t buf_mask,
                         int16_t *st, int64_t sn, int64_t col, const int16_t *stretch) {
    PTR(const int64_t, q, V_Q); PTR(const int64_t, dr, V_DIR); PTR(const uint8_t, live, V_LIVE);
    PTR(const int64_t, run, V_RUN); PTR(const uint32_t, miss, V_MISS); PTR(const int64_t, L, V_L);
    PTR(int64_t, pred, V_PRED); PTR(int64_t, state, V_STATE); PTR(int64_t, ph, V_PH); PTR(const int64_t, pow2, V_POW2);
    DIM(nv, V_Q, n1); DIM(n_pow2, V_POW2, n0);
    int64_t b0 = i * nv;
    int64_t lmin = INT64_MAX;
    for (int64_t c = 0; c < nv; c++)
        if (live[b0 + c] && L[b0 + c] < lmin) lmin = L[b0 + c];
    int64_t f[4] = {0, 0, 0, 0}, common = 0;
    int any_live = 0;
    for (int64_t c = 0; c < nv; c++) {
        if (!live[b0 + c]) continue;
        int64_t b = buf[q[b0 + c] & buf_mask];
        int64_t pc = dr[b0 + c] > 0 ? b : 3 - b;
        int64_t sc = candidate_state(run[b0 + c], miss[b0 + c]);
        int64_t h = vph[sc];
        pred[b0 + c] = pc;
        state[b0 + c] = sc;
        ph[b0 + c] = h;
        any_live = 1;
        int64_t w = pow2[min64(max64(L[b0 + c] - lmin, 0), n_pow2 - 1)];
        int64_t pm = (ONE - h) / 3;
        common += w * pm;
        f[pc] += w * (h - pm);
    }
    int16_t *s = st + i * 3 * sn + col;
    if (!any_live) {
        s[0] = 0; s[sn] = 0; s[2 * sn] = 0;
        return;
    }
    for (int j = 0; j < 4; j++) f[j] += common;
    int64_t n0 = ((f[2] + f[3]) << PROB_BITS) / (f[0] + f[1] + f[2] + f[3]);
    int64_t n1 = (f[1] << PROB_BITS) / (f[0] + f[1]);
    int64_t n2 = (f[3] << PROB_BITS) / (f[2] + f[3]);
    s[0] = stretch[min64(max64(n0, 1), ONE - 1)];
    s[sn] = stretch[min64(max64(n1, 1), ONE - 1)];
    s[2 * sn] = stretch[min64(max64(n2, 1), ONE - 1)];
}

void dnac_predict(const Arr *A, const int64_t *layout, int64_t k, const int64_t *extra, int64_t n_extra,
                  const uint8_t *case_, const Coding *coding, int64_t *out) {
    PTR(const uint32_t, table, CM_TABLE); PTR(const uint64_t, hist, CM_HIST); PTR(const uint64_t, ctx_mask, CM_CTX_MASK);
    PTR(const uint64_t, mult, CM_MULT); PTR(const uint64_t, shift, CM_SHIFT); PTR(const int64_t, offsets, CM_OFFSETS);
    PTR(const int16_t, st2, CM_ST2); PTR(const int64_t, st_offset, CM_ST_OFFSET);
    PTR(const uint64_t, tol_hist, TOL_HIST); PTR(const int64_t, tol_cols, TOL_COLS); PTR(const uint64_t, tol_mask, TOL_MASK);
    PTR(const int64_t, tol_st_offset, TOL_ST_OFFSET);
    PTR(const uint8_t, buf, REP_BUF); PTR(const int64_t, rdir, REP_DIR); PTR(const int64_t, rq, REP_Q);
    PTR(const uint8_t, rlive, REP_LIVE); PTR(const int64_t, rrun, REP_RUN); PTR(const uint32_t, rmiss, REP_MISS);
    PTR(const int64_t, rhits, REP_HITS); PTR(const int64_t, rtotal, REP_TOTAL);
    PTR(const int64_t, lane_w, MIX_LANE); PTR(const int64_t, shared_w, MIX_SHARED); PTR(const int64_t, final_w, MIX_FINAL);
    PTR(const int64_t, res_w, MIX_RES);
    PTR(const uint32_t, loc_counts, LOC_COUNTS); PTR(const int64_t, loc_mask, LOC_MASK);
    PTR(const int64_t, loc_st_offset, LOC_ST_OFFSET); PTR(const int16_t, loc_st2, LOC_ST2);
    PTR(const int64_t, loc_period, LOC_PERIOD); PTR(const int64_t, loc_stride, LOC_STRIDE);
    PTR(const int64_t, loc_offset, LOC_OFFSET);
    PTR(const uint32_t, ctable, COD_TABLE); PTR(const uint64_t, cmask, COD_MASK); PTR(const int64_t, coff, COD_OFFSETS);
    PTR(const int16_t, cst2, COD_ST2); PTR(const int64_t, cbest, COD_BEST); PTR(int64_t, crows, COD_ROWS);
    PTR(const int64_t, score, COMP_SCORE); PTR(const int64_t, classes, COMP_CLASSES);
    PTR(const int64_t, apm, SSE_T);
    PTR(const int16_t, stretch, S_STRETCH); PTR(const int64_t, squash, S_SQUASH);
    PTR(int64_t, rows, S_ROWS); PTR(int16_t, st, S_ST); PTR(int64_t, tol_pred, S_TOL_PRED); PTR(uint8_t, tol_seen, S_TOL_SEEN);
    PTR(int64_t, rep_pred, S_REP_PRED); PTR(int64_t, rep_state, S_REP_STATE);
    PTR(int64_t, p, S_P); PTR(int64_t, dot, S_DOT); PTR(int64_t, p2, S_P2); PTR(int64_t, dot2, S_DOT2);
    PTR(int64_t, p3, S_P3); PTR(int64_t, dot3, S_DOT3); PTR(int64_t, wset, S_WSET); PTR(int64_t, st_fin, S_ST_FIN);
    PTR(int64_t, near, S_NEAR); PTR(int64_t, trows, S_TROWS); PTR(uint32_t, vals, S_VALS); PTR(int64_t, rbase, S_RBASE);
    PTR(int64_t, p5, S_P5); PTR(int64_t, dot5, S_DOT5); PTR(int64_t, res_set, S_RES_SET);
    PTR(int64_t, claims, S_CLAIMS);
    DIM(rows_n, S_ROWS, n1); DIM(sn, S_ST, n2); DIM(tol_n, TOL_HIST, n1); DIM(rep_n, REP_Q, n1);
    DIM(loc_n, LOC_COUNTS, n1); DIM(crows_n, COD_ROWS, n1); DIM(trows_n, S_TROWS, n1); DIM(vals_n, S_VALS, n1);
    DIM(rbase_n, S_RBASE, n1); DIM(score_n, COMP_SCORE, n1); DIM(tp_n, S_TOL_PRED, n1); DIM(rp_n, S_REP_PRED, n1);
    DIM(lane_wn, MIX_LANE, n2); DIM(shared_wn, MIX_SHARED, n2); DIM(final_wn, MIX_FINAL, n2); DIM(res_wn, MIX_RES, n2);
    const int64_t n_loc = A[LOC_MASK].n0, n_cod = A[COD_MASK].n0, n_states = A[REP_TOTAL].n0;
    const int64_t phase = ((const int64_t *)A[LOC_PHASE].p)[0], cnh = ((const int64_t *)A[COD_NH].p)[0];
    const int64_t n_cm = layout[L_N_CM], n_tol = layout[L_N_TOL], n_rep = layout[L_N_REP];
    const int64_t extra_col = layout[L_EXTRA_COL], bias_col = layout[L_BIAS_COL], n_in = layout[L_N_IN];
    const int64_t competition = layout[L_COMPETITION], sse_order = layout[L_SSE_ORDER], buf_mask = layout[L_BUF_MASK];
    const int64_t res_rate = layout[L_RES_RATE], case_flags = layout[L_CASE_FLAGS], res_flags = layout[L_RES_FLAGS];
    const int64_t res_cases = (case_flags & CASE_RESIDUAL) ? 2 : 1;
    const uint64_t sse_mask = (uint64_t)((1LL << (2 * sse_order)) - 1);
    const int64_t n_models = n_in - 1;
    const int64_t n_vote = ((const int64_t *)A[V_PRM].p)[0];
    const int64_t lcol = n_cm + n_tol, loc_col = n_cm + n_tol + n_rep + (n_vote ? 1 : 0);

    int64_t lbase[n_loc > 0 ? n_loc : 1];
    for (int64_t c = 0; c < n_loc; c++) lbase[c] = loc_offset[c] + (phase % loc_period[c]) * loc_stride[c];
    int64_t st_hi[n_states > 0 ? n_states : 1], st_lo[n_states > 0 ? n_states : 1];
    for (int64_t s = 0; s < n_states; s++) {
        int64_t pr = ((2 * rhits[s] + 1) << PROB_BITS) / (2 * rtotal[s] + 2);
        st_hi[s] = stretch[min64((ONE + 2 * pr) / 3, ONE - 1)];
        st_lo[s] = stretch[min64((3 * pr << PROB_BITS) / (ONE + 2 * pr), ONE - 1)];
    }
    const int64_t n_vstates = A[V_TOTAL].n0;
    int64_t vph[n_vstates > 0 ? n_vstates : 1];
    for (int64_t s = 0; s < n_vstates; s++)
        vph[s] = vote_state_probability((const int64_t *)A[V_HITS].p, (const int64_t *)A[V_TOTAL].p, s);

    const int64_t chunks = chunk_count(A);
    const int threads = thread_count(A, chunks);
    reset_claims(claims, 0, chunks);
#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
    for (int64_t ch = 0; ch < chunks; ch++) {
        for (;;) {
            int64_t i0, i1;
            claim_lanes(claims, 0, ch, chunks, k, &i0, &i1);
            if (i0 >= i1) break;
            /* rows first, then one tight gather: the lanes' table reads overlap their cache misses */
            for (int64_t i = i0; i < i1; i++) {
                uint64_t h = hist[i];
                for (int64_t m = 0; m < n_cm; m++) rows[i * rows_n + m] = row_of(h & ctx_mask[m], m, mult, shift, offsets);
                for (int64_t t = 0; t < n_tol; t++)
                    trows[i * trows_n + t] = row_of(tol_hist[i * tol_n + t] & tol_mask[t], tol_cols[t], mult, shift, offsets);
                if (n_cod) {
                    int64_t hb = cbest[i];
                    int64_t cls = (hb / 3) * 3 + (phase + hb) % 3;
                    for (int64_t c = 0; c < n_cod; c++) crows[i * crows_n + c] = coff[c] + (int64_t)(h & cmask[c]) * cnh + cls;
                }
            }
            for (int64_t i = i0; i < i1; i++) {
                uint64_t h = hist[i];
                uint32_t *v = vals + i * vals_n;
                for (int64_t m = 0; m < n_cm; m++) v[m] = table[rows[i * rows_n + m]];
                for (int64_t t = 0; t < n_tol; t++) v[n_cm + t] = table[trows[i * trows_n + t]];
                for (int64_t c = 0; c < n_loc; c++)
                    v[lcol + c] = loc_counts[i * loc_n + lbase[c] + (int64_t)(h & (uint64_t)loc_mask[c])];
                for (int64_t c = 0; c < n_cod; c++) v[lcol + n_loc + c] = ctable[crows[i * crows_n + c]];
                for (int64_t r = 0; r < n_rep; r++)
                    rbase[i * rbase_n + r] = buf[(rq[i * rep_n + r] & buf_mask) * (int64_t)rlive[i * rep_n + r]];
            }
            for (int64_t i = i0; i < i1; i++) {
                const uint32_t *v = vals + i * vals_n;
                for (int64_t m = 0; m < n_cm; m++) packed_node_stretches(st, sn, i, m, v[m], st2, st_offset[m]);
                for (int64_t t = 0; t < n_tol; t++) {
                    uint32_t pk = v[n_cm + t];
                    int64_t c0 = pk & 255, c1 = (pk >> 8) & 255, c2 = (pk >> 16) & 255, c3 = pk >> 24;
                    int64_t best = 0, bc = c0;
                    if (c1 > bc) { best = 1; bc = c1; }
                    if (c2 > bc) { best = 2; bc = c2; }
                    if (c3 > bc) { best = 3; bc = c3; }
                    tol_pred[i * tp_n + t] = best;
                    tol_seen[i * tp_n + t] = bc > 0;
                    node_stretches(st, sn, i, n_cm + t, c0, c1, c2, c3, st2, tol_st_offset[t]);
                }
                for (int64_t c = 0; c < n_loc; c++)
                    packed_node_stretches(st, sn, i, loc_col + c, v[lcol + c], loc_st2, loc_st_offset[c]);
                for (int64_t c = 0; c < n_cod; c++)
                    packed_node_stretches(st, sn, i, loc_col + n_loc + c, v[lcol + n_loc + c], cst2, 0);
            }
            for (int64_t i = i0; i < i1; i++) {
                uint64_t h = hist[i];
                int64_t po[3];
                int64_t cs = case_[i];
                int64_t best_run = 0;
                int16_t *sti = st + i * 3 * sn;
                for (int64_t r = 0; r < n_rep; r++) {
                    int64_t col = n_cm + n_tol + r;
                    int64_t b = rbase[i * rbase_n + r];
                    int64_t pred = rdir[r] > 0 ? b : 3 - b;
                    int64_t state = candidate_state(rrun[i * rep_n + r], rmiss[i * rep_n + r]);
                    rep_pred[i * rp_n + r] = pred;
                    rep_state[i * rp_n + r] = state;
                    int64_t sh = 0, sl = 0;
                    if (rlive[i * rep_n + r]) {
                        sh = st_hi[state]; sl = st_lo[state];
                        best_run = max64(best_run, rrun[i * rep_n + r] + 1);
                    }
                    int64_t hi = pred >> 1;
                    int64_t lo = (pred & 1) == 1 ? sl : -sl;
                    sti[col] = (int16_t)(hi == 1 ? sh : -sh);
                    sti[sn + col] = (int16_t)(hi == 0 ? lo : 0);
                    sti[2 * sn + col] = (int16_t)(hi == 1 ? lo : 0);
                }
                if (n_vote) vote_predict(A, i, vph, buf, buf_mask, st, sn, n_cm + n_tol + n_rep, stretch);
                for (int64_t e = 0; e < n_extra; e++)
                    for (int64_t j = 0; j < 3; j++) sti[j * sn + extra_col + e] = (int16_t)extra[(i * 3 + j) * n_extra + e];
                for (int64_t j = 0; j < 3; j++) sti[j * sn + bias_col] = BIAS;
                mix16(lane_w, lane_wn, i, st, sn, i, n_in, squash, dot, p);
                if (competition) {
                    int64_t c = 0;
                    for (int64_t m = 1; m < n_models; m++)
                        if (score[i * score_n + m] < score[i * score_n + c]) c = m;
                    int64_t rs = 0;
                    for (int b = 0; b < 3; b++) rs += best_run > RUN_BOUNDS[b] ? 1 : 0;
                    wset[i] = classes[c] * REPEAT_STATES + rs;
                    if (case_flags & CASE_SHARED) wset[i] = 2 * wset[i] + cs;
                    mix16(shared_w, shared_wn, wset[i], st, sn, i, n_in, squash, dot2, p2);
                    for (int64_t j = 0; j < 3; j++) {
                        st_fin[(i * 3 + j) * 3 + 0] = dot[i * 3 + j];
                        st_fin[(i * 3 + j) * 3 + 1] = dot2[i * 3 + j];
                        st_fin[(i * 3 + j) * 3 + 2] = BIAS;
                    }
                    mix64(final_w, final_wn, i, st_fin, 3, i, 3, squash, dot3, p3);
                    for (int64_t j = 0; j < 3; j++) po[j] = p3[i * 3 + j];
                } else {
                    for (int64_t j = 0; j < 3; j++) po[j] = p[i * 3 + j];
                }
                if (res_rate) {
                    res_set[i] = (case_flags & CASE_RESIDUAL) ? cs : 0;
                    if (res_flags & RESIDUAL_REPEAT)
                        for (int b = 0; b < 3; b++) res_set[i] += best_run > RUN_BOUNDS[b] ? res_cases : 0;
                    mix_residual(res_w, res_wn, res_set[i], competition ? dot3 : dot, st, sn, i, n_in, squash, dot5, p5);
                    for (int64_t j = 0; j < 3; j++) po[j] = p5[i * 3 + j];
                }
                if (sse_order) {
                    int64_t hctx = (int64_t)(h & sse_mask);
                    if (case_flags & CASE_SSE) hctx += cs * (3LL << (2 * sse_order));
                    for (int64_t j = 0; j < 3; j++) {
                        int64_t ctx = hctx + (j << (2 * sse_order));
                        int64_t sv = stretch[po[j]] + STRETCH_LIMIT;
                        int64_t lo = min64(sv / APM_STEP, APM_BUCKETS - 2);
                        int64_t frac = sv - lo * APM_STEP;
                        int64_t base = ctx * APM_BUCKETS + lo;
                        int64_t q = (apm[base] * (APM_STEP - frac) + apm[base + 1] * frac) / APM_STEP;
                        near[i * 3 + j] = frac * 2 >= APM_STEP ? base + 1 : base;
                        po[j] = max64(min64((po[j] + 3 * q) >> 2, ONE - 1), 1);
                    }
                }
                frequencies(po, out + i * 4);
                code_lane(i, out + i * 4, coding);
            }
        }
    }
}

/* ---- update ---- */

static void settle(uint32_t *table, int64_t row, const int64_t *inc, int64_t lim) {
    uint32_t v = table[row];
    int64_t c0 = (v & 255) + inc[0], c1 = ((v >> 8) & 255) + inc[1], c2 = ((v >> 16) & 255) + inc[2],
            c3 = (v >> 24) + inc[3];
    int64_t mx = max64(max64(c0, c1), max64(c2, c3));
    int sh = 0;
    while ((mx >> sh) > lim) sh++;
    table[row] = (uint32_t)((c0 >> sh) | ((c1 >> sh) << 8) | ((c2 >> sh) << 16) | ((c3 >> sh) << 24));
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* model g's count increments of the step (see kernel.py _count_model) */
static void count_model(int64_t g, int64_t k, const int64_t *sym, uint32_t *table, const int64_t *rows, int64_t rows_n,
                        const int64_t *irrows, int64_t ir_n, int64_t jir, const uint64_t *ir_sym_shift,
                        const uint64_t *hist, int64_t lim, int64_t *over_keys, int64_t *check_rows, int64_t pend_n,
                        int check_all) {
    int64_t n_over = 0, n_check = 0;
    int64_t *over = over_keys + g * pend_n, *check = check_rows + g * pend_n;
    for (int64_t i = 0; i < k; i++) {
        for (int d = 0; d < (jir >= 0 ? 2 : 1); d++) {
            int64_t row, cs;
            if (d == 0) { row = rows[i * rows_n + g]; cs = sym[i]; }
            else { row = irrows[i * ir_n + jir]; cs = 3 - (int64_t)((hist[i] >> ir_sym_shift[jir]) & 3); }
            int sh8 = (int)(8 * cs);
            uint64_t v = table[row];
            uint64_t c = (v >> sh8) & 255;
            if (c == 255) {
                over[n_over++] = row * 4 + cs;
            } else {
                table[row] = (uint32_t)(v + (1ULL << sh8));
                if ((int64_t)c + 1 > lim || check_all) check[n_check++] = row;
            }
        }
    }
    if (n_over) {
        qsort(over, (size_t)n_over, sizeof(int64_t), cmp_i64);
        int64_t i = 0;
        while (i < n_over) {
            int64_t row = over[i] >> 2, inc[4] = {0, 0, 0, 0}, j = i;
            while (j < n_over && (over[j] >> 2) == row) { inc[over[j] & 3]++; j++; }
            settle(table, row, inc, lim);
            i = j;
        }
    }
    const int64_t zero[4] = {0, 0, 0, 0};
    for (int64_t e = 0; e < n_check; e++) settle(table, check[e], zero, lim);
}

static void frame_score(int64_t i, int64_t hi, int64_t lo, uint64_t h, int64_t phase, const uint32_t *ctable,
                        const uint64_t *cmask, const int64_t *coff, int64_t nh, const int16_t *cst2, int64_t *cscore,
                        int64_t cscore_n, int64_t *cbest, int64_t d, const int64_t *cost) {
    int64_t base = coff[0] + (int64_t)(h & cmask[0]) * nh;
    int64_t best = 0;
    int64_t *sc_row = cscore + i * cscore_n;
    for (int64_t hy = 0; hy < nh; hy++) {
        uint32_t pk = ctable[base + (hy / 3) * 3 + (phase + hy) % 3];
        int64_t c0 = pk & 255, c1 = (pk >> 8) & 255, c2 = (pk >> 16) & 255, c3 = pk >> 24;
        int64_t s0 = cst2[((c2 + c3) << PAIR_BITS) | (c0 + c1)];
        int64_t s1 = hi == 1 ? cst2[(c3 << PAIR_BITS) | c2] : cst2[(c1 << PAIR_BITS) | c0];
        int64_t code = path_cost(cost, s0, s1, hi, lo);
        int64_t sc = sc_row[hy];
        sc += code - (sc >> d);
        sc_row[hy] = sc;
        if (sc < sc_row[best]) best = hy;
    }
    cbest[i] = best;
}

static inline void start_candidate(int64_t i, int64_t q, int64_t c0, int64_t pos, int64_t *rq, uint8_t *rlive,
                                   int64_t *rrun, uint32_t *rmiss, int64_t rep_n, int64_t slots, int64_t buf_mask) {
    if (q < 0 || q <= pos - buf_mask) return;
    int64_t free_c = -1;
    for (int64_t c = c0; c < c0 + slots; c++) {
        if (rlive[i * rep_n + c]) {
            if (rq[i * rep_n + c] == q) return;
        } else if (free_c < 0) {
            free_c = c;
        }
    }
    if (free_c < 0) return;
    rq[i * rep_n + free_c] = q;
    rlive[i * rep_n + free_c] = 1;
    rrun[i * rep_n + free_c] = 0;
    rmiss[i * rep_n + free_c] = 0;
}

static void vote_learn(const Arr *A, int64_t i, int64_t s, const int16_t *stretch) {
    PTR(int64_t, q, V_Q); PTR(const int64_t, dr, V_DIR); PTR(uint8_t, live, V_LIVE); PTR(int64_t, run, V_RUN);
    PTR(uint32_t, miss, V_MISS); PTR(int64_t, L, V_L); PTR(const int64_t, pred, V_PRED); PTR(const int64_t, ph, V_PH);
    PTR(const int64_t, prm, V_PRM); PTR(int64_t, flags, V_FLAGS); PTR(const int64_t, cost, V_COST);
    DIM(nv, V_Q, n1);
    const uint32_t wmask = (uint32_t)prm[4];
    const int64_t threshold = prm[5], decay = prm[6];
    for (int64_t c = 0; c < nv; c++) {
        int64_t idx = i * nv + c;
        int lv = live[idx] != 0;
        int hit = lv && pred[idx] == s;
        flags[idx] = hit ? 2 : lv ? 1 : 0;
        if (lv) {
            int64_t h = ph[idx];
            int64_t code = hit ? h : (ONE - h) / 3;
            L[idx] += cost[stretch[code] + STRETCH_LIMIT] - (L[idx] >> decay);
        }
        follow(run, miss, live, idx, hit, wmask, threshold);
        q[idx] += dr[idx];
    }
}

static inline int64_t entry_position(uint32_t entry, int64_t pos) {
    int64_t age = (pos + 1 - (int64_t)entry) & 0xFFFFFFFFLL;
    if (age >= (1LL << 31)) age -= 1LL << 32;
    return pos - age;
}

static void vote_start(const Arr *A, int64_t i, int64_t key, int64_t pos, int64_t shift, int64_t direction,
                       int64_t buf_mask) {
    PTR(const uint32_t, index, V_INDEX); PTR(int64_t, q, V_Q); PTR(int64_t, dr, V_DIR); PTR(uint8_t, live, V_LIVE);
    PTR(int64_t, run, V_RUN); PTR(uint32_t, miss, V_MISS); PTR(int64_t, L, V_L); PTR(const int64_t, prm, V_PRM);
    DIM(nv, V_Q, n1);
    const int64_t nb = prm[2], init = prm[7];
    int64_t free_c = -1, lmin = INT64_MAX, b0 = i * nv;
    for (int64_t c = 0; c < nv; c++) {
        if (live[b0 + c]) lmin = min64(lmin, L[b0 + c]);
        else if (free_c < 0) free_c = c;
    }
    if (free_c < 0) return;
    int64_t best = -1;
    for (int64_t e = 0; e < nb; e++) {
        uint32_t ent = index[key * nb + e];
        if (ent == 0) continue;
        int64_t qq = entry_position(ent, pos) + shift;
        if (qq < 0 || qq <= pos - buf_mask || qq <= best) continue;
        int followed = 0;
        for (int64_t c = 0; c < nv; c++)
            if (live[b0 + c] && dr[b0 + c] == direction && q[b0 + c] == qq) followed = 1;
        if (!followed) best = qq;
    }
    if (best < 0) return;
    if (lmin == INT64_MAX) lmin = 0;
    q[b0 + free_c] = best;
    dr[b0 + free_c] = direction;
    live[b0 + free_c] = 1;
    run[b0 + free_c] = 0;
    miss[b0 + free_c] = 0;
    L[b0 + free_c] = lmin + init;
}

static void halve_states(int64_t *hits, int64_t *total, int64_t n) {
    for (int64_t s = 0; s < n; s++)
        if (total[s] > COUNT_LIMIT) { total[s] >>= 1; hits[s] >>= 1; }
}

static void vote_shared(const Arr *A, int64_t k, const int64_t *pos) {
    PTR(uint32_t, index, V_INDEX); PTR(int64_t, hits, V_HITS); PTR(int64_t, total, V_TOTAL);
    PTR(const int64_t, state, V_STATE); PTR(const int64_t, prm, V_PRM); PTR(const int64_t, vkey, V_KEY);
    PTR(const int64_t, flags, V_FLAGS);
    DIM(nv, V_FLAGS, n1); DIM(vkey_n, V_KEY, n1); DIM(n_states, V_TOTAL, n0);
    const int64_t nb = prm[2];
    for (int64_t i = 0; i < k; i++)
        for (int64_t c = 0; c < nv; c++) {
            int64_t f = flags[i * nv + c];
            if (f) total[state[i * nv + c]] += 1;
            if (f == 2) hits[state[i * nv + c]] += 1;
        }
    halve_states(hits, total, n_states);
    for (int64_t i = 0; i < k; i++) {
        int64_t base = vkey[i * vkey_n] * nb, slot = -1, oldest = 0;
        for (int64_t e = 0; e < nb; e++) {
            uint32_t ent = index[base + e];
            if (ent == 0) { slot = e; break; }
            int64_t age = pos[i] - entry_position(ent, pos[i]);
            if (age > oldest) { slot = e; oldest = age; }
        }
        if (slot >= 0) index[base + slot] = (uint32_t)((pos[i] + 1) & 0xFFFFFFFFLL);
    }
}

static void apm_update(int64_t k, const int64_t *sym, const int64_t *near, int64_t *apm, int64_t *apm_total,
                       int64_t *apm_count, int64_t *apm_used, int64_t rate) {
    int64_t n_used = 0;
    for (int64_t i = 0; i < k; i++) {
        int64_t s = sym[i], hi = s >> 1, lo = s & 1;
        for (int jj = 0; jj < 2; jj++) {
            int64_t j = jj == 0 ? 0 : 1 + hi;
            int64_t idx = near[i * 3 + j];
            if (apm_count[idx] == 0) apm_used[n_used++] = idx;
            apm_total[idx] += ((j == 0 ? hi : lo) << PROB_BITS) - apm[idx];
            apm_count[idx] += 1;
        }
    }
    for (int64_t u = 0; u < n_used; u++) {
        int64_t idx = apm_used[u];
        apm[idx] = max64(min64(apm[idx] + (floordiv(apm_total[idx], apm_count[idx]) >> rate), ONE - 1), 1);
        apm_total[idx] = 0;
        apm_count[idx] = 0;
    }
}

static void repeat_shared(const Arr *A, int64_t k, const int64_t *sym, int64_t buf_mask, int64_t chunks) {
    PTR(uint8_t, buf, REP_BUF); PTR(const int64_t, rep_pos, S_REP_POS); PTR(int64_t, tally, S_TALLY);
    PTR(int64_t, rhits, REP_HITS); PTR(int64_t, rtotal, REP_TOTAL); PTR(int64_t, rindex, REP_INDEX);
    PTR(const int64_t, rep_key, S_REP_KEY);
    DIM(n_states, REP_TOTAL, n0); DIM(tally_n, S_TALLY, n2);
    for (int64_t i = 0; i < k; i++) buf[rep_pos[i] & buf_mask] = (uint8_t)sym[i];
    for (int64_t g = 0; g < chunks; g++)
        for (int64_t s = 0; s < n_states; s++) {
            int64_t *t0 = tally + (g * 2 + 0) * tally_n + s, *t1 = tally + (g * 2 + 1) * tally_n + s;
            rtotal[s] += *t0;
            rhits[s] += *t1;
            *t0 = 0;
            *t1 = 0;
        }
    halve_states(rhits, rtotal, n_states);
    for (int64_t i = 0; i < k; i++) rindex[rep_key[i]] = max64(rindex[rep_key[i]], rep_pos[i] + 1);
}

void dnac_update(const Arr *A, const int64_t *layout, int64_t k, const int64_t *sym, int64_t t_rep) {
    PTR(uint32_t, table, CM_TABLE); PTR(uint64_t, hist, CM_HIST); PTR(uint64_t, rc, CM_RC);
    PTR(const uint64_t, ctx_mask, CM_CTX_MASK); PTR(const uint64_t, mult, CM_MULT); PTR(const uint64_t, shift, CM_SHIFT);
    PTR(const int64_t, offsets, CM_OFFSETS); PTR(const int64_t, ir_cols, CM_IR_COLS); PTR(const uint64_t, ir_shift, CM_IR_SHIFT);
    PTR(const uint64_t, ir_sym_shift, CM_IR_SYM_SHIFT); PTR(const int64_t, limit_by_model, CM_LIMIT);
    PTR(uint64_t, tol_hist, TOL_HIST); PTR(uint32_t, tol_miss, TOL_MISS); PTR(const int64_t, tol_cols, TOL_COLS);
    PTR(const uint64_t, tol_mask, TOL_MASK); PTR(const uint32_t, tol_window, TOL_WINDOW);
    PTR(const int64_t, tol_threshold, TOL_THRESHOLD);
    PTR(const int64_t, rdir, REP_DIR); PTR(int64_t, rq, REP_Q); PTR(uint8_t, rlive, REP_LIVE); PTR(int64_t, rrun, REP_RUN);
    PTR(uint32_t, rmiss, REP_MISS); PTR(const int64_t, rindex, REP_INDEX); PTR(const int64_t, lane_start, REP_LANE_START);
    PTR(const uint8_t, buf, REP_BUF);
    PTR(int64_t, lane_w, MIX_LANE); PTR(int64_t, shared_w, MIX_SHARED); PTR(int64_t, final_w, MIX_FINAL);
    PTR(int64_t, res_w, MIX_RES);
    PTR(uint32_t, loc_counts, LOC_COUNTS); PTR(const int64_t, loc_mask, LOC_MASK); PTR(const int64_t, loc_limit, LOC_LIMIT);
    PTR(const int64_t, loc_period, LOC_PERIOD); PTR(const int64_t, loc_stride, LOC_STRIDE); PTR(int64_t, phase_a, LOC_PHASE);
    PTR(const int64_t, loc_offset, LOC_OFFSET);
    PTR(uint32_t, ctable, COD_TABLE); PTR(const uint64_t, cmask, COD_MASK); PTR(const int64_t, coff, COD_OFFSETS);
    PTR(const int16_t, cst2, COD_ST2); PTR(int64_t, cscore, COD_SCORE); PTR(int64_t, cbest, COD_BEST);
    PTR(const int64_t, cparams, COD_PARAMS); PTR(const int64_t, climit, COD_LIMIT); PTR(const int64_t, crows, COD_ROWS);
    PTR(int64_t, c_over, COD_OVER); PTR(int64_t, c_check, COD_CHECK); PTR(const int64_t, ccost, COD_COST);
    PTR(int64_t, score, COMP_SCORE); PTR(const int64_t, cost, COMP_COST);
    PTR(int64_t, apm, SSE_T); PTR(int64_t, apm_total, SSE_TOTAL); PTR(int64_t, apm_count, SSE_COUNT); PTR(int64_t, apm_used, SSE_USED);
    PTR(const int16_t, stretch_t, S_STRETCH);
    PTR(const int64_t, rows, S_ROWS); PTR(const int16_t, st, S_ST); PTR(const int64_t, tol_pred, S_TOL_PRED);
    PTR(const uint8_t, tol_seen, S_TOL_SEEN); PTR(const int64_t, rep_pred, S_REP_PRED); PTR(const int64_t, rep_state, S_REP_STATE);
    PTR(const int64_t, p, S_P); PTR(const int64_t, dot, S_DOT); PTR(const int64_t, p2, S_P2);
    PTR(const int64_t, p3, S_P3); PTR(const int64_t, dot3, S_DOT3); PTR(const int64_t, wset, S_WSET);
    PTR(const int64_t, st_fin, S_ST_FIN); PTR(const int64_t, near, S_NEAR); PTR(int64_t, rep_key, S_REP_KEY);
    PTR(int64_t, rep_pos, S_REP_POS); PTR(int64_t, irrows, S_IRROWS); PTR(int64_t, rlook, S_RLOOK); PTR(int64_t, tally, S_TALLY);
    PTR(int64_t, res_partial, S_RES_PARTIAL); PTR(const int64_t, p5, S_P5); PTR(const int64_t, res_set, S_RES_SET);
    PTR(int64_t, shared_partial, S_SHARED_PARTIAL); PTR(const int64_t, owner_all, S_OWNER); PTR(const int64_t, order, S_ORDER);
    PTR(int64_t, claims, S_CLAIMS);
    PTR(int64_t, over_keys, P_OVER_KEYS); PTR(int64_t, check_rows, P_CHECK_ROWS); PTR(const int64_t, ir_pos, P_IR_POS);
    PTR(int64_t, vkey, V_KEY);
    DIM(rows_n, S_ROWS, n1); DIM(sn, S_ST, n2); DIM(tol_n, TOL_HIST, n1); DIM(rep_n, REP_Q, n1); DIM(loc_n, LOC_COUNTS, n1);
    DIM(crows_n, COD_ROWS, n1); DIM(score_n, COMP_SCORE, n1); DIM(tp_n, S_TOL_PRED, n1); DIM(rp_n, S_REP_PRED, n1);
    DIM(ir_n, S_IRROWS, n1); DIM(rlook_n, S_RLOOK, n1); DIM(tally_n, S_TALLY, n2); DIM(cscore_n, COD_SCORE, n1);
    DIM(lane_wn, MIX_LANE, n2); DIM(final_wn, MIX_FINAL, n2); DIM(shared_sets, MIX_SHARED, n0); DIM(res_sets, MIX_RES, n0);
    DIM(sp_n, S_SHARED_PARTIAL, n3); DIM(rp_part_n, S_RES_PARTIAL, n3); DIM(sp_sets, S_SHARED_PARTIAL, n1);
    DIM(rp_sets, S_RES_PARTIAL, n1); DIM(pend_n, P_OVER_KEYS, n1); DIM(cod_pend_n, COD_OVER, n1); DIM(vkey_n, V_KEY, n1);
    DIM(owner_n, S_OWNER, n1); DIM(n_tasks, S_ORDER, n0);
    const int64_t n_loc = A[LOC_MASK].n0, n_cod = A[COD_MASK].n0, n_ir = A[CM_IR_COLS].n0;
    const int64_t cnh = ((const int64_t *)A[COD_NH].p)[0];
    const int64_t n_cm = layout[L_N_CM], n_tol = layout[L_N_TOL], n_rep = layout[L_N_REP], n_in = layout[L_N_IN];
    const int64_t competition = layout[L_COMPETITION], mixer_rate = layout[L_MIXER_RATE];
    const int64_t final_rate = layout[L_FINAL_RATE], decay = layout[L_DECAY], sse_order = layout[L_SSE_ORDER];
    const int64_t sse_rate = layout[L_SSE_RATE], buf_mask = layout[L_BUF_MASK], slots = layout[L_SLOTS];
    const int64_t kmer = layout[L_KMER], kshift = layout[L_KSHIFT], rc_shift = layout[L_RC_SHIFT];
    const uint32_t rep_wmask = (uint32_t)layout[L_REP_WMASK];
    const int64_t rep_threshold = layout[L_REP_THRESHOLD], rep_ir = layout[L_REP_IR];
    const int64_t res_rate = layout[L_RES_RATE], rnd = layout[L_RND];
    const uint64_t kmask = 0xFFFFFFFFFFFFFFFFULL >> (64 - 2 * max64(kmer, 1));
    const int64_t n_models = n_in - 1;
    const int64_t *vprm = (const int64_t *)A[V_PRM].p;
    const int64_t n_vote = vprm[0];
    const int vshift = (int)vprm[3];
    const int64_t *res_first = competition ? dot3 : dot;
    const int64_t phase = phase_a[0];
    int64_t lbase[n_loc > 0 ? n_loc : 1];
    for (int64_t c = 0; c < n_loc; c++) lbase[c] = loc_offset[c] + (phase % loc_period[c]) * loc_stride[c];
    const int64_t chunks = chunk_count(A);
    const int threads = thread_count(A, chunks);
    reset_claims(claims, LEARN_GROUPS, 2 * LEARN_GROUPS + n_tasks);
#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
    for (int64_t ch = 0; ch < chunks; ch++) {
        for (;;) {
            int64_t i0, i1;
            claim_lanes(claims, LEARN_GROUPS, ch, chunks, k, &i0, &i1);
            if (i0 >= i1) break;
            /* 1. histories, rows and k-mer keys for the shared phase, per-lane mixers, competition scores,
             * tolerant histories and repeat candidates */
            for (int64_t i = i0; i < i1; i++) {
                int64_t s = sym[i], hi = s >> 1, lo = s & 1;
                uint64_t su = (uint64_t)s;
                uint64_t h0 = hist[i];
                uint64_t hv = (h0 << 2) | su;
                uint64_t rv = (rc[i] >> 2) | ((3 - su) << 62);
                uint64_t hd = 0, hr = 0;
                hist[i] = hv;
                rc[i] = rv;
                for (int64_t j = 0; j < n_ir; j++) {
                    irrows[i * ir_n + j] = row_of(rv >> ir_shift[j], ir_cols[j], mult, shift, offsets);
                    PREFETCH(&table[irrows[i * ir_n + j]]);
                }
                if (n_rep) {
                    hd = (hv & kmask) * HASH_MULT;
                    hr = (rv >> rc_shift) * HASH_MULT;
                    rep_key[i] = (int64_t)(hd >> kshift);
                    rlook[i * rlook_n + 1] = (int64_t)(hr >> kshift);
                    PREFETCH(&rindex[rep_key[i]]);
                    PREFETCH(&rindex[rlook[i * rlook_n + 1]]);
                }
                for (int64_t c = 0; c < n_loc; c++) {
                    int64_t r = lbase[c] + (int64_t)(h0 & (uint64_t)loc_mask[c]);
                    int sh = (int)(8 * s);
                    uint64_t v = (uint64_t)loc_counts[i * loc_n + r] + (1ULL << sh);
                    if ((int64_t)((v >> sh) & 255) > loc_limit[c]) v = (v >> 1) & 0x7F7F7F7FULL;
                    loc_counts[i * loc_n + r] = (uint32_t)v;
                }
                if (n_cod)
                    frame_score(i, hi, lo, h0, phase, ctable, cmask, coff, cnh, cst2, cscore, cscore_n, cbest,
                                cparams[0], ccost);
                learn16(lane_w, lane_wn, i, st, sn, i, n_in, p, hi, lo, mixer_rate, rnd);
                if (competition) {
                    learn64(final_w, final_wn, i, st_fin, 3, i, 3, p3, hi, lo, final_rate, rnd);
                    const int16_t *sti = st + i * 3 * sn;
                    for (int64_t m = 0; m < n_models; m++) {
                        int64_t c = path_cost(cost, sti[m], sti[(1 + hi) * sn + m], hi, lo);
                        score[i * score_n + m] += c - (score[i * score_n + m] >> decay);
                    }
                }
                for (int64_t t = 0; t < n_tol; t++) {
                    int seen = tol_seen[i * tp_n + t] != 0;
                    int64_t pt = tol_pred[i * tp_n + t];
                    uint64_t ts = (uint64_t)(seen ? pt : s);
                    uint64_t miss = (seen && pt != s) ? 1 : 0;
                    uint64_t th = (tol_hist[i * tol_n + t] << 2) | ts;
                    uint32_t tm = (uint32_t)((((uint64_t)tol_miss[i * tol_n + t] << 1) | miss) & tol_window[t]);
                    if (popcount32(tm) > tol_threshold[t]) { th = hv; tm = 0; }
                    tol_hist[i * tol_n + t] = th;
                    tol_miss[i * tol_n + t] = tm;
                }
                if (n_rep) {
                    rep_pos[i] = lane_start[i] + t_rep;
                    for (int64_t r = 0; r < n_rep; r++) {
                        int64_t idx = i * rep_n + r;
                        int live = rlive[idx] != 0;
                        int hit = live && rep_pred[i * rp_n + r] == s;
                        if (live) {
                            int64_t stt = rep_state[i * rp_n + r];
                            tally[(ch * 2 + 0) * tally_n + stt] += 1;
                            tally[(ch * 2 + 1) * tally_n + stt] += hit;
                        }
                        follow(rrun, rmiss, rlive, idx, hit, rep_wmask, rep_threshold);
                        rq[idx] += rdir[r];
                    }
                    if (n_vote) {
                        vote_learn(A, i, s, stretch_t);
                        vkey[i * vkey_n + 0] = (int64_t)(hd >> vshift);
                        vkey[i * vkey_n + 1] = (int64_t)(hr >> vshift);
                    }
                }
                for (int64_t m = 0; m < n_cm; m++) PREFETCH(&table[row_of(hv & ctx_mask[m], m, mult, shift, offsets)]);
                for (int64_t t = 0; t < n_tol; t++)
                    PREFETCH(&table[row_of(tol_hist[i * tol_n + t] & tol_mask[t], tol_cols[t], mult, shift, offsets)]);
            }
            /* 2. new repeat candidates and voters; the thread's sums for the shared and residual mixers */
            for (int64_t i = i0; i < i1; i++) {
                if (n_rep) {
                    rlook[i * rlook_n + 0] = rindex[rep_key[i]];
                    rlook[i * rlook_n + 1] = rindex[rlook[i * rlook_n + 1]];
                    start_candidate(i, rlook[i * rlook_n + 0], 0, rep_pos[i], rq, rlive, rrun, rmiss, rep_n, slots, buf_mask);
                    if (rep_ir)
                        start_candidate(i, rlook[i * rlook_n + 1] - (kmer + 1), slots, rep_pos[i], rq, rlive, rrun, rmiss,
                                        rep_n, slots, buf_mask);
                    PREFETCH(&buf[rlook[i * rlook_n + 0] & buf_mask]);
                    if (rep_ir) PREFETCH(&buf[(rlook[i * rlook_n + 1] - (kmer + 1)) & buf_mask]);
                    if (n_vote) {
                        vote_start(A, i, vkey[i * vkey_n + 0], rep_pos[i], 1, 1, buf_mask);
                        vote_start(A, i, vkey[i * vkey_n + 1], rep_pos[i], -kmer, -1, buf_mask);
                    }
                }
                if (competition)
                    learn_partial(shared_partial + ch * sp_sets * 3 * sp_n, sp_n, wset[i], st, sn, i, n_in, p2, sym,
                                  mixer_rate, rnd, dot, 0);
                if (res_rate)
                    learn_partial(res_partial + ch * rp_sets * 3 * rp_part_n, rp_part_n, res_set[i], st, sn, i, n_in, p5,
                                  sym, res_rate, rnd, res_first, 1);
            }
        }
    }
    /* 3. what lanes share, as independent tasks spread over the threads */
    const int64_t *owner = owner_all + chunks * owner_n;
#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
    for (int64_t ch = 0; ch < chunks; ch++) {
        for (int64_t v = 0; v < chunks; v++) {
            for (int64_t oi = 0; oi < n_tasks; oi++) {
                int64_t g = order[oi];
                if (owner[g] != (ch + v) % chunks || fetch_add(claims, (2 * LEARN_GROUPS + g) * CLAIM_STRIDE)) continue;
                if (g < n_cm) {
                    count_model(g, k, sym, table, rows, rows_n, irrows, ir_n, ir_pos[g], ir_sym_shift, hist,
                                limit_by_model[g], over_keys, check_rows, pend_n, 0);
                } else if (g < n_cm + n_cod) {
                    count_model(g - n_cm, k, sym, ctable, crows, crows_n, irrows, ir_n, -1, ir_sym_shift, hist, climit[0],
                                c_over, c_check, cod_pend_n, cparams[1] != 0);
                } else if (g == n_cm + n_cod) {
                    if (competition) add_partials(shared_w, shared_sets, wset, k, n_in, shared_partial, chunks);
                    if (res_rate) add_partials(res_w, res_sets, res_set, k, n_in + 1, res_partial, chunks);
                } else if (g == n_cm + n_cod + 1) {
                    if (sse_order) apm_update(k, sym, near, apm, apm_total, apm_count, apm_used, sse_rate);
                } else if (n_rep) {
                    repeat_shared(A, k, sym, buf_mask, chunks);
                    if (n_vote) vote_shared(A, k, rep_pos);
                }
            }
        }
    }
    phase_a[0] = (phase + 1) % 3;
}

/* ---- whole blocks ---- */

/* steps t_begin..t_end-1 of the encoder's block: steps, freq, start (T, lanes); case_grid (case_rows,
 * case_stride), its one row used for every step when case_rows is 1 */
void dnac_encode(const Arr *A, const int64_t *layout, int64_t t_begin, int64_t t_end, const uint8_t *steps,
                 int64_t lanes, const int64_t *counts, int64_t t_rep, const uint8_t *case_grid, int64_t case_rows,
                 int64_t case_stride, uint32_t *freq, uint32_t *start) {
    int64_t *sym = malloc(sizeof(int64_t) * (size_t)max64(lanes, 1));
    int64_t *out = malloc(sizeof(int64_t) * 4 * (size_t)max64(lanes, 1));
    if (!sym || !out) abort();
    for (int64_t t = t_begin; t < t_end; t++) {
        int64_t k = counts[t];
        Coding cd = {CODE_ENCODE, 0, 0, (uint8_t *)steps + t * lanes, sym, freq + t * lanes, start + t * lanes, NULL, NULL};
        dnac_predict(A, layout, k, NULL, 0, case_grid + (case_rows > 1 ? t : 0) * case_stride, &cd, out);
        dnac_update(A, layout, k, sym, t_rep + t - t_begin);
    }
    free(sym);
    free(out);
}

/* steps t_begin..t_end-1 of the decoder's block; returns the position after the last word read, or -1
 * when the words ran out */
int64_t dnac_decode(const Arr *A, const int64_t *layout, int64_t t_begin, int64_t t_end, const int64_t *counts,
                    const int64_t *coded, int64_t n_coded, const int64_t *lens, uint64_t *x, const uint64_t *words,
                    int64_t n_words, int64_t pos, int64_t t_rep, const uint8_t *case_grid, int64_t case_rows,
                    int64_t case_stride, uint8_t *steps_out, int64_t lanes) {
    int64_t *sym = malloc(sizeof(int64_t) * (size_t)max64(lanes, 1));
    int64_t *out = malloc(sizeof(int64_t) * 4 * (size_t)max64(lanes, 1));
    if (!sym || !out) abort();
    for (int64_t t = t_begin; t < t_end; t++) {
        int64_t k = counts[t];
        int64_t m = t < n_coded ? coded[t] : 0;
        Coding cd = {CODE_DECODE, m, t, steps_out + t * lanes, sym, NULL, NULL, x, lens};
        dnac_predict(A, layout, k, NULL, 0, case_grid + (case_rows > 1 ? t : 0) * case_stride, &cd, out);
        for (int64_t i = 0; i < m; i++) {
            if (x[i] < RANS_LOW) {
                if (pos >= n_words) { pos = -1; goto done; }
                x[i] = (x[i] << RANS_WORD_BITS) | words[pos];
                pos++;
            }
        }
        dnac_update(A, layout, k, sym, t_rep + t - t_begin);
    }
done:
    free(sym);
    free(out);
    return pos;
}

/* codec.coder.encode's step loop (kernel.py rans_encode_steps): writes the renormalisation words in
 * stream order to out (room for the sum of coded), ends (n_steps + 1) as scratch; returns their count */
int64_t dnac_rans_encode_steps(const uint32_t *freq, const uint32_t *start, int64_t lanes, const int64_t *coded,
                               int64_t n_steps, uint64_t *x, uint32_t *words, int64_t *ends, uint32_t *out) {
    const uint64_t word_mask = (1ULL << RANS_WORD_BITS) - 1;
    int64_t n = 0;
    for (int64_t t = n_steps - 1; t >= 0; t--) {
        ends[t + 1] = n;
        for (int64_t i = 0; i < coded[t]; i++) {
            uint64_t f = freq[t * lanes + i];
            uint64_t xi = x[i];
            if (xi >= (f << XMAX_SHIFT)) {
                words[n++] = (uint32_t)(xi & word_mask);
                xi >>= RANS_WORD_BITS;
            }
            x[i] = ((xi / f) << FREQ_BITS) + (xi % f) + (uint64_t)start[t * lanes + i];
        }
    }
    ends[0] = n;
    int64_t m = 0;
    for (int64_t t = 0; t < n_steps; t++)
        for (int64_t j = ends[t + 1]; j < ends[t]; j++) out[m++] = words[j];
    return n;
}
