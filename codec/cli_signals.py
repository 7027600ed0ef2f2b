"""Signals for the command-line tools: SIGTERM and SIGHUP unwind like Ctrl-C, and no interrupt is lost.

Python runs a signal's handler in the main thread at the next bytecode. When that bytecode belongs to
a callback from C (ctypes callbacks, torch's hooks) or to a ``__del__`` method, the exception the
handler raises cannot propagate: Python reports it as "Exception ignored ..." and carries on, so a Ctrl-C in the first half second would be dropped
and the run would finish as if nothing had happened. :func:`handled` catches such interrupts on
their way to ``sys.unraisablehook`` and keeps them; :func:`check` raises the kept one, and the tool
calls it between chunks and before it commits an output file.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like KeyboardInterrupt (removing partial output)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_INTERRUPTS = (KeyboardInterrupt, Terminated)
_pending: BaseException | None = None


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def check() -> None:
    """Raise the interrupt that arrived where it could not propagate, if any (once)."""
    global _pending
    if _pending is not None:
        exc, _pending = _pending, None
        raise exc


@contextmanager
def handled() -> Iterator[None]:
    """Within: SIGTERM and SIGHUP raise :class:`Terminated` (unless our parent had them ignored,
    e.g. SIGHUP under nohup), and interrupts that C callbacks or finalizers swallow are kept for
    :func:`check`. Only in the main thread (elsewhere it changes nothing)."""
    global _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
            previous[signum] = signal.signal(signum, _terminate)
    hook = sys.unraisablehook

    def keep_interrupts(unraisable: Any) -> None:
        global _pending
        if isinstance(unraisable.exc_value, _INTERRUPTS):
            if _pending is None:
                _pending = unraisable.exc_value.with_traceback(None)
        else:
            hook(unraisable)

    sys.unraisablehook = keep_interrupts
    try:
        yield
    finally:
        sys.unraisablehook = hook
        _pending = None
        for signum, handler in previous.items():
            signal.signal(signum, handler)
