"""numba's import on the idle core, started before the ``dnacodec`` program needs it.

Importing numba takes 0.15-0.3 s of every run, all before the first base is coded, on one core. The
CLI calls :func:`import_numba_in_background` first thing; meanwhile its main thread reads the input,
splits its layout and, while the import is :func:`pending`, faults in the model's tables
(:func:`codec.allocator.prefaulted`, which releases the GIL). Nothing joins the thread: the kernel's
own ``import numba`` waits on the module's import lock until the import is done, or, if it failed,
imports (and fails) again itself, with the numpy fallback as before.

Only the program does this, never the library: a process that forks while another thread is
importing leaves its child an import lock that no thread of the child will release.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading

_lock = threading.Lock()
_thread: threading.Thread | None = None


def import_numba_in_background() -> None:
    """Start importing numba on a background thread, once per process; nothing to do where it is
    already imported, or where the step does not run on numba (the C extension is built, or
    ``DNACODEC_KERNEL=0``)."""
    global _thread
    with _lock:
        if _thread is not None or "numba" in sys.modules or os.environ.get("DNACODEC_KERNEL", "1") == "0":
            return
        from codec.predictors import kernel

        if kernel.backend() != "numba":
            return
        # not a daemon: an interpreter that exits meanwhile waits for the import instead of freezing
        # the thread halfway through a C extension's initialisation
        _thread = threading.Thread(target=_import, name="dnacodec-numba-import")
        _thread.start()


def pending() -> bool:
    """Whether the background import is still running."""
    thread = _thread
    return thread is not None and thread.is_alive()


def _import() -> None:
    try:
        importlib.import_module("numba")
    except Exception:  # the kernel's own import meets it again and falls back to numpy
        pass
