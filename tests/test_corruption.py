"""Bad archives get a clear CodecError, never garbage: every truncation and a changed value at every
offset of a small multi-block archive (coded and stored blocks, several lanes, all side streams)."""

from __future__ import annotations

import pytest

import codec
from codec.engine import Compressor
from formats.errors import CodecError


def _sample_archive() -> tuple[bytes, bytes]:
    data = (b">seq1 sample\r\nACGTTGCAnnnnACGTRYacgtTTGA\r\nGGCCAATT\r\n"
            b">seq2\nTTTTGGGGCCCCAAAA\nACGTACGTAC\n"
            b"\x00\x01binary\xff\xfe block that is stored, not coded\n"
            b">seq3\n" + b"ACGGTCAGTTAC" * 12 + b"\n")
    c = Compressor(model="cm-v1", block_size=64, lanes=4, min_lane_bases=8)  # fast predictor set-up
    return data, c.compress(data) + c.flush()


def test_sample_archive_is_representative() -> None:
    data, archive = _sample_archive()
    assert codec.decompress(archive) == data
    assert archive.count(b"DBLK") >= 4 and 300 < len(archive) < 4000


def test_every_truncation_is_detected() -> None:
    _, archive = _sample_archive()
    for n in range(len(archive)):
        with pytest.raises(CodecError):
            codec.decompress(archive[:n])


@pytest.mark.parametrize("delta", [0xFF, 0x01])
def test_every_changed_byte_is_detected(delta: int) -> None:
    _, archive = _sample_archive()
    silent = []
    for i in range(len(archive)):
        bad = bytearray(archive)
        bad[i] ^= delta
        try:
            codec.decompress(bytes(bad))
        except CodecError:
            continue
        silent.append(i)
    assert silent == []


def test_trailing_garbage_and_foreign_input() -> None:
    data, archive = _sample_archive()
    for bad in (archive + b"x", archive + archive[:10], b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
                b"hello world", b"\x89DNAC\r\n\x1a\n" + b"\0" * 100):
        with pytest.raises(CodecError):
            codec.decompress(bad)


def test_unknown_major_version_and_required_flag() -> None:
    _, archive = _sample_archive()
    for offset, value in ((9, 2), (11, 1)):  # version_major, required_flags
        bad = bytearray(archive)
        bad[offset] = value
        with pytest.raises(CodecError, match="version|required"):
            codec.decompress(bytes(bad))
