"""Integer neural inference (spec/NEURAL.md): pinned tables, exactness, and bit-identical results for
every backend, lane count, lane batch, thread count and (when present) GPU."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from codec import models
from codec.fixedpoint import exp_table, sigmoid_table, tanh_table
from codec.predictors.neural import PARAMETERS, NeuralNet, NeuralPredictor, node_probabilities
from formats.errors import CodecError
from tests.conftest import child_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<i8").tobytes()).hexdigest()[:16]


def formula_net(W=8, F=12, P=3, H=10, D=9, salt=0) -> NeuralNet:
    """A network whose weights come from an integer formula (no RNG, so pinned hashes stay valid)."""
    weights = {}
    for n, (name, (dtype, shape_fn)) in enumerate(PARAMETERS.items()):
        shape = shape_fn(W, F, P, H, D)
        i = np.arange(int(np.prod(shape)), dtype=np.int64)
        mixed = ((i + 1 + salt) * 2654435761 + n * 40503) % 1000003
        span = 255 if dtype == np.int8 else 6001
        weights[name] = ((mixed % span) - span // 2).astype(dtype).reshape(shape)
    return NeuralNet.from_weights(dict(window=W, filters=F, pool=P, hidden=H, dense=D), weights)


def bases(n: int, seed: int = 1) -> np.ndarray:
    """Pseudo-random bases from an integer formula (stable across numpy versions)."""
    i = np.arange(n, dtype=np.int64) + seed * 1000
    return ((i * 2654435761 + (i * i) % 7919) >> 7) % 4


def run_lane0(net: NeuralNet, seq: np.ndarray, lanes: int, backend: str = "numpy") -> np.ndarray:
    """Scores of lane 0 for ``seq`` while ``lanes - 1`` other lanes run other random bases."""
    others = np.random.default_rng(7).integers(0, 4, (len(seq), lanes)).astype(np.int64)
    others[:, 0] = seq
    pred = NeuralPredictor(net, lanes, backend)
    out = np.empty((len(seq), 4), dtype=np.int64)
    for t in range(len(seq)):
        out[t] = pred.scores(lanes)[0]
        pred.update(others[t])
    return out


def test_tables_pinned():
    assert _sha(sigmoid_table()) == "fb3b2a78f9d40f6b"
    assert _sha(tanh_table()) == "143f4c18f9f38500"
    assert _sha(exp_table()) == "d4fed58ec38b4f52"
    assert sigmoid_table()[1023] == 16384 and tanh_table()[1023] == 0 and exp_table()[0] == 65536


def test_golden_scores():
    """Fixed network, fixed input -> fixed scores (any change to the arithmetic shows here)."""
    net = formula_net()
    scores = run_lane0(net, bases(300), 1)
    assert scores.min() >= 1
    assert _sha(scores) == GOLDEN_SCORES
    probs = node_probabilities(scores)
    assert probs.min() >= 1 and probs.max() <= 65535


GOLDEN_SCORES = "a3d812d4c8649b3f"


@pytest.mark.parametrize("lanes", [1, 64, 1024])
def test_lane_count_does_not_change_a_lane(lanes):
    net = formula_net()
    seq = bases(200)
    assert np.array_equal(run_lane0(net, seq, lanes), run_lane0(net, seq, 1))


def test_prefix_of_lanes_leaves_others_untouched():
    net = formula_net()
    seq = bases(120)
    pred = NeuralPredictor(net, 8)
    ref = run_lane0(net, seq, 1)
    for t in range(len(seq)):
        k = 8 if t % 3 else 1 + t % 5  # lane 0 is always active; others come and go
        got = pred.scores(k)[0]
        assert np.array_equal(got, ref[t])
        sym = np.random.default_rng(t).integers(0, 4, k)
        sym[0] = seq[t]
        pred.update(sym)


def test_torch_backend_matches_numpy():
    pytest.importorskip("torch")
    net = formula_net(W=16, F=32, P=4, H=32, D=32)
    seq = bases(150)
    assert np.array_equal(run_lane0(net, seq, 33, "torch"), run_lane0(net, seq, 33, "numpy"))


def test_extreme_weights_stay_exact():
    """The largest shapes with every weight and activation at its extreme: float32 products equal the
    exact integer products (the bound of spec/NEURAL.md)."""
    n = 1024
    w = np.full((n, n), 127, dtype=np.int64)
    w[::2] = -127
    x = np.full((5, n), 127, dtype=np.int64)
    x[1] = -127
    x[2, ::3] = -127
    exact = x @ w.T
    got = (x.astype(np.float32) @ w.T.astype(np.float32)).astype(np.int64)
    assert np.array_equal(got, exact)
    assert np.abs(exact).max() == n * 127 * 127 < 1 << 24


def extreme_net(sign: int) -> NeuralNet:
    """The largest activations the limits allow: weights at +-127, biases at their bounds."""
    W, F, P, H, D = 32, 200, 2, 240, 64  # 4F + H = 1040
    weights = {}
    for name, (dtype, shape_fn) in PARAMETERS.items():
        shape = shape_fn(W, F, P, H, D)
        if name == "conv_table":
            value = 32767
        elif name == "conv_bias":
            value = 1 << 23
        elif name.endswith("_b"):
            value = 1 << 24
        else:
            value = 127
        a = np.full(shape, value * sign, dtype=np.int64)
        if name in ("lstm_wh", "out_w"):
            a[1::2] *= -1  # mixed signs too
        weights[name] = a.astype(dtype)
    return NeuralNet.from_weights(dict(window=W, filters=F, pool=P, hidden=H, dense=D), weights)


@pytest.mark.parametrize("sign", [1, -1])
def test_extreme_network_int32_path_matches_int64(sign):
    """numpy runs in int32, torch in int64: equal scores at the limits prove no int32 overflow."""
    pytest.importorskip("torch")
    net = extreme_net(sign)
    seq = bases(40)
    assert np.array_equal(run_lane0(net, seq, 3, "numpy"), run_lane0(net, seq, 3, "torch"))


def test_rejects_bad_parameters():
    net = formula_net()
    shape = dict(window=net.window, filters=net.filters, pool=net.pool, hidden=net.hidden, dense=net.dense)
    bad = dict(net.weights)
    bad["lstm_wx"] = np.full_like(bad["lstm_wx"], -128)
    with pytest.raises(CodecError, match="-128"):
        NeuralNet.from_weights(shape, bad)
    with pytest.raises(CodecError, match="shape"):
        NeuralNet.from_weights(dict(shape, hidden=2000), net.weights)
    with pytest.raises(CodecError, match="shape"):  # 4F + H > 1040
        NeuralNet.from_weights(dict(shape, filters=250, hidden=41), net.weights)
    big = dict(net.weights)
    big["lstm_b"] = np.full_like(big["lstm_b"], (1 << 24) + 1)
    with pytest.raises(CodecError, match="lstm_b"):
        NeuralNet.from_weights(shape, big)
    wrong = dict(net.weights)
    wrong["out_b"] = wrong["out_b"].astype(np.int64)
    with pytest.raises(CodecError, match="out_b"):
        NeuralNet.from_weights(shape, wrong)


def neural_model(salt: int = 0) -> models.Model:
    """A small kind-2 model (formula network, cm-fast-v1 context models, a few primed rows)."""
    spec = models.BUNDLED["cm-fast-v1"].spec
    mixer = np.full((3, len(spec.models) + 2), 12000, dtype=np.int64)
    rows = np.array([5, 17, 1 << 20], dtype=np.int64)
    counts = np.array([0x01020304, 0x00000009, 0x40000000], dtype=np.uint32)
    data = models.encode_neural_mix(spec, formula_net(salt=salt), mixer, rows, counts)
    return models.Model("test-neural", data)


def test_model_file_round_trip_and_validation():
    model = neural_model()
    parts = model.parts
    assert parts.net is not None and parts.primed[0].tolist() == [5, 17, 1 << 20]
    again = models.Model("x", model.data).parts
    for name in PARAMETERS:
        assert np.array_equal(again.net.weights[name], parts.net.weights[name])
    # every truncation is rejected with CodecError
    for cut in (1, 10, 100, len(model.data) // 2, len(model.data) - 1):
        with pytest.raises(CodecError):
            models.Model("x", model.data[:cut]).parts


def _archive_sha(code: str, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_threads_do_not_change_the_archive(tmp_path):
    """The same model and input compressed with 1 and 2 BLAS/torch threads: identical archives."""
    code = textwrap.dedent("""
        import hashlib, numpy as np, torch, sys
        sys.path.insert(0, "tests")
        from test_neural import neural_model
        import codec
        torch.set_num_threads(int(__import__("os").environ["OMP_NUM_THREADS"]))
        data = b">x\\n" + bytes(np.random.default_rng(3).choice(list(b"ACGT"), 40000))
        for backend in ("numpy", "torch"):
            comp = codec.engine.Compressor(6, neural_model(), lanes=64, min_lane_bases=256,
                                           backend=backend)
            arc = comp.compress(data) + comp.flush()
            assert codec.decompress(arc, model=neural_model()) == data
            print(hashlib.sha256(arc).hexdigest(), end=" ")
    """)
    pytest.importorskip("torch")
    shas = {}
    for threads in ("1", "2"):
        env = child_env(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads)
        shas[threads] = _archive_sha(code, env).split()
    assert shas["1"] == shas["2"]
    assert shas["1"][0] == shas["1"][1]  # numpy and torch backends give the same archive


def test_cuda_matches_cpu():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    net = formula_net(W=16, F=32, P=4, H=32, D=32)
    seq = bases(100)
    pred_gpu = NeuralPredictor(net, 16, "torch", "cuda")
    ref = run_lane0(net, seq, 16)
    others = np.random.default_rng(7).integers(0, 4, (len(seq), 16)).astype(np.int64)
    others[:, 0] = seq
    for t in range(len(seq)):
        assert np.array_equal(pred_gpu.scores(16)[0], ref[t])
        pred_gpu.update(others[t])
