"""Canonical model bytes (format v1), declared with construct. A model's fingerprint is the SHA-256
of these bytes; archives name their model by it, and may embed the bytes themselves.

Kind 1, "context mix": the parameters of :class:`codec.predictors.context_mix.ContextMixSpec`.
"""

from __future__ import annotations

from construct import Const, ConstructError, GreedyBytes, Int8ul, Int16ul, Int32sl, PrefixedArray, Struct

from formats.errors import CodecError

MODEL_MAGIC = b"DNACMODL"
KIND_CONTEXT_MIX = 1
MAX_MODEL_BYTES = 64 << 20

ContextModelEntry = Struct(
    "order" / Int8ul,
    "hash_bits" / Int8ul,
    "alpha_inv" / Int16ul,
    "limit" / Int8ul,
    "ir" / Int8ul,
)

ContextMixBody = Struct(
    "learning_rate" / Int32sl,
    "weight_init" / Int32sl,
    "models" / PrefixedArray(Int8ul, ContextModelEntry),
)

ModelFile = Struct(
    "magic" / Const(MODEL_MAGIC),
    "format_version" / Const(1, Int8ul),
    "kind" / Int8ul,
    "body" / GreedyBytes,
)


def build_context_mix(learning_rate: int, weight_init: int, models: list[dict]) -> bytes:
    body = ContextMixBody.build(dict(learning_rate=learning_rate, weight_init=weight_init, models=models))
    return ModelFile.build(dict(kind=KIND_CONTEXT_MIX, body=body))


def parse_model(data: bytes) -> tuple[int, object]:
    """Parse model bytes into (kind, parsed body). Values are range-checked by the caller."""
    if len(data) > MAX_MODEL_BYTES:
        raise CodecError(f"model file: {len(data)} bytes exceeds the {MAX_MODEL_BYTES} byte limit")
    try:
        outer = ModelFile.parse(data)
        if outer.kind != KIND_CONTEXT_MIX:
            raise CodecError(f"model file: unknown model kind {outer.kind}")
        body = ContextMixBody.parse(outer.body)
        if len(ContextMixBody.build(body)) != len(outer.body):
            raise CodecError("model file: trailing bytes after the model")
        return outer.kind, body
    except ConstructError as exc:
        raise CodecError(f"model file: malformed ({exc.__class__.__name__})") from None
