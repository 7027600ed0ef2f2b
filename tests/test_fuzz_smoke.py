"""Smoke runs of the atheris harnesses in fuzz/ (about a minute in all).

Each harness runs as a subprocess for a fixed number of inputs (fixed seed, so a run is repeatable
unless the time cap cuts it short) over a copy of its seed corpus, and must exit 0: no crash, no
failed assertion, no timeout. Long runs are described in fuzz/README.md. Skipped without atheris.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

atheris = pytest.importorskip("atheris")

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"

# harness -> executions for a ~10 s run on the 2-core development machine
HARNESSES = {"decompress": 2000, "layout": 15000, "model_file": 2500, "encoder": 200}
TIME_CAP_S = 15


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_fuzz_{name}", FUZZ / f"fuzz_{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_seed_corpus_passes_in_process(name: str) -> None:
    """The harness imports (uninstrumented) and accepts every committed seed."""
    seeds = sorted((FUZZ / "corpus" / name).iterdir())
    assert seeds, f"fuzz/corpus/{name} is empty (run fuzz/make_corpus.py)"
    assert sum(p.stat().st_size for p in seeds) < 256 * 1024
    harness = _load(name)
    for path in seeds:
        harness.TestOneInput(path.read_bytes())


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_fuzz_smoke(name: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(FUZZ / "corpus" / name, corpus)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    cmd = [sys.executable, str(FUZZ / f"fuzz_{name}.py"), f"-runs={HARNESSES[name]}",
           f"-max_total_time={TIME_CAP_S}", "-seed=1", "-timeout=10", "-rss_limit_mb=2048",
           f"-artifact_prefix={artifacts}{os.sep}", "-print_final_stats=1", str(corpus)]
    # known bugs (xfail tests in test_fuzz_regressions.py) are reported there, not here a second time
    env = dict(os.environ, DNAC_FUZZ_SKIP_KNOWN="1")
    env.pop("DNAC_FUZZ_INSTRUMENT", None)
    proc = subprocess.run(cmd, cwd=FUZZ.parent, env=env, capture_output=True, text=True,
                          timeout=TIME_CAP_S + 120)
    found = sorted(p.name for p in artifacts.iterdir())
    assert proc.returncode == 0 and not found, (
        f"fuzz_{name} exited {proc.returncode}, artifacts {found}\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    assert "Done" in proc.stderr, proc.stderr[-3000:]
