"""The C extension ``codec._native`` (sources in ``codec/native/``), loaded with ctypes.

``pip install`` builds it where a C compiler is at hand (``setup.py``; optional: an install without
one still works, with the numpy reference doing its work, 50-100 times slower). It has no
Python-level functions: the modules that use it (:mod:`codec.predictors.kernel_c`, :mod:`codec.case_runs`) declare the C functions they
call and check that the constants compiled into them equal their Python sources. ctypes releases the
GIL for the duration of each call.
"""

from __future__ import annotations

import ctypes
import importlib.util
import warnings
from functools import lru_cache

from codec import native_sources

# what every warning about a missing or refused build adds
FALLBACK = "the numpy reference runs instead: the same archives, 50-100 times slower"


@lru_cache(maxsize=None)
def load() -> ctypes.CDLL | None:
    """The extension's shared library, or None where it is not built, does not load, or was built
    from other sources than those beside it (with a warning: reinstall to rebuild it)."""
    try:
        from codec import _native
    except ImportError:
        return None
    try:
        lib = ctypes.CDLL(_native.__file__)
    except OSError:  # pragma: no cover - built, but not loadable here
        return None
    declare(lib, "dnac_sources_digest", ctypes.c_char_p)
    here = native_sources.digest()
    if here is not None and lib.dnac_sources_digest().decode() != here:
        warnings.warn("codec._native was built from older sources than this checkout's; reinstall dnacodec "
                      f"(pip install -e .) to rebuild it. Until then {FALLBACK}.", RuntimeWarning, stacklevel=2)
        return None
    return lib


def built() -> bool:
    """Whether the extension is installed at all (current or not)."""
    return importlib.util.find_spec("codec._native") is not None


def declare(lib: ctypes.CDLL, name: str, restype, *argtypes) -> None:
    """Give ``lib.name`` its C prototype."""
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


def constants(lib: ctypes.CDLL, name: str) -> list[int]:
    """The constants a ``int64_t name(int64_t *out)`` function of the extension reports."""
    declare(lib, name, ctypes.c_int64, ctypes.c_void_p)
    fn = getattr(lib, name)
    n = fn(None)
    out = (ctypes.c_int64 * n)()
    fn(out)
    return list(out)
