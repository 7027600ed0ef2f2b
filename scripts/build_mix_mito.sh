#!/usr/bin/env bash
# Reproduce the bundled models codec/data/mix-mito-v1.dnacm and mix-max-mito-v1.dnacm: the mix-v1 and
# mix-max-v1 predictors with the network of deepdna-mito-v1 (reproduced by train_bundled.sh) as one
# more mixer input, and their order >= 12 context tables primed from the same 440 training genomes
# (the same 100 held-out records are never seen). Deterministic. Writes to $1 (default /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp}
MITO=${MITO:-../shared/data/mito}
for base in mix-v1 mix-max-v1; do
    name=${base%-v1}-mito-v1
    .venv/bin/dnacodec train \
        "$MITO/africa_barbieri2013a_171.fasta" "$MITO/africa_barbieri2013b_169.fasta" \
        "$MITO/deepdna_valid_200.fasta" \
        --holdout 100 --seed 1 --device cpu --base "$base" --network-from deepdna-mito-v1 \
        --prime-min-order 12 --out "$OUT/$name.dnacm" --report "$OUT/$name.json"
    sha256sum "$OUT/$name.dnacm"
done
