"""Start-up overlap: the CLI imports numba on a background thread (codec.preload) while its main
thread faults in the model's tables (codec.allocator.prefaulted); archives never depend on either."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import codec
from codec import allocator, engine, preload
from codec.predictors import kernel
from tests.conftest import child_env

LINUX = sys.platform.startswith("linux")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not LINUX, reason="reads /proc/self/statm")
def test_prefaulted_tables_are_resident_at_once_and_others_are_not() -> None:
    size = 64 << 20
    before = _rss()
    lazy = allocator.table(size // 4, np.uint32)
    assert _rss() - before < 8 << 20
    with allocator.prefaulted():
        eager = allocator.table(size // 4, np.uint32)
        small = allocator.table(1024, np.uint32)  # below the huge-page size: plain numpy zeros
    assert _rss() - before > size - (8 << 20)
    with allocator.prefaulted(False):
        also_lazy = allocator.table(size // 4, np.uint32)
    assert _rss() - before < size + (8 << 20)
    assert not eager.any() and not lazy.any() and not small.any() and not also_lazy.any()


@pytest.fixture
def faulted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the tables faulted in during the test, in order (they are still faulted in)."""
    sizes: list[int] = []
    orig = allocator._fault_in
    monkeypatch.setattr(allocator, "_fault_in", lambda arr: (sizes.append(arr.nbytes), orig(arr)))
    return sizes


def test_prefaulting_is_per_block_and_resets_after_an_error(faulted: list[int]) -> None:
    with pytest.raises(RuntimeError), allocator.prefaulted():
        allocator.table(1 << 21, np.uint32)
        raise RuntimeError
    allocator.table(1 << 21, np.uint32)
    assert faulted == [8 << 20]


def _blocks_faulted(faulted: list[int], data: bytes) -> tuple[list[int], list[int]]:
    """Table sizes faulted in while compressing ``data`` at level 1 and decompressing it again."""
    start = len(faulted)
    z = codec.compress(data, level=1)
    middle = len(faulted)
    assert codec.decompress(z) == data
    return faulted[start:middle], faulted[middle:]


def test_the_engine_prefaults_large_blocks_only(faulted: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preload, "pending", lambda: True)
    rng = np.random.default_rng(7)
    small = b">s\n" + bytes(rng.choice(list(b"ACGT"), 20_000).tolist()) + b"\n"
    assert _blocks_faulted(faulted, small) == ([], [])
    large = b">l\n" + bytes(rng.choice(list(b"ACGT"), engine.PREFAULT_MIN_BASES).tolist()) + b"\n"
    enc, dec = _blocks_faulted(faulted, large)
    assert enc and enc == dec and max(enc) >= 16 << 20


def test_no_prefault_without_a_background_import(faulted: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preload, "pending", lambda: False)
    assert not engine._prefault(10 * engine.PREFAULT_MIN_BASES)
    data = b">l\n" + b"ACGTTGCA" * (engine.PREFAULT_MIN_BASES // 8) + b"\n"
    assert codec.decompress(codec.compress(data, level=1)) == data
    assert faulted == []


def _python(code: str, **env: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], env=child_env(**env), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


_IMPORT_IN_BACKGROUND = """
import sys, threading
from codec import cli, preload
assert "numba" not in sys.modules
preload.import_numba_in_background()
preload.import_numba_in_background()  # once per process
threads = [t for t in threading.enumerate() if t.name == "dnacodec-numba-import"]
pending = preload.pending()
for t in threads:
    t.join()
print(len(threads), pending, "numba" in sys.modules, preload.pending())
"""


@pytest.mark.skipif(not kernel._loads("numba"), reason="numba is not installed")
def test_numba_is_imported_on_one_background_thread_where_the_step_runs_on_it() -> None:
    assert _python(_IMPORT_IN_BACKGROUND, DNACODEC_KERNEL="numba") == "1 True True False"
    assert _python(_IMPORT_IN_BACKGROUND, DNACODEC_KERNEL="0") == "0 False False False"


@pytest.mark.skipif(not kernel._loads("c"), reason="the C extension is not built")
def test_the_c_step_needs_no_numba_at_all() -> None:
    """With the extension built, the program never imports numba: not in the background, not to code."""
    assert _python(_IMPORT_IN_BACKGROUND) == "0 False False False"
    code = ("import sys, codec\n"
            "data = b'>s\\n' + b'ACGTTGCAacgtNNAC' * 4000 + b'\\n'\n"
            "assert codec.decompress(codec.compress(data, level=6)) == data\n"
            "print('numba' in sys.modules)")
    assert _python(code) == "False"


def test_the_cli_round_trips_a_large_input_with_the_overlap(tmp_path: Path) -> None:
    """The program as users run it: background import and prefaulted tables on a block over the
    threshold; the archive equals the library's, which does neither."""
    rng = np.random.default_rng(11)
    seq = rng.choice(list(b"ACGTacgt"), 3 * engine.PREFAULT_MIN_BASES // 2).tolist()
    data = b">big\n" + b"\n".join(bytes(seq[i:i + 70]) for i in range(0, len(seq), 70)) + b"\n"
    src = tmp_path / "big.fa"
    src.write_bytes(data)
    env = child_env()
    run = [sys.executable, "-m", "codec"]
    subprocess.run(run + ["-1", "-k", str(src)], env=env, check=True, timeout=300)
    archive = (tmp_path / "big.fa.dnac").read_bytes()
    assert archive == codec.compress(data, level=1)
    out = subprocess.run(run + ["-d", "-c", str(tmp_path / "big.fa.dnac")], env=env, capture_output=True,
                         check=True, timeout=300)
    assert out.stdout == data
