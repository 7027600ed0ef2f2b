"""Model registry: bundled models by name, model files by path, and archive models by fingerprint.

A model is identified by the SHA-256 of its canonical bytes (``formats/model_file.py``). A released
model never changes: a better one gets a new name (and so a new fingerprint), and old archives keep
decoding because every released model stays in ``BUNDLED``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from codec.predictors.context_mix import (
    MAX_COUNT,
    MAX_DIRECT_ORDER,
    MAX_ORDER,
    ContextMixPredictor,
    ContextMixSpec,
    ContextModelSpec,
)
from formats import model_file
from formats.errors import CodecError

MAX_MODELS = 32
MAX_HASH_BITS = 26
MAX_TABLE_BYTES = 2 << 30


@dataclass(frozen=True)
class Model:
    """A named predictor configuration and its canonical bytes."""

    name: str
    spec: ContextMixSpec
    data: bytes

    @property
    def fingerprint(self) -> bytes:
        return hashlib.sha256(self.data).digest()

    def predictor(self, lanes: int) -> ContextMixPredictor:
        return ContextMixPredictor(self.spec, lanes)


def _encode(spec: ContextMixSpec) -> bytes:
    return model_file.build_context_mix(
        spec.learning_rate, spec.weight_init,
        [dict(order=m.order, hash_bits=m.hash_bits, alpha_inv=m.alpha_inv, limit=m.limit, ir=int(m.ir))
         for m in spec.models])


def _decode(data: bytes) -> ContextMixSpec:
    """Parse and validate model bytes (they may come from an untrusted archive)."""
    _, body = model_file.parse_model(data)
    if not 1 <= len(body.models) <= MAX_MODELS:
        raise CodecError(f"model: {len(body.models)} context models (1..{MAX_MODELS} allowed)")
    if not 0 < body.learning_rate <= 1 << 16 or abs(body.weight_init) > 1 << 24:
        raise CodecError("model: mixer parameters out of range")
    models = []
    for m in body.models:
        direct_ok = m.hash_bits == 0 and 1 <= m.order <= MAX_DIRECT_ORDER
        hashed_ok = 8 <= m.hash_bits <= MAX_HASH_BITS and 1 <= m.order <= MAX_ORDER
        if not (direct_ok or hashed_ok) or not 1 <= m.alpha_inv <= 256 or not 1 <= m.limit <= MAX_COUNT \
                or m.ir not in (0, 1):
            raise CodecError(f"model: context model parameters out of range ({dict(m)})")
        models.append(ContextModelSpec(m.order, m.hash_bits, m.alpha_inv, m.limit, bool(m.ir)))
    spec = ContextMixSpec(tuple(models), body.learning_rate, body.weight_init)
    if spec.memory_bytes() > MAX_TABLE_BYTES:
        raise CodecError(f"model: needs {spec.memory_bytes()} bytes of tables (limit {MAX_TABLE_BYTES})")
    return spec


def _cm(*models: tuple[int, int, int, int, bool], learning_rate: int = 256) -> ContextMixSpec:
    return ContextMixSpec(tuple(ContextModelSpec(*m) for m in models), learning_rate, 16000)


# Released models: never edit one; add a new name instead.
_BUNDLED_SPECS: dict[str, ContextMixSpec] = {
    # orders 2/11/16: fastest
    "cm-fast-v1": _cm((2, 0, 2, 255, False), (11, 0, 16, 255, True), (16, 22, 16, 255, True)),
    # orders 1..20 with inverted repeats on the long contexts: the default
    "cm-v1": _cm((1, 0, 2, 255, False), (3, 0, 2, 255, False), (6, 0, 2, 255, False),
                 (9, 0, 4, 255, True), (12, 0, 16, 255, True), (16, 22, 16, 255, True),
                 (20, 22, 16, 255, True)),
}
BUNDLED: dict[str, Model] = {n: Model(n, s, _encode(s)) for n, s in _BUNDLED_SPECS.items()}
DEFAULT_MODEL = "cm-v1"
# Level -> bundled model name (levels 1-3 fast, 4-9 default until stronger ladders land).
LEVEL_MODELS = {1: "cm-fast-v1", 2: "cm-fast-v1", 3: "cm-fast-v1",
                4: "cm-v1", 5: "cm-v1", 6: "cm-v1", 7: "cm-v1", 8: "cm-v1", 9: "cm-v1"}


@lru_cache(maxsize=None)
def _by_fingerprint() -> dict[bytes, Model]:
    return {m.fingerprint: m for m in BUNDLED.values()}


def load_model_file(path: str | os.PathLike) -> Model:
    """Load a model file (canonical model bytes) from disk."""
    with open(path, "rb") as f:
        data = f.read(model_file.MAX_MODEL_BYTES + 1)
    return Model(os.path.basename(os.fspath(path)), _decode(data), data)


def resolve(model: Model | str | os.PathLike | None, level: int) -> Model:
    """The model for compressing: a Model, a bundled name, a model file path, or the level's default."""
    if isinstance(model, Model):
        return model
    if model is None:
        return BUNDLED[LEVEL_MODELS[level]]
    if isinstance(model, str) and model in BUNDLED:
        return BUNDLED[model]
    if os.path.exists(model):
        return load_model_file(model)
    raise CodecError(f"unknown model {model!r} (bundled: {', '.join(sorted(BUNDLED))}; or a model file path)")


def for_archive(name: str, fingerprint: bytes, embedded: bytes, extra: Model | None = None) -> Model:
    """The model an archive was made with: embedded bytes, ``extra`` (a model the user supplied),
    or a bundled model, matched by fingerprint."""
    if embedded:
        if hashlib.sha256(embedded).digest() != fingerprint:
            raise CodecError("archive header: embedded model does not match its fingerprint")
        return Model(name, _decode(embedded), embedded)
    if extra is not None and extra.fingerprint == fingerprint:
        return extra
    found = _by_fingerprint().get(fingerprint)
    if found is None:
        raise CodecError(
            f"archive needs model {name!r} (sha256 {fingerprint.hex()}), which is not installed; "
            "supply its model file with --model PATH")
    return found
