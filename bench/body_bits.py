"""Ideal body bits per base of models on FASTA files, in-process (a fast loop for tuning models).

``python bench/body_bits.py FILE... --model NAME|PATH... [--lane-bases N]`` splits each file exactly as
the engine does (layout, one block, lanes of at least N bases), runs the predictor and prints
-log2(freq / total) summed over the bases, divided by the base count, with the seconds it took. The
real archive adds the rANS overhead (about 0.1%) and the side streams: ``python -m codec.bench``
measures those.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codec import models  # noqa: E402
from codec.coder import active_counts  # noqa: E402
from codec.engine import ideal_bits, lane_lengths, lanes_for, to_lanes  # noqa: E402
from codec.predictors import encode_block, small_matrix_threads  # noqa: E402
from formats.fasta_layout import base_case, split  # noqa: E402


def body_bits(model: models.Model, bases: np.ndarray, lane_bases: int, max_lanes: int = 4096,
              case: np.ndarray | None = None) -> float:
    """Ideal code length (bits) of ``bases`` as one block under ``model``; ``case`` (per base,
    lowercase or not) goes to a model that reads it."""
    lens = lane_lengths(len(bases), lanes_for(len(bases), max_lanes, lane_bases))
    pred = model.predictor(max_lanes)
    reads = case is not None and getattr(pred, "reads_case", False)
    pred.start_block(lens, to_lanes(case.view(np.uint8), lens) if reads else None)
    with small_matrix_threads():
        freq, _ = encode_block(pred, to_lanes(bases, lens), active_counts(lens))
    return ideal_bits(freq)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--lane-bases", type=int, default=8192)
    args = ap.parse_args()
    for name in args.model:
        model = models.resolve(name, 6)
        total_bits = total_bases = total_s = 0.0
        for path in args.files:
            raw = path.read_bytes()
            layout = split(raw)
            bases = layout.bases
            t0 = time.perf_counter()
            case = base_case(layout.streams, len(bases), len(raw))
            bits = body_bits(model, bases, args.lane_bases, case=case)
            s = time.perf_counter() - t0
            total_bits += bits
            total_bases += len(bases)
            total_s += s
            print(f"{name:24} {path.stem[:26]:26} {bits / len(bases):.4f} bpb  {s:6.1f} s"
                  f"  {len(bases) / s / 1e6:.3f} Mb/s", flush=True)
        print(f"{name:24} {'ALL':26} {total_bits / total_bases:.4f} bpb  {total_s:6.1f} s", flush=True)


if __name__ == "__main__":
    main()
