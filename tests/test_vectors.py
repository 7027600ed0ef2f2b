"""Golden format-v1 vectors (spec/vectors/): every archive decodes to its input, forever, and the
encoder still produces the identical bytes from the recorded options.

A failure of ``test_reencode_is_byte_identical`` means the encoder's output changed. That is a
format change: bump the format version or add a new model name, keep the old vectors (they must
still decode) and add new ones with ``spec/vectors/make_vectors.py`` (see spec/vectors/README.md).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import codec
from codec import engine, models
from formats import container

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "spec" / "vectors"
MANIFEST = json.loads((VECTORS / "MANIFEST.json").read_text(encoding="utf-8"))
ENTRIES = MANIFEST["vectors"]
IDS = [e["name"] for e in ENTRIES]
OPTION_KEYS = {"level", "model", "block_size", "lanes", "min_lane_bases", "embed_model"}
BUMP = ("the encoder no longer reproduces this golden vector: changing encoded bytes requires a "
        "format version bump or a new model name (spec/FORMAT.md, spec/vectors/README.md)")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _model(name: str) -> models.Model:
    """A bundled model (or a sized variant, ``NAME@bits``) by name, or a model file of the vectors
    folder by file name."""
    return models.named(name) or models.load_model_file(VECTORS / name)


def _decode_model(entry: dict) -> models.Model | None:
    name = entry.get("decode_model_file")
    return None if name is None else _model(name)


def _member_slices(entry: dict, data: bytes, key: str) -> list[bytes]:
    out, pos = [], 0
    for member in entry["members"]:
        out.append(data[pos : pos + member[key]])
        pos += member[key]
    assert pos == len(data), f"{entry['name']}: member {key}s do not add up"
    return out


def test_manifest_has_enough_entries():
    assert len(ENTRIES) >= 8
    assert len(set(IDS)) == len(IDS), "vector names must be unique"
    assert len({e["archive"] for e in ENTRIES}) == len(ENTRIES), "archive file names must be unique"
    for entry in ENTRIES:
        assert int(entry["format_version"].split(".")[0]) == container.VERSION_MAJOR
        assert entry["members"] and entry["options"] == entry["members"][0]["options"]
        for member in entry["members"]:
            assert set(member["options"]) == OPTION_KEYS


def test_every_bundled_model_has_a_vector():
    """A released model never changes: each one needs a golden archive that pins its arithmetic."""
    used = {m["model"]["fingerprint"] for e in ENTRIES for m in e["members"]}
    for name, model in models.BUNDLED.items():
        assert model.fingerprint.hex() in used, f"bundled model {name!r} has no vector in spec/vectors"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_files_match_manifest(entry):
    data = (VECTORS / entry["input"]).read_bytes()
    archive = (VECTORS / entry["archive"]).read_bytes()
    assert (len(data), _sha256(data)) == (entry["input_size"], entry["input_sha256"])
    assert (len(archive), _sha256(archive)) == (entry["archive_size"], entry["archive_sha256"])
    assert sum(m["input_size"] for m in entry["members"]) == len(data)
    assert sum(m["archive_size"] for m in entry["members"]) == len(archive)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_decodes_to_input(entry):
    data = (VECTORS / entry["input"]).read_bytes()
    archive = (VECTORS / entry["archive"]).read_bytes()
    out = codec.decompress(archive, model=_decode_model(entry))
    assert _sha256(out) == entry["input_sha256"]
    assert out == data


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_inspect_reports_manifest(entry):
    archive = (VECTORS / entry["archive"]).read_bytes()
    extra = _decode_model(entry)
    for i, (member, part) in enumerate(zip(entry["members"], _member_slices(entry, archive, "archive_size"))):
        info = engine.inspect(io.BytesIO(part), model=extra)
        assert info["members"] == 1
        assert info["model"]["fingerprint"] == member["model"]["fingerprint"], f"member {i}"
        assert info["model"]["name"] == member["model"]["name"], f"member {i}"
        assert info["level"] == member["options"]["level"]
        assert info["original_bytes"] == member["input_size"]
    assert entry["model"] == entry["members"][0]["model"]
    info = engine.inspect(io.BytesIO(archive), model=extra)
    expect = entry["expect"]
    assert {k: info[k] for k in ("blocks", "members", "bases", "records")} == \
        {k: expect[k] for k in ("blocks", "members", "bases", "records")}
    assert (info["streams"]["body"] > 0) == expect["coded"], info["streams"]
    assert (info["streams"].get("stored", 0) > 0) == expect["stored"], info["streams"]
    assert info["original_bytes"] == entry["input_size"]
    assert info["archive_bytes"] == entry["archive_size"]


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_reencode_is_byte_identical(entry):
    if entry.get("decode_only"):  # written by an older encoder, kept to be decoded forever
        pytest.skip(f"decode-only vector: {entry['decode_only']}")
    data = (VECTORS / entry["input"]).read_bytes()
    archive = (VECTORS / entry["archive"]).read_bytes()
    parts = []
    for member, chunk in zip(entry["members"], _member_slices(entry, data, "input_size")):
        opts = member["options"]
        model = _model(opts["model"])
        assert model.fingerprint.hex() == member["model"]["fingerprint"]
        comp = engine.Compressor(opts["level"], model, block_size=opts["block_size"], lanes=opts["lanes"],
                                 min_lane_bases=opts["min_lane_bases"], embed_model=opts["embed_model"],
                                 format_minor=int(entry["format_version"].split(".")[1]))
        parts.append(comp.compress(chunk) + comp.flush())
    out = b"".join(parts)
    if out != archive:
        first = next((i for i, (a, b) in enumerate(zip(out, archive)) if a != b), min(len(out), len(archive)))
        pytest.fail(f"{entry['name']}: {BUMP} (first differing byte {first}; "
                    f"{len(out)} bytes now, {len(archive)} in the vector)")


def _cli_decode(paths: list[Path], model_files: set[str]) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "codec", "-dc"]
    for name in sorted(model_files):
        argv += ["--model", str(VECTORS / name)]
    return subprocess.run(argv + [str(p) for p in paths], capture_output=True, cwd=ROOT, timeout=120)


def test_cli_decodes_every_vector():
    """``python -m codec -dc`` over all archives at once (one interpreter start keeps this fast):
    its output is the inputs concatenated, in order; on a mismatch each vector is run alone."""
    model_files = {e["decode_model_file"] for e in ENTRIES if e.get("decode_model_file")}
    assert len(model_files) <= 1, "the CLI takes one --model; split this test per model file"
    inputs = [(VECTORS / e["input"]).read_bytes() for e in ENTRIES]
    proc = _cli_decode([VECTORS / e["archive"] for e in ENTRIES], model_files)
    if proc.returncode == 0 and proc.stdout == b"".join(inputs):
        return
    bad = []
    for entry, data in zip(ENTRIES, inputs):
        one = _cli_decode([VECTORS / entry["archive"]], {entry["decode_model_file"]} - {None})
        if one.returncode != 0 or one.stdout != data:
            bad.append(f"{entry['name']}: exit {one.returncode}, {len(one.stdout)} bytes out "
                       f"(expected {len(data)}): {one.stderr.decode(errors='replace').strip()}")
    pytest.fail("CLI decoding failed: " + ("; ".join(bad) or proc.stderr.decode(errors="replace")))


def test_model_file_archive_needs_its_model():
    """An archive made with a model that is neither bundled nor embedded names its fingerprint."""
    needing = [e for e in ENTRIES if e.get("decode_model_file")]
    assert needing, "expected a vector whose model is neither bundled nor embedded"
    for entry in needing:
        archive = (VECTORS / entry["archive"]).read_bytes()
        with pytest.raises(codec.CodecError, match=entry["model"]["fingerprint"]):
            codec.decompress(archive)


def test_generator_reproduces_inputs():
    """make_vectors.py still builds the committed input files (its generators are deterministic)."""
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    mv = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mv  # its dataclasses look their module up by name
    try:
        spec.loader.exec_module(mv)
    finally:
        del sys.modules[spec.name]
    for name, make in {**mv.INPUTS, **mv.EXTRA_FILES}.items():
        assert make() == (VECTORS / name).read_bytes(), name
