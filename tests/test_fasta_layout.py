"""Tests for formats.fasta_layout: lossless round trip on any bytes, stream format, hostile input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats.errors import CodecError
from formats.fasta_layout import SIDE_STREAMS, Layout, base_case, join, split

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def roundtrip(data: bytes) -> Layout:
    lay = split(data)
    assert isinstance(lay, Layout)
    assert tuple(lay.streams) == SIDE_STREAMS
    assert all(isinstance(v, bytes) for v in lay.streams.values())
    assert lay.bases.dtype == np.uint8 and lay.bases.ndim == 1
    assert lay.bases.size == 0 or int(lay.bases.max()) <= 3
    assert join(lay.bases, lay.streams, len(data)) == data
    return lay


def uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# ------------------------------------------------------------------------------ round trips

@pytest.mark.parametrize(
    "data",
    [
        b"", b"\n", b"\r\n", b"\r", b"\n\n\n", b"\r\r\n", b">", b";", b">\n", b">\r\n", b"A", b"a",
        b">only header no newline", b">h\r", b"ACGT\r", b"\rACGT\n", b"\n>h\nAC",
        b"A" * 40_000, b">x\n" + b"acgtN" * 8_000,
        b">r1\r\nACGT\r\nAC\r\n>r2\r\nGG\r\n",
        b">r1\nACGT\r\nAC\n>r2\r\nGG\rTT\n\r\n\nAC",
        bytes(range(256)), bytes(range(256)) * 3 + b"\n" + bytes(range(255, -1, -1)),
        b">x\n\n\n>y\n>z\nNNNNNNNN\nnnnnACGTacgt\n",
        b"@read1\nACGTN\n+\nIIII#\n",
        b">rna\nACGUUUGGCAN\nacguu\n", b">mixed\nACGTU\n",
    ],
)
def test_roundtrip_explicit(data: bytes) -> None:
    roundtrip(data)


def test_empty_input() -> None:
    lay = roundtrip(b"")
    assert lay.bases.size == 0 and lay.records == 0
    assert join(np.zeros(0, dtype=np.uint8), lay.streams, 0) == b""


def test_bases_content() -> None:
    lay = roundtrip(b">x\nACGTNacgt\n")
    assert lay.bases.tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert lay.records == 1


def test_records_count_only_gt_headers() -> None:
    assert roundtrip(b">a\nAC\n;comment\n>b\nGG\n>\n").records == 3
    assert roundtrip(b"x>a\n >b\n").records == 0


def test_rna_uses_u_as_code_3() -> None:
    lay = roundtrip(b">r\nACGUacgu\n")
    assert lay.bases.tolist() == [0, 1, 2, 3] * 2
    assert lay.streams["exceptions"] == b"U\x00"


def test_typical_record_is_few_runs() -> None:
    data = b"".join(b">r%d\n" % i + (b"ACGT" * 15 + b"\n") * 2 + b"AC\n" for i in range(50))
    lay = roundtrip(data)
    # 50 records x 3 runs (header, full lines, short last line)
    assert lay.streams["lines"].startswith(uvarint(150) + b"\x04\x00\x00" * 50)


def test_spec_example() -> None:
    """The worked example of spec/LAYOUT.md, byte for byte."""
    data = b">s1 demo\nACGTNNNN\nacgtRYac\nTT\n>s2\r\nGGnn-*\r\n\nAC"
    lay = roundtrip(data)
    assert lay.records == 2
    assert lay.bases.tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 3, 3, 2, 2, 0, 1]
    assert lay.streams == {
        "lines": bytes.fromhex("07" "04000005010002" "01020101010101" "0802060002"),
        "headers": b">s1 demo\n>s2",
        "exceptions": b"T\x06NRYN-*" + bytes.fromhex("040400060000" "040101020101"),
        "case": bytes.fromhex("080402020402"),
    }


def test_large_varints_roundtrip() -> None:
    # line widths, exception runs and case runs that need multi-byte varints
    data = b">h\n" + b"n" * 300_000 + b"\n" + b"A" * 20_000 + b"\n" + b"ACGT" * 40_000
    lay = roundtrip(data)
    assert lay.bases.size == 20_000 + 160_000


@given(st.binary(max_size=2_000))
@settings(max_examples=300, deadline=None)
def test_roundtrip_arbitrary_bytes(data: bytes) -> None:
    roundtrip(data)


@given(st.lists(st.sampled_from(b"ACGTacgtNn>;\r\n U-*\x00\xff"), max_size=400).map(bytes))
@settings(max_examples=300, deadline=None)
def test_roundtrip_awkward_alphabet(data: bytes) -> None:
    roundtrip(data)


_RESIDUE_POOLS = [b"ACGT", b"acgt", b"N", b"n", b"RYKMSWBDHVryk", b"U", b"u", b"-*.", b"0123 \t", b"\r", b"X"]


@st.composite
def fasta_like(draw: st.DrawFn) -> bytes:
    eols = draw(st.lists(st.sampled_from([b"\n", b"\r\n"]), min_size=1, max_size=2))
    out = bytearray()
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()) or not out:
            lead = draw(st.sampled_from([b">", b">", b";"]))
            text = draw(st.binary(max_size=30)).replace(b"\n", b" ")
            out += lead + text + draw(st.sampled_from(eols))
        seq = bytearray()
        for _ in range(draw(st.integers(0, 8))):
            pool = draw(st.sampled_from(_RESIDUE_POOLS))
            n = draw(st.integers(1, 40))
            seq += bytes(draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n)))
        width = draw(st.integers(1, 80))
        for i in range(0, len(seq), width):
            out += seq[i:i + width] + draw(st.sampled_from(eols))
            if draw(st.integers(0, 9)) == 0:
                out += draw(st.sampled_from(eols))            # blank line
    if out and draw(st.booleans()):
        out = out.rstrip(b"\r\n")                              # no final newline
    return bytes(out)


@given(fasta_like())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_roundtrip_fasta_like(data: bytes) -> None:
    lay = roundtrip(data)
    # every A/C/G/T (either case) of a sequence line is a base when letter3 is T
    if lay.streams["exceptions"][:1] == b"T":
        seq = b"".join(line for line in data.split(b"\n") if not line[:1] in (b">", b";"))
        assert lay.bases.size == sum(seq.upper().count(c) for c in b"ACGT")


def _case_by_relabelling(data: bytes, letter3: int) -> np.ndarray:
    """Reference for base_case: relabel every base letter, lowercase to 'A' and upper case to 'C'
    (and the other of T/U to an exception letter, so no residue changes its kind); the bases of
    the relabelled input are then 0 exactly where a base was lowercase."""
    other = (ord("U") if letter3 == ord("T") else ord("T"))
    table = np.arange(256, dtype=np.uint8)
    for letter in (ord("A"), ord("C"), ord("G"), letter3):
        table[letter], table[letter | 0x20] = ord("C"), ord("A")
    table[other], table[other | 0x20] = ord("X"), ord("x")
    return split(table[np.frombuffer(data, np.uint8)].tobytes()).bases == 0


@given(st.one_of(fasta_like(), st.binary(max_size=500)))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_base_case_is_each_base_s_lowercase_bit(data: bytes) -> None:
    lay = split(data)
    expected = _case_by_relabelling(data, lay.streams["exceptions"][0])
    assert np.array_equal(base_case(lay.streams, lay.bases.size, len(data)), expected)


def test_base_case_checks_sizes_before_allocating() -> None:
    lay = split(b">r\nACGTacgtNNacgt\n")
    assert base_case(lay.streams, 12, 17).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
    for name, value in (("case", uvarint(0) + uvarint(1 << 40)), ("exceptions", b"T" + uvarint(1) + b"N"
                                                                   + uvarint(1 << 40) + uvarint(1)),
                        ("case", b"\x80"), ("exceptions", b"Q")):
        with pytest.raises(CodecError, match="layout"):
            base_case({**lay.streams, name: value}, 12, 17)


def _data_files() -> list[Path]:
    if not DATA_DIR.is_dir():
        return []
    return sorted(p for p in DATA_DIR.rglob("*") if p.is_file() and p.suffix != ".md")


@pytest.mark.parametrize("path", _data_files() or [None], ids=lambda p: p.name if p else "absent")
def test_shared_data_roundtrip(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"{DATA_DIR} is absent")
    roundtrip(path.read_bytes())


# ----------------------------------------------------------------------- corrupted streams

SAMPLE = b">s1 demo\nACGTNNNN\nacgtRYac\nTT\n>s2\r\nGGnn-*\r\n\nAC" + b"\n>s3\n" + b"ACGTN" * 60 + b"\n"
GOOD = split(SAMPLE)


def expect_error(bases: np.ndarray, streams: dict[str, bytes], max_output: int = 10_000) -> CodecError:
    with pytest.raises(CodecError) as err:
        join(bases, streams, max_output)
    assert str(err.value).startswith("layout:")
    return err.value


def with_stream(name: str, value: bytes) -> dict[str, bytes]:
    return {**GOOD.streams, name: value}


def test_max_output_exact_and_too_small() -> None:
    assert join(GOOD.bases, GOOD.streams, len(SAMPLE)) == SAMPLE
    assert "max_output" in str(expect_error(GOOD.bases, GOOD.streams, len(SAMPLE) - 1))


@pytest.mark.parametrize("name", SIDE_STREAMS)
def test_truncated_and_extended_streams(name: str) -> None:
    raw = GOOD.streams[name]
    for cut in range(len(raw)):
        try:
            out = join(GOOD.bases, with_stream(name, raw[:cut]), 10_000)
        except CodecError:
            continue
        assert out != SAMPLE
    if name == "headers":  # extra bytes extend the last header; an extra LF adds a header
        assert join(GOOD.bases, with_stream(name, raw + b"\x01"), 10_000) != SAMPLE
        expect_error(GOOD.bases, with_stream(name, raw + b"\n>"))
    else:                  # trailing garbage
        expect_error(GOOD.bases, with_stream(name, raw + b"\x01"))
        expect_error(GOOD.bases, with_stream(name, raw + b"\x80"))


def test_wrong_number_of_bases() -> None:
    assert "bases" in str(expect_error(GOOD.bases[:-1], GOOD.streams))
    expect_error(np.append(GOOD.bases, np.uint8(0)), GOOD.streams)
    expect_error(np.zeros(0, dtype=np.uint8), GOOD.streams)


def test_bad_bases_array() -> None:
    bad = GOOD.bases.copy()
    bad[0] = 4
    expect_error(bad, GOOD.streams)
    expect_error(GOOD.bases.astype(np.float64), GOOD.streams)
    expect_error(GOOD.bases.reshape(1, -1), GOOD.streams)
    expect_error(GOOD.bases.tolist(), GOOD.streams)  # type: ignore[arg-type]


def test_missing_or_extra_stream() -> None:
    streams = dict(GOOD.streams)
    del streams["case"]
    expect_error(GOOD.bases, streams)
    expect_error(GOOD.bases, {**GOOD.streams, "extra": b""})
    expect_error(GOOD.bases, with_stream("headers", "text"))  # type: ignore[arg-type]
    expect_error(GOOD.bases, GOOD.streams, -1)


def test_memoryview_streams_accepted() -> None:
    streams = {k: memoryview(bytearray(v)) for k, v in GOOD.streams.items()}
    assert join(GOOD.bases, streams, len(SAMPLE)) == SAMPLE


HUGE = [2**31, 2**40, 2**62, 2**63 - 1]


@pytest.mark.parametrize("huge", HUGE)
def test_huge_declared_sizes(huge: int) -> None:
    empty = np.zeros(0, dtype=np.uint8)
    base = {"headers": b"", "exceptions": b"T\x00", "case": b""}
    # one sequence line of a huge width, or a huge count of lines, or both
    for count, width in [(1, huge), (huge, 1), (huge, huge), (huge, 0)]:
        lines = uvarint(1) + b"\x00" + uvarint(count) + uvarint(width)
        expect_error(empty, {**base, "lines": lines}, max_output=1 << 20)
    # many runs whose sizes only overflow when summed
    lines = uvarint(4) + b"\x00" * 4 + uvarint(huge) * 4 + uvarint(huge) * 4
    expect_error(empty, {**base, "lines": lines}, max_output=1 << 62)
    # huge run counts in the stream headers
    expect_error(empty, {**base, "lines": uvarint(huge)})
    expect_error(empty, {**base, "lines": b"\x00", "exceptions": b"T" + uvarint(huge)})
    # huge exception gap / case run
    lines = uvarint(1) + b"\x00" + uvarint(1) + uvarint(10)
    expect_error(empty, {**base, "lines": lines, "exceptions": b"T\x01N" + uvarint(huge) + b"\x01"})
    expect_error(np.zeros(10, np.uint8), {**base, "lines": lines, "case": uvarint(0) + uvarint(huge)})


def test_overlong_and_noncanonical_varints() -> None:
    expect_error(np.zeros(0, np.uint8), {**GOOD.streams, "lines": b"\x80" * 10 + b"\x01"})
    expect_error(np.zeros(0, np.uint8), {**GOOD.streams, "lines": b"\x80\x00"})
    expect_error(GOOD.bases, with_stream("case", GOOD.streams["case"] + b"\x81\x00"))


def test_specific_inconsistencies() -> None:
    seq1 = uvarint(1) + b"\x00" + uvarint(1) + uvarint(4)          # one line "xxxx\n"
    base = {"lines": seq1, "headers": b"", "exceptions": b"T\x00", "case": b""}
    four = np.zeros(4, dtype=np.uint8)
    assert join(four, base, 100) == b"AAAA\n"
    cases = {
        "bad tag": {"lines": uvarint(1) + b"\x03" + uvarint(1) + uvarint(4)},
        "tag high bit": {"lines": uvarint(1) + b"\x08" + uvarint(1) + uvarint(4)},
        "zero count": {"lines": uvarint(1) + b"\x00" + uvarint(0) + uvarint(4)},
        "unterminated not last": {"lines": uvarint(2) + b"\x02\x00" + uvarint(1) * 2 + uvarint(2) * 2},
        "unterminated count 2": {"lines": uvarint(1) + b"\x02" + uvarint(2) + uvarint(2)},
        "empty unterminated": {"lines": uvarint(1) + b"\x02" + uvarint(1) + uvarint(0)},
        "headers without header lines": {"headers": b">x"},
        "letter3": {"exceptions": b"A\x00"},
        "exception past end": {"exceptions": b"T\x01N" + uvarint(3) + uvarint(2)},
        "exception is base letter": {"exceptions": b"T\x01G" + uvarint(0) + uvarint(1)},
        "exception is lowercase": {"exceptions": b"T\x01n" + uvarint(0) + uvarint(1)},
        "exception is LF": {"exceptions": b"T\x01\n" + uvarint(0) + uvarint(1)},
        "empty exception run": {"exceptions": b"T\x01N" + uvarint(0) + uvarint(0)},
        "exception count": {"exceptions": b"T\x02N"},
        "case odd": {"case": uvarint(1)},
        "case past end": {"case": uvarint(2) + uvarint(3)},
        "case empty run": {"case": uvarint(1) + uvarint(0)},
    }
    for what, change in cases.items():
        err = expect_error(four, {**base, **change}, 100)
        assert isinstance(err, CodecError), what
    # lowercase flag on a non-letter exception byte
    streams = {**base, "exceptions": b"T\x01-" + uvarint(0) + uvarint(1), "case": uvarint(0) + uvarint(1)}
    assert "not a letter" in str(expect_error(np.zeros(3, np.uint8), streams, 100))
    # header lines and headers stream disagree
    hdr = uvarint(1) + b"\x04" + uvarint(2)
    for headers in [b">a", b">a\n>b\n>c", b">a\n", b"\n>a", b">a\nb", b""]:
        expect_error(np.zeros(0, np.uint8), {**base, "lines": hdr, "headers": headers}, 100)
    assert join(np.zeros(0, np.uint8), {**base, "lines": hdr, "headers": b">a\n;b"}, 100) == b">a\n;b\n"


@st.composite
def mutated_streams(draw: st.DrawFn) -> tuple[np.ndarray, dict[str, bytes]]:
    streams = dict(GOOD.streams)
    bases = GOOD.bases
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(SIDE_STREAMS + ("bases",)))
        if name == "bases":
            op = draw(st.sampled_from(["drop", "add", "set"]))
            if op == "drop":
                bases = bases[: draw(st.integers(0, bases.size))]
            elif op == "add":
                bases = np.append(bases, np.array(draw(st.lists(st.integers(0, 3), max_size=5)), np.uint8))
            elif bases.size:
                bases = bases.copy()
                bases[draw(st.integers(0, bases.size - 1))] = draw(st.integers(0, 255))
            continue
        raw = bytearray(streams[name])
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "extend"]))
        at = draw(st.integers(0, len(raw)))
        if op == "flip" and raw:
            raw[at % len(raw)] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and raw:
            raw[at % len(raw)] = draw(st.integers(0, 255))
        elif op == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif op == "delete":
            del raw[at:at + draw(st.integers(1, 4))]
        elif op == "truncate":
            del raw[at:]
        else:
            raw += draw(st.binary(min_size=1, max_size=12))
        streams[name] = bytes(raw)
    return bases, streams


@given(mutated_streams(), st.sampled_from([0, 10, len(SAMPLE), 10**6, 2**62]))
@settings(max_examples=600, deadline=None)
def test_mutated_streams_raise_codec_error_or_return_bytes(
    mutated: tuple[np.ndarray, dict[str, bytes]], max_output: int
) -> None:
    bases, streams = mutated
    try:
        out = join(bases, streams, max_output)
    except CodecError:
        return
    assert isinstance(out, bytes) and len(out) <= max_output


@given(st.binary(max_size=64), st.binary(max_size=32), st.binary(max_size=32), st.binary(max_size=16),
       st.lists(st.integers(0, 3), max_size=40))
@settings(max_examples=300, deadline=None)
def test_random_streams_raise_codec_error_or_return_bytes(
    lines: bytes, headers: bytes, exceptions: bytes, case: bytes, bases: list[int]
) -> None:
    streams = {"lines": lines, "headers": headers, "exceptions": exceptions, "case": case}
    try:
        out = join(np.array(bases, dtype=np.uint8), streams, 1 << 16)
    except CodecError:
        return
    assert isinstance(out, bytes)
