"""The bundled neural model: released bytes never change, its frequencies are pinned, and every backend
and lane layout computes the same ones."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import codec
from codec import models
from codec.engine import Compressor
from codec.predictors import encode_block, small_matrix_threads
from tests.test_neural import bases

NAME = "deepdna-mito-v1"
# A released model never changes (spec/FORMAT.md): a new model gets a new name.
FINGERPRINT = "2b81c0c0642e7f84e853230ada1b5a2c87e79f72ee87eb86188483006637b5da"
GOLDEN_FREQUENCIES = "60a24718672c120c"


def test_bundled_model_is_the_released_one():
    model = models.BUNDLED[NAME]
    assert model.fingerprint.hex() == FINGERPRINT
    assert len(model.data) <= 5 << 20
    assert model.neural and len(model.parts.primed[0]) > 100_000
    assert models.resolve(NAME, 6) is model


def _frequencies(backend: str, lanes: int, steps: int = 400) -> np.ndarray:
    pred = models.BUNDLED[NAME].predictor(lanes, backend)
    seq = bases(steps * lanes, seed=3).reshape(steps, lanes)
    with small_matrix_threads():
        freq, _ = encode_block(pred, seq, np.full(steps, lanes))
    return freq


def test_golden_frequencies():
    freq = _frequencies("numpy", 4)
    assert hashlib.sha256(freq.astype("<u4").tobytes()).hexdigest()[:16] == GOLDEN_FREQUENCIES


def test_torch_backend_same_frequencies():
    pytest.importorskip("torch")
    assert np.array_equal(_frequencies("torch", 4, 150), _frequencies("numpy", 4, 150))


@pytest.mark.parametrize("lanes", [1, 64])
def test_archives_identical_across_backends(lanes):
    pytest.importorskip("torch")
    data = b">x\n" + bytes(np.frombuffer(b"ACGT", np.uint8)[bases(6000, seed=5)]) + b"\n"
    archives = []
    for backend in ("numpy", "torch"):
        comp = Compressor(6, lanes=lanes, min_lane_bases=64, backend=backend)
        archives.append(comp.compress(data) + comp.flush())
    assert archives[0] == archives[1]
    assert codec.decompress(archives[0]) == data


def test_archive_model_is_found_by_fingerprint_whatever_name_it_records():
    model = models.BUNDLED["mix-lite-v7"]
    assert models.for_archive("mix-lite-v7", model.fingerprint, b"") is model
    assert models.for_archive("renamed", model.fingerprint, b"") is model
    other = models.BUNDLED["cm-v1"]
    assert models.for_archive("mix-lite-v7", other.fingerprint, b"") is other
    with pytest.raises(codec.CodecError, match="not installed"):
        models.for_archive("mix-lite-v7", bytes(32), b"")
