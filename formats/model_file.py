"""Canonical model bytes (format v1), declared with construct. A model's fingerprint is the SHA-256
of these bytes; archives name their model by it, and may embed the bytes themselves.

Kind 1, "context mix": the parameters of :class:`codec.predictors.context_mix.ContextMixSpec`.

Kind 3, "mix": the parameters of :class:`codec.predictors.mix.MixSpec` (context, substitution
tolerant and repeat models, mixers, SSE), optionally a network of the kind-2 layout as one more mixer
input, and primed count-table entries.

Kind 4, "mix with repeat voters": kind 3 with one more list after the repeat models, the parameters
of :class:`codec.predictors.repeat_votes.VoteSpec` (at most one entry).

Kind 5, "mix with local models": kind 4 (the voter list may be empty) with two more fields after the
voters: the :class:`codec.predictors.local_models.LocalSpec` list and the residual mixer's rate. In
kind 5 every mixer's learning step rounds to nearest (``spec/MIX.md``).

Kind 6, "mix with codon models": kind 5 whose local-model entries carry one more byte, the period
(1, or 3 for one table per step phase), and one more list after the residual rate: the
:class:`codec.predictors.codon.CodonSpec` of the frame-tracking codon models (at most one entry).

Kind 7, "mix with case context": kind 6 with one more byte after the codon list, the case-context
flags (``codec.predictors.mixer.CASE_*``: which weight sets and contexts a base's lowercase bit
selects; at least one, each for a stage the model has).

Kind 8, "mix with residual context": kind 7 (whose case-context flags may be 0) with one more byte
after them, the residual-context flags (``codec.predictors.mixer.RESIDUAL_*``: what else selects the
residual mixer's weight set; at least one, and only with a residual mixer and repeat models).

Kind 2, "neural mix": a context mix, plus the integer CNN+LSTM of ``spec/NEURAL.md`` as an extra mixer
input, the mixer's initial weights, and primed count-table entries (statistics of the training set
the adaptive models start from). Arrays are little-endian; their lengths follow from the shapes.
"""

from __future__ import annotations

from construct import (
    Bytes, Const, ConstructError, GreedyBytes, If, Int8ul, Int16ul, Int32sl, Int32ul, PrefixedArray, Struct,
    this,
)

from formats.errors import CodecError

MODEL_MAGIC = b"DNACMODL"
KIND_CONTEXT_MIX = 1
KIND_NEURAL_MIX = 2
KIND_MIX = 3
KIND_MIX_VOTES = 4
KIND_MIX_LOCAL = 5
KIND_MIX_CODON = 6
KIND_MIX_CASE = 7
KIND_MIX_RESIDUAL = 8
MAX_MODEL_BYTES = 64 << 20
MIXER_NODES = 3

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

# Parameter arrays of the network, in this order, sizes in bytes from the shape (spec/NEURAL.md).
NET_ARRAYS = (
    ("conv_table", lambda c: c.window * 4 * c.filters * 2),
    ("conv_bias", lambda c: c.filters * 4),
    ("lstm_wx", lambda c: 4 * c.hidden * c.filters),
    ("lstm_wh", lambda c: 4 * c.hidden * c.hidden),
    ("lstm_b", lambda c: 4 * c.hidden * 4),
    ("dense_w", lambda c: c.dense * c.hidden),
    ("dense_b", lambda c: c.dense * 4),
    ("out_w", lambda c: 4 * c.dense),
    ("out_b", lambda c: 4 * 4),
)

NeuralNetBody = Struct(
    "window" / Int8ul,
    "filters" / Int16ul,
    "pool" / Int8ul,
    "hidden" / Int16ul,
    "dense" / Int16ul,
    *[name / Bytes(size) for name, size in NET_ARRAYS],
)

NeuralMixBody = Struct(
    "context_mix" / ContextMixBody,
    "net" / NeuralNetBody,
    # initial mixer weights (16.16), per node: one per context model, the bias, the network
    "mixer_init" / Bytes(lambda c: MIXER_NODES * (len(c.context_mix.models) + 2) * 4),
    # primed table entries: strictly increasing row numbers of the flat count table (u32) and the
    # packed counts of each row (u32: four 8-bit counts A, C, G, T)
    "primed_count" / Int32ul,
    "primed_rows" / Bytes(this.primed_count * 4),
    "primed_counts" / Bytes(this.primed_count * 4),
)

TolerantEntry = Struct(
    "model" / Int8ul,  # index of the context model whose table it reads
    "window" / Int8ul,
    "threshold" / Int8ul,
)

RepeatEntry = Struct(
    "kmer" / Int8ul,
    "index_bits" / Int8ul,
    "history_bits" / Int8ul,
    "slots" / Int8ul,
    "window" / Int8ul,
    "threshold" / Int8ul,
    "ir" / Int8ul,
)

VoteEntry = Struct(
    "voters" / Int8ul,
    "bucket" / Int8ul,
    "index_bits" / Int8ul,
    "window" / Int8ul,
    "threshold" / Int8ul,
    "decay" / Int8ul,
    "init" / Int16ul,
)


LocalEntry = Struct(
    "order" / Int8ul,
    "limit" / Int8ul,
    "alpha_inv" / Int8ul,
)


LocalPeriodEntry = Struct(
    "order" / Int8ul,
    "limit" / Int8ul,
    "alpha_inv" / Int8ul,
    "period" / Int8ul,
)

CodonEntry = Struct(
    "hypotheses" / Int8ul,
    "decay" / Int8ul,
    "limit" / Int8ul,
    "alpha_inv" / Int8ul,
    "orders" / PrefixedArray(Int8ul, Int8ul),
)


def _mix_body(votes: bool, local: bool = False, codon: bool = False, case: bool = False,
              residual: bool = False) -> Struct:
    return Struct(
        "mixer_rate" / Int32sl,
        "weight_init" / Int32sl,
        "final_rate" / Int32sl,
        "competition" / Int8ul,
        "competition_decay" / Int8ul,
        "sse_order" / Int8ul,
        "sse_rate" / Int8ul,
        "models" / PrefixedArray(Int8ul, ContextModelEntry),
        "tolerant" / PrefixedArray(Int8ul, TolerantEntry),
        "repeats" / PrefixedArray(Int8ul, RepeatEntry),  # at most one
        *(["votes" / PrefixedArray(Int8ul, VoteEntry)] if votes else []),  # at most one
        *(["local" / PrefixedArray(Int8ul, LocalPeriodEntry if codon else LocalEntry),
           "residual_rate" / Int32sl] if local else []),
        *(["codon" / PrefixedArray(Int8ul, CodonEntry)] if codon else []),
        *(["case_context" / Int8ul] if case else []),
        *(["residual_context" / Int8ul] if residual else []),
        "has_net" / Int8ul,
        "net" / If(this.has_net == 1, NeuralNetBody),
        "primed_count" / Int32ul,
        "primed_rows" / Bytes(this.primed_count * 4),
        "primed_counts" / Bytes(this.primed_count * 4),
    )


MixBody = _mix_body(votes=False)
MixVotesBody = _mix_body(votes=True)
MixLocalBody = _mix_body(votes=True, local=True)
MixCodonBody = _mix_body(votes=True, local=True, codon=True)
MixCaseBody = _mix_body(votes=True, local=True, codon=True, case=True)
MixResidualBody = _mix_body(votes=True, local=True, codon=True, case=True, residual=True)

ModelFile = Struct(
    "magic" / Const(MODEL_MAGIC),
    "format_version" / Const(1, Int8ul),
    "kind" / Int8ul,
    "body" / GreedyBytes,
)

_BODIES = {KIND_CONTEXT_MIX: ContextMixBody, KIND_NEURAL_MIX: NeuralMixBody, KIND_MIX: MixBody,
           KIND_MIX_VOTES: MixVotesBody, KIND_MIX_LOCAL: MixLocalBody, KIND_MIX_CODON: MixCodonBody,
           KIND_MIX_CASE: MixCaseBody, KIND_MIX_RESIDUAL: MixResidualBody}


def build_context_mix(learning_rate: int, weight_init: int, models: list[dict]) -> bytes:
    body = ContextMixBody.build(dict(learning_rate=learning_rate, weight_init=weight_init, models=models))
    return ModelFile.build(dict(kind=KIND_CONTEXT_MIX, body=body))


def build_neural_mix(context_mix: dict, net: dict, mixer_init: bytes, primed_rows: bytes,
                     primed_counts: bytes) -> bytes:
    """Kind-2 model bytes; ``net`` holds the shape fields and each parameter's little-endian bytes."""
    body = NeuralMixBody.build(dict(context_mix=context_mix, net=net, mixer_init=mixer_init,
                                    primed_count=len(primed_rows) // 4, primed_rows=primed_rows,
                                    primed_counts=primed_counts))
    return ModelFile.build(dict(kind=KIND_NEURAL_MIX, body=body))


def build_mix(fields: dict, net: dict | None, primed_rows: bytes = b"", primed_counts: bytes = b"") -> bytes:
    """Kind-3 model bytes; kind 4 where ``fields`` has a non-empty ``votes`` list; kind 5 where it
    has local models or a residual rate; kind 6 where it has codon models or a local model with a
    period other than 1; kind 7 where it has case-context flags; kind 8 where it has residual-context
    flags. ``fields`` holds the body's parameters and model lists; ``net`` the network's shape fields
    and parameter bytes, or None."""
    if fields.get("residual_context"):
        kind, struct = KIND_MIX_RESIDUAL, MixResidualBody
    elif fields.get("case_context"):
        kind, struct = KIND_MIX_CASE, MixCaseBody
    elif fields.get("codon") or any(m.get("period", 1) != 1 for m in fields.get("local", [])):
        kind, struct = KIND_MIX_CODON, MixCodonBody
    elif fields.get("local") or fields.get("residual_rate"):
        kind, struct = KIND_MIX_LOCAL, MixLocalBody
    elif fields.get("votes"):
        kind, struct = KIND_MIX_VOTES, MixVotesBody
    else:
        kind, struct = KIND_MIX, MixBody
    names = {sub.name for sub in struct.subcons}
    fields = {key: value for key, value in fields.items() if key in names}
    body = struct.build(dict(
        fields, has_net=int(net is not None), net=net, primed_count=len(primed_rows) // 4,
        primed_rows=primed_rows, primed_counts=primed_counts))
    return ModelFile.build(dict(kind=kind, body=body))


def parse_model(data: bytes) -> tuple[int, object]:
    """Parse model bytes into (kind, parsed body). Values are range-checked by the caller."""
    if len(data) > MAX_MODEL_BYTES:
        raise CodecError(f"model file: {len(data)} bytes exceeds the {MAX_MODEL_BYTES} byte limit")
    try:
        outer = ModelFile.parse(data)
        body_format = _BODIES.get(outer.kind)
        if body_format is None:
            raise CodecError(f"model file: unknown model kind {outer.kind}")
        body = body_format.parse(outer.body)
        if len(body_format.build(body)) != len(outer.body):
            raise CodecError("model file: trailing bytes after the model")
        return outer.kind, body
    except ConstructError as exc:
        raise CodecError(f"model file: malformed ({exc.__class__.__name__})") from None
