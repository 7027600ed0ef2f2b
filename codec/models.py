"""Model registry: bundled models by name, model files by path, and archive models by fingerprint.

A model is identified by the SHA-256 of its canonical bytes (``formats/model_file.py``). A released
model never changes: a better one gets a new name (and so a new fingerprint), and old archives keep
decoding because every released model stays in ``BUNDLED``. Trained models ship as files in
``codec/data/`` (``NAME.dnacm``); the pure context-mix models are defined here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from functools import cached_property, lru_cache, partial
from pathlib import Path

import numpy as np

from codec.predictors.context_mix import ContextMixPredictor, ContextMixSpec
from codec.predictors.context_models import MAX_COUNT, MAX_DIRECT_ORDER, MAX_ORDER, ContextModelSpec
from codec.predictors.codon import FRAME_HYPOTHESES, MAX_CODON_MODELS, MAX_CODON_ORDER, CodonSpec
from codec.predictors.local_models import MAX_LOCAL_MODELS, MAX_LOCAL_ORDER, LocalSpec
from codec.predictors.mix import MixPredictor, MixSpec
from codec.predictors.mixer import CASE_ALL, CASE_RESIDUAL, CASE_SHARED, CASE_SSE, RESIDUAL_REPEAT
from codec.predictors.neural import PARAMETERS, NeuralMixerInput, NeuralNet
from codec.predictors.repeat import MAX_KMER, RepeatSpec
from codec.predictors.repeat_votes import MAX_BUCKET, MAX_VOTERS, VoteSpec
from codec.predictors.tolerant import MAX_WINDOW, TolerantSpec
from formats import model_file
from formats.errors import CodecError

MAX_MODELS = 32
MAX_HASH_BITS = 26
MAX_TABLE_BYTES = 2 << 30
MAX_MIXER_WEIGHT = 1 << 24
MAX_TOLERANT = 8
MAX_REPEAT_SLOTS = 8
MAX_SSE_ORDER = 6
BUNDLED_DIR = Path(__file__).parent / "data"
MODEL_SUFFIX = ".dnacm"


@dataclass(frozen=True, eq=False)
class ModelParts:
    """A parsed, validated model: the adaptive context mix (kinds 1 and 2) or mix (kinds 3-8) and, where
    the model has them, the network, the initial mixer weights and the primed table entries."""

    spec: ContextMixSpec | MixSpec
    net: NeuralNet | None = None
    mixer_init: np.ndarray | None = None
    primed: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True, eq=False)
class Model:
    """A named model and its canonical bytes (parsed and validated on first use)."""

    name: str
    data: bytes

    @cached_property
    def fingerprint(self) -> bytes:
        return hashlib.sha256(self.data).digest()

    @cached_property
    def parts(self) -> ModelParts:
        return _decode(self.data)

    @property
    def spec(self) -> ContextMixSpec | MixSpec:
        return self.parts.spec

    @property
    def neural(self) -> bool:
        return self.parts.net is not None

    def memory_bytes(self) -> int:
        """Bytes of tables a predictor of this model allocates (lane state and network excluded)."""
        return self.parts.spec.memory_bytes()

    def predictor(self, lanes: int, backend: str = "numpy", device: str = "cpu") -> ContextMixPredictor | MixPredictor:
        """A fresh predictor with ``lanes`` lanes; the network (if any) runs on ``backend``/``device``."""
        p = self.parts
        extra = [] if p.net is None else [NeuralMixerInput(p.net, lanes, backend, device)]
        if isinstance(p.spec, MixSpec):
            return MixPredictor(p.spec, lanes, extra, p.primed)
        return ContextMixPredictor(p.spec, lanes, extra, p.mixer_init, p.primed)


def _cm_fields(spec: ContextMixSpec) -> dict:
    return dict(learning_rate=spec.learning_rate, weight_init=spec.weight_init, models=_model_fields(spec.models))


def encode_context_mix(spec: ContextMixSpec) -> bytes:
    """Canonical kind-1 bytes."""
    f = _cm_fields(spec)
    return model_file.build_context_mix(f["learning_rate"], f["weight_init"], f["models"])


def _model_fields(models: tuple[ContextModelSpec, ...]) -> list[dict]:
    return [dict(order=m.order, hash_bits=m.hash_bits, alpha_inv=m.alpha_inv, limit=m.limit, ir=int(m.ir))
            for m in models]


def _net_fields(net: NeuralNet) -> dict:
    fields = dict(window=net.window, filters=net.filters, pool=net.pool, hidden=net.hidden, dense=net.dense)
    for name, _ in model_file.NET_ARRAYS:
        a = net.weights[name]
        fields[name] = a.astype(a.dtype.newbyteorder("<")).tobytes()
    return fields


def encode_mix(spec: MixSpec, net: NeuralNet | None = None,
               primed: tuple[np.ndarray, np.ndarray] | None = None) -> bytes:
    """Canonical kind-3 bytes, kind 4 with repeat voters, kind 5 with local models or a residual
    mixer, kind 6 with codon models or periodic local models, kind 7 with case context, kind 8 with
    residual context (validated by decoding them again)."""
    r = spec.repeat
    fields = dict(
        mixer_rate=spec.mixer_rate, weight_init=spec.weight_init, final_rate=spec.final_rate,
        competition=int(spec.competition), competition_decay=spec.competition_decay,
        sse_order=spec.sse_order, sse_rate=spec.sse_rate, models=_model_fields(spec.context),
        tolerant=[dict(model=t.model, window=t.window, threshold=t.threshold) for t in spec.tolerant],
        repeats=[] if r is None else [dict(kmer=r.kmer, index_bits=r.index_bits, history_bits=r.history_bits,
                                           slots=r.slots, window=r.window, threshold=r.threshold, ir=int(r.ir))],
        votes=[] if spec.votes is None else [asdict(spec.votes)],
        local=[asdict(m) for m in spec.local], residual_rate=spec.residual_rate,
        codon=[] if spec.codon is None else [asdict(spec.codon)], case_context=spec.case_context,
        residual_context=spec.residual_context)
    rows, counts = primed if primed is not None else (np.zeros(0), np.zeros(0))
    data = model_file.build_mix(fields, None if net is None else _net_fields(net),
                                np.asarray(rows, dtype="<u4").tobytes(), np.asarray(counts, dtype="<u4").tobytes())
    _decode(data)
    return data


def encode_neural_mix(spec: ContextMixSpec, net: NeuralNet, mixer_init: np.ndarray,
                      primed_rows: np.ndarray, primed_counts: np.ndarray) -> bytes:
    """Canonical kind-2 bytes (validated by decoding them again)."""
    data = model_file.build_neural_mix(
        _cm_fields(spec), _net_fields(net), np.asarray(mixer_init, dtype="<i4").tobytes(),
        np.asarray(primed_rows, dtype="<u4").tobytes(), np.asarray(primed_counts, dtype="<u4").tobytes())
    _decode(data)
    return data


def _decode(data: bytes) -> ModelParts:
    """Parse and validate model bytes (they may come from an untrusted archive)."""
    kind, body = model_file.parse_model(data)
    if kind == model_file.KIND_CONTEXT_MIX:
        return ModelParts(_decode_context_mix(body))
    if kind in (model_file.KIND_MIX, model_file.KIND_MIX_VOTES, model_file.KIND_MIX_LOCAL,
                model_file.KIND_MIX_CODON, model_file.KIND_MIX_CASE, model_file.KIND_MIX_RESIDUAL):
        return _decode_mix(body)
    spec = _decode_context_mix(body.context_mix)
    net = _decode_net(body.net)
    mixer_init = np.frombuffer(body.mixer_init, dtype="<i4").astype(np.int64)
    mixer_init = mixer_init.reshape(model_file.MIXER_NODES, len(spec.models) + 2)
    if np.abs(mixer_init).max() > MAX_MIXER_WEIGHT:
        raise CodecError("model: initial mixer weights out of range")
    return ModelParts(spec, net, mixer_init, _decode_primed(body, int(spec.table_offsets()[-1])))


def _decode_primed(body, total_rows: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.frombuffer(body.primed_rows, dtype="<u4").astype(np.int64)
    counts = np.frombuffer(body.primed_counts, dtype="<u4").astype(np.uint32)
    if len(rows) and (rows[-1] >= total_rows or np.any(rows[1:] <= rows[:-1])):
        raise CodecError("model: primed table rows out of range or not increasing")
    return rows, counts


def _decode_net(n) -> NeuralNet:
    dims = (n.window, n.filters, n.pool, n.hidden, n.dense)
    weights = {}
    for name, _ in model_file.NET_ARRAYS:
        dtype, shape_fn = PARAMETERS[name]
        flat = np.frombuffer(n[name], dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
        weights[name] = flat.reshape(shape_fn(*dims))  # sizes follow from the shape by construction
    return NeuralNet.from_weights(dict(zip(("window", "filters", "pool", "hidden", "dense"), dims)), weights)


def _decode_mix(body) -> ModelParts:
    """Validate a kind-3 to kind-8 body: every parameter in range, memory within MAX_TABLE_BYTES."""
    if not (0 < body.mixer_rate <= 1 << 16 and 0 < body.final_rate <= 1 << 16
            and abs(body.weight_init) <= MAX_MIXER_WEIGHT and body.competition in (0, 1)
            and 1 <= body.competition_decay <= 16 and body.sse_order <= MAX_SSE_ORDER and body.sse_rate <= 15
            and body.has_net in (0, 1)):
        raise CodecError("model: mixer, competition or SSE parameters out of range")
    models = _decode_models(body.models)
    if len(body.tolerant) > MAX_TOLERANT or any(
            not (t.model < len(models) and 1 <= t.window <= MAX_WINDOW and t.threshold < t.window)
            for t in body.tolerant):
        raise CodecError("model: tolerant context model parameters out of range")
    tolerant = tuple(TolerantSpec(t.model, t.window, t.threshold) for t in body.tolerant)
    repeat = None
    if len(body.repeats) > 1:
        raise CodecError("model: more than one repeat model set")
    for r in body.repeats:
        if not (1 <= r.kmer <= MAX_KMER and 8 <= r.index_bits <= 28 and 8 <= r.history_bits <= 31
                and 1 <= r.slots <= MAX_REPEAT_SLOTS and 1 <= r.window <= MAX_WINDOW and r.threshold < r.window
                and r.ir in (0, 1)):
            raise CodecError(f"model: repeat model parameters out of range ({dict(r)})")
        repeat = RepeatSpec(r.kmer, r.index_bits, r.history_bits, r.slots, r.window, r.threshold, bool(r.ir))
    votes = None
    vote_entries = body.get("votes", [])
    if len(vote_entries) > 1 or (vote_entries and repeat is None):
        raise CodecError("model: repeat voters need exactly one repeat model set")
    for v in vote_entries:
        if not (1 <= v.voters <= MAX_VOTERS and 1 <= v.bucket <= MAX_BUCKET and 8 <= v.index_bits <= 28
                and 1 <= v.window <= MAX_WINDOW and v.threshold < v.window and 1 <= v.decay <= 16):
            raise CodecError(f"model: repeat voter parameters out of range ({dict(v)})")
        votes = VoteSpec(v.voters, v.bucket, v.index_bits, v.window, v.threshold, v.decay, v.init)
    local_entries = body.get("local", [])
    residual_rate = body.get("residual_rate", 0)
    if len(local_entries) > MAX_LOCAL_MODELS or any(
            not (m.order <= MAX_LOCAL_ORDER and 1 <= m.limit <= MAX_COUNT and 1 <= m.alpha_inv <= 255
                 and m.get("period", 1) in (1, 3))
            for m in local_entries) or not 0 <= residual_rate <= 1 << 16:
        raise CodecError("model: local model or residual mixer parameters out of range")
    local = tuple(LocalSpec(m.order, m.limit, m.alpha_inv, m.get("period", 1)) for m in local_entries)
    codon = None
    codon_entries = body.get("codon", [])
    if len(codon_entries) > 1:
        raise CodecError("model: more than one codon model set")
    for c in codon_entries:
        if not (1 <= len(c.orders) <= MAX_CODON_MODELS and all(1 <= o <= MAX_CODON_ORDER for o in c.orders)
                and c.hypotheses in FRAME_HYPOTHESES and 1 <= c.decay <= 16 and 1 <= c.limit <= MAX_COUNT
                and 1 <= c.alpha_inv <= 255):
            raise CodecError(f"model: codon model parameters out of range ({dict(c)})")
        codon = CodonSpec(tuple(c.orders), c.hypotheses, c.decay, c.limit, c.alpha_inv)
    case_context = body.get("case_context", 0)
    # the flags whose stage the model has
    usable = CASE_ALL & ~((0 if residual_rate else CASE_RESIDUAL) | (0 if body.competition else CASE_SHARED)
                          | (0 if body.sse_order else CASE_SSE))
    residual_context = body.get("residual_context", 0)
    if "residual_context" in body:
        if case_context & ~usable:
            raise CodecError(f"model: kind 8 case-context flags {case_context} out of range or for a missing stage")
        if residual_context != RESIDUAL_REPEAT or not residual_rate or repeat is None:
            raise CodecError(f"model: kind 8 residual-context flags {residual_context} out of range or without a "
                             "residual mixer and repeat models")
    elif "case_context" in body and (not case_context or case_context & ~usable):
        raise CodecError(f"model: kind 7 case-context flags {case_context} out of range or for a missing stage")
    spec = MixSpec(models, tolerant, repeat, body.mixer_rate, body.weight_init, bool(body.competition),
                   body.competition_decay, body.final_rate, body.sse_order, body.sse_rate, votes, local,
                   residual_rate, codon, case_context, residual_context)
    if "codon" in body and "case_context" not in body and not spec.framed:
        raise CodecError("model: kind 6 without codon models or a periodic local model")
    if "local" in body and "codon" not in body and not (local_entries or residual_rate):
        raise CodecError("model: kind 5 without local models or a residual mixer")
    if spec.memory_bytes() > MAX_TABLE_BYTES:
        raise CodecError(f"model: needs {spec.memory_bytes()} bytes of tables (limit {MAX_TABLE_BYTES})")
    net = _decode_net(body.net) if body.has_net else None
    return ModelParts(spec, net, None, _decode_primed(body, int(spec.table_offsets()[-1])))


def _decode_context_mix(body) -> ContextMixSpec:
    if not 0 < body.learning_rate <= 1 << 16 or abs(body.weight_init) > MAX_MIXER_WEIGHT:
        raise CodecError("model: mixer parameters out of range")
    spec = ContextMixSpec(_decode_models(body.models), body.learning_rate, body.weight_init)
    if spec.memory_bytes() > MAX_TABLE_BYTES:
        raise CodecError(f"model: needs {spec.memory_bytes()} bytes of tables (limit {MAX_TABLE_BYTES})")
    return spec


def _decode_models(entries) -> tuple[ContextModelSpec, ...]:
    if not 1 <= len(entries) <= MAX_MODELS:
        raise CodecError(f"model: {len(entries)} context models (1..{MAX_MODELS} allowed)")
    models = []
    for m in entries:
        direct_ok = m.hash_bits == 0 and 1 <= m.order <= MAX_DIRECT_ORDER
        hashed_ok = 8 <= m.hash_bits <= MAX_HASH_BITS and 1 <= m.order <= MAX_ORDER
        if not (direct_ok or hashed_ok) or not 1 <= m.alpha_inv <= 256 or not 1 <= m.limit <= MAX_COUNT \
                or m.ir not in (0, 1):
            raise CodecError(f"model: context model parameters out of range ({dict(m)})")
        models.append(ContextModelSpec(m.order, m.hash_bits, m.alpha_inv, m.limit, bool(m.ir)))
    return tuple(models)


def _cm(*models: tuple[int, int, int, int, bool], learning_rate: int = 256) -> ContextMixSpec:
    return ContextMixSpec(tuple(ContextModelSpec(*m) for m in models), learning_rate, 16000)


# Released models: never edit one; add a new name instead.
_BUNDLED_SPECS: dict[str, ContextMixSpec] = {
    # orders 2/11/16: fastest
    "cm-fast-v1": _cm((2, 0, 2, 255, False), (11, 0, 16, 255, True), (16, 22, 16, 255, True)),
    # orders 1..20 with inverted repeats on the long contexts
    "cm-v1": _cm((1, 0, 2, 255, False), (3, 0, 2, 255, False), (6, 0, 2, 255, False),
                 (9, 0, 4, 255, True), (12, 0, 16, 255, True), (16, 22, 16, 255, True),
                 (20, 22, 16, 255, True)),
}


def _mix_models(high_hash_bits: int, mid_alpha_inv: tuple[int, int, int] = (2, 4, 8),
                high_alpha_inv: int = 16) -> tuple[ContextModelSpec, ...]:
    """Orders 2-12 direct (alpha 1 up to order 8, then 1/``mid_alpha_inv`` for orders 10-12), 14-20
    hashed (alpha 1/``high_alpha_inv``), all learning inverted repeats too."""
    direct = [(2, 1), (4, 1), (6, 1), (8, 1), *zip((10, 11, 12), mid_alpha_inv)]
    return tuple([ContextModelSpec(o, 0, a, MAX_COUNT, True) for o, a in direct]
                 + [ContextModelSpec(o, high_hash_bits, high_alpha_inv, MAX_COUNT, True)
                    for o in (14, 16, 18, 20)])


# v2: the v1 predictors with less confident estimators on the long contexts (alpha 1 for orders
# 10-12, 1/4 for the hashed orders; alpha 1 everywhere in mix-fast-v2), smaller initial weights, a
# faster mixer and a slower SSE: 0.2-0.5% smaller on every test genome (issue 4 closing notes)
_V2_MID, _V2_HIGH = (1, 1, 1), 4
_V2_MIXING = dict(weight_init=8000, mixer_rate=768, sse_rate=8, final_rate=384)


_STCM = (TolerantSpec(7, 16, 8), TolerantSpec(10, 16, 8))  # on the order-14 and order-20 tables
_VOTES = VoteSpec(16, 8, 22, 16, 10, 4, 2048)
_LOCAL = (LocalSpec(0, 31), LocalSpec(1, 15), LocalSpec(2, 15), LocalSpec(3, 15))
_RESIDUAL_RATE = 24
_PERIODIC = (LocalSpec(1, 7, 1, 3), LocalSpec(2, 7, 1, 3), LocalSpec(3, 7, 1, 3))
_CODON = CodonSpec((4, 2, 6), hypotheses=6, decay=6, limit=255, alpha_inv=2)
_BUNDLED_MIX: dict[str, MixSpec] = {
    # context models up to order 20 and one repeat candidate per direction, one mixer: about 130 MB
    "mix-fast-v1": MixSpec(
        tuple(ContextModelSpec(o, 0, a, MAX_COUNT, True) for o, a in ((3, 1), (6, 1), (9, 2), (11, 4), (12, 8)))
        + tuple(ContextModelSpec(o, 22, 16, MAX_COUNT, True) for o in (16, 20)),
        (), RepeatSpec(12, 20, 22, 1, 16, 8, True), competition=False),
    # the default: every model class, about 400 MB of tables
    "mix-v1": MixSpec(_mix_models(24), _STCM, RepeatSpec(12, 22, 24, 2, 16, 8, True)),
    # the best: 4x larger hashed tables and repeat index, about 1.3 GB
    "mix-max-v1": MixSpec(_mix_models(26), _STCM, RepeatSpec(12, 24, 26, 2, 16, 8, True)),
    "mix-fast-v2": MixSpec(
        tuple(ContextModelSpec(o, 0, 1, MAX_COUNT, True) for o in (3, 6, 9, 11, 12))
        + tuple(ContextModelSpec(o, 22, 1, MAX_COUNT, True) for o in (16, 20)),
        (), RepeatSpec(12, 20, 22, 1, 16, 8, True), competition=False, **_V2_MIXING),
    "mix-v2": MixSpec(_mix_models(24, _V2_MID, _V2_HIGH), _STCM, RepeatSpec(12, 22, 24, 2, 16, 8, True),
                      **_V2_MIXING),
    "mix-max-v2": MixSpec(_mix_models(26, _V2_MID, _V2_HIGH), _STCM, RepeatSpec(12, 24, 26, 2, 16, 8, True),
                          **_V2_MIXING),
    # v3 (kind 4): v2 plus repeat voters, many earlier copies voting on the next base (0.1-0.6%
    # smaller, most on repeat-rich genomes, and about 40% slower); a bucket index of 128 MB
    "mix-v3": MixSpec(_mix_models(24, _V2_MID, _V2_HIGH), _STCM, RepeatSpec(12, 22, 24, 2, 16, 8, True),
                      **_V2_MIXING, votes=VoteSpec(16, 8, 22, 16, 10, 4, 2048)),
    "mix-max-v3": MixSpec(_mix_models(26, _V2_MID, _V2_HIGH), _STCM, RepeatSpec(12, 24, 26, 2, 16, 8, True),
                          **_V2_MIXING, votes=VoteSpec(16, 8, 22, 16, 10, 4, 2048)),
    # v4 (kind 5): v3 plus per-lane local models of orders 0-3 and a residual mixer shared by all
    # lanes, with mixer steps rounded to nearest (issue 4, session 6)
    "mix-v4": MixSpec(_mix_models(24, _V2_MID, _V2_HIGH), _STCM, RepeatSpec(12, 22, 24, 2, 16, 8, True),
                      **_V2_MIXING, votes=_VOTES, local=_LOCAL, residual_rate=_RESIDUAL_RATE),
    "mix-max-v4": MixSpec(_mix_models(26, _V2_MID, _V2_HIGH), _STCM, RepeatSpec(12, 24, 26, 2, 16, 8, True),
                          **_V2_MIXING, votes=_VOTES, local=_LOCAL, residual_rate=_RESIDUAL_RATE),
    # the default since issue 4, session 7: mix-v4 without the repeat voters (which cost about a third
    # of the speed), i.e. mix-v2 plus the local models and the residual mixer: 0.1-0.3% smaller than
    # mix-v2 for 4-13% more CPU time
    "mix-lite-v4": MixSpec(_mix_models(24, _V2_MID, _V2_HIGH), _STCM, RepeatSpec(12, 22, 24, 2, 16, 8, True),
                           **_V2_MIXING, local=_LOCAL, residual_rate=_RESIDUAL_RATE),
    # v5 (kind 6, issue 4 session 8): v4 plus codon models of orders 4, 2, 6 that track each lane's
    # reading frame on both strands, and local models of orders 1-3 with one table per codon position
    # (2-3% smaller on bacteria, 1% on yeast and phage, flat on D. mel chr4)
    "mix-lite-v5": MixSpec(_mix_models(24, _V2_MID, _V2_HIGH), _STCM, RepeatSpec(12, 22, 24, 2, 16, 8, True),
                           **_V2_MIXING, local=_LOCAL + _PERIODIC, residual_rate=_RESIDUAL_RATE, codon=_CODON),
    "mix-v5": MixSpec(_mix_models(24, _V2_MID, _V2_HIGH), _STCM, RepeatSpec(12, 22, 24, 2, 16, 8, True),
                      **_V2_MIXING, votes=_VOTES, local=_LOCAL + _PERIODIC, residual_rate=_RESIDUAL_RATE,
                      codon=_CODON),
    "mix-max-v5": MixSpec(_mix_models(26, _V2_MID, _V2_HIGH), _STCM, RepeatSpec(12, 24, 26, 2, 16, 8, True),
                          **_V2_MIXING, votes=_VOTES, local=_LOCAL + _PERIODIC, residual_rate=_RESIDUAL_RATE,
                          codon=_CODON),
}
# v6 (kind 7, issue 4 session 9): v5 whose residual mixer, shared mixer and APM also key on the base's
# case, the soft-masking the archive stores anyway (0.5-0.7% smaller on soft-masked genomes,
# identical output on upper-case input)
_BUNDLED_MIX.update({name.replace("-v5", "-v6"): replace(
    _BUNDLED_MIX[name], case_context=CASE_ALL)
    for name in ("mix-lite-v5", "mix-v5", "mix-max-v5")})
# v7 (issue 4, session 11): v6 without the context models of orders 11, 16 and 18, and with repeat
# candidates started by 11-mers, three per direction. Next to orders 10, 12, 14 and 20, the STCMs and
# the repeat models, those three add nothing (body within 0.02% on every test genome at -6 and -9),
# but each is a random memory access per base for its row and another for its inverted repeat: the
# default's step takes about a quarter less time, and -9 needs 528 MiB less. The repeat change is
# 0.1% smaller on repeat-rich genomes (D. melanogaster, human), 0.01-0.02% on the others.
_V7_DROPPED_ORDERS = (11, 16, 18)


def _v7(spec: MixSpec) -> MixSpec:
    """A v6 spec made v7: the dropped orders gone (STCMs keep their tables, renumbered), and repeat
    candidates from 11-mers, three per direction."""
    kept = [i for i, m in enumerate(spec.context) if m.order not in _V7_DROPPED_ORDERS]
    tolerant = tuple(replace(t, model=kept.index(t.model)) for t in spec.tolerant)
    return replace(spec, context=tuple(spec.context[i] for i in kept), tolerant=tolerant,
                   repeat=replace(spec.repeat, kmer=11, slots=3))


_BUNDLED_MIX.update({name.replace("-v6", "-v7"): _v7(_BUNDLED_MIX[name])
                     for name in ("mix-lite-v6", "mix-v6", "mix-max-v6")})
# level 5 since session 11: mix-lite-v7 without the codon models and the periodic local models, a
# fifth less CPU time than the default and still better than mix-v2 (E. coli body 1.886 against 1.892)
_BUNDLED_MIX["mix-mid-v7"] = replace(_BUNDLED_MIX["mix-lite-v7"], codon=None, local=_LOCAL)
# v8 (issue 4, session 18): mix-lite-v7 and mix-mid-v7 without the competitive stage (the shared
# mixer whose weight set the best-scoring model class picks, and the final mixer): about a fifth less
# CPU time per base, for 0.2-0.4% more on repeat-rich genomes (D. melanogaster chr4, human, yeast) and
# no change on bacteria and phage; the default and level 5 since then. Levels 7-9 keep the competition.
# The residual mixer, which now mixes the lane mixer's output directly, learns faster (rate 56, was 24:
# 0.01-0.06% smaller on each of the six test genomes; 32-64 all gained, 96 and up lost again).
_V8_RESIDUAL_RATE = 56
_BUNDLED_MIX.update({name.replace("-v7", "-v8"): replace(
    _BUNDLED_MIX[name], competition=False, case_context=CASE_ALL & ~CASE_SHARED, residual_rate=_V8_RESIDUAL_RATE)
    for name in ("mix-lite-v7", "mix-mid-v7")})


# v9 (issue 4, session 22): mix-lite-v8 with a third STCM, on the order-12 table, reset after more
# than 4 misses in 16: 0.16% smaller on the repeat-rich genomes (D. melanogaster chr4, human chr22),
# 0.04% on yeast, unchanged on bacteria and phage, for about the same time. The default since then.
_BUNDLED_MIX["mix-lite-v9"] = replace(
    _BUNDLED_MIX["mix-lite-v8"], tolerant=_BUNDLED_MIX["mix-lite-v8"].tolerant + (TolerantSpec(5, 16, 4),))
# v10 (kind 8, issue 4, session 23): mix-lite-v9 whose residual mixer has a weight set per repeat state
# as well as per case (the selection the competition's shared mixer makes, which v8 dropped): 0.20%
# smaller on human chr22, 0.07-0.09% on D. melanogaster chr4 and H. pylori, 0.02-0.03% on yeast and
# E. coli, unchanged on phage λ, for the same time. The default since then.
_BUNDLED_MIX["mix-lite-v10"] = replace(_BUNDLED_MIX["mix-lite-v9"], residual_context=RESIDUAL_REPEAT)
# v11 and v12 (issue 4, session 29; spec/LEVELS.md). Levels 7-9 built on the default instead of on v7,
# so they gain its third STCM, its residual mixer (faster learning, weight sets per repeat state) and
# the case contexts, and keep the competition (with the case among its shared mixer's contexts):
# mix-v11 (-8) is that with v7's voters, mix-max-v11 (-9) with v7's larger tables as well. Archive
# bodies against v7: -8 0.12% smaller on D. melanogaster chr4 and human chr22, within 0.02% elsewhere;
# -9 0.08-0.11% and within 0.02%.
# mix-v12 (-7) is the competition's mix-lite-v10 with four voters (buckets of the two newest positions
# per 11-mer, 2^21 of them): 0.3% smaller than mix-lite-v7 on the repeat-rich genomes. The same voters
# would make the default 0.27% smaller there (in place of two of its three repeat candidates per
# direction) but a sixth slower, too close to 1 MB/s on this machine: not the default.
_V11_BASE = replace(_BUNDLED_MIX["mix-lite-v10"], competition=True, case_context=CASE_ALL)
_BUNDLED_MIX["mix-v11"] = replace(_V11_BASE, votes=_BUNDLED_MIX["mix-v7"].votes)
_BUNDLED_MIX["mix-max-v11"] = replace(_BUNDLED_MIX["mix-v11"], context=_BUNDLED_MIX["mix-max-v7"].context,
                                      repeat=_BUNDLED_MIX["mix-max-v7"].repeat, votes=_BUNDLED_MIX["mix-max-v7"].votes)
_BUNDLED_MIX["mix-v12"] = replace(_V11_BASE, votes=replace(_BUNDLED_MIX["mix-v7"].votes, voters=4, bucket=2,
                                                            index_bits=21))
# v13 (issue 4, session 30): levels 6-9's models with a repeat ring buffer of 2^28 bases (2^29 at -9)
# instead of 2^24 (2^26): a repeat candidate only reaches back as far as the buffer, so on a genome or
# collection larger than 16 M bases the older copies were out of the repeat models' reach (28.5 MB of
# six genomes and E. coli again: archive 2.75% smaller at -6). Identical predictions on smaller inputs;
# the buffer costs a byte per base of input, so it is declared but not touched beyond the input's size.
# mix-v14 (-8) is mix-v11 so extended, the names v11-v12 being taken. Levels 3-5 get 2^26 instead of
# 2^22 and 2^24 (that input's archive 17% smaller at -3): mix-fast-v3 and mix-mid-v9.
_FAST_HISTORY_BITS, _LONG_HISTORY_BITS, _MAX_HISTORY_BITS = 26, 28, 29


def _long_history(spec: MixSpec, bits: int = _LONG_HISTORY_BITS) -> MixSpec:
    return replace(spec, repeat=replace(spec.repeat, history_bits=bits))


_BUNDLED_MIX.update({"mix-lite-v13": _long_history(_BUNDLED_MIX["mix-lite-v10"]),
                     "mix-v13": _long_history(_BUNDLED_MIX["mix-v12"]),
                     "mix-v14": _long_history(_BUNDLED_MIX["mix-v11"]),
                     "mix-max-v13": _long_history(_BUNDLED_MIX["mix-max-v11"], _MAX_HISTORY_BITS),
                     "mix-fast-v3": _long_history(_BUNDLED_MIX["mix-fast-v2"], _FAST_HISTORY_BITS),
                     "mix-mid-v9": _long_history(_BUNDLED_MIX["mix-mid-v8"], _FAST_HISTORY_BITS)})
# mix-rep-v13 (issue 4, session 32): the default with -7's four repeat voters, which the default
# switches to on repeat-rich input (codec/model_choice.py). On human chr22 the default was 1.4% behind
# JARVIS3 -l 31, nearly all of it in the repeats; the voters take 0.41% of that back, and 0.34% on D.
# melanogaster chr4, for a fifth to a third more time, which bacteria (0.08% from them) don't pay.
_BUNDLED_MIX["mix-rep-v13"] = replace(_BUNDLED_MIX["mix-lite-v13"], votes=_BUNDLED_MIX["mix-v13"].votes)


class _Bundled(Mapping[str, Model]):
    """The bundled models by name, each built (encoded and validated, or read from its file) on first
    use: a run needs one or two of them, and building all costs a tenth of a second at every start."""

    def __init__(self, sources: dict[str, Callable[[], bytes]]) -> None:
        self._sources = sources
        self._built: dict[str, Model] = {}

    def __getitem__(self, name: str) -> Model:
        model = self._built.get(name)
        if model is None:
            model = self._built[name] = Model(name, self._sources[name]())
        return model

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


BUNDLED: Mapping[str, Model] = _Bundled({
    **{n: partial(encode_context_mix, s) for n, s in _BUNDLED_SPECS.items()},
    **{n: partial(encode_mix, s) for n, s in _BUNDLED_MIX.items()},
    **{p.name[:-len(MODEL_SUFFIX)]: p.read_bytes for p in sorted(BUNDLED_DIR.glob("*" + MODEL_SUFFIX))}})
DEFAULT_MODEL = "mix-lite-v13"
# Level -> bundled model name (the levels also differ in lane length, codec/constants.py);
# spec/LEVELS.md documents the ladder and the memory each level needs. The encoder switches the
# level models to the mito-primed models for input like their training set (model_choice.PRIMED).
LEVEL_MODELS = {1: "cm-fast-v1", 2: "cm-v1", 3: "mix-fast-v3", 4: "mix-fast-v3", 5: "mix-mid-v9",
                6: DEFAULT_MODEL, 7: "mix-v13", 8: "mix-v14", 9: "mix-max-v13"}


# A bundled model "sized" for a small input (spec/FORMAT.md "Sized variants"): every table of more
# than 2**bits rows (hashed context tables, direct tables then hashed, the repeat index and ring
# buffer) shrunk to 2**bits rows, and the voters' index to 2**bits positions, named ``NAME@bits``. For
# an input of n bytes, bits = bit_length(n) + SIZED_SLACK_BITS keeps every table at least
# 2**SIZED_SLACK_BITS times as large as the input, so the predictions barely change, while a small
# input no longer faults in up to 900 MiB of tables. 5 since session 30 (7 before): yeast chrI's
# archive 0.14% larger at -6 and -9, human chr22 1 Mb's 0.02% at -9, phage λ's the same, for a third
# less time at -9 (yeast 1.07-1.22 s → 0.63-1.03 s in the CLI; spec/LEVELS.md).
SIZED_SEP = "@"
MAX_SIZED_BITS = MAX_HASH_BITS  # the largest B a variant's name carries (spec/FORMAT.md)
SIZED_SLACK_BITS = 5
MIN_SIZED_BITS = 16


def sized_bits(size: int) -> int:
    """The table bits :func:`sized` uses for an input of ``size`` bytes."""
    return max(MIN_SIZED_BITS, int(size).bit_length() + SIZED_SLACK_BITS)


def _cap_context(models: tuple[ContextModelSpec, ...], bits: int) -> tuple[ContextModelSpec, ...]:
    return tuple(replace(m, hash_bits=bits) if m.rows() > 1 << bits else m for m in models)


def _capped_spec(spec: ContextMixSpec | MixSpec, bits: int) -> ContextMixSpec | MixSpec:
    if isinstance(spec, ContextMixSpec):
        return replace(spec, models=_cap_context(spec.models, bits))
    r, v = spec.repeat, spec.votes
    return replace(
        spec, context=_cap_context(spec.context, bits),
        repeat=None if r is None else replace(r, index_bits=min(r.index_bits, bits),
                                              history_bits=min(r.history_bits, bits)),
        votes=None if v is None else replace(v, index_bits=min(v.index_bits, bits - (v.bucket - 1).bit_length())))


def _sizable(name: str) -> bool:
    return name in _BUNDLED_SPECS or name in _BUNDLED_MIX


@lru_cache(maxsize=64)
def _sized_variant(name: str, bits: int) -> Model:
    spec = _capped_spec(BUNDLED[name].spec, bits)
    data = encode_context_mix(spec) if isinstance(spec, ContextMixSpec) else encode_mix(spec)
    return Model(f"{name}{SIZED_SEP}{bits}", data)


def sized(model: Model, size: int | None) -> Model:
    """``model`` with its tables sized for an input of about ``size`` bytes: a bundled context-mix or
    mix model (no network, no primed tables) whose tables are larger than :func:`sized_bits` allows
    becomes its ``NAME@bits`` variant; any other model, or ``size`` None, is returned as it is."""
    if size is None or not _sizable(model.name) or BUNDLED[model.name] is not model:
        return model
    bits = sized_bits(size)
    if bits > MAX_SIZED_BITS:  # no name for it: the full model
        return model
    variant = _sized_variant(model.name, bits)
    return model if variant.memory_bytes() >= model.memory_bytes() else variant


def named(name: str) -> Model | None:
    """The bundled model, or sized variant of one (``NAME@bits``), called ``name``; None if none is."""
    return BUNDLED.get(name) or _sized_by_name(name)


def _sized_by_name(name: str) -> Model | None:
    """The sized variant ``name`` (``NAME@bits``) denotes, if it is one."""
    base, sep, bits = name.rpartition(SIZED_SEP)
    if (not sep or not _sizable(base) or not (bits.isascii() and bits.isdigit())
            or not MIN_SIZED_BITS <= int(bits) <= MAX_SIZED_BITS):
        return None
    return _sized_variant(base, int(bits))


@lru_cache(maxsize=None)
def _by_fingerprint() -> dict[bytes, Model]:
    return {m.fingerprint: m for m in BUNDLED.values()}


def load_model_file(path: str | os.PathLike) -> Model:
    """Load and validate a model file (canonical model bytes) from disk."""
    with open(path, "rb") as f:
        data = f.read(model_file.MAX_MODEL_BYTES + 1)
    model = Model(os.path.basename(os.fspath(path)), data)
    model.parts  # validate now, not at first use
    return model


def resolve(model: Model | str | os.PathLike | None, level: int) -> Model:
    """The model for compressing: a Model, a bundled name (or a sized variant's ``NAME@bits``), a
    model file path, or the level's default."""
    if isinstance(model, Model):
        return model
    if model is None:
        return BUNDLED[LEVEL_MODELS[level]]
    found = named(model) if isinstance(model, str) else None
    if found is not None:
        return found
    if os.path.exists(model):
        return load_model_file(model)
    raise CodecError(f"unknown model {model!r} (bundled: {', '.join(sorted(BUNDLED))}; or a model file path)")


def for_archive(name: str, fingerprint: bytes, embedded: bytes, extra: Model | None = None) -> Model:
    """The model an archive was made with: embedded bytes, ``extra`` (a model the user supplied),
    or a bundled model, matched by fingerprint."""
    if embedded:
        if hashlib.sha256(embedded).digest() != fingerprint:
            raise CodecError("archive header: embedded model does not match its fingerprint")
        model = Model(name, embedded)
        model.parts  # validate before any block is decoded
        return model
    if extra is not None and extra.fingerprint == fingerprint:
        return extra
    by_name = named(name)
    if by_name is not None and by_name.fingerprint == fingerprint:
        return by_name
    found = _by_fingerprint().get(fingerprint)
    if found is None:
        raise CodecError(
            f"archive needs model {name!r} (sha256 {fingerprint.hex()}), which is not installed; "
            "supply its model file with --model PATH")
    return found
