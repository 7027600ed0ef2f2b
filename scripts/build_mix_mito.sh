#!/usr/bin/env bash
# Reproduce the bundled models codec/data/mix-mito-v1.dnacm and mix-max-mito-v1.dnacm: the mix-v1 and
# mix-max-v1 predictors with the network of deepdna-mito-v1 (reproduced by train_bundled.sh) as one
# more mixer input, and their order >= 12 context tables primed from the same 440 training genomes
# (the same 100 held-out records are never seen); and codec/data/mito-lite-v1.dnacm, the default
# mix-lite-v10 with its order >= 8 tables primed the same way and without the network (levels 5-6: the
# network made them 3-4 times slower for 0.4-0.8% on the held-out genomes). Deterministic. Writes to
# $1 (default /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp}
MITO=${MITO:-../shared/data/mito}
train() {  # BASE NAME MIN_ORDER: the primed BASE with the network, written to $OUT/NAME.dnacm
    .venv/bin/dnacodec train \
        "$MITO/africa_barbieri2013a_171.fasta" "$MITO/africa_barbieri2013b_169.fasta" \
        "$MITO/deepdna_valid_200.fasta" \
        --holdout 100 --seed 1 --device cpu --base "$1" --network-from deepdna-mito-v1 \
        --prime-min-order "$3" --out "$OUT/$2.dnacm" --report "$OUT/$2.json"
}
for base in mix-v1 mix-max-v1; do
    name=${base%-v1}-mito-v1
    train "$base" "$name" 12
    sha256sum "$OUT/$name.dnacm"
done
train mix-lite-v10 mix-lite-v10-mito 8
.venv/bin/python - "$OUT/mix-lite-v10-mito.dnacm" "$OUT/mito-lite-v1.dnacm" <<'PY'
import sys
from codec import models
parts = models.load_model_file(sys.argv[1]).parts
open(sys.argv[2], "wb").write(models.encode_mix(parts.spec, None, parts.primed))  # without the network
PY
sha256sum "$OUT/mito-lite-v1.dnacm"
