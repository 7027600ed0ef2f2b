/* The case_runs coder of codec/case_runs.py in C (spec/FORMAT.md, "Case-run coder"): run lengths in
 * Elias-gamma form with adaptive binary models, an LZMA-style range coder. The same integer arithmetic
 * statement for statement; codec/case_runs.py keeps the Python of record and calls these through
 * ctypes where the extension is built. Sizes come from the caller (dnac_case_runs_constants checks). */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CASE_PROB_BITS 12
#define CASE_COUNT_LIMIT 255
#define CASE_MAX_EXPONENT 40
#define CASE_MODELLED_BITS 3

#define K_ CASE_MAX_EXPONENT
#define TOP_ (1 << CASE_MODELLED_BITS)
#define UNARY_BASE 0
#define TOP_BASE (2 * K_)
#define LOW_BASE (TOP_BASE + 2 * (K_ + 1) * TOP_)
#define CONTEXTS (LOW_BASE + 2 * (K_ + 1) * K_)
#define TOP_RANGE (1 << 24)
#define PROB_ONE (1 << CASE_PROB_BITS)

enum { OK_, ENDS_EARLY, BAD_START, OVERRUN, TRAILING };

int64_t dnac_case_runs_constants(int64_t *out) {
    const int64_t c[] = {CASE_PROB_BITS, CASE_COUNT_LIMIT, CASE_MAX_EXPONENT, CASE_MODELLED_BITS, CONTEXTS};
    if (out) memcpy(out, c, sizeof c);
    return (int64_t)(sizeof c / sizeof c[0]);
}

static inline int64_t p1(const int64_t *counts, int64_t ctx) {
    int64_t n0 = counts[2 * ctx], n1 = counts[2 * ctx + 1];
    return ((2 * n1 + 1) << CASE_PROB_BITS) / (2 * (n0 + n1) + 2);
}

static inline void learn(int64_t *counts, int64_t ctx, int64_t bit) {
    counts[2 * ctx + bit] += 1;
    if (counts[2 * ctx] + counts[2 * ctx + 1] > CASE_COUNT_LIMIT) {
        counts[2 * ctx] >>= 1;
        counts[2 * ctx + 1] >>= 1;
    }
}

static inline int64_t mantissa_ctx(int64_t kind, int64_t k, int64_t d, int64_t prefix) {
    if (d < CASE_MODELLED_BITS) return TOP_BASE + (kind * (K_ + 1) + k) * TOP_ + prefix;
    return LOW_BASE + (kind * (K_ + 1) + k) * K_ + d;
}

typedef struct { int64_t low, range, cache, pending; } Enc;

static int64_t shift_low(Enc *s, uint8_t *out, int64_t out_size, int64_t pos) {
    int64_t low = s->low;
    if (low < 0xFF000000LL || low > 0xFFFFFFFFLL) {
        int64_t carry = low >> 32, byte = s->cache;
        while (s->pending > 0) {
            if (pos < out_size) out[pos] = (uint8_t)((byte + carry) & 0xFF);
            pos++;
            byte = 0xFF;
            s->pending--;
        }
        s->cache = (low >> 24) & 0xFF;
    }
    s->pending++;
    s->low = (low & 0x00FFFFFFLL) << 8;
    return pos;
}

static int64_t code_bit(Enc *s, uint8_t *out, int64_t out_size, int64_t pos, int64_t *counts, int64_t ctx, int64_t bit) {
    int64_t bound = (s->range >> CASE_PROB_BITS) * (PROB_ONE - p1(counts, ctx));
    if (bit == 0) {
        s->range = bound;
    } else {
        s->low += bound;
        s->range -= bound;
    }
    learn(counts, ctx, bit);
    while (s->range < TOP_RANGE) {
        s->range <<= 8;
        pos = shift_low(s, out, out_size, pos);
    }
    return pos;
}

/* range-code values (n); out has room for limit + 8 bytes; returns the length, or -1 past limit */
int64_t dnac_case_runs_encode(const int64_t *values, int64_t n, int64_t limit, uint8_t *out) {
    int64_t *counts = calloc(2 * CONTEXTS, sizeof(int64_t));
    if (!counts) return -2;
    const int64_t out_size = limit + 8;
    Enc s = {0, 0xFFFFFFFFLL, 0, 1};
    int64_t pos = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t kind = i & 1, v = values[i] + 1, k = 0;
        while ((v >> (k + 1)) != 0) k++;
        for (int64_t j = 0; j < (k + 1 < K_ ? k + 1 : K_); j++)
            pos = code_bit(&s, out, out_size, pos, counts, UNARY_BASE + kind * K_ + j, j < k ? 1 : 0);
        int64_t prefix = 1;
        for (int64_t j = k - 1; j >= 0; j--) {
            int64_t bit = (v >> j) & 1, d = k - 1 - j;
            pos = code_bit(&s, out, out_size, pos, counts, mantissa_ctx(kind, k, d, prefix), bit);
            if (d < CASE_MODELLED_BITS) prefix = 2 * prefix + bit;
        }
        if (pos > limit) { free(counts); return -1; }
    }
    for (int q = 0; q < 5; q++) pos = shift_low(&s, out, out_size, pos);
    free(counts);
    return pos > limit ? -1 : pos;
}

typedef struct { int64_t code, range, at; } Dec;

static int64_t decode_bit(Dec *s, const uint8_t *data, int64_t size, int64_t *counts, int64_t ctx) {
    int64_t bound = (s->range >> CASE_PROB_BITS) * (PROB_ONE - p1(counts, ctx)), bit;
    if (s->code < bound) {
        s->range = bound;
        bit = 0;
    } else {
        s->code -= bound;
        s->range -= bound;
        bit = 1;
    }
    learn(counts, ctx, bit);
    while (s->range < TOP_RANGE) {
        if (s->at >= size) return -1;
        s->range <<= 8;
        s->code = ((s->code << 8) | data[s->at]) & 0xFFFFFFFFLL;
        s->at++;
    }
    return bit;
}

/* the raw case stream (raw_len bytes of varints, into out) from coded data; returns a status code */
int64_t dnac_case_runs_decode(const uint8_t *data, int64_t size, int64_t raw_len, uint8_t *out) {
    if (size < 5) return ENDS_EARLY;
    if (data[0] != 0) return BAD_START;
    int64_t *counts = calloc(2 * CONTEXTS, sizeof(int64_t));
    if (!counts) return -2;
    int64_t status = OK_;
    Dec s = {0, 0xFFFFFFFFLL, 5};
    for (int q = 1; q < 5; q++) s.code = (s.code << 8) | data[q];
    int64_t written = 0, i = 0;
    while (written < raw_len) {
        int64_t kind = i & 1, k = 0;
        while (k < K_) {
            int64_t bit = decode_bit(&s, data, size, counts, UNARY_BASE + kind * K_ + k);
            if (bit < 0) { status = ENDS_EARLY; goto done; }
            if (bit == 0) break;
            k++;
        }
        int64_t v = 1;
        for (int64_t d = 0; d < k; d++) {
            int64_t bit = decode_bit(&s, data, size, counts, mantissa_ctx(kind, k, d, v));
            if (bit < 0) { status = ENDS_EARLY; goto done; }
            v = 2 * v + bit;
        }
        int64_t value = v - 1;
        for (;;) {
            if (written >= raw_len) { status = OVERRUN; goto done; }
            if (value >= 0x80) {
                out[written++] = (uint8_t)((value & 0x7F) | 0x80);
                value >>= 7;
            } else {
                out[written++] = (uint8_t)value;
                break;
            }
        }
        i++;
    }
    if (s.at != size || s.code != 0) status = TRAILING;
done:
    free(counts);
    return status;
}
