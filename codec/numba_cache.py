"""Load the kernel's cached machine code without numba's compiler set-up.

Before every cache lookup numba's ``Cache.load_overload`` refreshes the target context. The first
refresh of a process imports and registers every lowering numba has (linear algebra, random
generators, typed containers, ...): about 0.1 s of each run's start on a small machine, spent before
the first base is coded, although only compiling needs it. Running cached machine code needs the
runtime (NRT) initialised, and the registries only where the code calls back into object mode, which
the kernel never does (numba's PR #9806 proposed the same deferral).

:func:`cached_njit` gives each of the kernel's dispatchers a lookup that initialises the runtime and
reads the cache; on a miss it falls back to numba's own ``load_overload`` (full refresh, then the
lookup again), so compiling is exactly as before. It touches only the dispatchers it makes, never
numba's classes, so other numba code in the same process is unaffected. Where numba's cache object
lacks the private methods this relies on (another numba version), it does nothing, and
``DNACODEC_NUMBA_FULL_REFRESH=1`` turns it off.
"""

from __future__ import annotations

import os
import types
from typing import Any

_MARK = "_dnacodec_light_load"


def _light_load_overload(cache: Any, sig: Any, target_context: Any) -> Any:
    """``Cache.load_overload`` without the context refresh on a hit."""
    from numba.core.runtime import rtsys

    rtsys.initialize(target_context)  # what the refresh does that running the code needs
    cres = None
    with cache._guard_against_spurious_io_errors():
        cres = cache._load_overload(sig, target_context)
    if cres is None:  # a miss (or an unreadable entry): numba's own path, which compiles afterwards
        return type(cache).load_overload(cache, sig, target_context)
    return cres


def _install(disp: Any) -> None:
    """Give the dispatcher ``disp`` the light cache lookup, where numba has what it relies on."""
    if os.environ.get("DNACODEC_NUMBA_FULL_REFRESH", "0") not in ("", "0"):
        return
    try:
        from numba.core.runtime import rtsys
    except ImportError:  # pragma: no cover - another numba layout: keep numba's own lookup
        return
    cache = getattr(disp, "_cache", None)
    needs = ("load_overload", "_load_overload", "_guard_against_spurious_io_errors")
    if hasattr(rtsys, "initialize") and all(hasattr(cache, a) for a in needs):
        cache.load_overload = types.MethodType(_light_load_overload, cache)
        setattr(cache, _MARK, True)


def cached_njit(fn: Any, **options: Any) -> Any:
    """``numba.njit(cache=True, nogil=True, **options)(fn)`` with the light cache lookup; ``fn``
    itself where numba is missing."""
    try:
        import numba
    except ImportError:  # pragma: no cover - exercised only where numba is absent
        return fn
    disp = numba.njit(cache=True, nogil=True, **options)(fn)
    _install(disp)
    return disp


def is_light(dispatcher: Any) -> bool:
    """Whether ``dispatcher`` looks up its cache with the light lookup."""
    return getattr(getattr(dispatcher, "_cache", None), _MARK, False)
