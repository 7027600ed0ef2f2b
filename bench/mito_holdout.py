#!/usr/bin/env python3
"""Write the held-out human mito genomes (the validation split of the bundled model) as FASTA files
for benchmarking: the 100-genome collection and single genomes, byte-exact copies of the records.

    .venv/bin/python bench/mito_holdout.py --out /tmp/mito
    .venv/bin/python -m codec.bench /tmp/mito/holdout_100.fasta /tmp/mito/single_*.fasta

The split is the one ``dnacodec train`` makes (``--holdout 100`` over the files in this order), so
these genomes were never seen in training.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from codec.training.data import holdout_split, raw_records  # noqa: E402

MITO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mito"
FILES = ("africa_barbieri2013a_171.fasta", "africa_barbieri2013b_169.fasta", "deepdna_valid_200.fasta")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--mito", default=str(MITO))
    ap.add_argument("--holdout", type=int, default=100)
    ap.add_argument("--singles", type=int, default=5, help="single-genome files to write")
    args = ap.parse_args()
    records = [r for name in FILES for r in raw_records(os.path.join(args.mito, name))]
    _, held = holdout_split(records, args.holdout)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"holdout_{len(held)}.fasta").write_bytes(b"".join(held))
    step = max(1, len(held) // max(1, args.singles))
    for n, i in enumerate(range(0, len(held), step)[:args.singles]):
        (out / f"single_{n}.fasta").write_bytes(held[i])
    print(f"wrote {out}/holdout_{len(held)}.fasta and {args.singles} single genomes")


if __name__ == "__main__":
    main()
