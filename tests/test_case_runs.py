"""The case-run coder (format 1.1 `case_runs` stream): exact round trips of any case stream, clear
errors on bad coded data, and the encoder's choice between it and zstd."""

from __future__ import annotations

import io

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings, strategies as st

import codec
from codec import case_runs, engine
from codec.constants import CASE_MAX_EXPONENT
from formats import container, fasta_layout
from formats.errors import CodecError

MAX_RUN = (1 << (CASE_MAX_EXPONENT + 1)) - 2  # the longest run the coder takes


def _case_stream(first_upper: int, runs: list[int]) -> bytes:
    """The raw case stream of ``first_upper`` upper-case bases, then runs alternating lowercase and
    upper case, built by the layout itself."""
    seq = b"A" * first_upper + b"".join((b"a" if i % 2 == 0 else b"A") * r for i, r in enumerate(runs))
    return fasta_layout.split(seq).streams["case"]


def _roundtrip(raw: bytes) -> bytes:
    coded = case_runs.pack(fasta_layout.parse_case(raw, 1 << 62), 1 << 20)
    assert coded is not None
    return case_runs.unpack(coded, len(raw))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 50), st.lists(st.integers(1, 300), min_size=1, max_size=60))
def test_roundtrip_of_layout_case_streams(first_upper: int, runs: list[int]) -> None:
    raw = _case_stream(first_upper, runs)
    assert raw and _roundtrip(raw) == raw


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, MAX_RUN) | st.integers(0, 70), min_size=0, max_size=40))
def test_roundtrip_of_any_values(values: list[int]) -> None:
    """Any varint values the coder takes (the layout's checks come later), up to 2**41 - 2."""
    arr = np.array(values, dtype=np.int64)
    raw = fasta_layout._uvarints(arr)
    coded = case_runs.pack(arr, 1 << 20)
    assert coded is not None
    assert case_runs.unpack(coded, len(raw)) == raw


def test_values_past_the_exponent_limit_are_not_packed() -> None:
    assert case_runs.pack(np.array([3, MAX_RUN + 1]), 1 << 20) is None
    assert case_runs.pack(np.array([3, MAX_RUN]), 1 << 20) is not None


def test_limit_is_respected() -> None:
    values = np.arange(1, 400, dtype=np.int64) * 37 % 1000 + 1
    coded = case_runs.pack(values, 1 << 20)
    assert coded is not None
    assert case_runs.pack(values, len(coded)) == coded
    assert case_runs.pack(values, len(coded) - 1) is None


def test_smaller_than_zstd_on_soft_masked_runs() -> None:
    rng = np.random.default_rng(1)
    runs = np.maximum(1, rng.geometric(1 / 120, size=2000)).astype(np.int64)
    raw = fasta_layout._uvarints(runs)
    coded = case_runs.pack(runs, 1 << 20)
    packed = len(zstandard.ZstdCompressor(level=19).compress(raw))
    assert coded is not None and len(coded) < 0.95 * packed


@pytest.fixture(scope="module")
def coded_sample() -> tuple[bytes, bytes]:
    raw = _case_stream(5, [17, 300, 2, 9, 4000, 1, 1, 60, 33])
    coded = case_runs.pack(fasta_layout.parse_case(raw, 1 << 40), 1 << 20)
    return raw, coded


def test_every_truncation_is_an_error(coded_sample) -> None:
    raw, coded = coded_sample
    for n in range(len(coded)):
        with pytest.raises(CodecError, match="case_runs stream"):
            case_runs.unpack(coded[:n], len(raw))


def test_trailing_bytes_wrong_lengths_and_bad_start(coded_sample) -> None:
    raw, coded = coded_sample
    for data, raw_len, what in ((coded + b"\0", len(raw), "does not end"),
                                (coded, len(raw) - 1, "overrun|does not end"),
                                (b"\x01" + coded[1:], len(raw), "zero byte")):
        with pytest.raises(CodecError, match=what):
            case_runs.unpack(data, raw_len)
    # Past the end the decoder reads zero bits almost for free: a larger raw length decodes extra
    # runs of length 0, which the layout rejects, until the data runs out.
    for extra in range(1, 4096):
        try:
            longer = case_runs.unpack(coded, len(raw) + extra)
        except CodecError as exc:
            assert "ends early" in str(exc)
            break
        assert longer == raw + bytes(extra)
        with pytest.raises(CodecError, match="empty case run|odd number"):
            fasta_layout.parse_case(longer, 1 << 40)
    else:
        pytest.fail("zero runs past the end never ran out of data")


def test_changed_bytes_never_decode_silently_to_garbage(coded_sample) -> None:
    """A changed byte either raises or decodes to a stream of the declared length (the block's CRC
    and the layout checks catch the rest); it never crashes or runs past the buffer."""
    raw, coded = coded_sample
    for i in range(len(coded)):
        for delta in (0x01, 0x80, 0xFF):
            bad = bytearray(coded)
            bad[i] ^= delta
            try:
                out = case_runs.unpack(bytes(bad), len(raw))
            except CodecError:
                continue
            assert len(out) == len(raw)


def _streams(archive: bytes) -> dict:
    return engine.inspect(io.BytesIO(archive))["streams"]


def test_encoder_uses_case_runs_on_soft_masked_input() -> None:
    rng = np.random.default_rng(7)
    seq = bytearray(rng.choice(list(b"ACGT"), size=60000).astype(np.uint8).tobytes())
    pos = 0
    while pos < len(seq):
        gap, length = rng.integers(1, 400), rng.integers(1, 200)
        seq[pos + gap:pos + gap + length] = seq[pos + gap:pos + gap + length].lower()
        pos += gap + length
    data = b">soft\n" + b"\n".join(bytes(seq[i:i + 60]) for i in range(0, len(seq), 60)) + b"\n"
    archive = codec.compress(data, level=1)
    assert "case_runs" in _streams(archive) and "case" not in _streams(archive)
    assert archive[10] == container.VERSION_MINOR == 1
    assert codec.decompress(archive) == data
    c = engine.Compressor(1, format_minor=0)
    old = c.compress(data) + c.flush()
    assert "case" in _streams(old) and "case_runs" not in _streams(old)
    assert old[10] == 0 and codec.decompress(old) == data
    assert len(archive) < len(old)


def test_format_minor_is_checked() -> None:
    with pytest.raises(ValueError, match="format_minor"):
        engine.Compressor(1, format_minor=container.VERSION_MINOR + 1)


c_coder = pytest.mark.skipif(case_runs._c_coder() is None, reason="the step does not run in C here")


@c_coder
@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, MAX_RUN) | st.integers(0, 70), max_size=50), st.integers(5, 300))
def test_the_c_encoder_writes_the_python_encoders_bytes(values: list[int], limit: int) -> None:
    """codec/native/case_runs.c against the Python of record, including the byte limit."""
    arr = np.array(values, dtype=np.int64)
    ref, n_ref = case_runs._encode(arr, limit)
    out, n = case_runs._encode_any(arr, limit)
    assert n == n_ref
    assert n < 0 or out[:n].tobytes() == ref[:n].tobytes()


@c_coder
@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 5000), min_size=1, max_size=30), st.data())
def test_the_c_decoder_agrees_on_coded_cut_and_altered_data(values: list[int], data) -> None:
    """Status and output alike, for the coded runs as they are, cut short, or with a byte changed."""
    arr = np.array(values, dtype=np.int64)
    raw = fasta_layout._uvarints(arr)
    coded = bytearray(case_runs.pack(arr, 1 << 20))
    how = data.draw(st.sampled_from(["as is", "cut", "altered"]))
    if how == "cut":
        coded = coded[:data.draw(st.integers(0, len(coded) - 1))]
    elif how == "altered":
        coded[data.draw(st.integers(0, len(coded) - 1))] ^= data.draw(st.integers(1, 255))
    raw_len = len(raw) + data.draw(st.integers(-2, 2)) if how != "as is" else len(raw)
    buf = np.frombuffer(bytes(coded), dtype=np.uint8)
    ref, status_ref = case_runs._decode(buf, max(raw_len, 0))
    out, status = case_runs._decode_any(buf, max(raw_len, 0))
    assert status == status_ref
    assert out.tobytes() == ref.tobytes()
    if how == "as is":
        assert status == 0 and out.tobytes() == raw
