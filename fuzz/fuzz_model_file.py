#!/usr/bin/env python3
"""Fuzz the model-file loader: ``codec.models._decode``, ``codec.models.load_model_file`` and
``codec.models.for_archive`` with an embedded model (the bytes an archive header may carry).

Property: CodecError, or a valid model: 1..MAX_MODELS context models, every parameter in range, at
most MAX_TABLE_BYTES of tables, for kind 2 a network of valid shape and dtypes, primed rows inside the
tables, bytes that re-encode exactly (canonical), fingerprint = SHA-256 of the bytes. The three entry points must agree. Predictors are never instantiated here: a valid
model may legitimately ask for up to 2 GiB of tables.

Run::

    .venv/bin/python fuzz/fuzz_model_file.py -max_total_time=1800 -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix=fuzz/findings/ fuzz/work/model_file fuzz/corpus/model_file
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import sys
import tempfile

_FUZZ_DIR = os.path.dirname(os.path.abspath(__file__))
if _FUZZ_DIR not in sys.path:
    sys.path.insert(0, _FUZZ_DIR)
import _common  # noqa: E402  (import paths, instrumentation when fuzzing, atheris work-around)

with _common.instrumented(__name__):
    from codec import models
    from codec.predictors.context_mix import ContextMixSpec
    from codec.predictors.context_models import MAX_COUNT, MAX_DIRECT_ORDER, MAX_ORDER
    from codec.predictors.mix import MixSpec
    from codec.predictors.neural import PARAMETERS
    from formats.errors import CodecError

MAX_LEN = 1 << 14

_tmpdir: str | None = None


def _model_path() -> str:
    global _tmpdir
    if _tmpdir is None:
        _tmpdir = tempfile.mkdtemp(prefix="dnac-fuzz-model-")
        atexit.register(shutil.rmtree, _tmpdir, True)
    return os.path.join(_tmpdir, "fuzzed.model")


def _check_context_models(context) -> None:
    assert 1 <= len(context) <= models.MAX_MODELS
    for m in context:
        if m.hash_bits == 0:
            assert 1 <= m.order <= MAX_DIRECT_ORDER, m
        else:
            assert 8 <= m.hash_bits <= models.MAX_HASH_BITS and 1 <= m.order <= MAX_ORDER, m
        assert 1 <= m.alpha_inv <= 256 and 1 <= m.limit <= MAX_COUNT and isinstance(m.ir, bool), m


def _check_net(net) -> None:
    dims = (net.window, net.filters, net.pool, net.hidden, net.dense)
    for name, (dtype, shape_fn) in PARAMETERS.items():
        w = net.weights[name]
        assert w.dtype == dtype and w.shape == shape_fn(*dims), name


def _check_mix(parts: models.ModelParts, data: bytes) -> None:
    spec = parts.spec
    _check_context_models(spec.context)
    assert len(spec.tolerant) <= models.MAX_TOLERANT
    assert all(t.model < len(spec.context) and t.threshold < t.window <= 32 for t in spec.tolerant)
    r = spec.repeat
    assert r is None or (1 <= r.kmer <= 32 and 1 <= r.slots <= models.MAX_REPEAT_SLOTS
                         and r.threshold < r.window <= 32), r
    assert spec.memory_bytes() <= models.MAX_TABLE_BYTES
    if parts.net is not None:
        _check_net(parts.net)
    rows, counts = parts.primed
    assert len(rows) == len(counts) and (not len(rows) or rows[-1] < spec.table_offsets()[-1])
    assert models.encode_mix(spec, parts.net, parts.primed) == data, "accepted model bytes are not canonical"


def check_parts(parts: models.ModelParts, data: bytes) -> None:
    spec = parts.spec
    if isinstance(spec, MixSpec):
        _check_mix(parts, data)
        return
    assert isinstance(spec, ContextMixSpec), type(spec)
    _check_context_models(spec.models)
    assert 0 < spec.learning_rate <= 1 << 16 and abs(spec.weight_init) <= 1 << 24
    assert spec.memory_bytes() <= models.MAX_TABLE_BYTES
    if parts.net is None:
        encoded = models.encode_context_mix(spec)
    else:
        net = parts.net
        _check_net(net)
        rows, counts = parts.primed
        assert len(rows) == len(counts) and (not len(rows) or 0 <= rows[0] and rows[-1] < sum(
            m.rows() for m in spec.models))
        assert parts.mixer_init.shape == (3, len(spec.models) + 2)
        encoded = models.encode_neural_mix(spec, net, parts.mixer_init, rows, counts)
    # canonical: the bytes are exactly what the encoder makes of the model (fingerprints are unique)
    assert encoded == data, "accepted model bytes are not canonical"


def _outcome(fn, *args):
    try:
        return fn(*args)
    except CodecError as exc:
        return exc


def TestOneInput(data: bytes) -> None:
    if len(data) > MAX_LEN:
        return
    spec = _outcome(models._decode, data)
    if not isinstance(spec, CodecError):
        check_parts(spec, data)

    path = _model_path()
    with open(path, "wb") as f:
        f.write(data)
    loaded = _outcome(models.load_model_file, path)
    assert isinstance(loaded, CodecError) == isinstance(spec, CodecError), (spec, loaded)
    if not isinstance(loaded, CodecError):
        assert loaded.spec == spec.spec and loaded.data == data and loaded.name == "fuzzed.model"

    fingerprint = hashlib.sha256(data).digest()
    embedded = _outcome(models.for_archive, "fuzzed", fingerprint, data)
    if not data:
        # nothing embedded: the fingerprint of b"" names no bundled model
        assert isinstance(embedded, CodecError), embedded
        return
    assert isinstance(embedded, CodecError) == isinstance(spec, CodecError), (spec, embedded)
    if not isinstance(embedded, CodecError):
        assert embedded.spec == spec.spec and embedded.data == data and embedded.fingerprint == fingerprint
    # a wrong fingerprint is always rejected
    wrong = bytes([fingerprint[0] ^ 1]) + fingerprint[1:]
    assert isinstance(_outcome(models.for_archive, "fuzzed", wrong, data), CodecError)


def main(argv: list[str] | None = None) -> None:
    _common.run(TestOneInput, argv)


if __name__ == "__main__":
    main()
