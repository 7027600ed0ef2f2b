"""The mix predictor (spec/MIX.md): each model class does its job, the kind-3 model file validates
every field, shared state is independent of lane order, and the bundled mix models' arithmetic is
pinned."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from codec import model_choice, models
from codec.constants import FREQ_TOTAL, LEVEL_LANE_BASES
from codec.engine import _MIN_HINTED_BLOCK_SIZE, DEFAULT_LEVEL, Compressor, Decompressor, memory_needed
from codec.fixedpoint import pow2_table
from codec.predictors import encode_block, small_matrix_threads
from codec.predictors.codon import CodonSpec
from codec.predictors.context_models import ContextModelSpec
from codec.predictors.local_models import LocalSpec
from codec.predictors.mix import MixPredictor, MixSpec
from codec.predictors.mixer import CASE_ALL, CASE_RESIDUAL, CASE_SHARED, CASE_SSE, RESIDUAL_REPEAT, cost_table
from codec.predictors.repeat import RepeatSpec
from codec.predictors.repeat_votes import VoteSpec, entry_positions
from codec.predictors.sse import APM
from codec.predictors.tolerant import TolerantSpec
from formats import model_file
from formats.errors import CodecError
from tests.test_neural import bases

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"
MIX_TEST_MODEL = VECTORS / "mix-vectors-test-v1.model"
SHORT = (ContextModelSpec(1, 0, 1, 255, True), ContextModelSpec(3, 0, 1, 255, True))
REPEAT = RepeatSpec(12, 16, 18, 2, 16, 8, True)
VOTES = VoteSpec(voters=16, bucket=8, index_bits=16, window=16, threshold=10, decay=3, init=2048)
LOCAL = (LocalSpec(0, 31), LocalSpec(2, 15, 2))


def _bits(spec: MixSpec, seq: np.ndarray, lanes: int = 1, case: np.ndarray | None = None) -> np.ndarray:
    """Code length (bits) of every base of ``seq`` split into ``lanes`` contiguous lanes (``case``:
    each base's lowercase bit, for a model that reads it)."""
    steps = seq.reshape(lanes, -1).T
    pred = MixPredictor(spec, lanes)
    pred.start_block(np.full(lanes, steps.shape[0]), None if case is None else case.reshape(lanes, -1).T.copy())
    with small_matrix_threads():
        freq, _ = encode_block(pred, steps, np.full(steps.shape[0], lanes))
    return -np.log2(freq.T.reshape(-1) / FREQ_TOTAL)


def _revcomp(seq: np.ndarray) -> np.ndarray:
    return (3 - seq)[::-1]


def test_local_models_follow_each_lane_s_own_composition() -> None:
    """Lanes of different base composition share every table, so the shared models see a blend;
    the local models see each lane's own bases (here half the lanes AT-rich, half GC-rich)."""
    rng = np.random.default_rng(12)
    at_rich, gc_rich = [0.4, 0.1, 0.1, 0.4], [0.1, 0.4, 0.4, 0.1]
    seq = np.concatenate([rng.choice(4, 2000, p=at_rich if j % 2 else gc_rich) for j in range(8)])
    shared = MixSpec(SHORT)
    local = dataclasses.replace(shared, local=LOCAL)
    ideal = -(0.8 * np.log2(0.4) + 0.2 * np.log2(0.1))  # 1.72 bits a base
    assert _bits(shared, seq, 8).mean() > ideal + 0.05  # measured 1.787
    assert _bits(local, seq, 8).mean() < ideal + 0.035  # measured 1.747


def test_the_residual_mixer_learns_what_the_lanes_share() -> None:
    """A residual mixer over every input, shared by all lanes, gains on a genome repeated across
    lanes; its small steps must round to nearest (with floor steps it measured a loss: 1.8949 bits
    a base against 1.8942 without it and 1.8920 with it)."""
    seq = np.tile(bases(4000, seed=13), 2)
    spec = MixSpec(SHORT, (TolerantSpec(1, 16, 8),), REPEAT, local=LOCAL)
    plain = _bits(spec, seq, 8).mean()
    residual = _bits(dataclasses.replace(spec, residual_rate=24), seq, 8).mean()
    assert residual < plain - 0.001


# base distributions (A, C, G, T) at the three codon positions of the synthetic genes below
_CODON_POSITIONS = np.array([[0.45, 0.15, 0.3, 0.1], [0.3, 0.25, 0.1, 0.35], [0.1, 0.4, 0.4, 0.1]])


def _genes(n: int, seed: int) -> np.ndarray:
    """Synthetic coding DNA: genes of 100-300 codons drawn from ``_CODON_POSITIONS``, each on a
    random strand, separated by 0-40 random bases (so every gene starts in a random frame)."""
    rng = np.random.default_rng(seed)
    parts, total = [], 0
    while total < n:
        codons = rng.integers(100, 300)
        gene = np.stack([rng.choice(4, codons, p=_CODON_POSITIONS[j]) for j in range(3)], axis=1).reshape(-1)
        parts += [_revcomp(gene) if rng.integers(2) else gene, rng.integers(0, 4, rng.integers(0, 41))]
        total += len(parts[-2]) + len(parts[-1])
    return np.concatenate(parts)[:n]


def test_codon_models_find_the_reading_frame() -> None:
    """Genes on both strands in random frames: the codon models infer each lane's frame and learn
    the three positions' statistics across all lanes; periodic local models learn them per lane."""
    seq = _genes(24000, seed=21)
    ideal = -(_CODON_POSITIONS * np.log2(_CODON_POSITIONS)).sum(axis=1).mean()  # 1.796 bits a base
    plain = MixSpec(SHORT, local=LOCAL)
    framed = dataclasses.replace(plain, codon=CodonSpec((1, 3), decay=5))  # short genes: a short memory
    one_strand = dataclasses.replace(plain, codon=CodonSpec((1, 3), 3, 5))
    periodic = dataclasses.replace(plain, local=LOCAL + (LocalSpec(1, 15, 1, 3),))
    bits = {name: _bits(spec, seq, 4).mean() for name, spec in
            (("plain", plain), ("framed", framed), ("one-strand", one_strand), ("periodic", periodic))}
    assert bits["plain"] > ideal + 0.12  # measured 1.954
    assert bits["framed"] < ideal + 0.08  # measured 1.851
    assert bits["framed"] < bits["one-strand"] - 0.004  # measured 1.859
    assert bits["periodic"] < bits["plain"] - 0.02  # measured 1.919


@pytest.mark.parametrize("inverted", [False, True])
def test_repeat_models_follow_direct_and_inverted_copies(inverted: bool) -> None:
    x = bases(3000, seed=5)
    copy = _revcomp(x) if inverted else x
    seq = np.concatenate([x, copy])
    with_rep = _bits(MixSpec(SHORT, repeat=REPEAT), seq)[3100:].mean()
    without = _bits(MixSpec(SHORT), seq)[3100:].mean()
    no_ir = _bits(MixSpec(SHORT, repeat=dataclasses.replace(REPEAT, ir=False)), seq)[3100:].mean()
    assert without > 1.8 and with_rep < 0.1
    if inverted:
        assert no_ir > 1.8  # only the inverted candidates find a reverse-complement copy
    else:
        assert no_ir < 0.1


def test_a_copy_is_in_reach_only_as_far_back_as_the_ring_buffer() -> None:
    """Candidates point into a ring buffer of 2^history_bits bases: a copy 6,000 bases back is out of
    reach of 2^12 and followed with 2^13 (levels 3-9 keep 2^26-2^29, spec/LEVELS.md)."""
    x = bases(6000, seed=6)
    seq = np.concatenate([x, x])
    near = _bits(MixSpec(SHORT, repeat=dataclasses.replace(REPEAT, history_bits=12)), seq)[6100:].mean()
    far = _bits(MixSpec(SHORT, repeat=dataclasses.replace(REPEAT, history_bits=13)), seq)[6100:].mean()
    assert near > 1.8 and far < 0.1
    for level in range(3, 10):
        assert models.resolve(None, level).spec.repeat.history_bits >= (28 if level >= 6 else 26)


def test_repeat_voters_take_the_consensus_of_many_diverged_copies() -> None:
    """Seven copies of a unit, each with its own substitutions (every 30th base on average): the
    newest copy alone mispredicts at each of its own and its model's substitutions, the copies' vote
    less often."""
    rng = np.random.default_rng(11)
    unit = bases(2000, seed=12)
    copies = []
    for _ in range(7):
        c = unit.copy()
        hit = rng.random(len(c)) < 1 / 30
        c[hit] = (c[hit] + rng.integers(1, 4, hit.sum())) % 4
        copies.append(c)
    seq = np.concatenate(copies)
    last = slice(6 * 2000, None)
    newest_only = _bits(MixSpec(SHORT, repeat=REPEAT), seq)[last].sum()
    voting = _bits(MixSpec(SHORT, repeat=REPEAT, votes=VOTES), seq)[last].sum()
    assert voting < 0.92 * newest_only  # 0.86 when measured


def test_vote_index_positions_read_back_across_the_32_bit_wrap() -> None:
    pos = np.array([5, 1 << 32, (1 << 33) + 7], dtype=np.int64)
    for back in (0, 1, 1000, (1 << 31) - 1):
        stored = ((pos - back + 1) & 0xFFFFFFFF).astype(np.uint32)
        assert np.array_equal(entry_positions(stored, pos), pos - back)
    ahead = ((pos + 1000 + 1) & 0xFFFFFFFF).astype(np.uint32)  # written by a later lane
    assert np.array_equal(entry_positions(ahead, pos), pos + 1000)


def test_pow2_table_is_pinned() -> None:
    t = pow2_table()
    assert t[0] == 1 << 16 and t[256] == 1 << 15 and t[-1] >= 1
    assert hashlib.sha256(t.astype("<i8").tobytes()).hexdigest()[:16] == POW2_TABLE_SHA


POW2_TABLE_SHA = "b36017d866f8b9d4"


def test_tolerant_model_rides_over_substitutions() -> None:
    x = bases(4000, seed=6)
    mutated = x.copy()
    mutated[50::40] = (mutated[50::40] + 1) % 4  # a substitution every 40 bases
    seq = np.concatenate([x, mutated])
    cms = (ContextModelSpec(2, 0, 1, 255, False), ContextModelSpec(16, 20, 16, 255, False))
    plain = _bits(MixSpec(cms), seq)[4000:].sum()
    tolerant = _bits(MixSpec(cms, (TolerantSpec(1, 16, 8),)), seq)[4000:].sum()
    # without the STCM the order-16 context is lost for 16 bases after every substitution
    assert tolerant < 0.6 * plain


def test_sse_and_competition_run_and_learn() -> None:
    x = bases(6000, seed=7)
    seq = np.concatenate([x, x])
    full = MixSpec(SHORT, repeat=REPEAT, sse_order=2, competition=True)
    bare = dataclasses.replace(full, sse_order=0, competition=False)
    assert _bits(full, seq, 4).sum() < _bits(bare, seq, 4).sum()


def test_apm_starts_as_the_identity() -> None:
    apm = APM(3, 6)
    p = np.array([[1, 100, 32768], [40000, 65000, 65535]], dtype=np.int64)
    out = apm.refine(p, np.zeros_like(p))
    assert np.all(np.abs(out - p) <= np.maximum(p, 65536 - p) // 50 + 2)


def test_cost_table_is_pinned() -> None:
    t = cost_table()
    assert t[3072] == 256 and t[0] == 4096 and t[-1] == 0  # p = 1/2 costs one bit
    assert hashlib.sha256(t.astype("<i8").tobytes()).hexdigest()[:16] == COST_TABLE_SHA


COST_TABLE_SHA = "1e5e1e1526aa38dc"


def test_shared_state_does_not_depend_on_lane_order() -> None:
    """Lanes that hit the same shared entries in one step (count rows, mixer sets, APM cells, the
    repeat index) give one defined result: the same lanes in reverse order code the same bits."""
    seq = np.tile(bases(64, seed=8), 64)  # 16 identical lanes of 256 bases
    spec = MixSpec(SHORT, (TolerantSpec(1, 16, 8),), REPEAT, sse_order=2, votes=VOTES)
    forward = _bits(spec, seq, 16).reshape(16, -1)
    lanes = seq.reshape(16, -1)[::-1].reshape(-1)
    backward = _bits(spec, lanes, 16).reshape(16, -1)[::-1]
    # identical lane contents: every lane's cost must match lane-for-lane, whatever the order
    assert np.array_equal(forward[0], forward[-1])
    assert np.array_equal(forward, backward)


def test_mix_model_file_round_trip() -> None:
    spec = MixSpec(SHORT, (TolerantSpec(1, 16, 8),), REPEAT, mixer_rate=300, weight_init=12000,
                   competition=False, competition_decay=5, final_rate=100, sse_order=3, sse_rate=4)
    data = models.encode_mix(spec)
    assert model_file.parse_model(data)[0] == model_file.KIND_MIX
    parts = models.Model("x", data).parts
    assert parts.spec == spec and parts.net is None
    with_votes = dataclasses.replace(spec, votes=VOTES)
    data = models.encode_mix(with_votes)
    assert model_file.parse_model(data)[0] == model_file.KIND_MIX_VOTES
    assert models.Model("x", data).spec == with_votes
    for votes in (VOTES, None):
        with_local = dataclasses.replace(spec, votes=votes, local=LOCAL, residual_rate=24)
        assert with_local.rounding
        data = models.encode_mix(with_local)
        assert model_file.parse_model(data)[0] == model_file.KIND_MIX_LOCAL
        assert models.Model("x", data).spec == with_local
    residual_only = dataclasses.replace(spec, residual_rate=5)
    assert models.Model("x", models.encode_mix(residual_only)).spec == residual_only
    for codon, local in ((CodonSpec((2, 6), 3, 5, 127, 4), LOCAL), (None, (LocalSpec(2, 7, 1, 3),)),
                         (CodonSpec((3,)), ())):
        framed = dataclasses.replace(spec, local=local, codon=codon)
        assert framed.framed and framed.rounding
        data = models.encode_mix(framed)
        assert model_file.parse_model(data)[0] == model_file.KIND_MIX_CODON
        assert models.Model("x", data).spec == framed
    for flags, local, codon in ((CASE_ALL, LOCAL, CodonSpec((4, 2))), (CASE_SSE, (), None),
                                (CASE_SHARED | CASE_RESIDUAL, LOCAL, None)):
        cased = dataclasses.replace(spec, competition=True, local=local, residual_rate=24, codon=codon,
                                    case_context=flags)
        assert cased.rounding
        data = models.encode_mix(cased)
        assert model_file.parse_model(data)[0] == model_file.KIND_MIX_CASE
        assert models.Model("x", data).spec == cased
    for flags, competition in ((CASE_RESIDUAL | CASE_SSE, False), (0, True)):
        with_residual = dataclasses.replace(spec, competition=competition, local=LOCAL, residual_rate=24,
                                            case_context=flags, residual_context=RESIDUAL_REPEAT)
        assert with_residual.rounding
        data = models.encode_mix(with_residual)
        assert model_file.parse_model(data)[0] == model_file.KIND_MIX_RESIDUAL
        assert models.Model("x", data).spec == with_residual


def _mix_body(framed: bool = False, case: int = 0, residual: int = 0, **changes) -> bytes:
    spec = MixSpec(SHORT, (TolerantSpec(1, 16, 8),), REPEAT, votes=VOTES, local=LOCAL, residual_rate=24,
                   codon=CodonSpec((4, 2)) if framed else None, case_context=case, residual_context=residual)
    kind, body = model_file.parse_model(models.encode_mix(spec))
    fields = {k: v for k, v in body.items() if not k.startswith("_")}
    for key, value in changes.items():
        if "." in key:
            outer, idx, inner = key.split(".")
            fields[outer][int(idx)][inner] = value
        else:
            fields[key] = value
    struct = (model_file.MixResidualBody if residual else model_file.MixCaseBody if case
              else model_file.MixCodonBody if framed else model_file.MixLocalBody)
    return model_file.ModelFile.build(dict(kind=kind, body=struct.build(fields)))


@pytest.mark.parametrize("change", [
    {"votes.0.voters": 0}, {"votes.0.voters": 65}, {"votes.0.bucket": 0}, {"votes.0.bucket": 33},
    {"votes.0.index_bits": 7}, {"votes.0.index_bits": 29}, {"votes.0.window": 33},
    {"votes.0.threshold": 16}, {"votes.0.decay": 0}, {"votes.0.decay": 17}, {"repeats": []},
    {"mixer_rate": 0}, {"final_rate": 1 << 20}, {"weight_init": 1 << 30}, {"competition": 2},
    {"competition_decay": 0}, {"sse_order": 9}, {"sse_rate": 40}, {"has_net": 2},
    {"tolerant.0.model": 7}, {"tolerant.0.window": 40}, {"tolerant.0.threshold": 16},
    {"repeats.0.kmer": 0}, {"repeats.0.kmer": 33}, {"repeats.0.index_bits": 29},
    {"repeats.0.history_bits": 40}, {"repeats.0.slots": 0}, {"repeats.0.threshold": 16},
    {"repeats.0.ir": 3}, {"models.0.order": 0}, {"models.1.hash_bits": 27},
    {"local.0.order": 5}, {"local.1.limit": 0}, {"local.1.alpha_inv": 0}, {"residual_rate": -1},
    {"residual_rate": (1 << 16) + 1}, {"local": [], "residual_rate": 0},
    {"local": [dict(order=1, limit=9, alpha_inv=1)] * 9},
])
def test_mix_model_file_rejects_out_of_range_fields(change: dict) -> None:
    with pytest.raises(CodecError, match="model"):
        models.Model("bad", _mix_body(**change)).parts


@pytest.mark.parametrize("change", [
    {"codon.0.orders": [0]}, {"codon.0.orders": [4, 9]}, {"codon.0.orders": []}, {"codon.0.orders": [2] * 5},
    {"codon.0.hypotheses": 4}, {"codon.0.decay": 0}, {"codon.0.decay": 17}, {"codon.0.limit": 0},
    {"codon.0.alpha_inv": 0}, {"local.0.period": 2}, {"codon": []},
    {"codon": [dict(orders=[2], hypotheses=6, decay=6, limit=255, alpha_inv=2)] * 2},
])
def test_kind_6_model_file_rejects_out_of_range_fields(change: dict) -> None:
    with pytest.raises(CodecError, match="model"):
        models.Model("bad", _mix_body(framed=True, **change)).parts


@pytest.mark.parametrize("change", [
    {"case_context": 0}, {"case_context": 8}, {"case_context": 255}, {"case_context": CASE_ALL, "residual_rate": 0},
    {"case_context": CASE_SHARED, "competition": 0}, {"case_context": CASE_SSE | CASE_RESIDUAL, "sse_order": 0},
])
def test_kind_7_model_file_rejects_bad_case_flags(change: dict) -> None:
    with pytest.raises(CodecError, match="model"):
        models.Model("bad", _mix_body(case=CASE_ALL, **change)).parts


@pytest.mark.parametrize("change", [
    {"residual_context": 0}, {"residual_context": 2}, {"residual_context": 255},
    {"residual_context": RESIDUAL_REPEAT, "residual_rate": 0}, {"repeats": [], "votes": []},
    {"case_context": 8}, {"case_context": CASE_SHARED, "competition": 0},
])
def test_kind_8_model_file_rejects_bad_residual_flags(change: dict) -> None:
    with pytest.raises(CodecError, match="model"):
        models.Model("bad", _mix_body(case=CASE_ALL, residual=RESIDUAL_REPEAT, **change)).parts


def test_kind_8_model_file_without_case_flags_is_valid() -> None:
    """Kind 8 carries the case-context byte, which may be 0 there (kind 7 requires a flag)."""
    spec = models.Model("ok", _mix_body(residual=RESIDUAL_REPEAT, case_context=0)).spec
    assert spec.residual_context == RESIDUAL_REPEAT and spec.case_context == 0


def test_residual_context_keys_the_residual_mixer_on_the_repeat_state() -> None:
    """With the residual context the residual mixer has a weight set per repeat state (and case):
    on input with repeats, sets other than the no-repeat one learn, and the predictions change."""
    spec = MixSpec(SHORT, (TolerantSpec(1, 16, 8),), REPEAT, competition=False, local=LOCAL, residual_rate=24,
                   case_context=CASE_RESIDUAL)
    keyed = dataclasses.replace(spec, residual_context=RESIDUAL_REPEAT)
    seq = np.tile(bases(400, seed=3), 6).reshape(4, -1).T.copy()
    case = np.zeros(seq.shape, dtype=np.uint8)
    out = []
    for s in (spec, keyed):
        pred = MixPredictor(s, 4)
        pred.start_block(np.full(4, seq.shape[0]), case)
        with small_matrix_threads():
            freq, _ = encode_block(pred, seq, np.full(seq.shape[0], 4))
        out.append((freq, pred._residual.w))
    (plain_freq, plain_w), (keyed_freq, keyed_w) = out
    assert plain_w.shape[0] == 2 and keyed_w.shape[0] == 2 * 4
    init = MixPredictor(keyed, 4)._residual.w
    learned = [not np.array_equal(keyed_w[2 * state], init[2 * state]) for state in range(4)]
    assert learned[0] and sum(learned[1:]) >= 2
    assert not np.array_equal(plain_freq, keyed_freq)


def test_case_context_learns_what_soft_masked_bases_have_in_common() -> None:
    """Soft-masked stretches (repeats) have their own statistics: here lowercase runs are AT-rich
    and the rest GC-rich, in random runs. The lowercase bits the archive stores anyway let the
    mixers and the APM keep one weight set per kind of stretch; on all upper-case input the case
    context changes nothing."""
    rng = np.random.default_rng(21)
    runs = rng.integers(20, 200, 600)
    case = np.repeat(np.arange(len(runs)) % 2, runs)[:40000].astype(np.uint8)
    at_rich, gc_rich = np.array([0.4, 0.1, 0.1, 0.4]), np.array([0.1, 0.4, 0.4, 0.1])
    u = rng.random(len(case))[:, None]
    seq = (u > np.cumsum(np.where(case[:, None] == 1, at_rich, gc_rich), axis=1)).sum(axis=1)
    spec = MixSpec(SHORT, (TolerantSpec(1, 16, 8),), REPEAT, sse_order=2, local=LOCAL, residual_rate=24)
    cased = dataclasses.replace(spec, case_context=CASE_ALL)
    plain = _bits(spec, seq, 8, case).mean()
    with_case = _bits(cased, seq, 8, case).mean()
    assert with_case < plain - 0.02, (plain, with_case)
    upper = np.zeros_like(case)
    assert np.array_equal(_bits(spec, seq, 8, upper), _bits(cased, seq, 8, upper))


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([b"ACGT", b"acgt", b"N", b"n", b"RYk", b"\n", b">h\n"]),
                          st.integers(1, 60)), max_size=80),
       st.integers(64, 2048), st.integers(1, 8), st.integers(0, 2**16))
def test_case_context_round_trip(runs: list, block_size: int, lanes: int, seed: int) -> None:
    """Soft-masked FASTA with N runs, IUPAC codes and headers, in any blocks and lanes, round-trips
    under a case-context model (the decoder rebuilds each block's lowercase bits before its bases)."""
    rng = np.random.default_rng(seed)
    data = b"".join(bytes(rng.choice(np.frombuffer(alphabet, np.uint8), n)) for alphabet, n in runs)
    spec = MixSpec(SHORT, (TolerantSpec(1, 16, 8),), REPEAT, sse_order=2, local=LOCAL, residual_rate=24,
                   case_context=CASE_ALL)
    model = models.Model("case-test", models.encode_mix(spec))
    c = Compressor(6, model, block_size=block_size, lanes=lanes, min_lane_bases=8)
    archive = c.compress(data) + c.flush()
    assert Decompressor(model).decompress(archive) == data


def test_mix_model_file_rejects_two_repeat_sets_and_huge_tables() -> None:
    kind, body = model_file.parse_model(models.encode_mix(MixSpec(SHORT, repeat=REPEAT)))
    fields = {k: v for k, v in body.items() if not k.startswith("_")}
    fields["repeats"] = [fields["repeats"][0]] * 2
    two = model_file.ModelFile.build(dict(kind=kind, body=model_file.MixBody.build(fields)))
    with pytest.raises(CodecError, match="repeat"):
        models.Model("bad", two).parts
    huge = MixSpec(tuple(ContextModelSpec(20 + i, 26, 16, 255, True) for i in range(9)))
    with pytest.raises(CodecError, match="bytes of tables"):
        models.encode_mix(huge)


def test_levels_declare_bounded_memory() -> None:
    for level in range(1, 10):
        need = memory_needed(models.resolve(None, level))  # tables, block buffers, lanes, interpreter
        assert need <= 2 << 30
        if level <= 6:
            assert need <= 1 << 30
    assert LEVEL_LANE_BASES[9] >= LEVEL_LANE_BASES[6]


def _small_model() -> models.Model:
    return models.load_model_file(MIX_TEST_MODEL)


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=4000).map(lambda b: bytes(b"ACGTacgtN\n>"[x % 11] for x in b)),
       st.integers(64, 1024), st.integers(1, 8))
def test_mix_round_trip_any_blocks_and_lanes(data: bytes, block_size: int, lanes: int) -> None:
    model = _small_model()
    c = Compressor(6, model, block_size=block_size, lanes=lanes, min_lane_bases=8)
    archive = c.compress(data) + c.flush()
    assert Decompressor(model).decompress(archive) == data


def test_mix_with_network_is_identical_on_numpy_and_torch() -> None:
    pytest.importorskip("torch")
    model = _small_model()
    assert model.neural
    data = (VECTORS / "genome.fa").read_bytes()
    archives = []
    for backend in ("numpy", "torch"):
        c = Compressor(6, model, lanes=8, min_lane_bases=64, backend=backend)
        archives.append(c.compress(data) + c.flush())
    assert archives[0] == archives[1]
    assert Decompressor(model, backend="torch").decompress(archives[0]) == data


GOLDEN_MIX_FREQUENCIES = {"mix-v1": "7cf3080099aef04d", "mix-max-v1": "c780934f0c28d649",
                          "mix-fast-v2": "964542b2c35fc878", "mix-v2": "52ccb2a4f769beae",
                          "mix-max-v2": "0adedabf608e4957", "mix-v3": "8a80643e1a4ac5c3",
                          "mix-max-v3": "7d4ddcf91d0f31af", "mix-v4": "c046efc889905dea",
                          "mix-max-v4": "507eff63625a1fda", "mix-lite-v4": "a8af199b9a0934bf",
                          "mix-lite-v5": "80eb0f54240e3e40", "mix-v5": "c6c594456ec5b705",
                          "mix-max-v5": "d9a8a72fab09c74f", "mix-lite-v6": "db0b75417cc2ba89",
                          "mix-v6": "78156dd1c3a771e4", "mix-max-v6": "5ec4eea5d40d6c6c",
                          "mix-mid-v7": "cc25def057745207", "mix-lite-v7": "71a10d1ee3be44be",
                          "mix-v7": "140ccd573298eb0e", "mix-max-v7": "35feac9045cd0a95",
                          "mix-mid-v8": "49dcb8b2587d1eff", "mix-lite-v8": "8eda4353d2634179",
                          "mix-lite-v9": "18082f97fff004d3", "mix-lite-v10": "a5d099f7490bbd29",
                          "mix-v11": "3e81fb749d9a83a6", "mix-max-v11": "fe4845f4e2ea6cfd",
                          "mix-v12": "bc98af61237a512c", "mix-lite-v13": "a5d099f7490bbd29",
                          "mix-v13": "bc98af61237a512c", "mix-v14": "3e81fb749d9a83a6",
                          "mix-max-v13": "fe4845f4e2ea6cfd", "mix-fast-v3": "964542b2c35fc878",
                          "mix-mid-v9": "49dcb8b2587d1eff", "mix-rep-v13": "583d63fcd1c5e937"}


@pytest.mark.parametrize("name", sorted(GOLDEN_MIX_FREQUENCIES))
def test_bundled_mix_golden_frequencies(name: str) -> None:
    seq = np.concatenate([bases(1500, seed=9), _revcomp(bases(1500, seed=9))]).reshape(4, -1).T.copy()
    case = (np.arange(seq.size).reshape(seq.shape) // 97 % 2).astype(np.uint8)  # soft-masked stretches
    pred = models.BUNDLED[name].predictor(4)
    pred.start_block(np.full(4, seq.shape[0]), case)
    with small_matrix_threads():
        freq, _ = encode_block(pred, seq, np.full(seq.shape[0], 4))
    digest = hashlib.sha256(freq.astype("<u4").tobytes()).hexdigest()[:16]
    assert digest == GOLDEN_MIX_FREQUENCIES[name]


def test_default_level_runs_every_predictor_class_and_levels_7_to_9_the_competition() -> None:
    spec = models.resolve(None, DEFAULT_LEVEL).spec
    assert isinstance(spec, MixSpec) and spec.tolerant and spec.repeat and spec.repeat.ir
    assert spec.sse_order and spec.local and spec.codon and spec.residual_rate
    # the competitive stage costs about a fifth of the default's time: levels 7-9 run it
    assert not spec.competition
    assert all(models.resolve(None, level).spec.competition for level in (7, 8, 9))


def test_level_model_switches_to_the_primed_one_only_for_training_like_input(require_shared) -> None:
    from tests.conftest import SHARED_DATA

    mito = (SHARED_DATA / "mito" / "deepdna_valid_200.fasta").read_bytes()[:200_000]
    phage = (SHARED_DATA / "genomes" / "phage_lambda.fasta").read_bytes()
    # levels 5-6 switch to the primed default without the network, 7-8 and 9 to those with it
    assert _archive_model(mito) == "mito-lite-v1"
    assert models.BUNDLED["mito-lite-v1"].parts.net is None
    assert _archive_model(mito, level=5) == "mito-lite-v1"
    assert _archive_model(mito, level=7) == "mix-mito-v1"
    assert _archive_model(mito, level=9) == "mix-max-mito-v1"
    assert _archive_model(phage) == models.DEFAULT_MODEL
    assert _archive_model(mito, model="mix-v1") == "mix-v1"  # an explicit model is never switched
    # nor to a primed model that needs more memory than the limit (the level's model sized for the
    # input fits it)
    sized = models.sized(models.BUNDLED[models.LEVEL_MODELS[7]], len(mito))
    block = max(len(mito), _MIN_HINTED_BLOCK_SIZE)  # the block size a size hint gives
    limit = memory_needed(sized, block)
    assert memory_needed(models.BUNDLED["mix-mito-v1"], block) > limit
    assert _archive_model(mito, level=7, memlimit=limit, size_hint=len(mito)) == sized.name


def _mutated(seq: np.ndarray, rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hit = rng.random(len(seq)) < rate
    return np.where(hit, (seq + rng.integers(1, 4, len(seq))) % 4, seq).astype(np.uint8)


def _fasta(seq: np.ndarray) -> bytes:
    text = np.frombuffer(b"ACGT", dtype=np.uint8)[seq].tobytes()
    return b">x\n" + b"\n".join(text[i:i + 60] for i in range(0, len(text), 60)) + b"\n"


def _random(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4, n).astype(np.uint8)


def _repeat_rich(n: int = 150_000) -> np.ndarray:
    """Unique sequence with copies of a 300-base element scattered through it (an Alu-like family,
    each copy 5% diverged), some reverse-complemented: a tenth of the bases."""
    element = _random(300, seed=3)
    parts = []
    for i in range(n // 3000):
        copy = _mutated(element, 0.05, seed=i)
        parts += [_random(2700, seed=100 + i), copy if i % 3 else _revcomp(copy)]
    return np.concatenate(parts)


def test_repeat_fraction_counts_the_kmers_seen_before_on_either_strand() -> None:
    unique = _random(50_000, seed=1)
    assert model_choice.repeat_fraction(unique) < 0.001  # 4^16 16-mers: chance repeats are rare
    n = len(unique) - 15
    twice = np.concatenate([unique, unique])
    assert model_choice.repeat_fraction(twice) == pytest.approx((n - 15) / (2 * n + 1 - 15), abs=1e-3)
    rc = np.concatenate([unique, _revcomp(unique)])
    assert model_choice.repeat_fraction(rc) == pytest.approx(model_choice.repeat_fraction(twice), abs=1e-3)
    assert model_choice.repeat_fraction(np.zeros(20, dtype=np.uint8)) == 4 / 5  # AAAA...: 5 16-mers, 1 new
    assert model_choice.repeat_fraction(unique[:10]) == 0.0


def test_default_switches_to_the_repeat_voters_only_for_repeat_rich_input() -> None:
    seq = _repeat_rich()
    rich, poor = _fasta(seq), _fasta(_random(150_000, seed=2))
    assert model_choice.repeat_fraction(seq[:model_choice.REPEAT_SAMPLE_BASES]) > 2 * model_choice.REPEAT_THRESHOLD
    assert _archive_model(rich) == "mix-rep-v13"
    assert _archive_model(poor) == models.DEFAULT_MODEL
    assert models.BUNDLED["mix-rep-v13"].spec.votes is not None
    # levels 7-9 run voters anyway; an explicit model is never switched
    assert _archive_model(rich, level=7) == models.LEVEL_MODELS[7]
    assert _archive_model(rich, model=models.DEFAULT_MODEL) == models.DEFAULT_MODEL
    # a small input gets the alternative's sized variant, like the level's own model
    assert _archive_model(rich, size_hint=len(rich)) == models.sized(models.BUNDLED["mix-rep-v13"], len(rich)).name
    # and a memory limit that the voters' index would exceed keeps the level's model
    block = max(len(rich), _MIN_HINTED_BLOCK_SIZE)
    limit = memory_needed(models.sized(models.BUNDLED[models.DEFAULT_MODEL], len(rich)), block)
    assert memory_needed(models.sized(models.BUNDLED["mix-rep-v13"], len(rich)), block) > limit
    assert _archive_model(rich, memlimit=limit, size_hint=len(rich)).startswith(models.DEFAULT_MODEL)


def test_the_model_choice_sees_past_the_first_write_and_a_leading_n_run() -> None:
    import io

    import codec
    from codec.engine import inspect

    rich = _fasta(_repeat_rich())
    # a chromosome that starts with a megabase of N, written in small pieces through the file API
    data = rich[:3] + b"N" * (1 << 20) + b"\n" + rich[3:]
    out = io.BytesIO()
    with codec.open(out, "wb") as f:
        for i in range(0, len(data), 4096):
            f.write(data[i:i + 4096])
    archive = out.getvalue()
    assert inspect(io.BytesIO(archive))["model"]["name"] == "mix-rep-v13"
    assert codec.decompress(archive) == data


def test_small_or_foreign_input_keeps_the_level_model() -> None:
    assert _archive_model((VECTORS / "genome.fa").read_bytes()) == models.DEFAULT_MODEL
    assert _archive_model(b">x\nACGT\n") == models.DEFAULT_MODEL


def _archive_model(data: bytes, **options) -> str:
    import io

    from codec.engine import inspect

    c = Compressor(min_lane_bases=1024, **options)
    archive = c.compress(data) + c.flush()
    assert Decompressor().decompress(archive) == data
    return inspect(io.BytesIO(archive))["model"]["name"]
