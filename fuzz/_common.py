"""Shared set-up of the fuzz harnesses: import paths, instrumentation, and an atheris work-around.

atheris (3.0.0) instruments every ``COMPARE_OP`` in the instrumented modules with a call to the
native ``atheris._trace_cmp``, which leaks a reference to the comparison's result. For ints and
bytes the result is a shared bool and nothing is lost, but ``codec`` and ``formats`` compare numpy
arrays everywhere (``arr == LF``, ``tags > 7``, ...), and every leaked result array stays in memory:
``fuzz_layout`` grew by ~14 KB per execution and hit ``-rss_limit_mb=2048`` after ~140,000 runs.
:func:`instrumented` therefore wraps ``atheris._trace_cmp``: comparisons of plain Python values
still go to the native tracer (so libFuzzer still learns magic numbers, lengths and CRCs), all
others (numpy arrays and scalars, ...) are evaluated directly. ``atheris.Fuzz()`` rebinds
``atheris._trace_cmp`` to its libFuzzer-connected version, so :func:`run` re-installs the wrapper
around whatever is bound when an input runs.
"""

from __future__ import annotations

import contextlib
import dis
import operator
import os
import sys
from collections.abc import Callable, Iterator

import atheris

FUZZ_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ_DIR)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PACKAGES = ["codec", "formats"]

_TRACED_TYPES = (int, bool, float, str, bytes, bytearray, type(None))
_OPERATORS = {"<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
              ">": operator.gt, ">=": operator.ge}


def _install_cmp_workaround() -> None:
    """Wrap the currently bound ``atheris._trace_cmp`` (idempotent)."""
    native = atheris._trace_cmp
    if getattr(native, "_dnac_wrapped", False):
        return
    try:
        from atheris.version_dependent import CMP_OP_SHIFT_AMOUNT
    except ImportError:  # pragma: no cover - older atheris
        CMP_OP_SHIFT_AMOUNT = 0
    ops = [_OPERATORS.get(name) for name in dis.cmp_op]

    def _trace_cmp(left, right, opid, counter, is_const):
        if type(left) in _TRACED_TYPES and type(right) in _TRACED_TYPES:
            return native(left, right, opid, counter, is_const)
        op = ops[opid >> CMP_OP_SHIFT_AMOUNT]
        if op is None:  # pragma: no cover - not a rich comparison
            return native(left, right, opid, counter, is_const)
        return op(left, right)

    _trace_cmp._dnac_wrapped = True  # type: ignore[attr-defined]
    atheris._trace_cmp = _trace_cmp


def fuzzing(module_name: str) -> bool:
    """True when the harness runs as a script (or DNAC_FUZZ_INSTRUMENT=1): instrument the imports.
    A test that imports a harness gets uninstrumented code (instrumenting would slow down every
    later use of codec in the same process)."""
    return module_name == "__main__" or os.environ.get("DNAC_FUZZ_INSTRUMENT") == "1"


@contextlib.contextmanager
def instrumented(module_name: str) -> Iterator[None]:
    """``atheris.instrument_imports`` for the project's packages when :func:`fuzzing`."""
    if not fuzzing(module_name):
        yield
        return
    _install_cmp_workaround()
    with atheris.instrument_imports(include=PACKAGES):
        yield


def run(test_one_input: Callable[[bytes], None], argv: list[str] | None = None) -> None:
    """``atheris.Setup`` + ``atheris.Fuzz`` with the comparison work-around in place."""

    def one_input(data: bytes) -> None:
        if not getattr(atheris._trace_cmp, "_dnac_wrapped", False):
            _install_cmp_workaround()
        test_one_input(data)

    atheris.Setup(sys.argv if argv is None else argv, one_input)
    atheris.Fuzz()
