#!/usr/bin/env bash
# Peak RSS of compress and decompress through stdin/stdout on generated FASTA of the given sizes (MB):
#   bash bench/rss.sh 200 1000
# Prints one line per size and direction: size, seconds, MB/s, peak RSS (MB), and checks the round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
TMP=${TMPDIR:-/tmp}/dnacodec-rss.$$
mkdir -p "$TMP"; trap 'rm -rf "$TMP"' EXIT
for mb in "$@"; do
  "$PY" bench/gen_fasta.py "$mb" > "$TMP/in.fa"
  want=$(sha256sum < "$TMP/in.fa")
  /usr/bin/time -f "%e %M" -o "$TMP/t1" "$PY" -m codec -q -c < "$TMP/in.fa" > "$TMP/x.dnac"
  /usr/bin/time -f "%e %M" -o "$TMP/t2" "$PY" -m codec -q -dc < "$TMP/x.dnac" > "$TMP/out.fa"
  got=$(sha256sum < "$TMP/out.fa")
  [ "$want" = "$got" ] && ok=identical || ok=DIFFERENT
  read -r s1 r1 < "$TMP/t1"; read -r s2 r2 < "$TMP/t2"
  bytes=$(stat -c %s "$TMP/in.fa")
  awk -v mb="$mb" -v b="$bytes" -v s1="$s1" -v r1="$r1" -v s2="$s2" -v r2="$r2" -v ok="$ok" -v a="$(stat -c %s "$TMP/x.dnac")" 'BEGIN {
    printf "%5d MB  compress   %8.1f s %6.3f MB/s  peak RSS %6.1f MB\n", mb, s1, b/s1/1e6, r1/1024;
    printf "%5d MB  decompress %8.1f s %6.3f MB/s  peak RSS %6.1f MB  archive %d bytes  round trip %s\n", mb, s2, b/s2/1e6, r2/1024, a, ok }'
  rm -f "$TMP"/*
done
