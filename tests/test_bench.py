"""The benchmark (python -m codec.bench): its rows' figures, its rounds and its RSS measurement."""

from __future__ import annotations

import random
import shutil
import statistics
import sys
from pathlib import Path

import pytest

from codec import api, bench

_RNG = random.Random(11)
FASTA = b">t\n" + b"\n".join("".join(_RNG.choice("ACGT") for _ in range(60)).encode() for _ in range(40)) + b"\n"


@pytest.fixture
def fasta(tmp_path: Path, monkeypatch) -> Path:
    # the tools run as subprocesses: the numpy reference step keeps them from compiling the kernel
    monkeypatch.setenv("DNACODEC_KERNEL", "0")
    path = tmp_path / "t.fasta"
    path.write_bytes(FASTA)
    return path


def test_rows_report_the_archive_and_the_median_speed_of_every_round(fasta: Path, tmp_path: Path) -> None:
    rows = bench.bench_file(fasta, [1], [None], tmp_path, peers=False, repeat=2)
    assert [r["tool"] for r in rows] == ["dnacodec -1"]
    r = rows[0]
    assert r["bases"] == 2400
    assert r["bytes"] == len(api.compress(FASTA, level=1))
    assert r["bpb"] == pytest.approx(8 * r["bytes"] / 2400)
    assert 0 < r["body_bpb"] < r["bpb"]
    for d in ("c", "d"):
        lo, hi = r[f"{d}_range"]
        assert 0 < lo <= r[d] <= hi
        assert len(r[f"{d}_seconds"]) == 2
        assert r[d] == pytest.approx(r["original"] / statistics.median(r[f"{d}_seconds"]) / 1e6)
    assert r["c_vs_xz"] is None and r["d_vs_xz"] is None


@pytest.mark.skipif(not shutil.which("gzip"), reason="needs gzip")
def test_a_peers_rss_is_its_own_not_the_benchmarks(fasta: Path, tmp_path: Path) -> None:
    # Linux carries a process's peak RSS over fork and exec: started from this process (numpy
    # and the codec loaded: over 100 MB), gzip would report at least that much
    rows = {r["tool"]: r for r in bench.bench_file(fasta, [1], [None], tmp_path, peers=True, repeat=1)}
    assert rows["gzip -9"]["rss"] < 30
    assert rows["gzip -9"]["body_bpb"] is None
    if "xz -9" in rows:  # the yardstick is xz -9's compression, both ways
        xz = rows["xz -9"]
        assert xz["c_vs_xz"] == 1.0
        assert xz["d_vs_xz"] == pytest.approx(xz["d"] / xz["c"])


def test_a_failing_tool_is_an_error_not_a_row(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.write_bytes(b"x")
    with pytest.raises(RuntimeError, match="failed"):
        bench._run([sys.executable, "-c", "import sys; sys.exit(3)"], src, tmp_path / "out")
    with pytest.raises(RuntimeError, match="failed"):
        bench._run(["/nonexistent/tool"], src, tmp_path / "out")


def test_the_table_has_a_row_per_tool_and_refuses_zero_rounds(fasta: Path, capsys) -> None:
    assert bench.main([str(fasta), "--level", "1", "--no-peers", "--repeat", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["file", "tool", "bases"]
    assert len(lines) == 4 and "dnacodec -1" in lines[2]
    # the fixed cost in every dnacodec time: a run on an empty input
    assert lines[3].startswith("start-up: dnacodec on an empty input takes ")
    assert float(lines[3].split()[7]) > 0
    with pytest.raises(SystemExit):
        bench.main([str(fasta), "--repeat", "0"])
