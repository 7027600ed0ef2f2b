"""The ``case_runs`` packing of the case stream (format 1.1): its run lengths, range-coded with adaptive
binary models (``spec/FORMAT.md``, "Case-run coder").

The case stream (``spec/LAYOUT.md``) is a list of varints, the lengths of alternating upper- and
lower-case runs. zstd sees only their bytes; this coder models the lengths themselves: each length in
Elias-gamma form, the exponent in unary and the first mantissa bits with adaptive counts per run kind
(upper or lower), then an LZMA-style binary range coder. On soft-masked genomes it is 7-16% smaller
than zstd; on streams with repeated patterns (FASTQ qualities) zstd wins, and the encoder keeps
whichever is smaller (:func:`pack` returns None when it cannot beat a byte limit).

The decoder rebuilds the raw stream (the varints) and checks that the coded data ends exactly where the
encoder's flush ended, so truncated or altered data raises :class:`CodecError`.

The functions below are the coder of record. Where the compiled step runs in C
(:func:`codec.predictors.kernel.backend`), :func:`pack` and :func:`unpack` call their statement-for-
statement C twins (``codec/native/case_runs.c``); elsewhere they run as plain Python (slowly).
``tests/test_case_runs.py`` checks that both give the same bytes.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import numpy as np

from codec import extension
from codec.constants import CASE_COUNT_LIMIT, CASE_MAX_EXPONENT, CASE_MODELLED_BITS, CASE_PROB_BITS
from codec.predictors import kernel
from formats.errors import CodecError

_K = CASE_MAX_EXPONENT
_TOP = 1 << CASE_MODELLED_BITS
# context slots: unary (kind, j); first mantissa bits (kind, k, prefix); other mantissa bits (kind, k, d)
_UNARY_BASE = 0
_TOP_BASE = 2 * _K
_LOW_BASE = _TOP_BASE + 2 * (_K + 1) * _TOP
CONTEXTS = _LOW_BASE + 2 * (_K + 1) * _K
_TOP_RANGE = 1 << 24
_PROB_ONE = 1 << CASE_PROB_BITS

# decoder status codes -> messages
_OK, _ENDS_EARLY, _BAD_START, _OVERRUN, _TRAILING = range(5)
_ERRORS = {
    _ENDS_EARLY: "coded data ends early",
    _BAD_START: "coded data does not start with a zero byte",
    _OVERRUN: "runs overrun the stream's raw length",
    _TRAILING: "coded data does not end where the runs end",
}


def _p1(counts, ctx):
    """P(bit = 1) of a context, CASE_PROB_BITS bits, from its counts (KT estimator): in [8, 4088]."""
    n0 = counts[ctx, 0]
    n1 = counts[ctx, 1]
    return ((2 * n1 + 1) << CASE_PROB_BITS) // (2 * (n0 + n1) + 2)


def _learn(counts, ctx, bit):
    counts[ctx, bit] += 1
    if counts[ctx, 0] + counts[ctx, 1] > CASE_COUNT_LIMIT:
        counts[ctx, 0] >>= 1
        counts[ctx, 1] >>= 1


def _mantissa_ctx(kind, k, d, prefix):
    """Mantissa bit d (0 = the highest) of an exponent-k length; ``prefix``, the 1 and the bits above
    bit d, counts only for the first CASE_MODELLED_BITS bits."""
    if d < CASE_MODELLED_BITS:
        return _TOP_BASE + (kind * (_K + 1) + k) * _TOP + prefix
    return _LOW_BASE + (kind * (_K + 1) + k) * _K + d


def _encode(values, limit):
    """Range-code ``values``; returns (bytes, length), or length -1 when more than ``limit`` bytes."""
    counts = np.zeros((CONTEXTS, 2), dtype=np.int64)
    out = np.zeros(limit + 8, dtype=np.uint8)
    state = np.zeros(4, dtype=np.int64)  # low, range, cache, pending bytes (cache included)
    state[1] = 0xFFFFFFFF
    state[3] = 1
    pos = 0
    for i in range(values.size):
        kind = i & 1
        n = values[i] + 1
        k = 0
        while (n >> (k + 1)) != 0:
            k += 1
        for j in range(min(k + 1, _K)):
            pos = _code_bit(state, out, pos, counts, _UNARY_BASE + kind * _K + j, 1 if j < k else 0)
        prefix = 1
        for j in range(k - 1, -1, -1):
            bit = (n >> j) & 1
            d = k - 1 - j
            pos = _code_bit(state, out, pos, counts, _mantissa_ctx(kind, k, d, prefix), bit)
            if d < CASE_MODELLED_BITS:
                prefix = 2 * prefix + bit
        if pos > limit:
            return out, -1
    for _ in range(5):
        pos = _shift_low(state, out, pos)
    if pos > limit:
        return out, -1
    return out, pos


def _code_bit(state, out, pos, counts, ctx, bit):
    bound = (state[1] >> CASE_PROB_BITS) * (_PROB_ONE - _p1(counts, ctx))
    if bit == 0:
        state[1] = bound
    else:
        state[0] += bound
        state[1] -= bound
    _learn(counts, ctx, bit)
    while state[1] < _TOP_RANGE:
        state[1] <<= 8
        pos = _shift_low(state, out, pos)
    return pos


def _shift_low(state, out, pos):
    """LZMA's rc_shift_low: emit the cached byte (plus carry) and any pending 0xFF bytes once the
    carry into them is settled."""
    low = state[0]
    if low < 0xFF000000 or low > 0xFFFFFFFF:
        carry = low >> 32
        byte = state[2]
        while state[3] > 0:
            if pos < out.size:
                out[pos] = (byte + carry) & 0xFF
            pos += 1
            byte = 0xFF
            state[3] -= 1
        state[2] = (low >> 24) & 0xFF
    state[3] += 1
    state[0] = (low & 0x00FFFFFF) << 8
    return pos


def _decode(data, raw_len):
    """The raw case stream (``raw_len`` bytes of varints) from coded ``data``; (stream, status)."""
    out = np.zeros(raw_len, dtype=np.uint8)
    counts = np.zeros((CONTEXTS, 2), dtype=np.int64)
    state = np.zeros(3, dtype=np.int64)  # code, range, input position
    if data.size < 5:
        return out, _ENDS_EARLY
    if data[0] != 0:
        return out, _BAD_START
    for q in range(1, 5):
        state[0] = (state[0] << 8) | data[q]
    state[1] = 0xFFFFFFFF
    state[2] = 5
    written = 0
    i = 0
    while written < raw_len:
        kind = i & 1
        k = 0
        while k < _K:
            bit = _decode_bit(state, data, counts, _UNARY_BASE + kind * _K + k)
            if bit < 0:
                return out, _ENDS_EARLY
            if bit == 0:
                break
            k += 1
        n = 1  # k == _K has no terminating zero: no longer exponent exists
        for d in range(k):
            bit = _decode_bit(state, data, counts, _mantissa_ctx(kind, k, d, n))
            if bit < 0:
                return out, _ENDS_EARLY
            n = 2 * n + bit
        value = n - 1
        while True:  # the varint
            if written >= raw_len:
                return out, _OVERRUN
            if value >= 0x80:
                out[written] = (value & 0x7F) | 0x80
                value >>= 7
                written += 1
            else:
                out[written] = value
                written += 1
                break
        i += 1
    if state[2] != data.size or state[0] != 0:
        return out, _TRAILING
    return out, _OK


def _decode_bit(state, data, counts, ctx):
    """One bit (0 or 1), or -1 when the data ends before the range coder is done with it."""
    bound = (state[1] >> CASE_PROB_BITS) * (_PROB_ONE - _p1(counts, ctx))
    if state[0] < bound:
        state[1] = bound
        bit = 0
    else:
        state[0] -= bound
        state[1] -= bound
        bit = 1
    _learn(counts, ctx, bit)
    while state[1] < _TOP_RANGE:
        if state[2] >= data.size:
            return -1
        state[1] <<= 8
        state[0] = ((state[0] << 8) | data[state[2]]) & 0xFFFFFFFF
        state[2] += 1
    return bit


@lru_cache(maxsize=None)
def _c_coder() -> ctypes.CDLL | None:
    """The extension with the coder's prototypes, where the step runs in C (and its constants are
    this module's)."""
    lib = extension.load() if kernel.backend() == "c" else None
    if lib is None:
        return None
    if extension.constants(lib, "dnac_case_runs_constants") != [CASE_PROB_BITS, CASE_COUNT_LIMIT, _K,
                                                                  CASE_MODELLED_BITS, CONTEXTS]:
        return None  # pragma: no cover - a stale build; kernel_c.library() has warned already
    p, n = ctypes.c_void_p, ctypes.c_int64
    extension.declare(lib, "dnac_case_runs_encode", n, p, n, n, p)
    extension.declare(lib, "dnac_case_runs_decode", n, p, n, n, p)
    return lib


def _encode_any(values: np.ndarray, limit: int) -> tuple[np.ndarray, int]:
    """:func:`_encode` in C where it is built."""
    lib = _c_coder()
    if lib is None:
        return _encode(values, limit)
    out = np.zeros(limit + 8, dtype=np.uint8)
    n = lib.dnac_case_runs_encode(values.ctypes.data, values.size, limit, out.ctypes.data)
    if n < -1:
        raise MemoryError("case_runs: out of memory")
    return out, n


def _decode_any(data: np.ndarray, raw_len: int) -> tuple[np.ndarray, int]:
    """:func:`_decode` in C where it is built."""
    lib = _c_coder()
    if lib is None:
        return _decode(data, raw_len)
    out = np.zeros(raw_len, dtype=np.uint8)
    status = lib.dnac_case_runs_decode(data.ctypes.data, data.size, raw_len, out.ctypes.data)
    if status < 0:
        raise MemoryError("case_runs: out of memory")
    return out, status


def pack(runs: np.ndarray, limit: int) -> bytes | None:
    """The coded form of case runs (the case stream's values, in order), or None when it would take
    more than ``limit`` bytes (or a run is too long for the coder)."""
    runs = np.ascontiguousarray(runs, dtype=np.int64)
    if limit < 5 or (runs.size and int(runs.max()) >= (1 << (_K + 1)) - 1):
        return None
    out, n = _encode_any(runs, int(limit))
    return None if n < 0 else out[:n].tobytes()


def unpack(data: bytes, raw_len: int) -> bytes:
    """The raw case stream (its ``raw_len`` bytes of varints) from its coded form; raises
    :class:`CodecError` on data that does not decode to exactly that."""
    out, status = _decode_any(np.ascontiguousarray(np.frombuffer(data, dtype=np.uint8)), int(raw_len))
    if status != _OK:
        raise CodecError(f"case_runs stream: {_ERRORS[status]}")
    return out.tobytes()
