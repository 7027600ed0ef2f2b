#!/usr/bin/env python3
"""Fuzz the FASTA layout (``formats.fasta_layout``, spec/LAYOUT.md) in both directions.

Every input is used twice:

1. as a chunk for ``split``: bases must be uint8 values 0..3, ``join`` of the result with
   ``max_output=len(data)`` must give ``data`` back exactly, and with ``max_output=len(data) - 1``
   must raise CodecError (the size check);
2. through ``atheris.FuzzedDataProvider`` as a *decoder* input (see :func:`build_join_input`): a
   flags byte, ``max_output``, the four side streams with u16 length prefixes and the rest as bases.
   ``join`` must return bytes of at most ``max_output`` or raise CodecError; anything else is a
   finding. When it succeeds, ``split``/``join`` of its output must round-trip too.

Run::

    .venv/bin/python fuzz/fuzz_layout.py -max_total_time=1800 -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix=fuzz/findings/ fuzz/work/layout fuzz/corpus/layout
"""

from __future__ import annotations

import os
import struct
import sys

import atheris
import numpy as np

_FUZZ_DIR = os.path.dirname(os.path.abspath(__file__))
if _FUZZ_DIR not in sys.path:
    sys.path.insert(0, _FUZZ_DIR)
import _common  # noqa: E402  (import paths, instrumentation when fuzzing, atheris work-around)

with _common.instrumented(__name__):
    from formats import fasta_layout
    from formats.errors import CodecError

MAX_LEN = 1 << 16

# flags byte of a join input
RAW_BASES = 0x01       # bases are the raw bytes (values > 3 must be rejected), else byte & 3
WIDE_BASES = 0x02      # bases as int64 instead of uint8
BIG_LIMIT = 0x04       # max_output = 2**24 (the largest block a reader accepts) instead of the u16 field
EXTRA_STREAM = 0x08    # add an unknown fifth stream (must be rejected)


def build_join_input(streams: dict[str, bytes], bases: bytes, max_output: int, flags: int = 0) -> bytes:
    """The fuzzer input that :func:`parse_join_input` turns into these arguments (for seeds)."""
    out = bytearray([flags]) + struct.pack("<H", max_output)
    for name in fasta_layout.SIDE_STREAMS:
        s = streams[name]
        out += struct.pack("<H", len(s)) + s
    return bytes(out + bases)


def parse_join_input(data: bytes) -> tuple[np.ndarray, dict[str, bytes], int]:
    fdp = atheris.FuzzedDataProvider(data)
    flags = fdp.ConsumeUInt(1)
    max_output = fdp.ConsumeUInt(2)
    if flags & BIG_LIMIT:
        max_output = 1 << 24
    streams = {name: fdp.ConsumeBytes(fdp.ConsumeUInt(2)) for name in fasta_layout.SIDE_STREAMS}
    if flags & EXTRA_STREAM:
        streams["body"] = b""
    raw = np.frombuffer(fdp.ConsumeBytes(fdp.remaining_bytes()), dtype=np.uint8)
    bases = raw.copy() if flags & RAW_BASES else raw & 3
    if flags & WIDE_BASES:
        bases = bases.astype(np.int64)
    return bases, streams, max_output


def check_split(data: bytes) -> None:
    layout = fasta_layout.split(data)
    bases = layout.bases
    assert isinstance(bases, np.ndarray) and bases.dtype == np.uint8 and bases.ndim == 1, bases.dtype
    assert not bases.size or int(bases.max()) <= 3
    assert set(layout.streams) == set(fasta_layout.SIDE_STREAMS)
    assert all(isinstance(s, bytes) for s in layout.streams.values())
    assert 0 <= layout.records <= data.count(b">")
    back = fasta_layout.join(bases, layout.streams, max_output=len(data))
    if back != data:
        raise AssertionError(f"split/join round trip differs: {data[:64]!r} -> {back[:64]!r}")
    if data:
        try:
            fasta_layout.join(bases, layout.streams, max_output=len(data) - 1)
        except CodecError:
            pass
        else:
            raise AssertionError("join ignored max_output = len(data) - 1")


def check_join(data: bytes) -> None:
    bases, streams, max_output = parse_join_input(data)
    try:
        out = fasta_layout.join(bases, streams, max_output=max_output)
    except CodecError:
        return
    assert isinstance(out, bytes), type(out)
    assert len(out) <= max_output, (len(out), max_output)
    if len(out) <= MAX_LEN:
        check_split(out)


def TestOneInput(data: bytes) -> None:
    if len(data) > MAX_LEN:
        return
    check_split(data)
    check_join(data)


def main(argv: list[str] | None = None) -> None:
    _common.run(TestOneInput, argv)


if __name__ == "__main__":
    main()
