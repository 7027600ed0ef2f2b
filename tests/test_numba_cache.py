"""codec.numba_cache: the numba step's cached code loads without numba's compiler set-up, and a cache
miss still compiles."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codec import case_runs, numba_cache
from codec.predictors import kernel
from tests.conftest import child_env

pytestmark = pytest.mark.skipif(not kernel._loads("numba"), reason="numba is not installed")
# a module that only numba's context refresh imports (the registries of its linear-algebra lowerings)
REFRESH_ONLY = "numba.np.linalg"


def _dispatchers(module) -> list:
    return [obj for obj in vars(module).values() if hasattr(obj, "_cache") and hasattr(obj, "overloads")]


@pytest.mark.skipif(os.environ.get("DNACODEC_NUMBA_FULL_REFRESH", "0") not in ("", "0"),
                    reason="turned off by DNACODEC_NUMBA_FULL_REFRESH")
def test_every_compiled_function_loads_light() -> None:
    from codec.predictors import kernel_numba

    found = _dispatchers(kernel_numba)
    assert len(found) > 20
    if kernel.backend() == "numba":  # case_runs is compiled with numba only where the step runs on it
        found += _dispatchers(case_runs)
        assert len(_dispatchers(case_runs)) >= 6
    assert all(numba_cache.is_light(d) for d in found)


def _run_toy(tmp_path: Path, full_refresh: bool) -> list[str]:
    """A fresh process calls a cached function of a toy module; prints its result and whether the
    refresh-only module got imported."""
    env = child_env(tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "cache"),
                    DNACODEC_NUMBA_FULL_REFRESH="1" if full_refresh else "0")
    code = f"import sys, numpy as np, toy; print(toy.f(np.arange(10)), {REFRESH_ONLY!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_a_cache_hit_skips_the_refresh_and_a_miss_compiles(tmp_path: Path) -> None:
    (tmp_path / "toy.py").write_text(textwrap.dedent("""
        from codec.numba_cache import cached_njit

        def _f(a):
            s = 0
            for x in a:
                s += x * x
            return s

        f = cached_njit(_f)
    """))
    assert _run_toy(tmp_path, False) == ["285", "True"]  # a miss: numba's refresh, then compiled
    assert list((tmp_path / "cache").rglob("*.nbi"))
    assert _run_toy(tmp_path, False) == ["285", "False"]  # a hit: no refresh
    assert _run_toy(tmp_path, True) == ["285", "True"]  # numba's own lookup refreshes
