"""Regression tests for bugs found by the fuzz harnesses in fuzz/ (one test per finding, minimal
reproducer, public API where possible). A test stays ``xfail(strict=True)`` until its bug is fixed;
the fix removes the mark. See fuzz/README.md."""

from __future__ import annotations

import hashlib
import struct
import tracemalloc
import zlib

import pytest

import codec
from codec import models
from formats import container as fmt


def _zstd_frame_claiming(content_size: int) -> bytes:
    """A zstd frame header (single segment, 8-byte Frame_Content_Size) that declares
    ``content_size`` bytes, followed by one empty raw last block: not a valid frame for any
    non-zero size, but zstd libraries size their output from the header before decoding."""
    return b"\x28\xb5\x2f\xfd" + bytes([0xE0]) + struct.pack("<Q", content_size) + b"\x01\x00\x00"


def _stored_block_archive(stored: bytes, raw: bytes = b"ACGT" * 4) -> bytes:
    """One member with one stored block whose `stored` stream is ``stored`` (all CRCs valid)."""
    model = models.BUNDLED["cm-fast-v1"]
    header = fmt.build_header(level=1, lanes=1, block_size=max(1024, len(raw)), model_name=model.name,
                              model_fingerprint=model.fingerprint)
    block = fmt.build_block(index=0, raw_offset=0, raw_size=len(raw), raw_crc=zlib.crc32(raw),
                            mode=fmt.MODE_STORED, bases=0, lanes=0, records=0,
                            streams=[("stored", len(raw), stored)])
    entry = dict(archive_offset=len(header), raw_offset=0, raw_size=len(raw), bases=0, records=0)
    return header + block + fmt.build_footer([entry], len(raw), hashlib.sha256(raw).digest())


# Finding 1 (fuzz_decompress, crash-8343266c...; fixed in e16ccfd): engine._unpack_stream passed
# max_output_size=raw_len to zstandard.ZstdDecompressor().decompress, but python-zstandard only
# honours max_output_size for frames WITHOUT a content size; when the frame header declares one, it
# allocates that many bytes first. A frame claiming 2**62 bytes raised MemoryError (not CodecError);
# one claiming 256 MiB made the reader allocate 256 MiB for a stream declared as 16 bytes (and a
# frame of RLE blocks that really expands to its declared size was a decompression bomb).


def test_stored_block_archive_helper_is_valid() -> None:
    import zstandard

    raw = b"ACGT" * 4
    assert codec.decompress(_stored_block_archive(zstandard.ZstdCompressor().compress(raw), raw)) == raw


def test_zstd_frame_claiming_huge_content_size_is_codec_error() -> None:
    archive = _stored_block_archive(_zstd_frame_claiming(1 << 62))
    with pytest.raises(codec.CodecError):
        codec.decompress(archive)


def _assert_rejected_cheaply(archive: bytes, limit: int = 16 << 20) -> None:
    """decompress(archive) raises CodecError and never holds more than ``limit`` bytes."""
    tracemalloc.start()
    try:
        with pytest.raises(codec.CodecError):
            codec.decompress(archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < limit, f"decoding a tiny stream allocated {peak >> 20} MiB"


def test_zstd_frame_content_size_does_not_drive_allocation() -> None:
    _assert_rejected_cheaply(_stored_block_archive(_zstd_frame_claiming(256 << 20)))


def test_zstd_frame_that_expands_past_its_declared_size_is_rejected_cheaply() -> None:
    """The decompression bomb behind finding 1: a 16 KB frame of RLE blocks that expands to 500 MiB
    while declaring (like the block) 16 KiB must be rejected without producing the 500 MiB."""
    raw = b"A" * 16384
    rle_block = (128 << 10) << 3 | 1 << 1  # 128 KiB RLE block (Block_Type 1), not last
    frame = (b"\x28\xb5\x2f\xfd" + bytes([0x80, 0x38]) + struct.pack("<I", len(raw))  # 4-byte FCS, 128 KiB window
             + (struct.pack("<I", rle_block)[:3] + b"A") * 3999 + struct.pack("<I", rle_block | 1)[:3] + b"A")
    _assert_rejected_cheaply(_stored_block_archive(frame, raw))


# Finding 2 (review while triaging finding 1; fixed in e16ccfd): a side or stored stream must be
# "one zstd frame that decompresses to exactly raw_len bytes" (spec/FORMAT.md), but python-zstandard's
# one-shot decompress stops after the first frame and ignores whatever follows it, so bytes appended
# to a stream (with the CRCs recomputed) were accepted silently.
def test_bytes_after_the_zstd_frame_are_rejected() -> None:
    import zstandard

    raw = b"ACGT" * 4
    frame = zstandard.ZstdCompressor().compress(raw)
    for extra in (b"junk", zstandard.ZstdCompressor().compress(b"more")):
        with pytest.raises(codec.CodecError):
            codec.decompress(_stored_block_archive(frame + extra, raw))
