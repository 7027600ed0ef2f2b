#!/usr/bin/env python3
"""Generate the golden format-v1 test vectors of dnacodec (see README.md in this folder).

    python spec/vectors/make_vectors.py           # create missing vectors; refuse to change existing ones
    python spec/vectors/make_vectors.py --check   # re-encode every vector in MANIFEST.json, compare bytes

Every vector is an input file, an archive made from it with explicit ``codec.engine.Compressor``
options, and an entry in MANIFEST.json (file names, SHA-256, sizes, options, model, format version).
Inputs are built from a fixed SHA-256 counter stream, so they are the same on every machine and
every Python version.

Vectors are append-only. The default mode writes files that are missing and leaves identical ones
alone, but if a vector of the same name exists and its bytes (input, model file or archive) would
differ it writes nothing and exits with status 1: changing encoded bytes requires a format version
bump or a new model name, and the new archives must be added under new vector names while the old
ones keep decoding. Entries of MANIFEST.json that this script no longer generates are kept.

``--check`` does not regenerate inputs: it re-encodes each vector's recorded input with its
recorded options and reports, per vector, whether the encoder still produces identical bytes
(exit status 0 when all do, 1 otherwise).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:  # runnable from any directory without installing the package
    sys.path.insert(0, str(ROOT))

from codec import engine, models  # noqa: E402
from codec.constants import DEFAULT_BLOCK_SIZE, MIN_LANE_BASES  # noqa: E402
from formats import container, model_file  # noqa: E402

MANIFEST = HERE / "MANIFEST.json"
MANIFEST_SCHEMA = 1
FORMAT_VERSION = f"{container.VERSION_MAJOR}.{container.VERSION_MINOR}"
BUMP_MESSAGE = ("changing encoded bytes requires a format/model version bump: keep the old vectors, "
                "and add the new archives under new vector names (see spec/vectors/README.md)")


# -- deterministic inputs ---------------------------------------------------------------------
def stream(seed: str, n: int) -> bytes:
    """``n`` pseudo-random bytes: SHA-256 of ``seed:counter`` (stable everywhere, forever)."""
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:n])


def bases(seed: str, n: int, alphabet: bytes = b"ACGT") -> bytes:
    return bytes(alphabet[b % len(alphabet)] for b in stream(seed, n))


_COMPLEMENT = bytes.maketrans(b"ACGTacgt", b"TGCAtgca")


def genome(seed: str, n: int) -> bytes:
    """``n`` bases with structure a context model can learn: random segments, exact repeats of
    earlier segments, reverse complements (inverted repeats) and a short tandem repeat."""
    rnd = stream(seed + "/plan", 4096)
    seq = bytearray()
    i = 0
    while len(seq) < n:
        kind, r = rnd[i] % 5, rnd[i + 1]
        i += 2
        length = 40 + r % 80
        if kind <= 1 or len(seq) < 120:
            seq += bases(f"{seed}/{i}", length)
        elif kind == 2:  # repeat of an earlier segment
            start = (r * 7) % (len(seq) - length) if len(seq) > length else 0
            seq += seq[start : start + length]
        elif kind == 3:  # inverted repeat
            start = (r * 5) % (len(seq) - length) if len(seq) > length else 0
            seq += seq[start : start + length][::-1].translate(_COMPLEMENT)
        else:  # tandem repeat
            unit = bases(f"{seed}/unit{i}", 2 + r % 5)
            seq += unit * (length // len(unit))
    return bytes(seq[:n])


def wrap(seq: bytes, width: int = 60, eol: bytes = b"\n") -> bytes:
    return b"".join(seq[i : i + width] + eol for i in range(0, len(seq), width))


def record(header: bytes, seq: bytes, width: int = 60, eol: bytes = b"\n") -> bytes:
    return b">" + header + eol + wrap(seq, width, eol)


def lower_runs(seq: bytes, runs: list[tuple[int, int]]) -> bytes:
    out = bytearray(seq)
    for start, length in runs:
        out[start : start + length] = out[start : start + length].lower()
    return bytes(out)


def put(seq: bytes, at: int, what: bytes) -> bytes:
    return seq[:at] + what + seq[at + len(what) :]


def input_plain() -> bytes:
    # 1250 bases: with min_lane_bases=15 the "tail_lanes" vector gets 83 lanes of 15 or 16 bases
    return record(b"vec1 synthetic plain FASTA record, 60 columns", genome("plain", 1250))


def input_multi() -> bytes:
    """Soft-masking, N runs, IUPAC codes, ragged lines, CRLF and LF mixed, blank lines, a header
    with tabs and UTF-8, an empty record, and no final newline."""
    r1 = genome("multi1", 700)
    r1 = lower_runs(r1, [(0, 25), (100, 60), (333, 1), (690, 10)])
    r1 = put(r1, 200, b"N" * 47)
    r1 = put(r1, 420, b"n" * 12)
    r2 = genome("multi2", 500)
    for k, code in enumerate(b"RYKMSWBDHVN"):
        r2 = put(r2, 17 + 41 * k, bytes([code]))
    r2 = put(r2, 480, b"ryk")
    r3 = genome("multi3", 400)
    r3 = lower_runs(r3, [(50, 150)])
    r3 = put(r3, 250, b"NNNNNNNNNN")
    lines3 = [r3[i : i + w] for i, w in zip(range(0, 400, 50), (50, 50, 50, 50, 50, 50, 50, 50))]
    return (record(b"chr1 soft-masked, N runs", r1, 70)
            + b"\n"
            + b">chr2\tIUPAC codes \xce\xbb caf\xc3\xa9\n"
            + r2[:61] + b"\n" + r2[61:200] + b"\n" + r2[200:201] + b"\n" + r2[201:] + b"\n"
            + b"\n\n"
            + b">chr3 CRLF lines\r\n" + b"\r\n".join(lines3[:-1]) + b"\r\n" + b"\r\n"
            + lines3[-1] + b"\n"
            + b">empty record\n"
            + b">chr4 last line has no newline\n" + genome("multi4", 150))


def input_crlf() -> bytes:
    return (record(b"crlf1 Windows line ends", genome("crlf1", 600), 80, b"\r\n")
            + record(b"crlf2", lower_runs(genome("crlf2", 300), [(10, 90)]), 80, b"\r\n"))


def input_binary() -> bytes:
    return bytes(range(256)) + bytes(range(255, -1, -1)) + stream("binary", 256)


def input_protein() -> bytes:
    aa = b"ACDEFGHIKLMNPQRSTVWY"
    return (record(b"sp|P00001|VEC1_TEST synthetic protein", bases("prot1", 350, aa))
            + record(b"sp|P00002|VEC2_TEST synthetic protein, stop", bases("prot2", 200, aa) + b"*"))


def input_fastq() -> bytes:
    out = bytearray()
    for k in range(8):
        seq = genome(f"fastq{k % 3}", 100)
        if k == 5:
            seq = put(seq, 40, b"N")
        qual = bytes(33 + (b % 41) for b in stream(f"qual{k}", 100))
        out += b"@read%d/1 vec\n" % k + seq + b"\n+\n" + qual + b"\n"
    return bytes(out)


def input_rna() -> bytes:
    rna = genome("rna", 600).translate(bytes.maketrans(b"T", b"U"))
    return record(b"rna1 RNA record (U instead of T)", lower_runs(rna, [(300, 40)]))


def input_genome() -> bytes:
    return (record(b"g1 synthetic genome, record 1", genome("genome1", 1400))
            + record(b"g2 synthetic genome, record 2", genome("genome2", 700) + genome("genome1", 300)))


def input_mixed_blocks() -> bytes:
    """DNA, then a protein record (its blocks are stored), then DNA again: at block_size=256 the
    member has coded and stored blocks, and the predictor state skips the stored ones."""
    aa = b"ACDEFGHIKLMNPQRSTVWY"
    return (record(b"m1 DNA", genome("mixed1", 1100))
            + record(b"m2 protein", bases("mixed2", 420, aa))
            + record(b"m3 DNA again", genome("mixed1", 500) + genome("mixed3", 400)))


def input_softmasked() -> bytes:
    """A soft-masked genome: lowercase runs of 1 to about 500 bases at a pseudo-random plan (the
    case stream the format-1.1 run coder packs), then a record whose runs repeat one pattern."""
    seq = bytearray(genome("soft1", 20000))
    plan = stream("soft1/case", 512)
    pos, runs = 0, []
    for i in range(0, len(plan), 2):
        gap, length = 1 + (plan[i] << (plan[i] % 3)), 1 + (plan[i + 1] << (plan[i + 1] % 4)) // 4
        if pos + gap + length > len(seq):
            break
        runs.append((pos + gap, length))
        pos += gap + length
    return (record(b"soft1 soft-masked", lower_runs(bytes(seq), runs))
            + record(b"soft2 periodic masking", lower_runs(genome("soft2", 600), [(k, 4) for k in range(0, 600, 10)])))


def input_periodic_case() -> bytes:
    """Lowercase runs that repeat a pattern of eight lengths: zstd packs that case stream better than
    the run coder, so a format-1.1 encoder keeps it in the zstd-packed `case` stream."""
    pattern = [3, 41, 7, 90, 12, 5, 33, 64]
    runs, pos = [], 0
    for k in range(48):
        gap, length = pattern[k % 8], pattern[(k + 3) % 8]
        runs.append((pos + gap, length))
        pos += gap + length
    return record(b"periodic lowercase runs", lower_runs(genome("periodic", pos + 10), runs))


def input_concat_a() -> bytes:
    return record(b"cat1 first member", genome("concat1", 800))


def input_concat_b() -> bytes:
    return record(b"cat2 second member", lower_runs(bases("concat2", 700), [(0, 350)]))


# A small context-mixing model that is not bundled: archives made with it decode only from the
# embedded copy, or with the model file supplied (decoder looks it up by fingerprint).
CUSTOM_MODEL_FILE = "cm-vectors-test-v1.model"


def custom_model_bytes() -> bytes:
    return model_file.build_context_mix(200, 12000, [
        dict(order=2, hash_bits=0, alpha_inv=1, limit=127, ir=0),
        dict(order=8, hash_bits=0, alpha_inv=4, limit=255, ir=1),
        dict(order=14, hash_bits=12, alpha_inv=16, limit=255, ir=1),
    ])


# A tiny neural-mix (kind 2) model: integer network from a formula, context models of cm-fast-v1,
# initial mixer weights and a few primed rows. Pins the kind-2 bytes and the network arithmetic.
NEURAL_MODEL_FILE = "neural-vectors-test-v1.model"


def neural_model_bytes() -> bytes:
    import numpy as np

    from codec.predictors.neural import PARAMETERS, NeuralNet

    dims = dict(window=6, filters=5, pool=2, hidden=4, dense=3)
    weights = {}
    for n, (name, (dtype, shape_fn)) in enumerate(PARAMETERS.items()):
        shape = shape_fn(*dims.values())
        i = np.arange(int(np.prod(shape)), dtype=np.int64)
        span = 255 if dtype == np.int8 else 4001
        weights[name] = ((((i + 1) * 2654435761 + n * 40503) % 1000003) % span - span // 2).astype(
            dtype).reshape(shape)
    spec = models.BUNDLED["cm-fast-v1"].spec
    mixer = np.full((3, len(spec.models) + 2), 14000, dtype=np.int64)
    mixer[:, len(spec.models)] = 0
    return models.encode_neural_mix(spec, NeuralNet.from_weights(dims, weights), mixer,
                                    np.array([2, 40, 5000]), np.array([0x05000100, 7, 0x00FF0000], np.uint32))


# A tiny mix (kind 3) model with every model class and the network above: small tables, so the
# vectors exercise tolerant and repeat models (direct and inverted), competition and SSE quickly.
MIX_MODEL_FILE = "mix-vectors-test-v1.model"


def mix_model_bytes() -> bytes:
    from codec.predictors.context_models import ContextModelSpec
    from codec.predictors.mix import MixSpec
    from codec.predictors.repeat import RepeatSpec
    from codec.predictors.tolerant import TolerantSpec

    net = models.load_model_file(HERE / NEURAL_MODEL_FILE).parts.net
    spec = MixSpec((ContextModelSpec(2, 0, 1, 255, True), ContextModelSpec(8, 0, 2, 60, True),
                    ContextModelSpec(12, 16, 16, 255, True), ContextModelSpec(16, 16, 32, 30, False)),
                   (TolerantSpec(2, 12, 5), TolerantSpec(3, 16, 8)), RepeatSpec(8, 12, 14, 2, 12, 6, True),
                   mixer_rate=700, weight_init=15000, competition=True, competition_decay=3,
                   final_rate=300, sse_order=1, sse_rate=5)
    return models.encode_mix(spec, net)


# -- vector definitions -----------------------------------------------------------------------
DEFAULTS = dict(level=6, model="cm-v1", block_size=DEFAULT_BLOCK_SIZE, lanes=engine.DEFAULT_LANES,
                min_lane_bases=MIN_LANE_BASES, embed_model=False)


def opts(**changes) -> dict:
    out = dict(DEFAULTS)
    out.update(changes)
    return out


@dataclass
class Vector:
    name: str
    description: str
    input: str  # input file name
    members: list[tuple[int, dict]]  # (input bytes in this member, options); -1 = the rest
    coded: bool  # expect at least one coded block (a non-empty "body" stream)
    stored: bool = False  # expect at least one stored block
    decode_model_file: str | None = None  # model file a decoder must be given
    extra: dict = field(default_factory=dict)
    format_minor: int = 0  # the format version 1.x its archive pins (1.0 unless the vector says)

    @property
    def archive(self) -> str:
        return self.name + ".dnac"


INPUTS = {
    "plain.fa": input_plain,
    "multi.fa": input_multi,
    "crlf.fa": input_crlf,
    "empty.fa": lambda: b"",
    "binary.bin": input_binary,
    "protein.fa": input_protein,
    "reads.fastq": input_fastq,
    "rna.fa": input_rna,
    "genome.fa": input_genome,
    "mixed_blocks.fa": input_mixed_blocks,
    "concat.fa": lambda: input_concat_a() + input_concat_b(),
    "softmasked.fa": input_softmasked,
    "periodic_case.fa": input_periodic_case,
}
EXTRA_FILES = {CUSTOM_MODEL_FILE: custom_model_bytes, NEURAL_MODEL_FILE: neural_model_bytes,
               MIX_MODEL_FILE: mix_model_bytes}

VECTORS = [
    Vector("plain", "plain single-record FASTA, 60-column lines", "plain.fa", [(-1, opts())], True),
    Vector("multi", "multi-FASTA: lowercase runs, N runs, IUPAC codes, ragged lines, CRLF and LF, "
           "blank lines, UTF-8 header, empty record, no final newline", "multi.fa", [(-1, opts())], True),
    Vector("crlf", "FASTA with CRLF line ends throughout", "crlf.fa", [(-1, opts())], True),
    Vector("empty", "empty input: header and footer, no blocks", "empty.fa", [(-1, opts())], False),
    Vector("binary", "non-FASTA bytes 0..255, 255..0 and 256 random bytes", "binary.bin",
           [(-1, opts())], False, stored=True),
    Vector("protein", "protein FASTA (stored by zstd fallback)", "protein.fa", [(-1, opts())], False,
           stored=True),
    Vector("fastq", "FASTQ, 8 reads of 100 bases with random qualities (their A/C/G letters are "
           "bases too, so the block is coded with a large exceptions stream)",
           "reads.fastq", [(-1, opts())], True),
    Vector("rna", "RNA record (U instead of T), lowercase run", "rna.fa", [(-1, opts())], True),
    Vector("multiblock_lanes", "block_size=256, lanes=8, min_lane_bases=16: many blocks, 8 lanes each",
           "genome.fa", [(-1, opts(block_size=256, lanes=8, min_lane_bases=16))], True),
    Vector("mixed_blocks", "block_size=256, lanes=8, min_lane_bases=16 over DNA, protein, DNA: coded "
           "and stored blocks in one member", "mixed_blocks.fa",
           [(-1, opts(block_size=256, lanes=8, min_lane_bases=16))], True, stored=True),
    Vector("tail_lanes", "lanes=4096, min_lane_bases=15: 83 lanes of 15-16 bases, so (almost) all "
           "symbols travel in the lanes' initial rANS states", "plain.fa",
           [(-1, opts(lanes=4096, min_lane_bases=15))], True),
    *[Vector(f"model_{name}", f"bundled model {name}", "genome.fa", [(-1, opts(model=name))], True)
      for name in sorted(models.BUNDLED)],
    Vector("case_context", "mix-lite-v6 (kind 7: the lowercase bit of each base selects mixer weights and "
           "the APM context) on the soft-masked multi-FASTA, lanes=8, min_lane_bases=16: lowercase runs "
           "between N runs and IUPAC exceptions, across lanes", "multi.fa",
           [(-1, opts(model="mix-lite-v6", lanes=8, min_lane_bases=16))], True),
    Vector("level1", "level 1 (zstd level 3 side streams), model cm-fast-v1", "genome.fa",
           [(-1, opts(level=1, model="cm-fast-v1"))], True),
    Vector("embedded_cm-v1", "embed_model=True with the bundled cm-v1 model", "genome.fa",
           [(-1, opts(embed_model=True))], True),
    Vector("embedded_custom", f"embed_model=True with a model that is not bundled ({CUSTOM_MODEL_FILE})",
           "genome.fa", [(-1, opts(model=CUSTOM_MODEL_FILE, embed_model=True))], True),
    Vector("custom_model", f"a model that is not bundled, not embedded: decoding needs {CUSTOM_MODEL_FILE}",
           "genome.fa", [(-1, opts(model=CUSTOM_MODEL_FILE))], True, decode_model_file=CUSTOM_MODEL_FILE),
    Vector("embedded_neural", f"embed_model=True with a small neural-mix model ({NEURAL_MODEL_FILE})",
           "genome.fa", [(-1, opts(model=NEURAL_MODEL_FILE, embed_model=True))], True),
    Vector("embedded_mix", f"embed_model=True with a small mix model ({MIX_MODEL_FILE}): context, "
           "tolerant, repeat and neural inputs, competition, SSE", "genome.fa",
           [(-1, opts(model=MIX_MODEL_FILE, embed_model=True))], True),
    Vector("multiblock_mix", f"{MIX_MODEL_FILE} embedded, block_size=256, lanes=8, min_lane_bases=16: "
           "repeat positions continue across blocks", "genome.fa",
           [(-1, opts(model=MIX_MODEL_FILE, embed_model=True, block_size=256, lanes=8, min_lane_bases=16))],
           True),
    Vector("concat", "two concatenated members (cm-v1 at level 6, then cm-fast-v1 at level 2)",
           "concat.fa", [(len(input_concat_a()), opts()), (-1, opts(level=2, model="cm-fast-v1"))], True),
    # sized variants of bundled models (codec.models.sized): tables shrunk for a small input
    Vector("sized_mix-max-v7", "mix-max-v7@16, level 9: the best model sized for a small input (hashed and "
           "direct context tables, repeat index and ring buffer of 2**16 rows, voters' index of 2**16 "
           "positions)", "genome.fa", [(-1, opts(level=9, model="mix-max-v7@16"))], True),
    Vector("sized_cm-v1", "cm-v1@16: a kind-1 model sized for a small input (its order-9 and order-12 "
           "direct tables hashed into 2**16 rows)", "genome.fa", [(-1, opts(model="cm-v1@16"))], True),
    # format 1.1: the case stream range-coded (`case_runs`) where that beats zstd
    Vector("multi_v1_1", "format 1.1: the multi vector's input, its case stream range-coded (case_runs)",
           "multi.fa", [(-1, opts())], True, format_minor=1),
    Vector("softmasked_v1_1", "format 1.1: a soft-masked genome in blocks of 4096 bytes, mix-lite-v6, lanes=8, "
           "min_lane_bases=64: each block's case stream range-coded with runs of 1 to about 1000 bases",
           "softmasked.fa", [(-1, opts(model="mix-lite-v6", block_size=4096, lanes=8, min_lane_bases=64))],
           True, format_minor=1),
    Vector("case_zstd_v1_1", "format 1.1: lowercase runs repeating one pattern, which zstd packs better, so "
           "the case stream stays zstd-packed under a 1.1 header", "periodic_case.fa", [(-1, opts())], True,
           format_minor=1),
]


# -- encoding ---------------------------------------------------------------------------------
def resolve_model(name: str, directory: Path = HERE) -> models.Model:
    """A bundled model (or a sized variant, ``NAME@bits``) by name, or a model file in the vectors
    folder by file name."""
    return models.named(name) or models.load_model_file(directory / name)


def encode_member(data: bytes, options: dict, format_version: str, directory: Path = HERE) -> bytes:
    comp = engine.Compressor(options["level"], resolve_model(options["model"], directory),
                             block_size=options["block_size"], lanes=options["lanes"],
                             min_lane_bases=options["min_lane_bases"], embed_model=options["embed_model"],
                             format_minor=int(format_version.split(".")[1]))
    return comp.compress(data) + comp.flush()


def split_members(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for size in sizes:
        size = len(data) - pos if size < 0 else size
        out.append(data[pos : pos + size])
        pos += size
    if pos != len(data):
        raise ValueError("member sizes do not cover the input")
    return out


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_entry(vec: Vector, data: bytes, directory: Path) -> tuple[dict, bytes, list[str]]:
    """The manifest entry, the archive bytes and the unmet expectations of one vector (model files
    are read from ``directory``)."""
    chunks = split_members(data, [size for size, _ in vec.members])
    version = f"{container.VERSION_MAJOR}.{vec.format_minor}"
    members, parts = [], []
    for chunk, (_, options) in zip(chunks, vec.members):
        archive = encode_member(chunk, options, version, directory)
        model = resolve_model(options["model"], directory)
        members.append(dict(input_size=len(chunk), archive_size=len(archive), options=dict(options),
                            model=dict(name=model.name, fingerprint=model.fingerprint.hex())))
        parts.append(archive)
    archive = b"".join(parts)
    info = engine.inspect(io.BytesIO(archive), model=resolve_model(vec.members[-1][1]["model"], directory))
    unmet = []
    if vec.coded != (info["streams"]["body"] > 0):
        unmet.append(f"vector {vec.name!r}: expected coded={vec.coded}, inspect says {info['streams']}")
    if vec.stored != (info["streams"].get("stored", 0) > 0):
        unmet.append(f"vector {vec.name!r}: expected stored={vec.stored}, inspect says {info['streams']}")
    entry = dict(
        name=vec.name,
        description=vec.description,
        format_version=version,
        input=vec.input,
        input_sha256=sha256(data),
        input_size=len(data),
        archive=vec.archive,
        archive_sha256=sha256(archive),
        archive_size=len(archive),
        options=members[0]["options"],
        model=members[0]["model"],
        decode_model_file=vec.decode_model_file,
        members=members,
        expect=dict(blocks=info["blocks"], members=info["members"], bases=info["bases"],
                    records=info["records"], coded=vec.coded, stored=vec.stored),
    )
    return entry, archive, unmet


# -- manifest ---------------------------------------------------------------------------------
def load_manifest() -> dict:
    if MANIFEST.exists():
        return json.loads(MANIFEST.read_text(encoding="utf-8"))
    return {"schema": MANIFEST_SCHEMA, "format_version": FORMAT_VERSION, "vectors": []}


def dump_manifest(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=True) + "\n"


def generate() -> int:
    files: dict[str, bytes] = {}
    for name, make in {**INPUTS, **EXTRA_FILES}.items():
        files[name] = make()
    manifest = load_manifest()
    old = {e["name"]: e for e in manifest["vectors"]}
    entries = []
    conflicts = []
    with tempfile.TemporaryDirectory() as tmp:  # model files as they will be written, not as on disk
        for name in EXTRA_FILES:
            (Path(tmp) / name).write_bytes(files[name])
        built = [build_entry(vec, files[vec.input], Path(tmp)) for vec in VECTORS]
    for vec, (entry, archive, unmet) in zip(VECTORS, built):
        conflicts += unmet
        files[vec.archive] = archive
        prev = old.get(vec.name)
        if prev is not None and prev.get("decode_only"):
            conflicts.append(f"vector {vec.name!r} is decode-only: give the new vector a new name")
        elif prev is not None:
            for key in ("input", "input_sha256", "archive", "archive_sha256", "members"):
                if prev.get(key) != entry.get(key):
                    conflicts.append(f"vector {vec.name!r}: manifest {key} would change")
        entries.append(entry)
    for name, data in files.items():
        path = HERE / name
        if path.exists() and path.read_bytes() != data:
            conflicts.append(f"{name}: existing file differs from what would be generated "
                             f"(sha256 {sha256(path.read_bytes())[:16]}..., new {sha256(data)[:16]}...)")
    if conflicts:
        for line in conflicts:
            print(f"refusing: {line}", file=sys.stderr)
        print(f"nothing written: {BUMP_MESSAGE}", file=sys.stderr)
        return 1
    written = []
    for name, data in files.items():
        path = HERE / name
        if not path.exists():
            path.write_bytes(data)
            written.append(name)
    generated = {e["name"] for e in entries}
    kept = [e for e in manifest["vectors"] if e["name"] not in generated]
    for e in kept:
        print(f"note: keeping manifest entry {e['name']!r}, which this script no longer generates")
    order = {e["name"]: i for i, e in enumerate(manifest["vectors"])}
    merged = sorted(kept + entries, key=lambda e: order.get(e["name"], len(order)))
    new = dump_manifest({"schema": MANIFEST_SCHEMA, "format_version": FORMAT_VERSION, "vectors": merged})
    if not MANIFEST.exists() or MANIFEST.read_text(encoding="utf-8") != new:
        MANIFEST.write_text(new, encoding="utf-8")
        written.append(MANIFEST.name)
    for e in entries:
        print(f"{e['name']:<20} {e['input']:<16} {e['input_size']:>6} B -> {e['archive']:<24} "
              f"{e['archive_size']:>6} B  {e['expect']['blocks']} block(s)")
    print(f"wrote: {', '.join(written) if written else 'nothing (all vectors up to date)'}")
    return 0


def check() -> int:
    """Re-encode every manifest vector from its recorded input and options; compare bytes."""
    manifest = load_manifest()
    if not manifest["vectors"]:
        print("no vectors in MANIFEST.json", file=sys.stderr)
        return 1
    failed = 0
    for e in manifest["vectors"]:
        if e.get("decode_only"):
            print(f"{e['name']:<20} skipped (decode-only: {e['decode_only']})")
            continue
        data = (HERE / e["input"]).read_bytes()
        expected = (HERE / e["archive"]).read_bytes()
        problems = []
        if sha256(data) != e["input_sha256"]:
            problems.append("input file does not match its manifest SHA-256")
        if sha256(expected) != e["archive_sha256"]:
            problems.append("archive file does not match its manifest SHA-256")
        chunks = split_members(data, [m["input_size"] for m in e["members"]])
        archive = b"".join(encode_member(c, m["options"], e["format_version"]) for c, m in zip(chunks, e["members"]))
        if archive != expected:
            where = next((i for i, (a, b) in enumerate(zip(archive, expected)) if a != b),
                         min(len(archive), len(expected)))
            problems.append(f"re-encoded archive differs (first difference at byte {where}, "
                            f"{len(archive)} vs {len(expected)} bytes)")
        status = "identical" if not problems else "DIFFERENT: " + "; ".join(problems)
        failed += bool(problems)
        print(f"{e['name']:<20} {status}")
    if failed:
        print(f"{failed} vector(s) no longer re-encode identically: {BUMP_MESSAGE}", file=sys.stderr)
        return 1
    print("all vectors re-encode to identical bytes")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="re-encode every vector in MANIFEST.json and report whether the bytes are identical")
    args = parser.parse_args(argv)
    return check() if args.check else generate()


if __name__ == "__main__":
    sys.exit(main())
