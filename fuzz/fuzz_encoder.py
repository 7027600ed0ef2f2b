#!/usr/bin/env python3
"""Fuzz the encoder: every byte string must round-trip exactly.

1. ``codec.compress(data, level=1)`` then ``codec.decompress`` gives ``data`` back;
2. an incremental :class:`codec.engine.Compressor` with small blocks and several lanes, fed in two
   pieces, with its settings taken from the first input byte (block size 32..256, lanes 1..4,
   minimum lane length 1..4, embedded model or not), read back through ``codec.open``. Inputs whose
   second byte is odd use the tiny neural-mix model of the vectors (``spec/vectors/``), so the
   integer network runs across blocks and lanes too (the bundled one takes 0.4 s to set up).

Inputs longer than MAX_LEN are skipped: mostly they only slow each run down (a run
codes its input four times, on 1-4 lanes at a few µs per base, and builds its models each time).

Run::

    .venv/bin/python fuzz/fuzz_encoder.py -max_total_time=1800 -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix=fuzz/findings/ fuzz/work/encoder fuzz/corpus/encoder
"""

from __future__ import annotations

import io
import os
import sys

_FUZZ_DIR = os.path.dirname(os.path.abspath(__file__))
if _FUZZ_DIR not in sys.path:
    sys.path.insert(0, _FUZZ_DIR)
import _common  # noqa: E402  (import paths, instrumentation when fuzzing, atheris work-around)

with _common.instrumented(__name__):
    import codec
    from codec.engine import Compressor

MAX_LEN = 1024
NEURAL_MODEL = os.path.join(os.path.dirname(_FUZZ_DIR), "spec", "vectors", "neural-vectors-test-v1.model")
_neural = None


def neural_model():
    global _neural
    if _neural is None:
        from codec.models import load_model_file

        _neural = load_model_file(NEURAL_MODEL)
    return _neural


def settings(data: bytes) -> dict:
    """Compressor settings chosen by the first byte of the input."""
    cfg = data[0] if data else 0
    return dict(block_size=32 * (1 + (cfg & 7)), lanes=1 + ((cfg >> 3) & 3),
                min_lane_bases=1 + ((cfg >> 5) & 3), embed_model=bool(cfg & 0x80))


def TestOneInput(data: bytes) -> None:
    if len(data) > MAX_LEN:
        return
    blob = codec.compress(data, level=1)
    back = codec.decompress(blob)
    if back != data:
        raise AssertionError(f"level 1 round trip differs: {len(data)} bytes in, {len(back)} out")

    model = neural_model() if len(data) > 1 and data[1] & 1 else None
    comp = Compressor(1, model, **settings(data))
    cut = len(data) // 2
    blob = comp.compress(data[:cut]) + comp.compress(data[cut:]) + comp.flush()
    with codec.open(io.BytesIO(blob), "rb", model=model) as f:
        back = f.read()
    if back != data:
        raise AssertionError(f"round trip with {settings(data)} differs: {len(data)} bytes in, {len(back)} out")


def main(argv: list[str] | None = None) -> None:
    _common.run(TestOneInput, argv)


if __name__ == "__main__":
    main()
