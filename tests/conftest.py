"""Shared fixtures: where the shared data lives, and small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


def child_env(*first: str | Path, **extra: str) -> dict[str, str]:
    """The environment for a child Python that imports this checkout: ``PYTHONPATH`` is ``first``,
    then the repository root, then the caller's own; ``extra`` variables are added. Where the C
    extension is not built, the child runs the numpy reference on purpose (``DNACODEC_KERNEL=0``),
    so that the tools' output is not led by the warning that says so (tests/test_cli.py checks it)."""
    from codec import extension

    path = os.pathsep.join(filter(None, [*map(str, first), str(ROOT), os.environ.get("PYTHONPATH")]))
    quiet = {} if extension.built() else {"DNACODEC_KERNEL": "0"}
    return dict(os.environ, PYTHONPATH=path, **{**quiet, **extra})


def shared_files(*subdirs: str) -> list[Path]:
    """FASTA/FASTQ files under ../shared/data/<subdir> (empty when the folder is absent)."""
    out: list[Path] = []
    for sub in subdirs:
        d = SHARED_DATA / sub
        if d.is_dir():
            out.extend(sorted(p for p in d.iterdir() if p.suffix in (".fasta", ".fastq", ".fa")))
    return out


@pytest.fixture
def require_shared():
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
