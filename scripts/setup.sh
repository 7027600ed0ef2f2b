#!/usr/bin/env bash
# Set up a virtual environment in .venv with dnacodec and its test tools. Idempotent.
# torch is pinned and installed first so that pip takes the CPU build instead of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
# compat: the checkout goes on sys.path through a .pth line; the default editable mode's import hook
# loads pathlib, re and more into every Python process of the venv, 20 ms of each dnacodec run
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" --config-settings editable_mode=compat
# byte-compile the package (an editable install is not), for shells with PYTHONDONTWRITEBYTECODE set
.venv/bin/python -m compileall -q codec formats
# the compiled step is optional, but without it coding is 50-100 times slower: say so here, once
.venv/bin/python -c "import codec._native" 2>/dev/null \
  || echo "setup: the C extension codec._native was not built (no C compiler with OpenMP?); dnacodec will run its numpy reference, 50-100 times slower" >&2
