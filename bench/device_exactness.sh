#!/bin/bash
# Cross-machine, cross-device bit-exactness check for the networked models.
#
#   bench/device_exactness.sh make DIR         on one machine (CPU): inputs and reference archives
#   bench/device_exactness.sh check DIR [DEV]  on another (DEV: cuda by default): the same archives
#                                              made with the network on DEV, the reference ones
#                                              decoded there, and CPU-versus-DEV timings
# DIR travels between the two (a few hundred kB). Needs ../shared/data for "make" and the codec's
# dependencies (numpy, zstandard, construct, torch; a C compiler for the step) on both. Exit status 1 on any mismatch.
# DEVICE_CASES picks a subset of the cases (nn lam l6 l7 nn20 l9), DNACODEC_DATA another data folder.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python3}; [ -z "${PYTHON:-}" ] && [ -x "$here/.venv/bin/python" ] && py=$here/.venv/bin/python
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
data=${DNACODEC_DATA:-$here/../shared/data}
mode=${1:?make or check}; dir=${2:?directory}; dev=${3:-cuda}
CASES=${DEVICE_CASES:-nn lam l6 l7 nn20 l9}  # a subset for a quick run (the tests use one)
opts() { case $1 in
  nn) echo "--model deepdna-mito-v1 m5.fa" ;;   nn20) echo "--model deepdna-mito-v1 m20.fa" ;;
  lam) echo "--model mix-max-mito-v1 lam.fa" ;; l6|l7|l9) echo "-${1#l} m20.fa" ;; esac; }
timed() {  # "$@" but the label, with its time and peak memory where GNU time is installed
  if [ -x /usr/bin/time ]; then /usr/bin/time -f "  $1: %e s, peak %M KB" "${@:2}"; else "${@:2}"; fi; }
mkdir -p "$dir" && cd "$dir" || exit 1
if [ "$mode" = make ]; then
  awk '/^>/{n++} n<=5' "$data/mito/africa_barbieri2013a_171.fasta" > m5.fa
  awk '/^>/{n++} n<=20' "$data/mito/africa_barbieri2013b_169.fasta" > m20.fa
  cp "$data/genomes/phage_lambda.fasta" lam.fa
  for c in $CASES; do timed "$c" $py -m codec $(opts $c) -c > ref_$c.dnac || exit 1; done
  sha256sum ref_*.dnac > ref.sha && cat ref.sha
  exit 0
fi
fail=0
for c in $CASES; do
  set -- $(opts $c); src=${!#}
  echo "== $c: $*"
  timed "compress --device $dev" $py -m codec --device "$dev" "$@" -c > dev_$c.dnac
  want=$(grep " ref_$c.dnac" ref.sha | cut -d' ' -f1); got=$(sha256sum < dev_$c.dnac | cut -d' ' -f1)
  if [ "$want" = "$got" ]; then echo "  same archive as the reference"; else echo "  DIFFERENT archive"; fail=1; fi
  timed "decompress the reference, --device $dev" $py -m codec -d --device "$dev" -c ref_$c.dnac > dec_$c
  if cmp -s dec_$c "$src"; then echo "  decodes to the input"; else echo "  DECODE MISMATCH"; fail=1; fi
  if [ $c = nn20 ] || [ $c = l9 ]; then
    timed "compress --device cpu" $py -m codec --device cpu "$@" -c > cpu_$c.dnac
    cmp -s cpu_$c.dnac ref_$c.dnac || { echo "  CPU archive DIFFERENT"; fail=1; }
  fi
done
echo "fail=$fail"; exit $fail
