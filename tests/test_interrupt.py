"""Interruption safety: Ctrl-C, SIGTERM, SIGPIPE, a full disk and a killed writer never leave output
that claims to be complete.

The signal tests run ``python -m codec -T1`` on 2 MB of random bases (a few seconds of coding here,
and well over the test's 0.1 s on a machine several times faster) and signal it once its temporary
output file exists, which is about when the predictor's compiled step loads: a signal landing in
one of the C callbacks of that load must not be lost. A closed pipe exits with status 141
(128 + SIGPIPE, what a shell reports for a writer killed by SIGPIPE) and nothing on stderr.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import gc
import io
import os
import random
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

import codec
from codec import api, cli, cli_signals, engine
from tests.conftest import child_env

SLOW_BYTES = 2_000_000  # random bases: seconds of work for the coder on one thread


def _random_fasta(n: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    seq = "".join(rng.choices("ACGT", k=n))
    return b">rnd\n" + "\n".join(seq[i : i + 60] for i in range(0, n, 60)).encode() + b"\n"


def _quick_compress(data: bytes) -> bytes:
    """An archive with short lanes: quick to make and to decode (the coder's time grows with lane length)."""
    comp = engine.Compressor(1, min_lane_bases=64)
    return comp.compress(data) + comp.flush()


def _small_input(tmp_path: Path, op: str) -> tuple[Path, bytes, list[str]]:
    """A small FASTA file to compress, or its archive to decompress: its path, its bytes and the CLI's
    arguments for ``op``."""
    data = _random_fasta(30_000)
    if op == "compress":
        src, payload, args = tmp_path / "r.fa", data, []
    else:
        src, payload, args = tmp_path / "r.fa.dnac", _quick_compress(data), ["-d"]
    src.write_bytes(payload)
    return src, payload, args


def _default_sigint() -> None:
    # A child started from a shell or job that ignores SIGINT would inherit that; undo it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _popen(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(args, env=child_env(), preexec_fn=_default_sigint, **kwargs)


def _temp_files(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]


def _wait_for(predicate, what: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"process exited (status {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def quick_blocks(monkeypatch) -> None:
    """Short lanes for the writers of codec.open and the CLI, as in :func:`_quick_compress`."""
    quick = functools.partial(engine.Compressor, min_lane_bases=64)
    monkeypatch.setattr(api, "Compressor", quick)
    monkeypatch.setattr(engine, "Compressor", quick)


@pytest.fixture(scope="module")
def slow_fasta() -> bytes:
    return _random_fasta(SLOW_BYTES)


@pytest.fixture(scope="module")
def slow_archive(slow_fasta: bytes) -> bytes:
    return codec.compress(slow_fasta)


# -- SIGINT / SIGTERM ---------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["compress", "decompress"])
@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_removes_partial_output(tmp_path: Path, slow_fasta: bytes, slow_archive: bytes,
                                       op: str, sig: int, status: int) -> None:
    if op == "compress":
        src, payload, out = tmp_path / "r.fa", slow_fasta, tmp_path / "r.fa.dnac"
        args = [str(src)]  # no -k: the input must survive the interruption all the same
    else:
        src, payload, out = tmp_path / "r.fa.dnac", slow_archive, tmp_path / "r.fa"
        args = ["-d", str(src)]
    src.write_bytes(payload)
    proc = _popen([sys.executable, "-m", "codec", "-T1", *args], stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE)
    _wait_for(lambda: _temp_files(tmp_path), "the temporary output file", proc)
    time.sleep(0.1)  # well inside the coding work
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0, "the run finished before the signal came: make SLOW_BYTES larger"
    assert proc.returncode == status, stderr
    assert b"Traceback" not in stderr
    assert not out.exists()
    assert _temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]
    assert src.read_bytes() == payload


def _swallowed(exc: BaseException) -> None:
    """Raise ``exc`` inside a callback from C, as a signal handler does when the signal lands there
    (a ctypes callback, or a ``__del__``): ctypes reports it as unraisable and returns."""
    def callback() -> None:
        raise exc
    ctypes.CFUNCTYPE(None)(callback)()


@pytest.mark.parametrize("op", ["compress", "decompress"])
@pytest.mark.parametrize("exc, status", [(KeyboardInterrupt(), 130), (cli_signals.Terminated(15), 143)])
def test_interrupt_swallowed_by_a_c_callback_still_stops_the_run(
        tmp_path: Path, monkeypatch, capsys, quick_blocks, op: str, exc: BaseException, status: int) -> None:
    src, payload, args = _small_input(tmp_path, op)
    original = cli._Output.write
    calls = []

    def interrupted(self, *a, **k):
        if not calls:
            _swallowed(exc)
        calls.append(1)
        return original(self, *a, **k)

    monkeypatch.setattr(cli._Output, "write", interrupted)
    assert cli.main([*args, str(src)]) == status
    assert calls, "the interrupt was never raised"
    assert capsys.readouterr().err == ""  # kept quietly, not reported as "Exception ignored"
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]
    assert src.read_bytes() == payload


def test_other_unraisable_exceptions_are_still_reported(monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(u.exc_type))
    with cli_signals.handled():
        _swallowed(ValueError("not an interrupt"))
        _swallowed(KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            cli_signals.check()
        cli_signals.check()  # raised once only
    assert seen == [ValueError]


def test_reader_interrupted_while_opening_leaves_nothing_open(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "a.fa.dnac"
    path.write_bytes(codec.compress(b">a\nACGT\n"))
    opened = []

    def tracking_open(*a, **k):
        opened.append(open(*a, **k))
        return opened[-1]

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    unraisable = []
    monkeypatch.setattr(api, "builtins", types.SimpleNamespace(open=tracking_open))
    monkeypatch.setattr(api, "_DnacReader", interrupted)
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(KeyboardInterrupt):
        api.DnacFile(path, "rb")
    gc.collect()
    assert unraisable == []  # no failing close() from __del__
    assert len(opened) == 1 and opened[0].closed


# -- SIGPIPE ------------------------------------------------------------------------------------


def test_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    # `dnacodec -dc x.dnac | head -c 100`: N runs decode fast, and 4 MB do not fit in a pipe buffer.
    data = b">n\n" + b"N" * 60 * 70_000 + b"\n"
    archive = tmp_path / "n.fa.dnac"
    archive.write_bytes(codec.compress(data))
    proc = _popen([sys.executable, "-m", "codec", "-dc", str(archive)],
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100) == data[:100]
    proc.stdout.close()  # the reader goes away early
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    assert stderr == b""
    assert proc.returncode == 141  # 128 + SIGPIPE, as a shell reports `yes | head`
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.fa.dnac"]


# -- full disk ----------------------------------------------------------------------------------


class _FullDisk(io.RawIOBase):
    """A file that takes ``room`` bytes, then fails with ENOSPC."""

    def __init__(self, raw, room: int) -> None:
        super().__init__()
        self._raw = raw
        self.room = room

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        n = min(len(b), self.room)
        if n == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= n
        if self._raw is not None:
            self._raw.write(bytes(memoryview(b)[:n]))
        return n

    def fileno(self) -> int:
        return self._raw.fileno() if self._raw is not None else super().fileno()

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
        super().close()


@pytest.mark.parametrize("op", ["compress", "decompress"])
def test_full_disk_removes_partial_output(tmp_path: Path, monkeypatch, capsys, quick_blocks, op: str) -> None:
    src, payload, args = _small_input(tmp_path, op)
    real_fdopen = os.fdopen
    # The CLI writes its output through os.fdopen(mkstemp()): that file fills up after 1000 bytes.
    monkeypatch.setattr(os, "fdopen", lambda fd, mode: io.BufferedWriter(
        _FullDisk(real_fdopen(fd, mode, buffering=0), room=1000), buffer_size=512))
    assert cli.main([*args, str(src)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]
    assert src.read_bytes() == payload


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("op", ["compress", "decompress"])
def test_full_stdout(tmp_path: Path, op: str) -> None:
    data = _random_fasta(2_000)
    src = tmp_path / "r.fa"
    src.write_bytes(data if op == "compress" else _quick_compress(_random_fasta(100_000)))
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "codec", "-c", *(["-d"] if op == "decompress" else []),
                               str(src)], stdout=full, stderr=subprocess.PIPE, env=child_env(), timeout=60)
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err, err


# -- the library: unfinished archives have no footer -----------------------------------------------


def _assert_truncated(path: Path) -> None:
    with pytest.raises(codec.CodecError, match="truncated"):
        codec.decompress(path.read_bytes())


_WRITER = """
import functools, random, sys, codec
codec.api.Compressor = functools.partial(codec.Compressor, min_lane_bases=64)  # quick small blocks
rng = random.Random(3)
with codec.open(sys.argv[1], "wb", level=1, block_size=16384) as f:
    while True:
        f.write("".join(rng.choices("ACGT", k=4096)).encode() + b"\\n")
"""


def test_killed_writer_leaves_truncated_archive(tmp_path: Path) -> None:
    path = tmp_path / "w.fa.dnac"
    proc = _popen([sys.executable, "-c", _WRITER, str(path)])
    _wait_for(lambda: path.exists() and path.stat().st_size > 20_000, "some blocks", proc)
    proc.kill()
    proc.wait(timeout=60)
    tested = subprocess.run([sys.executable, "-m", "codec", "-t", str(path)], capture_output=True,
                            env=child_env(), timeout=60)
    err = tested.stderr.decode()
    assert tested.returncode == 1
    assert err.count("\n") == 1 and "truncated" in err and "Traceback" not in err, err
    with pytest.raises(codec.CodecError):
        codec.decompress(path.read_bytes())


@pytest.mark.parametrize("mode", ["wb", "wt"])
@pytest.mark.parametrize("how", ["exception", "interrupt", "never closed"])
def test_unfinished_writer_leaves_no_footer(tmp_path: Path, quick_blocks, mode: str, how: str) -> None:
    path = tmp_path / "u.fa.dnac"
    text = _random_fasta(20_000).decode()
    chunk = text if mode == "wt" else text.encode()
    if how == "never closed":
        f = codec.open(path, mode, level=1, block_size=4096)
        f.write(chunk)
        del f  # garbage-collected without close(): not finished
    else:
        error = KeyboardInterrupt if how == "interrupt" else RuntimeError
        with pytest.raises(error):
            with codec.open(path, mode, level=1, block_size=4096) as f:
                f.write(chunk)
                raise error
    assert path.stat().st_size > 1000  # the finished blocks are there
    _assert_truncated(path)
    # the same writes, closed properly, make a complete archive
    with codec.open(path, mode, level=1, block_size=4096) as f:
        f.write(chunk)
    assert codec.decompress(path.read_bytes()) == text.encode()


def test_failed_write_is_never_finished(tmp_path: Path, quick_blocks) -> None:
    sink = io.BytesIO()
    disk = _FullDisk(sink, room=3000)
    out = io.BufferedWriter(disk, buffer_size=256)
    f = codec.open(out, "wb", level=1, block_size=4096)
    with pytest.raises(OSError) as info:
        f.write(_random_fasta(40_000))
    assert info.value.errno == errno.ENOSPC
    with pytest.raises(ValueError):
        f.write(b"ACGT\n")
    disk.room = 1 << 30  # space again: close() must still not write a footer
    f.close()
    assert len(sink.getvalue()) == 3000
    path = tmp_path / "f.fa.dnac"
    path.write_bytes(sink.getvalue())
    _assert_truncated(path)


def test_block_size_is_for_writing_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        api.DnacFile(io.BytesIO(codec.compress(b"ACGT\n")), "rb", block_size=4096)
