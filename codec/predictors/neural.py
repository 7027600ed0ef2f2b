"""Integer CNN+LSTM next-base predictor (DeepDNA, streaming): exact inference as in spec/NEURAL.md.

One step per base per lane: convolution over the last W bases (a sum of W table rows, since the input
is one-hot) -> ReLU -> max-pooling over the last P steps -> one LSTM step -> dense ReLU -> 4 scores.
Every value is an integer; matrix products run in float32 (CPU) or float64 (GPU) on integer-valued
operands whose sums provably stay exact (see the spec), so numpy, torch, any thread count, any lane
count and any device give identical results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from codec.fixedpoint import EXP_SIZE, GATE_LIMIT, exp_table, sigmoid_table, stretch, tanh_table
from formats.errors import CodecError

MAX_WINDOW = 32
MAX_POOL = 16
MAX_UNITS = 1024  # 1024 * 127 * 127 < 2**24: float32 dot products of int8 x int8-range are exact
CELL_LIMIT = (1 << 18) - 1
NONE = 4  # history symbol before a lane's first base

# name -> (dtype, shape as a function of (W, F, P, H, D))
PARAMETERS: dict[str, tuple[type, object]] = {
    "conv_table": (np.int16, lambda W, F, P, H, D: (W, 4, F)),
    "conv_bias": (np.int32, lambda W, F, P, H, D: (F,)),
    "lstm_wx": (np.int8, lambda W, F, P, H, D: (4 * H, F)),
    "lstm_wh": (np.int8, lambda W, F, P, H, D: (4 * H, H)),
    "lstm_b": (np.int32, lambda W, F, P, H, D: (4 * H,)),
    "dense_w": (np.int8, lambda W, F, P, H, D: (D, H)),
    "dense_b": (np.int32, lambda W, F, P, H, D: (D,)),
    "out_w": (np.int8, lambda W, F, P, H, D: (4, D)),
    "out_b": (np.int32, lambda W, F, P, H, D: (4,)),
}


@dataclass(frozen=True, eq=False)
class NeuralNet:
    """Validated integer parameters of the network (immutable)."""

    window: int
    filters: int
    pool: int
    hidden: int
    dense: int
    weights: dict[str, np.ndarray] = field(repr=False)

    @classmethod
    def from_weights(cls, shape: object, weights: dict[str, np.ndarray]) -> NeuralNet:
        """Build from a shape (mapping or object with window/filters/pool/hidden/dense) and arrays."""
        get = shape.__getitem__ if isinstance(shape, dict) else lambda k: getattr(shape, k)
        dims = [int(get(k)) for k in ("window", "filters", "pool", "hidden", "dense")]
        W, F, P, H, D = dims
        if not (1 <= W <= MAX_WINDOW and 1 <= P <= MAX_POOL and all(1 <= n <= MAX_UNITS for n in (F, H, D))):
            raise CodecError(f"neural model: shape {dims} out of range")
        checked = {}
        for name, (dtype, shape_fn) in PARAMETERS.items():
            if name not in weights:
                raise CodecError(f"neural model: missing parameter {name}")
            a = np.asarray(weights[name])
            if a.shape != shape_fn(*dims) or a.dtype != np.dtype(dtype):
                raise CodecError(f"neural model: parameter {name} has shape {a.shape} {a.dtype}, "
                                 f"expected {shape_fn(*dims)} {np.dtype(dtype)}")
            if a.dtype == np.int8 and a.size and int(a.min()) < -127:
                raise CodecError(f"neural model: parameter {name} holds -128 (weights are -127..127)")
            a = a.copy()
            a.setflags(write=False)
            checked[name] = a
        return cls(W, F, P, H, D, checked)

    def parameter_count(self) -> int:
        return sum(a.size for a in self.weights.values())


class _Numpy:
    """Array operations of the numpy backend (the reference path)."""

    def __init__(self) -> None:
        self.int = np.int64

    def const(self, a: np.ndarray, dtype: object) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=dtype)

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape, dtype=np.int64)

    def matmul(self, x: np.ndarray, w_t: np.ndarray) -> np.ndarray:
        return (x.astype(np.float32) @ w_t).astype(np.int64)

    def clip(self, x, lo: int, hi: int):
        return np.clip(x, lo, hi)

    def max(self, x, axis: int):
        return x.max(axis=axis)

    def push(self, buf: np.ndarray, k: int, value) -> None:
        buf[:k, 1:] = buf[:k, :-1]  # numpy copies overlapping slices correctly
        buf[:k, 0] = value

    def to_numpy(self, x) -> np.ndarray:
        return x

    def from_numpy(self, x: np.ndarray):
        return x.astype(np.int64)


class _Torch:
    """Array operations of the torch backend: float32 products on CPU, float64 on GPU (never TF32)."""

    def __init__(self, device: str) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.int = torch.int64
        self.float = torch.float64 if self.device.type != "cpu" else torch.float32

    def const(self, a: np.ndarray, dtype: object):
        t = self.torch.tensor(np.ascontiguousarray(a), device=self.device)
        return t.to(self.float) if dtype == np.float32 else t.to(self.torch.int64)

    def zeros(self, shape: tuple[int, ...]):
        return self.torch.zeros(shape, dtype=self.torch.int64, device=self.device)

    def matmul(self, x, w_t):
        return (x.to(self.float) @ w_t).to(self.torch.int64)

    def clip(self, x, lo: int, hi: int):
        return self.torch.clamp(x, lo, hi)

    def max(self, x, axis: int):
        return x.amax(dim=axis)

    def push(self, buf, k: int, value) -> None:
        buf[:k, 1:] = buf[:k, :-1].clone()
        buf[:k, 0] = value

    def to_numpy(self, x) -> np.ndarray:
        return x.cpu().numpy()

    def from_numpy(self, x: np.ndarray):
        return self.torch.from_numpy(np.ascontiguousarray(x, dtype=np.int64)).to(self.device)


def _backend(name: str, device: str) -> _Numpy | _Torch:
    if name == "numpy":
        if device != "cpu":
            raise ValueError("the numpy backend runs on the CPU only")
        return _Numpy()
    if name == "torch":
        return _Torch(device)
    raise ValueError(f"unknown backend {name!r} (numpy or torch)")


def _rshift(v, s: int):
    """round_shift of the spec: (v + 2**(s-1)) >> s with a floor shift."""
    return (v + (1 << (s - 1))) >> s


class NeuralPredictor:
    """Lane-parallel integer inference. ``scores(k)`` advances lanes 0..k-1 by one step and returns
    their four scores e[s]; ``update(symbols)`` then feeds the true bases."""

    def __init__(self, net: NeuralNet, lanes: int, backend: str = "numpy", device: str = "cpu") -> None:
        self.net = net
        self.lanes = lanes
        xp = self._xp = _backend(backend, device)
        W, F, P, H = net.window, net.filters, net.pool, net.hidden
        w = net.weights
        # conv table with a zero row for "none": row j*5 + s
        table = np.zeros((W, 5, F), dtype=np.int64)
        table[:, :4] = w["conv_table"]
        self._conv = xp.const(table.reshape(W * 5, F), np.int64)
        self._conv_b = xp.const(w["conv_bias"], np.int64)
        self._offs = xp.const(np.arange(W) * 5, np.int64)
        self._wx = xp.const(w["lstm_wx"].T, np.float32)
        self._wh = xp.const(w["lstm_wh"].T, np.float32)
        self._b = xp.const(w["lstm_b"], np.int64)
        self._wd = xp.const(w["dense_w"].T, np.float32)
        self._bd = xp.const(w["dense_b"], np.int64)
        self._wo = xp.const(w["out_w"].T, np.float32)
        self._bo = xp.const(w["out_b"], np.int64)
        self._sig = xp.const(sigmoid_table(), np.int64)
        self._tanh = xp.const(tanh_table(), np.int64)
        self._exp = xp.const(exp_table(), np.int64)
        self._hist = xp.zeros((lanes, W)) + NONE
        self._pool = xp.zeros((lanes, P, F))
        self._h = xp.zeros((lanes, H))
        self._c = xp.zeros((lanes, H))
        self._k = 0

    def scores(self, k: int) -> np.ndarray:
        """(k, 4) int64 scores e[s] >= 1 of spec step 5, for lanes 0..k-1 (advances their state)."""
        xp = self._xp
        self._k = k
        H, lim = self.net.hidden, GATE_LIMIT
        conv = self._conv[self._hist[:k] + self._offs].sum(1) + self._conv_b
        a0 = xp.clip(_rshift(conv, 3), 0, 127)
        xp.push(self._pool, k, a0)
        p = xp.max(self._pool[:k], 1)
        z = 4 * xp.matmul(p, self._wx) + xp.matmul(self._h[:k], self._wh) + self._b
        n = xp.clip(_rshift(z, 6), -lim, lim) + lim
        i = self._sig[n[:, :H]]
        f = self._sig[n[:, H:2 * H]]
        g = self._tanh[n[:, 2 * H:3 * H]]
        o = self._sig[n[:, 3 * H:]]
        c = xp.clip(_rshift(f * self._c[:k] + i * g, 15), -CELL_LIMIT, CELL_LIMIT)
        tc = self._tanh[xp.clip(_rshift(c, 8), -lim, lim) + lim]
        h = xp.clip(_rshift(o * tc, 23), -127, 127)
        self._c[:k] = c
        self._h[:k] = h
        d = xp.clip(_rshift(xp.matmul(h, self._wd) + self._bd, 8), 0, 127)
        y = xp.matmul(d, self._wo) + self._bo
        dl = xp.clip(_rshift(xp.max(y, 1)[:, None] - y, 3), 0, EXP_SIZE - 1)
        return xp.to_numpy(self._exp[dl] + 1)

    def update(self, symbols: np.ndarray) -> None:
        """Feed the true bases (values 0..3) of the lanes just predicted."""
        self._xp.push(self._hist, self._k, self._xp.from_numpy(symbols))


def node_probabilities(e: np.ndarray) -> np.ndarray:
    """(k, 4) scores -> (k, 3) 16-bit node probabilities P(bit=1): hi = G or T, lo0 = C given A/C,
    lo1 = T given G/T (spec step 6)."""
    out = np.empty((len(e), 3), dtype=np.int64)
    out[:, 0] = ((e[:, 2] + e[:, 3]) << 16) // e.sum(1)
    out[:, 1] = (e[:, 1] << 16) // (e[:, 0] + e[:, 1])
    out[:, 2] = (e[:, 3] << 16) // (e[:, 2] + e[:, 3])
    return np.clip(out, 1, (1 << 16) - 1, out=out)


class NeuralMixerInput:
    """The network as an input of the context mixer: stretched node probabilities (spec step 6)."""

    def __init__(self, predictor: NeuralPredictor) -> None:
        self.predictor = predictor

    def stretches(self, k: int) -> np.ndarray:
        return stretch(node_probabilities(self.predictor.scores(k)))

    def update(self, symbols: np.ndarray) -> None:
        self.predictor.update(symbols)


def sequence_bits(net: NeuralNet, seqs: list[np.ndarray], lanes: int = 256, backend: str = "numpy",
                  device: str = "cpu") -> tuple[float, int]:
    """(total bits, bases) of the network alone, -log2(e[s] / sum(e)), over ``seqs`` (one lane each,
    ``lanes`` at a time). For evaluation and training reports, not for coding."""
    total, bases = 0.0, 0
    for first in range(0, len(seqs), lanes):
        group = sorted(seqs[first:first + lanes], key=len, reverse=True)
        pred = NeuralPredictor(net, len(group), backend, device)
        lens = np.array([len(s) for s in group])
        steps = np.zeros((int(lens.max(initial=0)), len(group)), dtype=np.int64)
        for j, s in enumerate(group):
            steps[:len(s), j] = s
        counts = (lens[None, :] > np.arange(len(steps))[:, None]).sum(1)
        for t, k in enumerate(counts.tolist()):
            sym = steps[t, :k]
            e = pred.scores(k)
            total += float(np.sum(np.log2(e.sum(1) / e[np.arange(k), sym])))
            pred.update(sym)
        bases += int(lens.sum())
    return total, bases

