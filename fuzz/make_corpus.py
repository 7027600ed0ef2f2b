#!/usr/bin/env python3
"""Regenerate the seed corpora in ``fuzz/corpus/<harness>/`` (deterministic; commit the result).

    .venv/bin/python fuzz/make_corpus.py            # rewrite the seeds
    .venv/bin/python fuzz/make_corpus.py --clean    # also delete files that are not seeds

Seeds are small on purpose: decoding runs a Python predictor at ~100 us per base, and the harnesses
skip long inputs. Archive seeds are named ``*.arc`` (``*.dnac`` is git-ignored).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
for p in (str(ROOT), str(FUZZ)):
    if p not in sys.path:
        sys.path.insert(0, p)

import codec  # noqa: E402
from codec import engine, models  # noqa: E402
from codec.engine import Compressor  # noqa: E402
from codec.predictors.context_mix import ContextMixSpec  # noqa: E402
from codec.predictors.context_models import ContextModelSpec  # noqa: E402
from codec.predictors.mix import MixSpec  # noqa: E402
from codec.predictors.repeat import RepeatSpec  # noqa: E402
from codec.predictors.tolerant import TolerantSpec  # noqa: E402
from codec.predictors.neural import PARAMETERS, NeuralNet  # noqa: E402
from formats import fasta_layout  # noqa: E402

CORPUS = FUZZ / "corpus"


def _lambda_excerpt() -> bytes:
    path = ROOT / "examples" / "phage_lambda.fasta"
    if not path.exists():
        return b">NC_001416.1 Escherichia phage Lambda, complete genome\nGGGCGGCGACCTCGCGGGTTTTCGCTATTTATGAAAATTTTCCGGTTTAAGGCGTTTCCG\n"
    lines = path.read_bytes().splitlines(keepends=True)
    return b"".join(lines[:4])


def inputs() -> dict[str, bytes]:
    """Small original files: FASTA in its variants, and bytes that are not FASTA at all."""
    return {
        "empty": b"",
        "one_base": b"A",
        "plain": b">seq1 plain\nACGTTGCAACGGTCAGTTACGGATCCATGCATGCAAGCTTGGCACTGGCCGTCGTTTTACAACGTCG\n",
        "no_header": b"ACGTACGTTTGACCA\nGGTTAACC\n",
        "multi": (b">chr1 first\nACGTTGCAACGGTCAGTTAC\nGGATCCATGC\n>chr2\nTTTTGGGGCCCCAAAAACGT\n"
                  b";comment line\n>chr3 last\nACGGTCAGTTACACGGTCAG\n"),
        "soft_masked": b">sm\nACGTacgtacgtACGTnnnnACGTaaaaCCCCggggTTTT\nacgtACGT\n",
        "n_runs": b">n\nNNNNNNNNNNACGTACGTNNNNNNNNNNNNNNNNACGT\nNNNNNNNN\nACGT\n",
        "iupac": b">iupac\nACGTRYKMSWBDHVNacgtrykmswbdhvn-*.ACGUU\n",
        "crlf": b">crlf one\r\nACGTACGTAC\r\nGGTTAACC\r\n>crlf two\r\nacgtNNNN\r\n",
        "mixed_eol": b">m\r\nACGT\nACGT\r\nAC\rGT\n\n\nACGT",
        "ragged": b">r\nACGTACGTACGT\nACG\nACGTACGTACGTACGTACGTA\nA\n\nACGTACGT\n",
        "no_final_newline": b">x\nACGTACGTAC",
        "rna": b">rna\nACGUACGUUUGACCAUGGAACGU\nacguuuGGCCAU\n",
        "protein": b">sp|P69905|HBA_HUMAN\nMVLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHFDLSHGSAQVKGHGKKVADAL\n",
        "fastq": b"@read1\nACGTACGTTTGACCANNACGT\n+\nIIIIIIIIIIIIIII##IIII\n@read2\nGGTTAACCGGTT\n+\nIIIIIIIIIIII\n",
        "binary": bytes(range(256)),
        "binary_with_dna": b"\x00\x01\xff\xfeACGTACGTACGTACGT\x00>\x0aACGT\x0d\x0a\x80",
        "only_newlines": b"\n\n\r\n\n",
        "headers_only": b">a\n>b\n;c\n>\n",
        "lambda": _lambda_excerpt(),
        "repeat": b">rep\n" + b"ACGGTCAGTTAC" * 40 + b"\n",
    }


def _member(data: bytes, **kw) -> bytes:
    level = kw.pop("level", 1)
    c = Compressor(level, **kw)
    return c.compress(data) + c.flush()


def archives(raw: dict[str, bytes]) -> dict[str, bytes]:
    out = {f"{name}.arc": codec.compress(data, level=1) for name, data in raw.items()}
    multi = raw["multi"] + raw["soft_masked"] + raw["binary_with_dna"] + raw["crlf"] + raw["repeat"][:200]
    out["multi_block.arc"] = _member(multi, block_size=64, min_lane_bases=8, lanes=4)
    out["multi_block_tiny_lanes.arc"] = _member(raw["iupac"] + raw["plain"], block_size=48, min_lane_bases=1, lanes=7)
    out["level6.arc"] = codec.compress(raw["multi"], level=6)
    # a case stream the run coder packs (format 1.1 `case_runs`), and the same archive as format 1.0
    masked = b">masked runs\n" + b"".join(
        (b"ACGTTGCA" * (1 + k % 5))[: 3 + 7 * k % 23] + (b"acggt" * 9)[: 1 + 5 * k % 17] for k in range(40)) + b"\n"
    out["case_runs.arc"] = codec.compress(masked, level=1)
    assert "case_runs" in engine.inspect(io.BytesIO(out["case_runs.arc"]))["streams"]
    out["case_format_1_0.arc"] = _member(masked, format_minor=0)
    out["embedded_model.arc"] = _member(raw["plain"], embed_model=True)
    out["embedded_model_level6.arc"] = _member(raw["crlf"], level=6, embed_model=True)
    out["two_members.arc"] = codec.compress(raw["plain"], level=1) + codec.compress(raw["iupac"], level=1)
    out["stored_then_coded.arc"] = _member(raw["binary"][:64] + raw["plain"], block_size=64, min_lane_bases=8)
    for name, blob in out.items():
        assert codec.decompress(blob) is not None, name
    return out


def layout_inputs(raw: dict[str, bytes]) -> dict[str, bytes]:
    import fuzz_layout  # noqa: PLC0415  (fuzz/ is on sys.path)

    out = {f"{name}.txt": data for name, data in raw.items()}
    spec_example = b">s1 demo\nACGTNNNN\nacgtRYac\nTT\n>s2\r\nGGnn-*\r\n\nAC"
    out["spec_example.txt"] = spec_example
    # decoder inputs: the streams split() makes, in the join-input encoding of fuzz_layout
    for name, data in list(raw.items()) + [("spec_example", spec_example)]:
        if len(data) > 0xFFFF:
            continue
        lay = fasta_layout.split(data)
        flags = fuzz_layout.RAW_BASES
        blob = fuzz_layout.build_join_input(lay.streams, lay.bases.tobytes(), len(data), flags)
        bases, streams, limit = fuzz_layout.parse_join_input(blob)
        assert fasta_layout.join(bases, streams, max_output=limit) == data, name
        out[f"join_{name}.bin"] = blob
    return out


def model_files() -> dict[str, bytes]:
    out = {f"{name}.model": m.data for name, m in models.BUNDLED.items() if len(m.data) <= 1 << 14}
    small = ContextMixSpec((ContextModelSpec(1, 0, 1, 1, False),), 1, 0)
    hashed = ContextMixSpec((ContextModelSpec(31, 8, 256, 255, True), ContextModelSpec(13, 0, 16, 200, False)),
                            1 << 16, -(1 << 24))
    many = ContextMixSpec(tuple(ContextModelSpec(1 + i % 13, 0, 1 + i, 1 + i, bool(i & 1)) for i in range(32)),
                          12345, 1 << 24)
    # exactly MAX_TABLE_BYTES of tables (8 direct order-13 tables of 4**13 rows), and one table more
    at_limit = ContextMixSpec((ContextModelSpec(13, 0, 16, 255, True),) * 8, 256, 16000)
    assert at_limit.memory_bytes() == models.MAX_TABLE_BYTES
    for name, spec in (("one_model", small), ("hashed_extremes", hashed), ("32_models", many),
                       ("table_limit", at_limit)):
        data = models.encode_context_mix(spec)
        assert models._decode(data).spec == spec, name
        out[f"{name}.model"] = data
    over = models.encode_context_mix(ContextMixSpec(at_limit.models + (ContextModelSpec(8, 0, 1, 1, False),), 256, 16000))
    out["table_limit_exceeded.model"] = over  # rejected: one table too many
    # kind 2: a tiny network, initial mixer weights and primed rows
    dims = dict(window=2, filters=2, pool=1, hidden=2, dense=2)
    weights = {name: (np.arange(np.prod(shape_fn(*dims.values()))) % 7 - 3).astype(dtype).reshape(
        shape_fn(*dims.values())) for name, (dtype, shape_fn) in PARAMETERS.items()}
    out["neural_mix.model"] = models.encode_neural_mix(
        small, NeuralNet.from_weights(dims, weights), np.full((3, 3), 9000), np.array([0, 3]),
        np.array([0x01000000, 0x00020001], dtype=np.uint32))
    # kind 3: every model class, the same tiny network, primed rows
    mix = MixSpec(small.models + (ContextModelSpec(8, 12, 16, 30, True),), (TolerantSpec(1, 8, 3),),
                  RepeatSpec(6, 10, 12, 2, 8, 4, True), sse_order=1)
    out["mix.model"] = models.encode_mix(mix, NeuralNet.from_weights(dims, weights),
                                         (np.array([1, 5]), np.array([0x00000100, 0x02000000], dtype=np.uint32)))
    out["mix_bare.model"] = models.encode_mix(MixSpec(small.models, competition=False, sse_order=0))
    return out


def corpora() -> dict[str, dict[str, bytes]]:
    raw = inputs()
    return {
        "decompress": archives(raw),
        "layout": layout_inputs(raw),
        "model_file": model_files(),
        "encoder": {f"{name}.txt": data for name, data in raw.items() if len(data) <= 1024},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true", help="delete files in the corpus folders that are not seeds")
    ap.add_argument("--out", type=Path, default=CORPUS, help="corpus root (default: fuzz/corpus)")
    args = ap.parse_args(argv)
    total = 0
    for harness, files in corpora().items():
        d = args.out / harness
        d.mkdir(parents=True, exist_ok=True)
        if args.clean:
            for p in d.iterdir():
                if p.is_file() and p.name not in files:
                    p.unlink()
        for name, data in sorted(files.items()):
            (d / name).write_bytes(data)
            total += len(data)
        print(f"{harness}: {len(files)} seeds, {sum(map(len, files.values()))} bytes")
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
