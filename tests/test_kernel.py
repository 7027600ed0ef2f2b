"""The compiled step (codec/predictors/kernel.py, in C) computes exactly what the numpy reference computes:
the same frequencies at every step and the same state afterwards, for every model class, every
count-limit path (in-byte sums, sums past 255, rows over a small limit), any active-lane count and
across blocks."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import codec
from codec import model_choice, models
from codec.predictors import encode_block, kernel
from codec.predictors.context_mix import ContextMixPredictor, ContextMixSpec
from codec.predictors.context_models import ContextModelSpec
from codec.predictors.kernel import available, set_threads
from codec.predictors.codon import CodonSpec
from codec.predictors.local_models import LocalSpec
from codec.predictors.mix import MixPredictor, MixSpec
from codec.predictors.mixer import CASE_ALL, CASE_RESIDUAL, CASE_SHARED, CASE_SSE, RESIDUAL_REPEAT
from codec.predictors.neural import NeuralMixerInput
from codec.predictors.repeat import RepeatSpec
from codec.predictors.repeat_votes import VoteSpec
from codec.predictors.tolerant import TolerantSpec

pytestmark = pytest.mark.skipif(not available(), reason="no compiled step here (DNACODEC_KERNEL=0, or the C "
                                                       "extension is not built)")


MODELS = (ContextModelSpec(1, 0, 1, 255, True), ContextModelSpec(2, 0, 2, 7, False),
          ContextModelSpec(5, 0, 4, 31, True), ContextModelSpec(9, 12, 16, 255, True))
REPEAT = RepeatSpec(6, 12, 10, 2, 16, 6, True)
VOTES = VoteSpec(voters=5, bucket=3, index_bits=9, window=12, threshold=5, decay=3, init=512)
LOCAL = (LocalSpec(0, 31), LocalSpec(2, 3, 2), LocalSpec(4, 255))
PERIODIC = (LocalSpec(1, 7, 1, 3), LocalSpec(3, 15, 2, 3))
CODON = CodonSpec((3, 2, 5), 6, 4, 15, 1)
FULL = MixSpec(MODELS, (TolerantSpec(2, 16, 8), TolerantSpec(3, 8, 2)), REPEAT, sse_order=2, votes=VOTES,
               local=LOCAL + PERIODIC, residual_rate=40, codon=CODON, case_context=CASE_ALL)


def _sequence(n: int, seed: int) -> np.ndarray:
    """Random bases with direct and inverted repeats and point mutations (every model gets work)."""
    rng = np.random.default_rng(seed)
    unit = rng.integers(0, 4, 700)
    parts = [unit, unit, (3 - unit)[::-1], rng.integers(0, 4, 300), unit[:400]]
    seq = np.concatenate(parts * (n // 2800 + 1))[:n].copy()
    seq[rng.integers(0, n, n // 50)] = rng.integers(0, 4, n // 50)
    return seq


def _case(shape: tuple[int, int], seed: int) -> np.ndarray:
    """A (T, lanes) grid of lowercase bits in runs (soft-masked stretches), as the engine passes."""
    rng = np.random.default_rng(seed)
    flips = rng.random(shape) < 0.02
    return (np.cumsum(flips, axis=0) % 2).astype(np.uint8)


def _state(pred) -> list[np.ndarray]:
    """The predictor's persistent state: what a step leaves for the next one."""
    out = [pred._cm.table, pred._cm.hist, pred._cm.rc]
    if isinstance(pred, ContextMixPredictor):
        return out + [pred._mixer.w]
    out += [pred._tol.hist, pred._tol.misses, pred._lane_mixer.w]
    if pred._rep is not None:
        r = pred._rep
        out += [r._index, r._buf, r._q, r._live, r._run, r._miss, r._hits, r._total]
    if pred._votes is not None:
        v = pred._votes
        out += [v.index, v.q, v.dir, v.live, v.run, v.miss, v.L, v.hits, v.total]
    out += [pred._local.counts, pred._local.phase, pred._codon.table, pred._codon.score,
            pred._codon.best]
    if pred._residual is not None:
        out.append(pred._residual.w)
    if pred._competition is not None:
        out += [pred._shared_mixer.w, pred._final.w, pred._competition._score]
    if pred._sse is not None:
        out.append(pred._sse.t)
    return out


def _compare(make, seq: np.ndarray, lanes: int, blocks: int = 2) -> None:
    """Run the numpy and compiled predictors side by side over ``blocks`` blocks of ``lanes`` lanes
    (lanes retire one by one in the second half of a block) and compare everything."""
    ref, fast = make(False), make(True)
    assert fast._kernel is not None and ref._kernel is None
    per_block = len(seq) // blocks
    for b in range(blocks):
        block = seq[b * per_block:(b + 1) * per_block]
        length = len(block) // lanes
        steps = block[:length * lanes].reshape(lanes, length).T
        counts = np.minimum(lanes, np.maximum(1, lanes - (np.arange(length) - length // 2)))
        case = _case(steps.shape, b)
        for p in (ref, fast):
            p.start_block(np.full(lanes, length), case)
        for t in range(length):
            k = int(counts[t])
            f_ref, f_fast = ref.predict(k), fast.predict(k)
            assert np.array_equal(f_ref, f_fast), f"block {b} step {t}"
            ref.update(steps[t, :k])
            fast.update(steps[t, :k])
    for i, (a, c) in enumerate(zip(_state(ref), _state(fast), strict=True)):
        assert np.array_equal(a, c), f"state array {i}"


@pytest.mark.parametrize("variant", ["full", "no-competition", "no-sse", "no-repeat", "no-votes",
                                     "no-ir-repeat", "sse-3", "no-tolerant", "kind-4", "kind-5", "no-local",
                                     "no-residual", "no-codon", "codon-3", "codon-only", "no-case",
                                     "case-residual", "case-shared", "case-sse", "codon-limit-1",
                                     "codon-limit-2", "residual-repeat", "residual-repeat-no-case",
                                     "residual-repeat-no-competition"])
def test_compiled_mix_step_equals_the_reference(variant: str) -> None:
    spec = {
        "full": FULL,
        "no-competition": dataclasses.replace(FULL, competition=False),
        "no-sse": dataclasses.replace(FULL, sse_order=0),
        "no-repeat": dataclasses.replace(FULL, repeat=None, votes=None),
        "no-votes": dataclasses.replace(FULL, votes=None),
        "no-ir-repeat": dataclasses.replace(FULL, repeat=dataclasses.replace(REPEAT, ir=False, slots=3)),
        "sse-3": dataclasses.replace(FULL, sse_order=3, sse_rate=4),
        "no-tolerant": dataclasses.replace(FULL, tolerant=()),
        "kind-4": dataclasses.replace(FULL, local=(), residual_rate=0, codon=None),
        "kind-5": dataclasses.replace(FULL, local=LOCAL, codon=None),
        "no-local": dataclasses.replace(FULL, local=()),
        "no-residual": dataclasses.replace(FULL, residual_rate=0),
        "no-codon": dataclasses.replace(FULL, codon=None),
        "codon-3": dataclasses.replace(FULL, codon=CodonSpec((6, 1), 3, 7, 255, 2)),
        # codon rows start with counts up to 3 (FRAME_PRIOR): over a limit of 1 or 2 before any update
        "codon-limit-1": dataclasses.replace(FULL, codon=CodonSpec((3, 2), 6, 4, 1, 1)),
        "codon-limit-2": dataclasses.replace(FULL, codon=CodonSpec((3, 2), 3, 4, 2, 1)),
        "codon-only": dataclasses.replace(FULL, local=(), residual_rate=0),
        "no-case": dataclasses.replace(FULL, case_context=0),
        "case-residual": dataclasses.replace(FULL, case_context=CASE_RESIDUAL),
        "case-shared": dataclasses.replace(FULL, case_context=CASE_SHARED),
        "case-sse": dataclasses.replace(FULL, case_context=CASE_SSE),
        "residual-repeat": dataclasses.replace(FULL, residual_context=RESIDUAL_REPEAT),
        "residual-repeat-no-case": dataclasses.replace(FULL, case_context=0, residual_context=RESIDUAL_REPEAT),
        "residual-repeat-no-competition": dataclasses.replace(FULL, competition=False, case_context=CASE_RESIDUAL,
                                                              residual_context=RESIDUAL_REPEAT),
    }[variant]
    _compare(lambda c: MixPredictor(spec, 24, compiled=c), _sequence(12000, 1), 24)


def test_compiled_bundled_mix_equals_the_reference() -> None:
    spec = models.BUNDLED["mix-fast-v1"].spec
    _compare(lambda c: MixPredictor(spec, 40, compiled=c), _sequence(16000, 2), 40)


@pytest.mark.parametrize("name", ["mix-max-v7@16", "cm-v1@16", "mix-lite-v10@16", "mix-v12@16",
                                  models.DEFAULT_MODEL, *model_choice.REPEAT.values(),
                                  *(models.LEVEL_MODELS[level] for level in (7, 8, 9))])
def test_compiled_sized_variant_equals_the_reference(name: str) -> None:
    """Sized variants (direct tables made hashed, capped repeat index, ring buffer and voter index;
    mix-lite-v10's STCM over the order-12 table, then hashed), the default itself, its repeat-rich
    alternative and levels 7-9's."""
    spec = models.resolve(name, 9).spec
    if isinstance(spec, ContextMixSpec):
        _compare(lambda c: ContextMixPredictor(spec, 16, compiled=c), _sequence(16 * 250, 7), 16)
    else:
        _compare(lambda c: MixPredictor(spec, 16, compiled=c), _sequence(16 * 250, 7), 16)


def test_compiled_context_mix_with_network_equals_the_reference() -> None:
    parts = models.BUNDLED["deepdna-mito-v1"].parts
    assert parts.net is not None

    def make(compiled: bool) -> ContextMixPredictor:
        extra = [NeuralMixerInput(parts.net, 6, "numpy", "cpu")]
        return ContextMixPredictor(parts.spec, 6, extra, parts.mixer_init, parts.primed, compiled=compiled)

    _compare(make, _sequence(3000, 3), 6)


def test_compiled_context_mix_equals_the_reference() -> None:
    spec = ContextMixSpec(MODELS, 300, 12000)
    _compare(lambda c: ContextMixPredictor(spec, 32, compiled=c), _sequence(9000, 4), 32)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), lanes=st.integers(1, 40), limit=st.integers(1, 255),
       order=st.integers(1, 12), hashed=st.booleans(), slots=st.integers(1, 3), kmer=st.integers(1, 12),
       voters=st.integers(1, 9), bucket=st.integers(1, 6), decay=st.integers(1, 8),
       local_order=st.integers(0, 4), local_limit=st.integers(1, 255), residual_rate=st.integers(0, 300),
       period=st.sampled_from([1, 3]), codon_order=st.integers(1, 8), hypotheses=st.sampled_from([3, 6]),
       codon_decay=st.integers(1, 16), case_context=st.integers(0, CASE_ALL),
       residual_context=st.integers(0, RESIDUAL_REPEAT))
def test_compiled_step_equals_the_reference_for_any_parameters(seed: int, lanes: int, limit: int, order: int,
                                                               hashed: bool, slots: int, kmer: int, voters: int,
                                                               bucket: int, decay: int, local_order: int,
                                                               local_limit: int, residual_rate: int, period: int,
                                                               codon_order: int, hypotheses: int,
                                                               codon_decay: int, case_context: int,
                                                               residual_context: int) -> None:
    cms = (ContextModelSpec(2, 0, 1, limit, True), ContextModelSpec(order, 10 if hashed else 0, 8, 255, True))
    votes = VoteSpec(voters, bucket, 8, 12, 4, decay, 256 * decay)
    codon = CodonSpec((codon_order, 1 + seed % 8), hypotheses, codon_decay, local_limit, 1 + decay % 3)
    spec = MixSpec(cms, (TolerantSpec(1, 12, 3),), RepeatSpec(kmer, 10, 9, slots, 12, 4, True), votes=votes,
                   local=(LocalSpec(local_order, local_limit, 1 + decay % 3, period),), residual_rate=residual_rate,
                   codon=codon, case_context=case_context, residual_context=residual_context)
    _compare(lambda c: MixPredictor(spec, lanes, compiled=c), _sequence(lanes * 60, seed), lanes)
    _compare_encoder(lambda c: MixPredictor(spec, lanes, compiled=c), _sequence(lanes * 60, seed + 1), lanes)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_compiled_step_does_not_depend_on_the_thread_count(threads: int) -> None:
    try:
        set_threads(threads)
        _compare(lambda c: MixPredictor(FULL, 33, compiled=c), _sequence(6000, 5), 33)
    finally:
        set_threads(0)


def test_a_step_runs_on_no_more_threads_than_its_blocks_of_lanes() -> None:
    """A thread with no block of lanes would only add launches and joins."""
    set_threads(0)
    n = kernel._threads_in_use()
    assert kernel._step_threads(1) == kernel._step_threads(kernel.BLOCK_LANES) == 1
    assert kernel._step_threads(kernel.BLOCK_LANES + 1) == min(n, 2)
    assert kernel._step_threads(1 << 20) == n



@pytest.mark.parametrize("preset, expected", [({}, kernel._GOMP_SPINCOUNT), ({"GOMP_SPINCOUNT": "5000"}, "5000"),
                                              ({"OMP_WAIT_POLICY": "active"}, None)])
def test_openmp_spins_briefly_unless_the_user_says_otherwise(preset: dict, expected: str | None) -> None:
    """GNU OpenMP's default long spin at every join makes a loaded machine's step several times
    slower; importing the kernel shortens it, before the C step loads libgomp, but never overrides
    the user's GOMP_SPINCOUNT or OMP_WAIT_POLICY."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    env.update(preset)
    probe = "import os, codec.predictors.kernel; print(os.environ.get('GOMP_SPINCOUNT'))"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(expected)

@pytest.mark.parametrize("threads, chunks", [(0, 1), (0, 3), (0, 5), (0, 8), (0, 64), (1, 3)])
def test_compiled_step_does_not_depend_on_the_lane_chunks(threads: int, chunks: int, monkeypatch) -> None:
    """predict's and update's parallel regions cut the lanes into one chunk per thread, a thread
    that runs out of its chunk's blocks of lanes takes blocks of the others, the shared mixers sum
    per thread, and update's shared tasks are dealt out to the chunks and taken over the same way:
    any chunk count (more than the cores here, uneven chunks, more than LEARN_GROUPS) gives the
    reference's frequencies. On one thread with three chunks, the first chunk's thread takes every
    block and task of the other two before they start."""
    monkeypatch.setattr(kernel, "_step_threads", lambda k: chunks)
    try:
        set_threads(threads)
        _compare(lambda c: MixPredictor(FULL, 33, compiled=c), _sequence(6000, 5), 33)
    finally:
        set_threads(0)


@pytest.mark.parametrize("chunks", [1, 2, 3, 8])
def test_shared_tasks_are_dealt_out_evenly(chunks: int) -> None:
    """Every shared task of update runs in exactly one chunk, and the costliest-first assignment
    leaves no chunk more than one task's cost above an even share."""
    cost = np.array([8, 8, 8, 8, 2, 2, 2, 2, 1, 1, 1, 2, 1, 4], dtype=np.int64)
    owner = kernel._task_owners(cost, chunks)
    assert owner.shape == cost.shape and owner.min() >= 0 and owner.max() < chunks
    load = np.bincount(owner, weights=cost, minlength=chunks)
    assert load.max() <= cost.sum() / chunks + cost.max()
    if chunks == 2:
        assert sorted(load) == [25, 25]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_process_forked_after_a_compiled_step_still_compresses() -> None:
    """GNU OpenMP (the C step's threading) dies in a forked child; the child takes the numpy
    path instead and writes the same archive."""
    data = (Path(__file__).resolve().parent.parent / "spec" / "vectors" / "genome.fa").read_bytes()
    expected = codec.compress(data, level=3)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        ok = False
        try:
            ok = codec.compress(data, level=3) == expected and codec.decompress(expected) == data
        finally:
            os.write(write_end, b"1" if ok else b"0")
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 1)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert answer == b"1" and os.waitstatus_to_exitcode(status) == 0


def _compare_encoder(make, seq: np.ndarray, lanes: int) -> None:
    """The encoder's fused block (one compiled call per block, each block of lanes predicting and
    learning in one pass) codes what step-by-step coding with the reference codes, over two blocks
    whose lanes retire one by one, and leaves the same state."""
    length = len(seq) // lanes
    steps = seq[:lanes * length].reshape(lanes, length).T.copy()
    counts = np.minimum(lanes, np.maximum(1, lanes - (np.arange(length) - length // 2)))
    results = []
    preds = [make(c) for c in (False, True)]
    for pred in preds:
        blocks = []
        for b in range(2):
            pred.start_block(np.full(lanes, length), _case(steps.shape, b))
            blocks.append(encode_block(pred, steps, counts))
        results.append(blocks)
    for (f_ref, s_ref), (f_fast, s_fast) in zip(*results):
        assert np.array_equal(f_ref, f_fast) and np.array_equal(s_ref, s_fast)
    for a, c in zip(_state(preds[0]), _state(preds[1]), strict=True):
        assert np.array_equal(a, c)


def test_compiled_encoder_block_equals_the_reference() -> None:
    _compare_encoder(lambda c: MixPredictor(FULL, 24, compiled=c), _sequence(24 * 300, 6), 24)


def test_compiled_decoder_block_equals_the_reference() -> None:
    """The decoder's fused block reads back what was coded, leaves the same predictor state as the
    step-by-step decoder, and reports a truncated body as the step-by-step decoder does."""
    from codec.coder import LaneDecoder, active_counts, encode as rans_encode
    from codec.engine import from_lanes, lane_lengths, to_lanes
    from formats.errors import CodecError

    bases = _sequence(20000, 7).astype(np.uint8)
    lens = lane_lengths(len(bases), 16)
    counts = active_counts(lens)
    steps = to_lanes(bases, lens)
    assert np.array_equal(from_lanes(steps, lens), bases)
    case = _case(steps.shape, 7)
    coder = MixPredictor(FULL, 16, compiled=False)
    coder.start_block(lens, case)
    body = rans_encode(*encode_block(coder, steps, counts), steps, lens)
    decoded = []
    for compiled in (False, True):
        pred = MixPredictor(FULL, 16, compiled=compiled)
        pred.start_block(lens, case)
        decoder = LaneDecoder(body, lens)
        out = np.zeros(steps.shape, dtype=np.uint8)
        if not (compiled and pred.decode_steps(decoder, counts, out)):
            for t, k in enumerate(counts.tolist()):
                out[t, :k] = sym = decoder.decode(pred.predict(k))
                pred.update(sym)
        decoder.finish()
        decoded.append((out, _state(pred)))
    assert np.array_equal(from_lanes(decoded[1][0], lens), bases)
    assert np.array_equal(decoded[0][0], decoded[1][0])
    for a, c in zip(decoded[0][1], decoded[1][1], strict=True):
        assert np.array_equal(a, c)
    pred = MixPredictor(FULL, 16, compiled=True)
    pred.start_block(lens, case)
    with pytest.raises(CodecError, match="truncated"):
        pred.decode_steps(LaneDecoder(body[:-4 * 50], lens), counts, np.zeros(steps.shape, dtype=np.uint8))

