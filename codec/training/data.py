"""Training data: FASTA records -> the base sequences the predictor sees, and a held-out split."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from formats.fasta_layout import split

_RECORD_START = re.compile(rb"^>", re.MULTILINE)
T = TypeVar("T")


def raw_records(path: str | os.PathLike) -> list[bytes]:
    """The bytes of each FASTA record of ``path`` (header line included), in file order; bytes before
    the first header, if any, form a record of their own."""
    with open(path, "rb") as f:
        data = f.read()
    starts = [m.start() for m in _RECORD_START.finditer(data)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)]) if b > a]


def read_records(path: str | os.PathLike) -> list[np.ndarray]:
    """One uint8 array of bases (0..3) per FASTA record of ``path``: exactly the bases the codec's
    layout codes (lowercase folded, N and other bytes dropped); records without bases are skipped."""
    out = []
    for raw in raw_records(path):
        bases = split(raw).bases
        if len(bases):
            out.append(np.ascontiguousarray(bases, dtype=np.uint8))
    return out


def holdout_split(records: Sequence[T], holdout: int) -> tuple[list[T], list[T]]:
    """(train, validation): ``holdout`` records evenly spaced through the list are held out."""
    if not 0 <= holdout < len(records):
        raise ValueError(f"cannot hold out {holdout} of {len(records)} records")
    held = {i * len(records) // holdout for i in range(holdout)} if holdout else set()
    train = [r for i, r in enumerate(records) if i not in held]
    valid = [r for i, r in enumerate(records) if i in held]
    return train, valid
