"""The C extension's sources and their digest, shared by ``setup.py`` (which compiles the digest
into the extension) and :mod:`codec.extension` (which refuses an extension built from other
sources than the checkout's, e.g. after a ``git pull`` without reinstalling). Imports nothing of
the package, so that ``setup.py`` can load it before the package's dependencies are installed."""

from __future__ import annotations

import hashlib
from pathlib import Path

SOURCES = ("module.c", "kernel.c", "case_runs.c")
_DIR = Path(__file__).resolve().parent / "native"


def digest() -> str | None:
    """SHA-256 of the sources in order, or None where they are not present (an installed wheel)."""
    h = hashlib.sha256()
    for name in SOURCES:
        try:
            h.update((_DIR / name).read_bytes())
        except OSError:
            return None
    return h.hexdigest()
