"""Write a deterministic synthetic multi-FASTA of about SIZE megabytes to stdout, in bounded memory.

Records of 1 Mb with 60-column lines; the sequence is random with copies (direct and reverse
complement, with point mutations) of earlier stretches, some lowercase runs and N runs, so every part
of the codec is exercised. Usage: python bench/gen_fasta.py 200 > synth200.fa
"""

from __future__ import annotations

import sys

import numpy as np

RECORD = 1_000_000
WIDTH = 60


def record(rng: np.random.Generator, index: int) -> bytes:
    seq = rng.integers(0, 4, RECORD, dtype=np.uint8)
    for _ in range(40):  # repeats inside the record
        n = int(rng.integers(200, 5000))
        src, dst = rng.integers(0, RECORD - n, 2)
        piece = seq[src : src + n].copy()
        if rng.random() < 0.4:
            piece = (3 - piece)[::-1]
        flips = rng.random(n) < 0.02
        piece[flips] = rng.integers(0, 4, int(flips.sum()))
        seq[dst : dst + n] = piece
    letters = np.frombuffer(b"ACGT", np.uint8)[seq]
    for _ in range(20):
        a = int(rng.integers(0, RECORD - 2000))
        letters[a : a + int(rng.integers(50, 2000))] |= 32  # lowercase run
    a = int(rng.integers(0, RECORD - 500))
    letters[a : a + 500] = ord("N")
    rows = [letters[i : i + WIDTH].tobytes() for i in range(0, len(letters), WIDTH)]
    return b">synthetic_%d length=%d\n" % (index, RECORD) + b"\n".join(rows) + b"\n"


def main() -> None:
    size = int(float(sys.argv[1]) * 1_000_000)
    rng = np.random.default_rng(2026)
    out = sys.stdout.buffer
    written, i = 0, 0
    while written < size:
        rec = record(rng, i)[: size - written]
        out.write(rec)
        written += len(rec)
        i += 1
    out.flush()


if __name__ == "__main__":
    main()
