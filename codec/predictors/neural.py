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
from codec.predictors import sequences_as_lanes
from formats.errors import CodecError

MAX_WINDOW = 32
MAX_POOL = 16
MAX_UNITS = 1024  # 1024 * 127 * 127 < 2**24: float32 dot products of int8 x int8-range are exact
MAX_LSTM_TERMS = 1040  # 4 F + H: the LSTM product [4 p, h] . w stays below 127 * 127 * 1040 < 2**24
MAX_CONV_BIAS = 1 << 23  # W * 32767 + |conv_bias| + 4 < 2**24
MAX_BIAS = 1 << 24  # other biases: every intermediate value fits int32 (spec/NEURAL.md)
CELL_LIMIT = (1 << 15) - 1  # c in units of 2**-12, |c| < 8

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
        if not (1 <= W <= MAX_WINDOW and 1 <= P <= MAX_POOL and all(1 <= n <= MAX_UNITS for n in (F, H, D))
                and 4 * F + H <= MAX_LSTM_TERMS):
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
            limit = MAX_CONV_BIAS if name == "conv_bias" else MAX_BIAS
            if name.endswith("_b") or name == "conv_bias":
                if a.size and int(np.abs(a.astype(np.int64)).max()) > limit:
                    raise CodecError(f"neural model: {name} beyond +-{limit}")
            a = a.copy()
            a.setflags(write=False)
            checked[name] = a
        return cls(W, F, P, H, D, checked)

    def parameter_count(self) -> int:
        return sum(a.size for a in self.weights.values())


class _Numpy:
    """Array operations of the numpy backend (the reference path): float32 products."""

    float = np.float32
    int = np.int32  # enough for every value (spec/NEURAL.md); torch uses int64, with equal results

    def const_f(self, a: np.ndarray):
        return np.ascontiguousarray(a, dtype=self.float)

    def const_i(self, a: np.ndarray):
        return np.ascontiguousarray(a, dtype=self.int)

    def zeros_f(self, shape: tuple[int, ...]):
        return np.zeros(shape, dtype=self.float)

    def zeros_i(self, shape: tuple[int, ...]):
        return np.zeros(shape, dtype=self.int)

    def to_int(self, x):
        return x.astype(self.int)

    def take(self, table, index):
        return table.take(index)

    def to_float(self, x):
        return x.astype(self.float)

    def floor(self, x):
        return np.floor(x)

    def clip(self, x, lo: int, hi: int):
        return np.clip(x, lo, hi)

    def max(self, x, axis: int):
        return x.max(axis=axis)

    def push(self, buf, k: int, value, width: int = 1) -> None:
        """Shift lanes 0..k-1 of ``buf`` right by ``width`` along axis 1 and put ``value`` first."""
        buf[:k, width:] = buf[:k, :-width]  # numpy copies overlapping slices correctly
        buf[:k, :width] = value.reshape(buf[:k, :width].shape)

    def to_numpy(self, x) -> np.ndarray:
        return x.astype(np.int64)

    def from_numpy(self, x: np.ndarray):
        return np.asarray(x, dtype=np.intp)


class _Torch(_Numpy):
    """Array operations of the torch backend: float32 products on CPU, float64 on GPU (never TF32)."""

    def __init__(self, device: str) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.float = torch.float64 if self.device.type != "cpu" else torch.float32
        self.int = torch.int64

    def const_f(self, a: np.ndarray):
        return self.torch.tensor(np.ascontiguousarray(a), device=self.device).to(self.float)

    def const_i(self, a: np.ndarray):
        return self.torch.tensor(np.ascontiguousarray(a), device=self.device).to(self.int)

    def zeros_f(self, shape: tuple[int, ...]):
        return self.torch.zeros(shape, dtype=self.float, device=self.device)

    def zeros_i(self, shape: tuple[int, ...]):
        return self.torch.zeros(shape, dtype=self.int, device=self.device)

    def to_int(self, x):
        return x.to(self.int)

    def take(self, table, index):
        return table[index]

    def to_float(self, x):
        return x.to(self.float)

    def floor(self, x):
        return self.torch.floor(x)

    def clip(self, x, lo: int, hi: int):
        return self.torch.clamp(x, lo, hi)

    def max(self, x, axis: int):
        return x.amax(dim=axis)

    def push(self, buf, k: int, value, width: int = 1) -> None:
        buf[:k, width:] = buf[:k, :-width].clone()
        buf[:k, :width] = value.reshape(buf[:k, :width].shape)

    def to_numpy(self, x) -> np.ndarray:
        return x.cpu().numpy()

    def from_numpy(self, x: np.ndarray):
        return self.torch.from_numpy(np.ascontiguousarray(x, dtype=np.int64)).to(self.device)


def _backend(name: str, device: str) -> _Numpy:
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
    their four scores e[s]; ``update(symbols)`` then feeds the true bases.

    Integer-valued activations that feed matrix products are kept as floats (exact: every value
    and partial sum is an integer below 2**24), the rest as int64.
    """

    def __init__(self, net: NeuralNet, lanes: int, backend: str = "numpy", device: str = "cpu") -> None:
        self.net = net
        self.lanes = lanes
        xp = self._xp = _backend(backend, device)
        W, F, P, H = net.window, net.filters, net.pool, net.hidden
        w = net.weights
        self._conv = xp.const_f(w["conv_table"].reshape(W * 4, F))  # one-hot column j*4 + s
        self._conv_b = xp.const_f(w["conv_bias"].astype(np.int64) + 4)  # + rounding of the >> 3
        # one product for the LSTM: [4 p, h] @ [lstm_wx; lstm_wh]^T
        self._wz = xp.const_f(np.concatenate([w["lstm_wx"].T, w["lstm_wh"].T]))
        self._b = xp.const_i(w["lstm_b"])
        self._wd = xp.const_f(w["dense_w"].T)
        self._bd = xp.const_i(w["dense_b"])
        self._wo = xp.const_f(w["out_w"].T)
        self._bo = xp.const_i(w["out_b"])
        # gate tables side by side: columns of g look up tanh, the others sigmoid
        self._gate_lut = xp.const_i(np.concatenate([sigmoid_table(), tanh_table()]))
        off = np.zeros(4 * H, dtype=np.int64)
        off[2 * H:3 * H] = len(sigmoid_table())
        self._gate_off = xp.const_i(off + GATE_LIMIT)
        self._tanh = xp.const_i(tanh_table())
        self._exp = xp.const_i(exp_table())
        self._eye = xp.const_f(np.eye(4))
        self._onehot = xp.zeros_f((lanes, W * 4))  # the last W bases; "none" is all zero
        self._pool = xp.zeros_f((lanes, P, F))
        self._x = xp.zeros_f((lanes, F + H))  # LSTM input [4 p, h]
        self._c = xp.zeros_i((lanes, H))
        self._k = 0

    def scores(self, k: int) -> np.ndarray:
        """(k, 4) int64 scores e[s] >= 1 of spec step 5, for lanes 0..k-1 (advances their state)."""
        xp = self._xp
        self._k = k
        F, H, lim = self.net.filters, self.net.hidden, GATE_LIMIT
        a0 = xp.clip(xp.floor((self._onehot[:k] @ self._conv + self._conv_b) * 0.125), 0, 127)
        xp.push(self._pool, k, a0)
        x = self._x
        x[:k, :F] = 4 * xp.max(self._pool[:k], 1)
        z = xp.to_int(x[:k] @ self._wz) + self._b
        gates = xp.take(self._gate_lut, xp.clip(_rshift(z, 6), -lim, lim) + self._gate_off)
        i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
        c = xp.clip(_rshift(f * self._c[:k], 15) + _rshift(i * g, 18), -CELL_LIMIT, CELL_LIMIT)
        self._c[:k] = c
        tc = xp.take(self._tanh, xp.clip(_rshift(c, 5), -lim, lim) + lim)
        h = xp.clip(_rshift(o * tc, 23), -127, 127)
        hf = xp.to_float(h)
        x[:k, F:] = hf
        d = xp.clip(_rshift(xp.to_int(hf @ self._wd) + self._bd, 8), 0, 127)
        y = xp.to_int(xp.to_float(d) @ self._wo) + self._bo
        dl = xp.clip(_rshift(xp.max(y, 1)[:, None] - y, 3), 0, EXP_SIZE - 1)
        return xp.to_numpy(xp.take(self._exp, dl) + 1)

    def update(self, symbols: np.ndarray) -> None:
        """Feed the true bases (values 0..3) of the lanes just predicted."""
        xp = self._xp
        xp.push(self._onehot, self._k, self._eye[xp.from_numpy(symbols)], width=4)


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

    def __init__(self, net: NeuralNet, lanes: int, backend: str = "numpy", device: str = "cpu") -> None:
        self.predictor = NeuralPredictor(net, lanes, backend, device)

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
        group = seqs[first:first + lanes]
        pred = NeuralPredictor(net, len(group), backend, device)
        steps, counts = sequences_as_lanes(group)
        for t, k in enumerate(counts.tolist()):
            sym = steps[t, :k]
            e = pred.scores(k)
            total += float(np.sum(np.log2(e.sum(1) / e[np.arange(k), sym])))
            pred.update(sym)
        bases += sum(len(s) for s in group)
    return total, bases

