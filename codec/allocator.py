"""Memory for the predictor: tables that start cheaply, and temporaries that stay mapped.

Tables (:func:`table`) are anonymous mappings the kernel may back with huge pages.

:func:`tune` keeps glibc from page-faulting the predictor's temporaries in and out on every step.

A step allocates and frees a few dozen numpy temporaries of 100 KB - 1 MB. glibc serves blocks of that
size with mmap and returns them to the kernel on free, so every step pays fresh page faults, which
doubles the step time in a virtual machine. Raising the mmap and trim thresholds keeps those blocks
in the heap for reuse. Process-wide, applied once, only on glibc; results never depend on it.
Set ``DNACODEC_NO_MALLOPT=1`` to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import mmap
import os
from functools import lru_cache

import numpy as np

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 256 << 20  # glibc's maximum on 64-bit is 32 MiB; larger values are clamped
_TRIM_THRESHOLD = 512 << 20


@lru_cache(maxsize=None)
def tune() -> bool:
    """Apply the thresholds once; returns whether they were applied."""
    if os.environ.get("DNACODEC_NO_MALLOPT") or not hasattr(os, "confstr"):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        libc = ctypes.CDLL(None)  # the process's own symbols, glibc's among them (no ctypes.util: it loads subprocess)
        ok = libc.mallopt(_M_MMAP_THRESHOLD, min(_MMAP_THRESHOLD, 32 << 20))
        ok &= libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
        return bool(ok)
    except (OSError, ValueError, AttributeError):
        return False


_HUGE_MIN_BYTES = 4 << 20


def table(n: int, dtype: type) -> np.ndarray:
    """A large lookup table: ``n`` zeros of ``dtype``, backed by anonymous memory the
    kernel may map with transparent huge pages (``MADV_HUGEPAGE``). Randomly indexed tables of
    hundreds of MB otherwise spend much of a step in TLB misses. Falls back to numpy's allocator.
    Its pages are faulted in as they are first touched."""
    size = n * np.dtype(dtype).itemsize
    if size < _HUGE_MIN_BYTES:
        return np.zeros(n, dtype=dtype)
    if not hasattr(mmap, "MADV_HUGEPAGE"):
        arr = np.zeros(n, dtype=dtype)
    else:
        buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        try:
            buf.madvise(mmap.MADV_HUGEPAGE)
        except OSError:
            pass
        arr = np.frombuffer(buf, dtype=dtype)  # zero-filled by the kernel; keeps buf alive
    return arr
