"""The dnacodec command line: codec.cli.main in-process, and `python -m codec` in a subprocess."""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from codec import api, cli, engine, extension, models
from formats import model_file
from tests.conftest import child_env

FASTA = b">chr1 test\nACGTACGTTTGACCANNNNACGT\nacgtGATTACA\n>chr2\nGGGCCCAAATTT\n"
OTHER = b">x\nTTTTAAAACCCCGGGG\n"
_RNG = random.Random(7)
# Big enough that the bases are entropy-coded (tiny inputs are stored), small enough to be quick.
CODED = b">rnd\n" + "".join(_RNG.choice("ACGT") for _ in range(600)).encode() + b"\n"


def _run(*argv: str) -> int:
    return cli.main(list(argv))


def _stderr_lines(capsys) -> list[str]:
    return capsys.readouterr().err.splitlines()


def _one_error_line(err: str, name: str | None = None) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dnacodec: "), err
    if name is not None:
        assert lines[0].startswith(f"dnacodec: {name}: "), err
    assert "Traceback" not in err


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def fasta(tmp_path: Path) -> Path:
    path = tmp_path / "a.fa"
    path.write_bytes(FASTA)
    return path


@pytest.fixture(scope="module")
def archive_bytes() -> bytes:
    return api.compress(FASTA)


@pytest.fixture
def archive(tmp_path: Path, archive_bytes: bytes) -> Path:
    path = tmp_path / "b.fa.dnac"
    path.write_bytes(archive_bytes)
    return path


# -- compress / decompress files ----------------------------------------------------------------


def test_compress_then_decompress_file(fasta: Path, capsys) -> None:
    os.chmod(fasta, 0o640)
    os.utime(fasta, (1_000_000_000, 1_000_000_000))
    assert _run(str(fasta)) == 0
    out = fasta.with_name("a.fa.dnac")
    assert out.exists() and not fasta.exists()  # input removed like xz
    assert api.decompress(out.read_bytes()) == FASTA
    st = out.stat()
    assert st.st_mode & 0o777 == 0o640 and int(st.st_mtime) == 1_000_000_000
    assert _run("-d", str(out)) == 0
    assert fasta.read_bytes() == FASTA and not out.exists()
    assert int(fasta.stat().st_mtime) == 1_000_000_000
    assert capsys.readouterr() == ("", "")
    assert _leftovers(fasta.parent) == ["a.fa"]


def test_keep_and_force(fasta: Path, capsys) -> None:
    out = fasta.with_name("a.fa.dnac")
    assert _run("-k", str(fasta)) == 0
    assert fasta.exists() and out.exists()
    out.write_bytes(b"precious")
    assert _run("-k", str(fasta)) == 1  # refuses to overwrite
    _one_error_line(capsys.readouterr().err, str(out))
    assert out.read_bytes() == b"precious"
    assert _run("-k", "-f", str(fasta)) == 0
    assert api.decompress(out.read_bytes()) == FASTA
    # decompressing onto an existing file is refused as well
    assert _run("-d", "-k", str(out)) == 1
    _one_error_line(capsys.readouterr().err)
    assert fasta.read_bytes() == FASTA
    assert _leftovers(fasta.parent) == ["a.fa", "a.fa.dnac"]


def test_stdout_option(fasta: Path, archive: Path, capsysbinary) -> None:
    assert _run("-c", str(fasta)) == 0
    out, err = capsysbinary.readouterr()
    assert api.decompress(out) == FASTA and err == b""
    assert fasta.exists()  # -c keeps the input
    assert _run("-dc", str(archive)) == 0
    assert capsysbinary.readouterr().out == FASTA
    assert archive.exists()
    # several files to stdout: concatenated members / outputs
    assert _run("-c", str(fasta), str(fasta)) == 0
    assert api.decompress(capsysbinary.readouterr().out) == FASTA * 2
    assert _run("-d", "-c", str(archive), str(archive)) == 0
    assert capsysbinary.readouterr().out == FASTA * 2


def test_output_option(fasta: Path, archive: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "sub"
    target.mkdir()
    out = target / "custom.bin"
    assert _run("-k", "-o", str(out), str(fasta)) == 0
    assert api.decompress(out.read_bytes()) == FASTA
    restored = target / "restored"
    assert _run("-d", "-k", "--output", str(restored), str(out)) == 0  # any name with -o
    assert restored.read_bytes() == FASTA
    assert _run("-o", str(out), str(fasta), str(archive)) == 1  # usage: one input only
    assert _run("-c", "-o", str(out), str(fasta)) == 1
    assert _run("-o", str(fasta), str(fasta)) == 1  # same file
    assert fasta.read_bytes() == FASTA
    capsys.readouterr()


def test_stdin_to_stdout_in_process(monkeypatch, capsysbinary) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(FASTA)))
    assert _run() == 0
    packed = capsysbinary.readouterr().out
    assert api.decompress(packed) == FASTA
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(packed)))
    assert _run("-d", "-") == 0
    assert capsysbinary.readouterr().out == FASTA


class _Tty(io.TextIOWrapper):
    def isatty(self) -> bool:
        return True


def test_terminal_refusals(fasta: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdout", _Tty(io.BytesIO()))
    assert _run("-c", str(fasta)) == 1  # compressed data is not written to a terminal...
    _one_error_line(capsys.readouterr().err, "(stdout)")
    assert _run("-cf", str(fasta)) == 0  # ...unless forced
    assert api.decompress(sys.stdout.buffer.getvalue()) == FASTA
    monkeypatch.setattr(sys, "stdin", _Tty(io.BytesIO()))
    assert _run("-d") == 1  # nor read from one
    _one_error_line(capsys.readouterr().err, "(stdin)")
    assert fasta.exists()


def test_suffix_rules(fasta: Path, archive: Path, capsysbinary) -> None:
    # decompressing a name without .dnac is refused with a warning (exit 2) unless -c/-o is given
    assert _run("-d", str(fasta)) == 2
    assert b"suffix" in capsysbinary.readouterr().err
    assert _run("-dc", str(archive)) == 0
    capsysbinary.readouterr()
    # compressing a .dnac file is skipped with a warning
    assert _run(str(archive)) == 2
    err = capsysbinary.readouterr().err
    assert err.startswith(b"dnacodec: ") and err.count(b"\n") == 1
    assert _run("-q", str(archive)) == 2  # -q silences warnings, not the exit status
    assert capsysbinary.readouterr().err == b""
    assert _leftovers(fasta.parent) == ["a.fa", "b.fa.dnac"]


def test_directory_and_missing_file(tmp_path: Path, fasta: Path, capsys) -> None:
    (tmp_path / "dir").mkdir()
    assert _run("-k", str(tmp_path / "dir")) == 2
    assert _run("-k", str(tmp_path / "missing"), str(fasta)) == 1  # error wins, others still done
    err = capsys.readouterr().err
    assert "missing" in err and fasta.with_name("a.fa.dnac").exists()


# -- integrity: -t and corrupt input -------------------------------------------------------------


def test_test_mode(archive: Path, tmp_path: Path, archive_bytes: bytes, capsys) -> None:
    assert _run("-t", str(archive)) == 0
    assert capsys.readouterr() == ("", "")
    assert archive.exists()
    bad = tmp_path / "bad.dnac"
    bad.write_bytes(archive_bytes[:-3])
    assert _run("-t", str(bad)) == 1
    _one_error_line(capsys.readouterr().err, str(bad))
    assert _run("-t", str(archive), str(bad), str(archive)) == 1
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert _leftovers(tmp_path) == ["b.fa.dnac", "bad.dnac"]


@pytest.mark.parametrize("kind", ["truncated", "garbage", "trailing", "empty"])
def test_corrupt_input_leaves_nothing(tmp_path: Path, archive_bytes: bytes, kind: str, capsys) -> None:
    payload = {
        "truncated": archive_bytes[: len(archive_bytes) // 2],
        "garbage": b"this is not a dnacodec archive\n" * 4,
        "trailing": archive_bytes + b"junk",
        "empty": b"",
    }[kind]
    bad = tmp_path / "bad.fa.dnac"
    bad.write_bytes(payload)
    assert _run("-d", str(bad)) == 1
    _one_error_line(capsys.readouterr().err, str(bad))
    assert _leftovers(tmp_path) == ["bad.fa.dnac"]  # no output, no temporary file
    assert bad.read_bytes() == payload
    assert _run("-d", "-o", str(tmp_path / "x"), str(bad)) == 1
    assert _leftovers(tmp_path) == ["bad.fa.dnac"]
    capsys.readouterr()


def test_interrupt_removes_partial_output(fasta: Path, monkeypatch, capsys) -> None:
    class Interrupted(engine.Compressor):
        def flush(self) -> bytes:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.engine, "Compressor", Interrupted)
    assert _run(str(fasta)) == 130
    assert _leftovers(fasta.parent) == ["a.fa"]
    assert fasta.read_bytes() == FASTA


def test_broken_pipe_exits_quietly(fasta: Path, monkeypatch, capsys) -> None:
    class BrokenBuffer(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b) -> int:  # type: ignore[override]
            raise BrokenPipeError(32, "Broken pipe")

    class BrokenStdout(io.TextIOWrapper):
        def fileno(self) -> int:
            raise io.UnsupportedOperation("no fileno")

    monkeypatch.setattr(sys, "stdout", BrokenStdout(BrokenBuffer()))
    assert _run("-dc", str(fasta.with_suffix(".missing"))) == 1  # sanity: errors still reported
    assert _run("-c", str(fasta)) == 141
    assert "Traceback" not in capsys.readouterr().err
    assert fasta.exists()


# -- listing ------------------------------------------------------------------------------------


def test_list_table_and_json(archive: Path, tmp_path: Path, capsys) -> None:
    second = tmp_path / "c.dnac"
    second.write_bytes(api.compress(OTHER, level=1))
    assert _run("-l", str(archive), str(second)) == 0
    out = capsys.readouterr().out
    assert str(archive) in out and str(second) in out
    assert _run("-lv", str(archive)) == 0
    assert "Streams" in capsys.readouterr().out

    assert _run("-l", "--json", str(archive), str(second)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    infos = [json.loads(line) for line in lines]
    for info, path, data in zip(infos, (archive, second), (FASTA, OTHER)):
        assert {"file", "original_bytes", "archive_bytes", "bases", "records", "blocks", "lanes",
                "level", "model", "streams"} <= set(info)
        assert info["file"] == str(path)
        assert info["original_bytes"] == len(data)
        assert info["archive_bytes"] == path.stat().st_size
        assert sum(info["streams"].values()) == info["archive_bytes"]
        assert {"name", "fingerprint"} <= set(info["model"])
    assert infos[1]["level"] == 1


def test_list_errors(tmp_path: Path, archive: Path, capsys) -> None:
    bad = tmp_path / "bad.dnac"
    bad.write_bytes(b"nope")
    assert _run("-l", "--json", str(bad), str(archive)) == 1
    captured = capsys.readouterr()
    _one_error_line(captured.err, str(bad))
    assert json.loads(captured.out)["file"] == str(archive)
    assert _run("-l", "-") == 1
    capsys.readouterr()


# -- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-1", "-9"])
def test_level_flags(fasta: Path, flag: str, capsysbinary) -> None:
    assert _run(flag, "-c", str(fasta)) == 0
    packed = capsysbinary.readouterr().out
    assert api.decompress(packed) == FASTA
    assert engine.inspect(io.BytesIO(packed))["level"] == int(flag[1:])


def test_threads_flag_gives_identical_archives(fasta: Path, capsysbinary) -> None:
    archives = []
    for n in ("1", "2", "0"):
        assert _run("-T", n, "-c", str(fasta)) == 0
        archives.append(capsysbinary.readouterr().out)
    assert archives[0] == archives[1] == archives[2]
    assert _run("-T", "-1", "-c", str(fasta)) == 1


@pytest.mark.parametrize("text, expected", [
    ("0", None), ("1000", 1000), ("800MiB", 800 << 20), ("800M", 800 << 20), ("2 GiB", 2 << 30),
    ("2g", 2 << 30), ("64k", 64 << 10), ("1KB", 1 << 10)])
def test_memlimit_sizes(text: str, expected: int | None) -> None:
    assert cli._memory_size(text) == expected


def test_memlimit_percentage_is_of_physical_memory() -> None:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert abs(cli._memory_size("50%") - ram // 2) <= 1
    assert cli._memory_size("100%") == ram


@pytest.mark.parametrize("text", ["", "x", "12x", "-5", "1.5G", "0%", "101%", "M"])
def test_memlimit_bad_sizes_are_usage_errors(fasta: Path, text: str, capsys) -> None:
    assert _run("-M", text, "-c", str(fasta)) == 1
    err = capsys.readouterr().err
    _one_error_line(err)
    assert "--memlimit" in err


def _small_input_needs() -> int:
    """What FASTA's level-6 archive needs: the level's model sized for it, in blocks of 1 MiB."""
    return engine.memory_needed(models.sized(models.resolve(None, 6), len(FASTA)), 1 << 20)


def test_memlimit_too_low_fails_cleanly_and_leaves_no_output(fasta: Path, archive: Path, capsys) -> None:
    need = _small_input_needs()
    assert _run("-M", str(need - 1), str(fasta)) == 1
    err = capsys.readouterr().err
    _one_error_line(err, "--memlimit")
    assert re.search(r"level 6 needs about [\d,.]+ MiB of memory, more than the limit of [\d,.]+ MiB", err)
    assert not fasta.with_name("a.fa.dnac").exists() and fasta.read_bytes() == FASTA
    for op in ("-d", "-t"):
        before = _leftovers(archive.parent)
        assert _run(op, "-M", str(need - 1), str(archive)) == 1
        _one_error_line(capsys.readouterr().err, str(archive))
        assert _leftovers(archive.parent) == before
    assert _run("-d", "-M", str(need), str(archive)) == 0
    assert archive.with_name("b.fa").read_bytes() == FASTA


def test_list_verbose_shows_the_memory_needed(archive: Path, capsys) -> None:
    assert _run("-lv", str(archive)) == 0
    need = _small_input_needs()
    assert re.search(rf"\n  Memory needed: +{need / 2**20:.1f} MiB\n", capsys.readouterr().out)
    assert _run("-l", "--json", str(archive)) == 0
    assert json.loads(capsys.readouterr().out)["memory_bytes"] == need


def test_combined_short_flags(fasta: Path, capsysbinary) -> None:
    assert _run("-k9", str(fasta)) == 0
    assert _run("-dcf", str(fasta.with_name("a.fa.dnac"))) == 0
    assert capsysbinary.readouterr().out == FASTA


def test_verbose_and_quiet(fasta: Path, capsys) -> None:
    assert _run("-v", "-k", str(fasta)) == 0
    err = capsys.readouterr().err
    assert "bits/base" in err and "ratio" in err and str(fasta) in err
    coded = fasta.with_name("coded.fa")
    coded.write_bytes(CODED)
    assert _run("-v", str(coded)) == 0
    err = capsys.readouterr().err
    assert re.fullmatch(r".*coded\.fa: 6\d\d -> \d+ bytes, ratio 0\.\d+, \d\.\d{3} bits/base\n", err)
    assert _run("-dv", str(coded) + ".dnac") == 0
    assert re.search(r"\d\.\d{3} bits/base", capsys.readouterr().err)
    assert coded.read_bytes() == CODED
    assert _run("-q", "-k", "-f", str(fasta)) == 0
    assert capsys.readouterr() == ("", "")


def test_usage_errors_and_version(capsys) -> None:
    assert _run("--json", "x") == 1
    assert _run("--no-such-option") == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 2 and "Traceback" not in err
    assert _run("-V") == 0
    out = capsys.readouterr().out
    assert out.startswith("dnacodec ") and len(out.splitlines()) == 1
    assert ("step: the C extension" in out) == extension.built()
    assert _run("-h") == 0
    assert "--decompress" in capsys.readouterr().out


def test_model_file(tmp_path: Path, capsys) -> None:
    model = tmp_path / "tiny.model"
    model.write_bytes(model_file.build_context_mix(
        256, 16000, [dict(order=2, hash_bits=0, alpha_inv=2, limit=255, ir=0)]))
    src = tmp_path / "c.fa"
    src.write_bytes(CODED)
    assert _run("--model", str(model), str(src)) == 0
    packed = tmp_path / "c.fa.dnac"
    assert _run("-t", str(packed)) == 1  # the archive names a model that is not bundled
    err = capsys.readouterr().err
    _one_error_line(err, str(packed))
    assert "--model" in err
    assert _run("-t", "--model", str(model), str(packed)) == 0
    assert _run("-l", "--json", "--model", str(model), str(packed)) == 0
    assert json.loads(capsys.readouterr().out)["model"]["name"] == "tiny.model"
    assert _run("-d", "--model", str(model), str(packed)) == 0
    assert src.read_bytes() == CODED
    assert _run("-d", "--model", str(tmp_path / "missing.model"), str(src)) == 1
    _one_error_line(capsys.readouterr().err, "--model")


def test_bad_model_is_one_error(fasta: Path, capsys) -> None:
    assert _run("-k", "--model", str(fasta.with_name("no-such-model.bin")), str(fasta)) == 1
    _one_error_line(capsys.readouterr().err)
    assert _leftovers(fasta.parent) == ["a.fa"]


# -- as a program -------------------------------------------------------------------------------

def _program(*argv: str, data: bytes = b"", cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codec", *argv], input=data, capture_output=True,
                          env=child_env(), cwd=cwd, timeout=120)


def test_program_pipes() -> None:
    packed = _program("-6", data=FASTA)
    assert packed.returncode == 0 and packed.stderr == b""
    assert api.decompress(packed.stdout) == FASTA
    unpacked = _program("-d", data=packed.stdout + packed.stdout)
    assert unpacked.returncode == 0 and unpacked.stdout == FASTA * 2
    tested = _program("-t", "-", data=packed.stdout)
    assert tested.returncode == 0 and tested.stdout == b""


def test_list_help_and_version_do_not_load_the_compiled_kernel(archive: Path) -> None:
    """The compiled step (the C extension) is loaded by the first predictor, not by
    importing codec: listing archives, --help and --version start in a fraction of the time."""
    script = ("import sys, codec.cli\n"
              "for argv in (['-V'], ['--help'], ['-l', sys.argv[1]], ['-lv', '--json', sys.argv[1]]):\n"
              "    try:\n"
              "        assert codec.cli.main(argv) == 0\n"
              "    except SystemExit as exc:\n"
              "        assert exc.code == 0\n"
              "step = {'codec._native', 'codec.predictors.kernel'}\n"
              "assert not step & set(sys.modules), step & set(sys.modules)\n"
              "assert codec.cli.main(['-t', sys.argv[1]]) == 0\n"
              "from codec.predictors import kernel\n"
              "assert (kernel.backend() == 'c') == ('codec._native' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script, str(archive)], capture_output=True, env=child_env(),
                          timeout=120)
    assert done.returncode == 0, done.stderr.decode()


def test_the_program_starts_openblas_on_one_thread_unless_the_user_says_otherwise() -> None:
    """OpenBLAS starts a thread per core as numpy loads, each spinning for a while; the tool's BLAS
    runs on one thread anyway, so codec.cli sets OPENBLAS_NUM_THREADS=1 before it loads numpy."""
    script = ("import json, os, codec.cli, threadpoolctl\n"
              "print(json.dumps([os.environ.get('OPENBLAS_NUM_THREADS'),\n"
              "                  [i['num_threads'] for i in threadpoolctl.threadpool_info()\n"
              "                   if i['internal_api'] == 'openblas']]))")
    env = child_env()
    env.pop("OPENBLAS_NUM_THREADS", None)
    for given, expected in ((None, "1"), ("3", "3")):
        if given is not None:
            env["OPENBLAS_NUM_THREADS"] = given
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        value, openblas = json.loads(done.stdout)
        assert value == expected
        if given is None:  # numpy built on another BLAS (MKL, Accelerate) has no OpenBLAS to report
            assert all(n == 1 for n in openblas)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_program_reports_a_full_standard_output(archive: Path) -> None:
    for argv in (["-l", str(archive)], ["-l", "--json", str(archive)], ["-lv", str(archive)],
                 ["-dc", str(archive)], ["-V"], ["--help"]):
        with open("/dev/full", "wb") as full:
            done = subprocess.run([sys.executable, "-m", "codec", *argv], stdout=full, stderr=subprocess.PIPE,
                                  env=child_env(), timeout=120)
        assert done.returncode == 1, argv
        _one_error_line(done.stderr.decode(), "(stdout)")
        assert "write error: No space left on device" in done.stderr.decode()


def test_program_files_and_errors(tmp_path: Path, archive_bytes: bytes) -> None:
    (tmp_path / "a.fa").write_bytes(FASTA)
    (tmp_path / "bad.dnac").write_bytes(archive_bytes[:-1])
    done = _program("-k", "a.fa", cwd=tmp_path)
    assert done.returncode == 0
    assert api.decompress((tmp_path / "a.fa.dnac").read_bytes()) == FASTA
    failed = _program("-d", "bad.dnac", cwd=tmp_path)
    assert failed.returncode == 1 and failed.stdout == b""
    err = failed.stderr.decode()
    assert len(err.splitlines()) == 1 and err.startswith("dnacodec: bad.dnac: ")
    assert _leftovers(tmp_path) == ["a.fa", "a.fa.dnac", "bad.dnac"]
    garbage = _program("-d", data=b"garbage in")
    assert garbage.returncode == 1 and len(garbage.stderr.splitlines()) == 1
    assert b"Traceback" not in garbage.stderr


@pytest.mark.parametrize("device", ["bogus", "cuda:7"])
def test_unusable_device_is_one_line(fasta: Path, device: str, capsys) -> None:
    pytest.importorskip("torch")
    if device.startswith("cuda"):
        import torch

        if torch.cuda.device_count() > 7:
            pytest.skip("this machine has a cuda:7")
    assert _run("-k", "--device", device, str(fasta)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--device" in err
    assert not fasta.with_name(fasta.name + ".dnac").exists()


def test_a_library_warning_is_one_line_and_keeps_the_status(tmp_path: Path, capsys, monkeypatch) -> None:
    """Without the C extension the run goes on (the numpy reference, same archive) and says why it is
    slow in one line, the tool's way; -q silences it."""
    from codec.predictors import kernel, kernel_c

    src = tmp_path / "a.fa"
    src.write_bytes(CODED)
    expected = api.compress(CODED, level=3)
    monkeypatch.setattr(kernel_c, "library", lambda: None)
    monkeypatch.setattr(extension, "built", lambda: False)
    try:
        for quiet, lines in (([], 1), (["-q"], 0)):
            kernel.backend.cache_clear()
            assert _run("-3", "-k", "-f", *quiet, str(src)) == 0
            err = capsys.readouterr().err.splitlines()
            assert len(err) == lines
            assert all(e.startswith("dnacodec: warning: the C extension codec._native is not built") for e in err)
            assert (tmp_path / "a.fa.dnac").read_bytes() == expected
    finally:
        monkeypatch.undo()
        kernel.backend.cache_clear()
