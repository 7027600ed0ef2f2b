"""bench/device_exactness.sh: the cross-machine check passes on identical archives and fails on a
changed one (run here with the network on the CPU, on small stand-ins for the shared data)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "device_exactness.sh"


def _fasta(path: Path, records: int, bases: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for r in range(records):
            seq = "".join("ACGT"[b] for b in rng.integers(0, 4, bases))
            f.write(f">r{r}\n" + "\n".join(seq[i:i + 70] for i in range(0, len(seq), 70)) + "\n")


def _run(mode: str, work: Path, data: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, DNACODEC_DATA=str(data), DEVICE_CASES="nn l6", PYTHON=sys.executable)
    return subprocess.run(["bash", str(SCRIPT), mode, str(work), "cpu"], env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_check_passes_on_the_same_archives_and_fails_on_a_changed_one(tmp_path: Path) -> None:
    pytest.importorskip("torch")  # the networked case
    data, work = tmp_path / "data", tmp_path / "work"
    _fasta(data / "mito" / "africa_barbieri2013a_171.fasta", 6, 300, 1)
    _fasta(data / "mito" / "africa_barbieri2013b_169.fasta", 21, 300, 2)
    _fasta(data / "genomes" / "phage_lambda.fasta", 1, 500, 3)
    made = _run("make", work, data)
    assert made.returncode == 0, made.stderr
    assert len((work / "ref.sha").read_text().splitlines()) == 2
    checked = _run("check", work, data)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("same archive as the reference") == 2
    assert checked.stdout.count("decodes to the input") == 2
    (work / "m20.fa").write_text(">changed\nACGT\n")  # l6's input: the same options make another archive
    failed = _run("check", work, data)
    assert failed.returncode == 1
    assert "DIFFERENT archive" in failed.stdout and "DECODE MISMATCH" in failed.stdout
