"""Every file in ../shared/data round-trips through the CLI with stdin/stdout (skipped when absent)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import shared_files


@pytest.mark.parametrize("path", shared_files("edge", "genomes", "mito"), ids=lambda p: p.name)
def test_shared_file_roundtrip_cli_pipes(path) -> None:
    data = path.read_bytes()
    cmd = [sys.executable, "-m", "codec"]
    # -1: this test is about the CLI's pipes and framing; the API test covers the default level
    archive = subprocess.run(cmd + ["-q", "-1", "-c"], input=data, capture_output=True, check=True).stdout
    assert archive[:5] == b"\x89DNAC"
    out = subprocess.run(cmd + ["-q", "-d", "-c", "-"], input=archive, capture_output=True, check=True)
    assert out.stdout == data
    assert out.stderr == b""
