#!/usr/bin/env bash
# Reproduce the bundled model codec/data/deepdna-mito-v1.dnacm from ../shared/data/mito/ (540 human
# mitochondrial genomes; 100 evenly spaced records are held out for validation and never trained on).
# Deterministic: the same machine and thread count give the same bytes (check with sha256sum).
# Writes to $1 (default /tmp/deepdna-mito-v1.dnacm) and a JSON report next to it.
# On the 2-core development machine (CPU only) it took 351 s: 10 epochs of the network (~33 s each),
# integer validation 3 s, priming 10 s; sha256 2b81c0c0642e7f84e853230ada1b5a2c87e79f72ee87eb86188483006637b5da.
# Validation (100 held-out genomes): float twin 1.6813, integer 1.6816 bits/base for the network alone.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/deepdna-mito-v1.dnacm}
MITO=${MITO:-../shared/data/mito}
.venv/bin/dnacodec train \
    "$MITO/africa_barbieri2013a_171.fasta" "$MITO/africa_barbieri2013b_169.fasta" \
    "$MITO/deepdna_valid_200.fasta" \
    --holdout 100 --seed 1 --device cpu --base cm-v1 \
    --window 16 --filters 16 --pool 2 --hidden 16 --dense 16 --epochs 10 \
    --prime-min-order 12 --network-weight 0 \
    --out "$OUT" --report "${OUT%.dnacm}.json"
sha256sum "$OUT"
