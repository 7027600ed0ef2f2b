#!/usr/bin/env bash
# Compress the bundled example (phage lambda, NCBI NC_001416), decompress it, verify the bytes,
# and print the ratio and bits per base.
set -euo pipefail
cd "$(dirname "$0")/.."
DNAC=.venv/bin/dnacodec
IN=examples/phage_lambda.fasta
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
$DNAC -k -c "$IN" > "$OUT/x.dnac"
$DNAC -d -c "$OUT/x.dnac" > "$OUT/x.fasta"
cmp "$IN" "$OUT/x.fasta" && echo "round trip: identical"
$DNAC -l "$OUT/x.dnac"
.venv/bin/python - "$IN" "$OUT/x.dnac" <<'PY'
import json, os, subprocess, sys
src, arc = sys.argv[1:]
info = json.loads(subprocess.run([".venv/bin/dnacodec", "-l", "--json", arc], capture_output=True, check=True).stdout)
a, o, n = os.path.getsize(arc), os.path.getsize(src), info["bases"]
print(f"{src}: {o} -> {a} bytes, ratio {o / a:.3f}, {8 * a / n:.4f} bits per base "
      f"(sequence body {8 * info['streams']['body'] / n:.4f}), model {info['model']['name']}")
PY
