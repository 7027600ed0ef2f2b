"""The C step (``codec/native/kernel.c``) for :class:`codec.predictors.kernel.KernelStep`.

The C functions take the step's state as one table of array descriptors (address and up to four
dimensions), in the order of ``kernel.c``'s enum: :data:`STATE` below lists each array with the dtype
it must have. :class:`NativeStep` checks every array against it and makes the table once per
predictor, so that a call passes only the step's own inputs. :func:`library` refuses an extension
whose compiled constants differ from the Python ones (a stale build), with a warning.
"""

from __future__ import annotations

import ctypes
import warnings
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from codec import extension

if TYPE_CHECKING:
    from codec.predictors.kernel import KernelStep

_I64, _U8, _BOOL, _I16, _U32, _U64 = np.int64, np.uint8, np.bool_, np.int16, np.uint32, np.uint64
_P, _N = ctypes.c_void_p, ctypes.c_int64

# (KernelStep attribute, dtypes of its arrays in order): kernel.c's enum, group by group
STATE = (
    ("_cm", (_U32, _U64, _U64, _U64, _U64, _U64, _I64, _I16, _I64, _I64, _U64, _U64, _I64)),
    ("_tol", (_U64, _U32, _I64, _U64, _I64, _U32, _I64)),
    ("_rep_arrays", (_U8, _I64, _I64, _BOOL, _I64, _U32, _I64, _I64, _I64, _I64)),
    ("_vote", (_U32, _I64, _I64, _BOOL, _I64, _U32, _I64, _I64, _I64, _I64, _I64, _I64, _I64, _I64, _I64, _I64,
               _I64)),
    ("_loc", (_U32, _I64, _I64, _I64, _I16, _I64, _I64, _I64, _U32, _U64, _I64, _I64, _I16, _I64, _I64, _I64, _I64,
              _I64, _I64, _I64, _I64, _I64)),
    ("_mixers", (_I64,) * 4),
    ("_comp", (_I64,) * 3),
    ("_sse", (_I64,) * 4),
    ("_scratch", (_I16, _I64, _I64, _I16, _I64, _BOOL, _I64, _I64) + (_I64,) * 12 + (_U32,) + (_I64,) * 13),
    ("_pending", (_I64,) * 3),
)
N_LAYOUT = 24  # the layout integers (KernelStep._layout)
_DESCRIPTOR = 5  # int64s per array: address, then four dimensions (0 past the array's)


class _Coding(ctypes.Structure):
    _fields_ = [("mode", _N), ("coded", _N), ("step", _N), ("symbols", _P), ("sym", _P), ("freq", _P),
                ("start", _P), ("x", _P), ("lens", _P)]


def _python_constants() -> list[int]:
    """kernel.c's constants, in the order its ``dnac_constants`` reports them, from their sources."""
    from codec.coder import XMAX_SHIFT
    from codec.constants import FREQ_BITS, PROB_BITS, RANS_LOW, RANS_WORD_BITS, STRETCH_LIMIT
    from codec.predictors import kernel
    from codec.predictors.context_models import HASH_MULT, PAIR_BITS
    from codec.predictors.mixer import BIAS, CASE_RESIDUAL, CASE_SHARED, CASE_SSE, LR_SHIFT, RESIDUAL_REPEAT
    from codec.predictors.repeat import COUNT_LIMIT, MISS_BUCKETS, REPEAT_STATES, RUN_BOUNDS, RUN_CAP
    from codec.predictors.repeat_votes import VOTE_FLOOR
    from codec.predictors.sse import BUCKETS, STEP

    return [FREQ_BITS, PROB_BITS, STRETCH_LIMIT, RANS_LOW, RANS_WORD_BITS, XMAX_SHIFT, PAIR_BITS,
            int(np.uint64(HASH_MULT).view(np.int64)), LR_SHIFT, BIAS, CASE_RESIDUAL, CASE_SHARED, CASE_SSE,
            RESIDUAL_REPEAT, RUN_CAP, MISS_BUCKETS, COUNT_LIMIT, REPEAT_STATES, VOTE_FLOOR, BUCKETS, STEP,
            kernel.LEARN_GROUPS, kernel.BLOCK_LANES, kernel.CLAIM_STRIDE, kernel.CODE_NONE, kernel.CODE_ENCODE,
            kernel.CODE_DECODE, *RUN_BOUNDS]


@lru_cache(maxsize=None)
def library() -> ctypes.CDLL | None:
    """The extension with the step's prototypes declared, or None where it is not built or was built
    from other constants than this checkout's."""
    lib = extension.load()
    if lib is None:
        return None
    want = _python_constants()
    sizes = extension.constants(lib, "dnac_table_sizes")
    if extension.constants(lib, "dnac_constants") != want or sizes != [sum(len(d) for _, d in STATE), N_LAYOUT,
                                                                         8 * _DESCRIPTOR]:
        warnings.warn("codec._native was built with other constants than this checkout's; reinstall dnacodec "
                      f"to rebuild it. Until then {extension.FALLBACK}.", RuntimeWarning, stacklevel=2)
        return None
    extension.declare(lib, "dnac_predict", None, _P, _P, _N, _P, _N, _P, _P, _P)
    extension.declare(lib, "dnac_update", None, _P, _P, _N, _P, _N)
    extension.declare(lib, "dnac_encode", None, _P, _P, _N, _N, _P, _N, _P, _N, _P, _N, _N, _P, _P)
    extension.declare(lib, "dnac_decode", _N, _P, _P, _N, _N, _P, _P, _N, _P, _P, _P, _N, _N, _N, _P, _N, _N, _P,
                      _N)
    extension.declare(lib, "dnac_rans_encode_steps", _N, _P, _P, _N, _P, _N, _P, _P, _P, _P)
    return lib


def _ptr(a: np.ndarray, dtype, name: str) -> int:
    """The address of ``a``, which must be a C-contiguous array of ``dtype``."""
    if a.dtype != np.dtype(dtype) or not a.flags.c_contiguous:
        raise TypeError(f"C step: {name} must be a C-contiguous {np.dtype(dtype)} array, not {a.dtype} "
                        f"{'contiguous' if a.flags.c_contiguous else 'strided'}")
    return a.ctypes.data


class NativeStep:
    """The C calls of one :class:`KernelStep`, over a table of its arrays' addresses made once."""

    def __init__(self, step: KernelStep) -> None:
        self._lib = library()
        rows = []
        self._keep = []  # the arrays the table points into
        for attr, dtypes in STATE:
            arrays = getattr(step, attr)
            if len(arrays) != len(dtypes):
                raise TypeError(f"C step: {attr} has {len(arrays)} arrays, kernel.c reads {len(dtypes)}")
            for j, (a, dt) in enumerate(zip(arrays, dtypes)):
                if a.ndim > 4:
                    raise TypeError(f"C step: {attr}[{j}] has {a.ndim} dimensions")
                rows.append([_ptr(a, dt, f"{attr}[{j}]"), *a.shape, *(0,) * (4 - a.ndim)])
                self._keep.append(a)
        self._table = np.array(rows, dtype=np.int64)
        if len(step._layout) != N_LAYOUT:
            raise TypeError(f"C step: the layout has {len(step._layout)} integers, kernel.c reads {N_LAYOUT}")
        self._layout = np.array(step._layout, dtype=np.int64)
        self._lanes = len(step._cm[1])
        self._args = (self._table.ctypes.data, self._layout.ctypes.data)
        self._no_coding = _Coding(mode=0)
        self._no_coding_ref = ctypes.byref(self._no_coding)

    def predict(self, k: int, extra: np.ndarray, case: np.ndarray) -> np.ndarray:
        """(k, 4) frequencies; ``extra`` (k, 3, n) int64 stretches, ``case`` (>= k,) lowercase bits."""
        out = np.empty((k, 4), dtype=np.int64)
        ex = np.ascontiguousarray(extra, dtype=np.int64)
        if not 0 <= k <= self._lanes or len(case) < k or ex.shape[0] < k:
            raise ValueError("C step: the step's arrays disagree in shape")
        self._lib.dnac_predict(*self._args, k, ex.ctypes.data, ex.shape[2], _ptr(case, _U8, "case"),
                               self._no_coding_ref, out.ctypes.data)
        return out

    def update(self, k: int, sym: np.ndarray, t_rep: int) -> None:
        """Learn the symbols ``sym`` (k,) int64 of the step just predicted."""
        if not 0 <= k <= min(self._lanes, len(sym)):
            raise ValueError("C step: more lanes than symbols")
        self._lib.dnac_update(*self._args, k, _ptr(sym, _I64, "symbols"), t_rep)

    def encode(self, t0: int, t1: int, steps: np.ndarray, counts: np.ndarray, t_rep: int, case: np.ndarray,
               freq: np.ndarray, start: np.ndarray) -> None:
        """Steps t0..t1-1 of an encoder's block (``steps``, ``freq``, ``start``: (T, lanes))."""
        lanes = steps.shape[1]
        if (lanes > self._lanes or freq.shape != steps.shape or start.shape != steps.shape
                or case.shape[1] < lanes or len(counts) < t1):
            raise ValueError("C step: the block's arrays disagree in shape")
        self._lib.dnac_encode(*self._args, t0, t1, _ptr(steps, _U8, "steps"), lanes, _ptr(counts, _I64, "counts"),
                              t_rep, _ptr(case, _U8, "case"), case.shape[0], case.shape[1],
                              _ptr(freq, _U32, "freq"), _ptr(start, _U32, "start"))

    def decode(self, t0: int, t1: int, counts: np.ndarray, coded: np.ndarray, lens: np.ndarray, x: np.ndarray,
               words: np.ndarray, pos: int, t_rep: int, case: np.ndarray, steps: np.ndarray) -> int:
        """Steps t0..t1-1 of a decoder's block into ``steps`` (T, lanes); the position after the last
        renormalisation word read, or -1 when they ran out."""
        lanes = steps.shape[1]
        if lanes > self._lanes or case.shape[1] < lanes or len(x) < lanes or len(lens) < lanes or len(counts) < t1:
            raise ValueError("C step: the block's arrays disagree in shape")
        return self._lib.dnac_decode(*self._args, t0, t1, _ptr(counts, _I64, "counts"), _ptr(coded, _I64, "coded"),
                                     len(coded), _ptr(lens, _I64, "lens"), _ptr(x, _U64, "states"),
                                     _ptr(words, _U64, "words"), len(words), pos, t_rep, _ptr(case, _U8, "case"),
                                     case.shape[0], case.shape[1], _ptr(steps, _U8, "steps"), lanes)


def rans_encode_steps(freq: np.ndarray, start: np.ndarray, coded: np.ndarray, x: np.ndarray) -> np.ndarray:
    """:func:`codec.predictors.kernel.rans_encode_steps` in C."""
    freq = np.ascontiguousarray(freq, dtype=_U32)
    start = np.ascontiguousarray(start, dtype=_U32)
    coded = np.ascontiguousarray(coded, dtype=_I64)
    n_steps = len(coded)
    if freq.shape != start.shape or freq.shape[0] < n_steps or (n_steps and coded.max() > min(freq.shape[1], len(x))):
        raise ValueError("rANS steps: the arrays disagree in shape")
    room = max(int(coded.sum()), 1)
    words = np.empty(room, dtype=_U32)
    out = np.empty(room, dtype=_U32)
    ends = np.empty(n_steps + 1, dtype=_I64)
    n = library().dnac_rans_encode_steps(freq.ctypes.data, start.ctypes.data, freq.shape[1], coded.ctypes.data,
                                         n_steps, _ptr(x, _U64, "states"), words.ctypes.data, ends.ctypes.data,
                                         out.ctypes.data)
    return out[:n]
