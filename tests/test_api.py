"""The file-object and one-shot API: codec.api (DnacFile, open, compress, decompress)."""

from __future__ import annotations

import array
import io
import os
import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec import api, engine, models
from codec.api import CodecError, DnacFile, compress, decompress
from formats import model_file
from formats.errors import CodecError as FormatsCodecError
from tests.conftest import child_env

FASTA = (
    b">seq1 first record\n"
    b"ACGTACGTTTGACCANNNNNACGTAGCTAGCTAGGATCCA\n"
    b"acgtacgtnnACGTRYKMacgt\n"
    b">seq2\n"
    b"GGGGCCCCAAAATTTTGATTACA\n"
)
LINES = FASTA.splitlines(keepends=True)


def _random_fasta(n: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    seq = "".join(rng.choice("ACGT") for _ in range(n))
    seq = seq[:100] + seq[100:160].lower() + "NNNN" + seq[164:]
    return (">rnd random bases\n" + "\n".join(seq[i: i + 60] for i in range(0, n, 60)) + "\n").encode()


# Big enough that its bases are entropy-coded (tiny inputs are stored), small enough to be quick.
CODED = _random_fasta(600)


@pytest.fixture(scope="module")
def archive() -> bytes:
    return compress(FASTA)


@pytest.fixture(scope="module")
def small_archive() -> bytes:
    return compress(b">s\nACGT\n")


@pytest.fixture(scope="module")
def coded_archive() -> bytes:
    return compress(CODED)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> str:
    """A model file that is not bundled: its archives need it to decode."""
    path = tmp_path_factory.mktemp("model") / "tiny.model"
    path.write_bytes(model_file.build_context_mix(
        256, 16000, [dict(order=2, hash_bits=0, alpha_inv=2, limit=255, ir=0)]))
    return str(path)


# -- one-shot ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [FASTA, b"", b">only header", b">r\r\nACGT\r\nAC\r\n", b"ACGTNACGT"],
    ids=["fasta", "empty", "header-only", "crlf", "no-header"],
)
def test_roundtrip(data: bytes) -> None:
    assert decompress(compress(data)) == data


def test_archive_fixture_roundtrip(archive: bytes) -> None:
    assert decompress(archive) == FASTA
    assert decompress(bytearray(archive)) == FASTA
    assert decompress(memoryview(archive)) == FASTA


def test_compress_accepts_bytes_like() -> None:
    assert decompress(compress(bytearray(FASTA))) == FASTA
    assert decompress(compress(memoryview(FASTA))) == FASTA


@pytest.mark.parametrize("level", [1, 9])
def test_levels_roundtrip(level: int) -> None:
    assert decompress(compress(FASTA, level=level)) == FASTA


def test_coded_roundtrip(coded_archive: bytes) -> None:
    info = engine.inspect(io.BytesIO(coded_archive))
    assert info["bases"] > 0  # the entropy-coded path, not a stored block
    assert decompress(coded_archive) == CODED
    with DnacFile(io.BytesIO(coded_archive + coded_archive)) as f:
        assert f.readline() == CODED.split(b"\n")[0] + b"\n"
        pos = f.tell()
        assert f.read() == CODED[pos:] + CODED


def test_coded_truncations(coded_archive: bytes) -> None:
    cuts = sorted({*range(0, len(coded_archive), 9), len(coded_archive) - 1})
    for cut in cuts:
        with pytest.raises(CodecError):
            decompress(coded_archive[:cut])


def test_model_file_is_needed_to_decode(model_path: str, tmp_path) -> None:
    archive = compress(CODED, model=model_path)
    with pytest.raises(CodecError, match="model"):
        decompress(archive)
    assert decompress(archive, model=model_path) == CODED
    path = tmp_path / "m.dnac"
    with api.open(path, "wb", model=model_path, level=2) as f:
        f.write(CODED)
    with api.open(path, "rb", model=model_path) as f:
        assert f.read() == CODED
    with api.open(path, "rt", model=api.resolve_model(model_path), encoding="ascii") as t:
        assert t.read() == CODED.decode()
    with api.open(path, "rb") as f:
        with pytest.raises(CodecError):
            f.read()


def test_concatenated_members(archive: bytes, small_archive: bytes) -> None:
    assert decompress(archive + small_archive + archive) == FASTA + b">s\nACGT\n" + FASTA
    assert decompress(compress(b"") + archive) == FASTA


def test_the_package_loads_its_names_on_first_use() -> None:
    script = ("import sys, codec\n"
              "assert 'numpy' not in sys.modules  # codec.cli sets up the environment before numpy loads\n"
              "from codec import compress, decompress, CodecError, DEFAULT_LEVEL\n"
              "assert decompress(compress(b'>x\\nACGT\\n', level=DEFAULT_LEVEL)) == b'>x\\nACGT\\n'\n"
              "assert codec.engine.Compressor is codec.Compressor  # a submodule, as when codec imported it\n"
              "assert set(codec.__all__) <= set(dir(codec))\n"
              "try:\n"
              "    codec.no_such_name\n"
              "except AttributeError as exc:\n"
              "    assert 'no_such_name' in str(exc)\n"
              "else:\n"
              "    raise AssertionError('no AttributeError')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, env=child_env(), timeout=120)
    assert done.returncode == 0, done.stderr.decode()


def test_codec_error_is_value_error() -> None:
    assert issubclass(CodecError, ValueError)
    assert CodecError is FormatsCodecError


@pytest.mark.parametrize("data", [b"", b"garbage, not an archive at all", b"\x00" * 64, FASTA])
def test_decompress_rejects_non_archives(data: bytes) -> None:
    with pytest.raises(CodecError):
        decompress(data)


def test_decompress_rejects_every_truncation(small_archive: bytes) -> None:
    for cut in range(len(small_archive)):
        with pytest.raises(CodecError):
            decompress(small_archive[:cut])


def test_decompress_rejects_trailing_garbage(archive: bytes) -> None:
    with pytest.raises(CodecError):
        decompress(archive + b"trailing garbage")
    with pytest.raises(CodecError):
        decompress(archive + archive[:10])


# -- memory limit --------------------------------------------------------------------------------


def test_memory_needed_grows_with_the_level_and_the_block_size() -> None:
    need = [engine.memory_needed(models.resolve(None, level)) for level in (1, 6, 9)]
    assert need[0] < need[1] < need[2] < 2 << 30
    default = models.resolve(None, 6)
    assert engine.memory_needed(default, 1 << 20) < engine.memory_needed(default) - 100 * (1 << 20)
    assert engine.memory_needed(default) > default.memory_bytes()
    assert engine.memory_needed(default, lanes=4096) > engine.memory_needed(default)


def test_memlimit_refuses_settings_and_archives_before_any_table_is_made(monkeypatch, coded_archive: bytes) -> None:
    full = engine.memory_needed(models.resolve(None, 6))
    with pytest.raises(engine.MemoryLimitError, match=r"level 6 needs about [\d,.]+ MiB of memory, more than the limit"):
        engine.Compressor(6, memlimit=full - 1)
    # compress() knows the input's size: the level's model sized for it, in blocks of at most 1 MiB
    need = engine.memory_needed(models.sized(models.resolve(None, 6), len(CODED)), 1 << 20)
    assert need < full - (100 << 20)
    with pytest.raises(engine.MemoryLimitError, match=r"level 6 needs about [\d,.]+ MiB of memory, more than the limit"):
        compress(CODED, memlimit=need - 1)
    assert decompress(compress(CODED, memlimit=need), memlimit=need) == CODED

    def no_tables(*args, **kwargs):
        raise AssertionError("a predictor was made")

    monkeypatch.setattr(models.Model, "predictor", no_tables)
    for read in (lambda: decompress(coded_archive, memlimit=need - 1),
                 lambda: DnacFile(io.BytesIO(coded_archive), memlimit=need - 1).read(),
                 lambda: api.open(io.BytesIO(coded_archive), "rt", memlimit=need - 1).read()):
        with pytest.raises(CodecError, match="decoding this archive needs about .* more than the limit"):
            read()
    with pytest.raises(engine.MemoryLimitError):
        engine.Compressor(9, memlimit=full)
    with pytest.raises(engine.MemoryLimitError):
        api.open(io.BytesIO(), "wb", level=9, memlimit=full)


def test_inspect_reports_the_lanes_blocks_use_and_the_memory_decoding_needs(coded_archive: bytes) -> None:
    info = engine.inspect(io.BytesIO(coded_archive))
    assert info["memory_bytes"] == engine.memory_needed(models.sized(models.resolve(None, 6), len(CODED)), 1 << 20)
    assert info["lanes"] == 1  # 600 bases: one lane, although the header allows 1,024
    c = engine.Compressor(1, lanes=64, min_lane_bases=100, block_size=300)
    two = c.compress(CODED) + c.flush()
    info = engine.inspect(io.BytesIO(two))
    assert info["blocks"] >= 2 and info["lanes"] == 2
    assert info["memory_bytes"] == engine.memory_needed(models.resolve(None, 1), 300, 64)


# -- DnacFile / open: writing and reading --------------------------------------------------------


def test_write_read_path(tmp_path) -> None:
    path = tmp_path / "a.fa.dnac"
    with api.open(path, "wb") as f:
        assert isinstance(f, DnacFile)
        assert f.writable() and not f.readable()
        assert f.write(FASTA[:10]) == 10
        assert f.tell() == 10
        assert f.write(memoryview(FASTA[10:])) == len(FASTA) - 10
        assert f.tell() == len(FASTA)
    assert f.closed
    assert decompress(path.read_bytes()) == FASTA
    with api.open(path) as f:  # default mode "rb"
        assert f.readable() and not f.writable()
        assert f.read() == FASTA
        assert f.read() == b""


@pytest.mark.parametrize("mode", ["w", "wb", "x", "xb"])
def test_write_modes(tmp_path, mode: str) -> None:
    path = tmp_path / "out.dnac"
    with DnacFile(str(path), mode) as f:
        f.write(FASTA)
    with DnacFile(os.fsencode(path), "r") as f:
        assert f.read() == FASTA


def test_exclusive_mode_refuses_existing(tmp_path) -> None:
    path = tmp_path / "out.dnac"
    path.write_bytes(b"")
    with pytest.raises(FileExistsError):
        DnacFile(path, "x")


def test_append_mode_adds_member(tmp_path) -> None:
    path = tmp_path / "out.dnac"
    with api.open(path, "wb") as f:
        f.write(FASTA)
    with api.open(path, "ab") as f:
        f.write(b">s\nACGT\n")
    with api.open(path, "a") as f:
        f.write(b"")
    with api.open(path, "rb") as f:
        assert f.read() == FASTA + b">s\nACGT\n"


def test_write_buffer_protocol_objects() -> None:
    buf = io.BytesIO()
    with DnacFile(buf, "w") as f:
        assert f.write(bytearray(b">a\n")) == 3
        assert f.write(array.array("B", b"ACGT\n")) == 5
        assert f.write(array.array("I", [0x41434754])) == 4
    assert decompress(buf.getvalue()) == b">a\nACGT\n" + array.array("I", [0x41434754]).tobytes()


def test_fileobj_is_not_closed(archive: bytes) -> None:
    out = io.BytesIO()
    with DnacFile(out, "wb", level=3) as f:
        f.write(FASTA)
    assert not out.closed
    assert decompress(out.getvalue()) == FASTA
    src = io.BytesIO(archive)
    with DnacFile(src) as f:
        assert f.read() == FASTA
    assert not src.closed


def test_text_mode_roundtrip(tmp_path) -> None:
    path = tmp_path / "t.dnac"
    text = ">séq 1\nACGT\n>seq2\nGG\n"
    with api.open(path, "wt", encoding="latin-1", newline="\r\n") as f:
        assert isinstance(f, io.TextIOWrapper)
        f.write(text)
    assert decompress(path.read_bytes()) == text.replace("\n", "\r\n").encode("latin-1")
    with api.open(path, "rt", encoding="latin-1") as f:  # universal newlines
        assert f.read() == text
    with api.open(path, "rt", encoding="latin-1", newline="") as f:
        assert f.readline() == ">séq 1\r\n"
        assert list(f) == ["ACGT\r\n", ">seq2\r\n", "GG\r\n"]
    with api.open(path, "at", encoding="latin-1") as f:
        f.write(">x\n")
    with api.open(path, "rt", encoding="latin-1", newline="") as f:
        assert f.read().endswith("GG\r\n>x\n")


def test_open_argument_errors(tmp_path) -> None:
    path = tmp_path / "x.dnac"
    with pytest.raises(ValueError):
        api.open(path, "rbt")
    with pytest.raises(ValueError):
        api.open(path, "wb", encoding="utf-8")
    with pytest.raises(ValueError):
        api.open(path, "wb", errors="strict")
    with pytest.raises(ValueError):
        api.open(path, "wb", newline="\n")
    with pytest.raises(ValueError):
        DnacFile(path, "z")
    with pytest.raises(ValueError):
        DnacFile(path, "rw")
    with pytest.raises(TypeError):
        DnacFile(1.5)  # type: ignore[arg-type]
    assert not path.exists()
    path.write_bytes(compress(b""))
    with pytest.raises(ValueError):
        DnacFile(path, "r", level=3)
    with pytest.raises(CodecError):
        DnacFile(path, "r", model="no-such-model")
    with pytest.raises(CodecError):
        compress(b"", model="no-such-model")
    with DnacFile(path, "r", model="cm-v1") as f:  # a bundled name is accepted (and not needed)
        assert f.read() == b""


# -- DnacFile: the reading protocol --------------------------------------------------------------


def test_readline_and_iteration(archive: bytes) -> None:
    with DnacFile(io.BytesIO(archive)) as f:
        assert f.readline() == LINES[0]
        assert f.readline(4) == LINES[1][:4]
        assert f.readline() == LINES[1][4:]
        assert list(f) == LINES[2:]
        assert f.readline() == b""
    with DnacFile(io.BytesIO(archive)) as f:
        assert f.readlines() == LINES


def test_read_sizes(archive: bytes) -> None:
    with DnacFile(io.BytesIO(archive)) as f:
        assert f.read(0) == b""
        assert f.read(5) == FASTA[:5]
        assert f.read(None) == FASTA[5:]
        assert f.read(5) == b""


def test_read1_readinto_peek(archive: bytes) -> None:
    with DnacFile(io.BytesIO(archive)) as f:
        head = f.peek()
        assert head and FASTA.startswith(head)
        assert f.tell() == 0
        chunk = f.read1(7)
        assert chunk and FASTA.startswith(chunk) and len(chunk) <= 7
        buf = bytearray(10)
        n = f.readinto(buf)
        assert bytes(buf[:n]) == FASTA[len(chunk): len(chunk) + n]
        pos = len(chunk) + n
        view = memoryview(bytearray(4))
        m = f.readinto1(view)
        assert bytes(view[:m]) == FASTA[pos: pos + m]
        pos += m
        rest = bytearray()
        while data := f.read1():
            rest += data
        assert bytes(rest) == FASTA[pos:]
        assert f.peek() == b""
        assert f.read1(10) == b""


def test_seek_tell_emulation(archive: bytes) -> None:
    with DnacFile(io.BytesIO(archive)) as f:
        assert f.seekable()
        assert f.seek(10) == 10 and f.tell() == 10
        assert f.read(5) == FASTA[10:15]
        assert f.seek(-12, io.SEEK_CUR) == 3  # backwards: rewinds and re-decodes
        assert f.read(4) == FASTA[3:7]
        assert f.seek(-6, io.SEEK_END) == len(FASTA) - 6
        assert f.read() == FASTA[-6:]
        assert f.seek(0) == 0
        assert f.read() == FASTA
        assert f.seek(len(FASTA) + 100) == len(FASTA)  # clamps at EOF
        assert f.read() == b""
        with pytest.raises(ValueError):
            f.seek(0, 7)


def test_seek_across_members(archive: bytes, small_archive: bytes) -> None:
    data = FASTA + b">s\nACGT\n"
    with DnacFile(io.BytesIO(archive + small_archive)) as f:
        assert f.seek(len(FASTA) + 1) == len(FASTA) + 1
        assert f.read() == data[len(FASTA) + 1:]
        f.seek(2)
        assert f.read(3) == data[2:5]


_MIXED = FASTA + b">s\nACGT\n" + FASTA


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["read", "read1", "readline", "readinto", "peek"]),
                          st.integers(-1, 40)), max_size=40),
       st.integers(1, 200))
def test_random_read_patterns(ops, read_size: int) -> None:
    """Any mix of reads, at any chunking of the archive, yields the original bytes in order."""
    old = api.READ_SIZE
    api.READ_SIZE = read_size
    try:
        with DnacFile(io.BytesIO(_MIXED_ARCHIVE)) as f:
            got = bytearray()
            for op, n in ops:
                if op == "peek":
                    assert _MIXED[len(got):].startswith(f.peek(n)[:1])
                elif op == "readinto":
                    buf = bytearray(max(n, 0))
                    got += buf[: f.readinto(buf)]
                else:
                    got += getattr(f, op)(n)
                assert f.tell() == len(got)
            got += f.read()
        assert bytes(got) == _MIXED
    finally:
        api.READ_SIZE = old


def test_small_read_chunks(monkeypatch, archive: bytes, small_archive: bytes) -> None:
    monkeypatch.setattr(api, "READ_SIZE", 7)  # members span many reads of the archive
    with DnacFile(io.BytesIO(archive + small_archive + archive)) as f:
        assert f.read() == FASTA + b">s\nACGT\n" + FASTA


class _Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._src = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        data = self._src.read(len(b))
        b[: len(data)] = data
        return len(data)


def test_unseekable_source(archive: bytes) -> None:
    with DnacFile(_Unseekable(archive)) as f:
        assert not f.seekable()
        with pytest.raises(io.UnsupportedOperation):
            f.seek(0)
        assert f.read() == FASTA


def test_mode_errors_and_closed_file(tmp_path, archive: bytes) -> None:
    path = tmp_path / "a.dnac"
    path.write_bytes(archive)
    f = DnacFile(path)
    assert f.name == str(path)
    assert f.mode == "rb"
    assert isinstance(f.fileno(), int)
    with pytest.raises(io.UnsupportedOperation):
        f.write(b"x")
    f.close()
    f.close()  # idempotent
    assert f.closed
    for op in (f.read, f.readline, f.peek, f.read1, f.tell, f.fileno, f.seekable, f.readable,
               lambda: f.seek(0), lambda: f.readinto(bytearray(1)), lambda: next(iter(f))):
        with pytest.raises(ValueError):
            op()
    with pytest.raises(ValueError):
        with f:
            pass

    w = DnacFile(io.BytesIO(), "w")
    assert w.seekable() is False
    for op in (w.read, w.readline, w.peek, lambda: w.seek(0)):
        with pytest.raises(io.UnsupportedOperation):
            op()
    w.flush()
    w.close()
    with pytest.raises(ValueError):
        w.write(b"x")
    with pytest.raises(ValueError):
        w.flush()


def test_fileobj_name() -> None:
    assert DnacFile(io.BytesIO(), "w").name == ""


@pytest.mark.parametrize(
    "payload",
    [b"", b"not an archive", b"\x00\x01\x02"],
    ids=["empty", "garbage", "binary"],
)
def test_reading_bad_file_raises_codec_error(tmp_path, payload: bytes) -> None:
    path = tmp_path / "bad.dnac"
    path.write_bytes(payload)
    with api.open(path) as f:
        with pytest.raises(CodecError):
            f.read()


def test_reading_truncated_or_trailing_raises_codec_error(archive: bytes) -> None:
    for data in (archive[:-1], archive[: len(archive) // 2], archive + b"junk", archive + archive[:-3]):
        with DnacFile(io.BytesIO(data)) as f:
            with pytest.raises(CodecError):
                f.read()
    with api.open(io.BytesIO(archive[:-1]), "rt", encoding="ascii") as t:
        with pytest.raises(CodecError):
            t.read()


_MIXED_ARCHIVE = compress(FASTA) + compress(b">s\nACGT\n") + compress(FASTA)
