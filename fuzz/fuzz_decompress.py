#!/usr/bin/env python3
"""Fuzz the archive reader: ``codec.decompress``, ``codec.open(..., "rb")`` and ``engine.inspect``.

Property: for any byte string the reader either returns bytes or raises ``codec.CodecError``; any
other exception (IndexError, OverflowError, MemoryError, ...) propagates and is a finding. When the
archive decodes, the three readers must agree.

Almost every mutation of an archive breaks a CRC-32, which the reader checks first, so most inputs
would never get past the checksums. Each input is therefore also tried in a *repaired* form: the
harness walks the member structure as far as it can and recomputes every structural checksum
(header, block header, block payload, footer) and, for an embedded model, the fingerprint. The
repaired archive reaches the bounds checks, the zstd side streams, the FASTA layout decoder and the
rANS coder. (The CRC of the original bytes and the content SHA-256 are left alone: computing them
would need the decoded output.)

Run::

    .venv/bin/python fuzz/fuzz_decompress.py -max_total_time=1800 -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix=fuzz/findings/ fuzz/work/decompress fuzz/corpus/decompress
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import sys
import traceback
import zlib

_FUZZ_DIR = os.path.dirname(os.path.abspath(__file__))
if _FUZZ_DIR not in sys.path:
    sys.path.insert(0, _FUZZ_DIR)
import _common  # noqa: E402  (import paths, instrumentation when fuzzing, atheris work-around)

with _common.instrumented(__name__):
    import codec
    from codec import engine

MAX_LEN = 4096  # larger inputs are skipped: mostly they only slow each run down

# DNAC_FUZZ_SKIP_KNOWN=1 lets a long run go on past findings already reported as regression tests
# (tests/test_fuzz_regressions.py) instead of stopping at the first one; off by default.
SKIP_KNOWN = os.environ.get("DNAC_FUZZ_SKIP_KNOWN") == "1"


# (exception type, function that must be on the traceback, regression test) of each open finding.
# Remove an entry when its bug is fixed. History: MemoryError in engine._unpack_stream (zstd frame
# content size, test_zstd_frame_claiming_huge_content_size_is_codec_error), fixed in e16ccfd.
KNOWN_FINDINGS: list[tuple[type[BaseException], str, str]] = []


def known_finding(exc: BaseException) -> str | None:
    """The regression test of the already-reported bug that ``exc`` is, or None."""
    frames = {f.name for f in traceback.extract_tb(exc.__traceback__)}
    for exc_type, function, test in KNOWN_FINDINGS:
        if isinstance(exc, exc_type) and function in frames:
            return test
    return None


def _reader_errors() -> tuple[type[BaseException], ...]:
    known = tuple(exc_type for exc_type, _, _ in KNOWN_FINDINGS) if SKIP_KNOWN else ()
    return (codec.CodecError, *known)


def _failed(exc: BaseException) -> None:
    """Accept a CodecError (and, with SKIP_KNOWN, a known finding); re-raise anything else."""
    if not isinstance(exc, codec.CodecError) and known_finding(exc) is None:
        raise exc


# Structure sizes of format 1.0 (spec/FORMAT.md), written out independently of formats/container.py.
_MAGIC = b"\x89DNAC\r\n\x1a\n"
_HEADER_FIXED = 59          # magic .. model_bytes_len
_FINGERPRINT_AT = 22        # model_fingerprint: 32 bytes
_BLOCK_FIXED = 36           # magic .. n_streams
_STREAM_ENTRY = 9           # id u8, raw_len u32, stored_len u32
_FOOTER_FIXED = 8           # magic, n_blocks
_INDEX_ENTRY = 28
_FOOTER_TAIL = 40           # raw_total u64, content_sha256
_TRAILER = 8


def _put_crc(buf: bytearray, start: int, end: int) -> None:
    """Write CRC-32 of buf[start:end] at buf[end:end + 4]."""
    buf[end:end + 4] = struct.pack("<I", zlib.crc32(buf[start:end]) & 0xFFFFFFFF)


def repair(data: bytes) -> bytes:
    """Recompute the structural checksums (and an embedded model's fingerprint) of every member, as
    far as the structure can be followed; the rest of the bytes are left as they are."""
    buf = bytearray(data)
    pos, n = 0, len(buf)
    while pos + _HEADER_FIXED <= n and buf[pos:pos + len(_MAGIC)] == _MAGIC:
        name_len = buf[pos + 54]
        model_len = struct.unpack_from("<I", buf, pos + 55)[0]
        model_at = pos + _HEADER_FIXED + name_len
        crc_at = model_at + model_len
        if crc_at + 4 > n:
            break
        if model_len:
            buf[pos + _FINGERPRINT_AT:pos + _FINGERPRINT_AT + 32] = hashlib.sha256(buf[model_at:crc_at]).digest()
        _put_crc(buf, pos, crc_at)
        pos = crc_at + 4
        while pos + 4 <= n:
            tag = bytes(buf[pos:pos + 4])
            if tag == b"DBLK":
                if pos + _BLOCK_FIXED > n:
                    return bytes(buf)
                n_streams = buf[pos + _BLOCK_FIXED - 1]
                head_end = pos + _BLOCK_FIXED + n_streams * _STREAM_ENTRY
                if head_end + 4 > n:
                    return bytes(buf)
                _put_crc(buf, pos, head_end)
                payload = sum(struct.unpack_from("<I", buf, pos + _BLOCK_FIXED + i * _STREAM_ENTRY + 5)[0]
                              for i in range(n_streams))
                p_start = head_end + 4
                if p_start + payload + 4 > n:
                    return bytes(buf)
                _put_crc(buf, p_start, p_start + payload)
                pos = p_start + payload + 4
            elif tag == b"DIDX":
                if pos + _FOOTER_FIXED > n:
                    return bytes(buf)
                n_blocks = struct.unpack_from("<I", buf, pos + 4)[0]
                body_end = pos + _FOOTER_FIXED + n_blocks * _INDEX_ENTRY + _FOOTER_TAIL
                if body_end + 4 > n:
                    return bytes(buf)
                _put_crc(buf, pos, body_end)
                pos = body_end + 4 + _TRAILER
                break
            else:
                return bytes(buf)
    return bytes(buf)


def _read_all(data: bytes) -> bytes | None:
    """(decompress, open-and-read) of ``data``; None where the reader raised CodecError."""
    errors = _reader_errors()
    try:
        one_shot = codec.decompress(data)
    except errors as exc:
        _failed(exc)
        one_shot = None
    try:
        with codec.open(io.BytesIO(data), "rb") as f:
            # a short read first (the Decompressor's max_length path), then the rest
            streamed = f.read(1 + len(data) % 61) + f.read()
    except errors as exc:
        _failed(exc)
        streamed = None
    if (one_shot is None) != (streamed is None):
        raise AssertionError(f"codec.decompress and codec.open disagree: {one_shot is None=} {streamed is None=}")
    if one_shot is not None:
        if one_shot != streamed:
            raise AssertionError("codec.decompress and codec.open return different bytes")
        info = engine.inspect(io.BytesIO(data))  # no body decoding: checks the structure only
        if info["original_bytes"] != len(one_shot):
            raise AssertionError(f"inspect says {info['original_bytes']} bytes, decoded {len(one_shot)}")
    else:
        try:
            engine.inspect(io.BytesIO(data))
        except codec.CodecError:
            pass
    return one_shot


def TestOneInput(data: bytes) -> None:
    if len(data) > MAX_LEN:
        return
    _read_all(data)
    fixed = repair(data)
    if fixed != data:
        _read_all(fixed)


def main(argv: list[str] | None = None) -> None:
    _common.run(TestOneInput, argv)


if __name__ == "__main__":
    main()
