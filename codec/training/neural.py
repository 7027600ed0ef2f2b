"""Quantisation-aware training of the integer CNN+LSTM next-base predictor (spec/NEURAL.md).

The float model keeps its parameters in real units. Its fake-quantised forward pass rounds every
parameter to its integer grid and every activation the way the integer inference does (round_shift
is round-half-up, the tables are round-half-even), with straight-through gradients, so the loss
training minimises is (up to float32 ties and the EXP table) the code length of the exported
integer network. The float twin runs the same graph with unquantised parameters and no rounding
(the spec's range clamps stay: they are part of the function).

Training chunks start with zero LSTM state, like inference lanes; W + P - 1 bases before each chunk
feed the convolution and the pooling buffer, positions before a genome's start are "none".
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from codec.fixedpoint import GATE_LIMIT  # gate and tanh(c) inputs: n in -1023..1023, scale 2^-7
from codec.predictors.neural import (  # c: scale 2^-12
    CELL_LIMIT, MAX_BIAS, MAX_CONV_BIAS, MAX_LSTM_TERMS, MAX_POOL, MAX_UNITS, MAX_WINDOW, PARAMETERS,
)

NONE = 4  # code of a position before a genome's start (and of end padding)
LN2 = math.log(2.0)

# name -> (log2 of 1/scale, largest magnitude of the integer); int8 weights stop at 127.
QUANTISATION: dict[str, tuple[int, int]] = {
    "conv_table": (8, 32767),
    "conv_bias": (8, MAX_CONV_BIAS),
    "lstm_wx": (6, 127),
    "lstm_wh": (6, 127),
    "lstm_b": (13, MAX_BIAS),
    "dense_w": (6, 127),
    "dense_b": (13, MAX_BIAS),
    "out_w": (6, 127),
    "out_b": (11, MAX_BIAS),
}
DTYPES = {name: dtype for name, (dtype, _) in PARAMETERS.items()}  # of the integer arrays
VALID_BASES = 200_000  # validation sample size (bases)
VALID_CHUNK = 2048
VALID_SEED = 12345  # fixed, so validation numbers compare across training seeds


@dataclass(frozen=True)
class NetShape:
    """Network dimensions: window W, filters F, pool P, LSTM units H, dense units D."""

    window: int = 16
    filters: int = 16
    pool: int = 2
    hidden: int = 16
    dense: int = 16


@dataclass
class TrainedNet:
    """Result of :func:`train_net`: integer weights as in spec/NEURAL.md and validation bits/base."""

    shape: NetShape
    weights: dict[str, np.ndarray]
    float_bits: float
    qat_bits: float
    history: list[dict] = field(default_factory=list)


class _Round(torch.autograd.Function):
    """x rounded to the grid 1/scale (half up like round_shift, or half even like the tables);
    the gradient passes straight through."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float, half_even: bool) -> torch.Tensor:
        return (torch.round(x * scale) if half_even else torch.floor(x * scale + 0.5)) / scale

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None, None


def _quantise(w: torch.Tensor, name: str) -> torch.Tensor:
    """Integer value of a parameter (as float), exactly what export stores."""
    bits, limit = QUANTISATION[name]
    return torch.clamp(torch.round(w * (1 << bits)), -limit, limit)


class _Net(torch.nn.Module):
    """The float model; ``forward(codes, qat)`` returns the summed bits of a batch of chunks."""

    def __init__(self, shape: NetShape, gen: torch.Generator) -> None:
        super().__init__()
        W, Fn, H, D = shape.window, shape.filters, shape.hidden, shape.dense
        self.shape = shape

        def uniform(size: tuple[int, ...], a: float) -> torch.nn.Parameter:
            return torch.nn.Parameter((torch.rand(size, generator=gen) * 2 - 1) * min(a, 1.9))

        # conv sums W table rows (one per base): std 1/sqrt(W) gives a pre-activation of std ~1
        self.conv_table = torch.nn.Parameter(torch.randn((W, 4, Fn), generator=gen) / math.sqrt(W))
        self.conv_bias = torch.nn.Parameter(torch.rand((Fn,), generator=gen) * 0.5)
        self.lstm_wx = uniform((4 * H, Fn), 1 / math.sqrt(Fn))
        self.lstm_wh = uniform((4 * H, H), 1 / math.sqrt(H))
        b = torch.zeros(4 * H)
        b[H:2 * H] = 1.0  # forget gate open at the start
        self.lstm_b = torch.nn.Parameter(b)
        self.dense_w = uniform((D, H), math.sqrt(6 / H))
        self.dense_b = torch.nn.Parameter(torch.full((D,), 0.1))
        self.out_w = uniform((4, D), 1 / math.sqrt(D))
        self.out_b = torch.nn.Parameter(torch.zeros(4))

    @torch.no_grad()
    def clamp_(self) -> None:
        """Keep every parameter inside the range its integer can represent."""
        for name, p in self.named_parameters():
            bits, limit = QUANTISATION[name]
            p.clamp_(-limit / (1 << bits), limit / (1 << bits))

    def params(self, qat: bool) -> dict[str, torch.Tensor]:
        """Parameters in real units: fake-quantised (straight-through) or as they are."""
        out = {}
        for name, p in self.named_parameters():
            if qat:
                scale = float(1 << QUANTISATION[name][0])
                out[name] = p + (_quantise(p, name) / scale - p).detach()
            else:
                out[name] = p
        return out

    def forward(self, codes: torch.Tensor, qat: bool, block: int = 512) -> torch.Tensor:
        """Total bits of predicting ``codes[:, W+P-1:]`` (int64, NONE = absent / padding); each row
        holds W+P-1 bases of context before its chunk."""
        W, P, H = self.shape.window, self.shape.pool, self.shape.hidden
        q = self.params(qat)

        def rnd(x: torch.Tensor, scale: float, half_even: bool = False) -> torch.Tensor:
            return _Round.apply(x, scale, half_even) if qat else x

        # causal conv: output u uses positions u..u+W-1 and predicts position u+W, so the kernel
        # index k holds table row W-1-k (x[1] is the newest base)
        onehot = F.one_hot(codes[:, :-1], 5)[..., :4].transpose(1, 2).to(q["conv_table"].dtype)
        kernel = q["conv_table"].flip(0).permute(2, 1, 0)
        conv = F.conv1d(onehot, kernel) + q["conv_bias"][:, None]
        # steps before a genome's start do not exist: their pooling slots hold 0
        exists = (codes[:, W:] != NONE).unsqueeze(1)
        act = torch.clamp(rnd(conv, 32.0), 0.0, 127 / 32) * exists
        pooled = act.unfold(2, P, 1).amax(-1).transpose(1, 2)  # (B, L, F)
        targets = codes[:, W + P - 1:]

        B, L = targets.shape
        h = pooled.new_zeros((B, H))
        c = pooled.new_zeros((B, H))
        gate, cell = GATE_LIMIT / 128, CELL_LIMIT / 4096
        total = pooled.new_zeros(())
        for t0 in range(0, L, block):
            xz = pooled[:, t0:t0 + block] @ q["lstm_wx"].T + q["lstm_b"]
            hs = []
            for xt in xz.unbind(1):  # unbind: slicing would make backward quadratic in L
                n = torch.clamp(rnd(xt + h @ q["lstm_wh"].T, 128.0), -gate, gate)
                s = rnd(torch.sigmoid(n), 32768.0, True)
                g = rnd(torch.tanh(n[:, 2 * H:3 * H]), 32768.0, True)
                c = torch.clamp(rnd(s[:, H:2 * H] * c, 4096.0) + rnd(s[:, :H] * g, 4096.0), -cell, cell)
                tc = rnd(torch.tanh(torch.clamp(rnd(c, 128.0), -gate, gate)), 32768.0, True)
                h = torch.clamp(rnd(s[:, 3 * H:] * tc, 128.0), -127 / 128, 127 / 128)
                hs.append(h)
            hb = torch.stack(hs, 1)
            d = torch.clamp(rnd(hb @ q["dense_w"].T + q["dense_b"], 32.0), 0.0, 127 / 32)
            y = rnd(d @ q["out_w"].T + q["out_b"], 2048.0)
            tb = targets[:, t0:t0 + block]
            total = total + F.cross_entropy(y.reshape(-1, 4), tb.reshape(-1), ignore_index=NONE,
                                            reduction="sum")
        return total / LN2

    def export(self) -> dict[str, np.ndarray]:
        """Integer parameters with the spec's dtypes (the same rounding as the fake quantisation)."""
        with torch.no_grad():
            return {name: _quantise(p, name).cpu().numpy().astype(DTYPES[name])
                    for name, p in self.named_parameters()}

    @torch.no_grad()
    def load(self, weights: dict[str, np.ndarray]) -> None:
        """Set the parameters to the real values of integer weights."""
        for name, p in self.named_parameters():
            w = torch.from_numpy(np.asarray(weights[name], dtype=np.float64)) / (1 << QUANTISATION[name][0])
            p.copy_(w.reshape(p.shape))


class _Batcher:
    """Genomes padded in front with W+P-1 NONE codes, so a row is one slice."""

    def __init__(self, seqs: list[np.ndarray], context: int) -> None:
        for s in seqs:
            if len(s) and (int(np.max(s)) > 3 or int(np.min(s)) < 0):
                raise ValueError("sequences must hold symbols 0..3")
        self.context = context
        self.padded = [np.concatenate([np.full(context, NONE, np.int64), s.astype(np.int64)]) for s in seqs]
        self.lengths = np.array([len(s) for s in seqs], dtype=np.int64)

    def rows(self, segments: list[tuple[int, int, int]]) -> np.ndarray:
        """(genome, start, end) segments -> (n, context + longest) codes, padded with NONE."""
        width = self.context + max(e - s for _, s, e in segments)
        out = np.full((len(segments), width), NONE, np.int64)
        for r, (g, s, e) in enumerate(segments):
            out[r, :self.context + e - s] = self.padded[g][s:e + self.context]
        return out


def _valid_segments(lengths: np.ndarray, bases: int = VALID_BASES,
                    chunk: int = VALID_CHUNK) -> list[tuple[int, int, int]]:
    """Whole sequences when they total at most ``bases``, else a fixed sample of chunks."""
    if lengths.sum() <= bases:
        return [(g, 0, int(n)) for g, n in enumerate(lengths) if n]
    rng = np.random.default_rng(VALID_SEED)
    order = rng.permutation(len(lengths))
    out, total = [], 0
    while total < bases:
        for g in order:
            n = int(lengths[g])
            if total >= bases or n == 0:
                continue
            s = int(rng.integers(0, max(1, n - chunk + 1)))
            e = min(n, s + chunk)
            out.append((int(g), s, e))
            total += e - s
    return out


@torch.no_grad()
def _bits(model: _Net, batcher: _Batcher, segments: list[tuple[int, int, int]], qat: bool,
          device: torch.device, group: int = 32) -> float:
    """Bits/base of ``model`` over the segments."""
    total, count = 0.0, 0
    for i in range(0, len(segments), group):
        part = segments[i:i + group]
        codes = torch.from_numpy(batcher.rows(part)).to(device)
        total += float(model(codes, qat))
        count += sum(e - s for _, s, e in part)
    return total / max(count, 1)


def torch_sequence_bits(shape: NetShape, weights: dict[str, np.ndarray], seqs: list[np.ndarray], *,
                        qat: bool = True, device: str = "cpu") -> tuple[float, int]:
    """(total bits, bases) of the torch forward with integer ``weights`` over whole sequences from
    their start (none history, zero state): the fake-quantised twin of the integer
    ``codec.predictors.neural.sequence_bits``."""
    dev = torch.device(device)
    model = _Net(shape, torch.Generator().manual_seed(0)).to(dev)
    model.load(weights)
    batcher = _Batcher(seqs, shape.window + shape.pool - 1)
    segments = [(g, 0, len(s)) for g, s in enumerate(seqs) if len(s)]
    bases = sum(len(s) for s in seqs)
    with _deterministic(dev):
        return _bits(model, batcher, segments, qat, dev) * bases, bases


@contextmanager
def _deterministic(device: torch.device) -> Iterator[None]:
    """Deterministic algorithms, no TF32 (it would round the quantised values) and denormals
    flushed to zero (vanishing gradients and Adam moments turn them into a 10x slowdown on CPU);
    flushing is switched off again afterwards, since torch cannot report its previous state."""
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    saved = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.use_deterministic_algorithms(True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cuda.matmul.allow_tf32 = saved[2]
        torch.backends.cudnn.allow_tf32 = saved[3]
        torch.set_flush_denormal(False)


def train_net(train: list[np.ndarray], valid: list[np.ndarray], shape: NetShape = NetShape(), *,
              epochs: int = 10, seed: int = 0, device: str = "cpu", chunk: int = 128, batch: int = 256,
              steps_per_epoch: int | None = None, lr: float = 3e-3,
              log: Callable[[str], None] | None = print, progress: bool = False) -> TrainedNet:
    """Train the network with quantisation-aware training and export its integer weights.

    ``train``/``valid``: sequences of symbols 0..3, one per genome. Each step draws ``batch`` chunks
    of ``chunk`` bases at random offsets of random training genomes (numpy Generator seeded by
    ``seed``); ``steps_per_epoch`` defaults to one pass over the training bases. Adam with gradient
    clipping and a cosine learning-rate decay after a short warm-up. Validation bits/base (float
    twin and fake-quantised) are measured after every epoch on a fixed sample of ``valid``.
    The same inputs, seed and device give byte-identical weights.
    """
    if not (1 <= shape.window <= MAX_WINDOW and 1 <= shape.pool <= MAX_POOL
            and all(1 <= n <= MAX_UNITS for n in (shape.filters, shape.hidden, shape.dense))
            and 4 * shape.filters + shape.hidden <= MAX_LSTM_TERMS):
        raise ValueError(f"shape {shape} outside spec/NEURAL.md's ranges")
    dev = torch.device(device)
    context = shape.window + shape.pool - 1
    usable = [s for s in train if len(s) >= chunk]
    if not usable:
        raise ValueError(f"no training sequence holds {chunk} bases")
    trainb = _Batcher(usable, context)
    validb = _Batcher([s for s in valid if len(s)], context)
    vsegs = _valid_segments(validb.lengths) if len(validb.lengths) else []
    if steps_per_epoch is None:
        steps_per_epoch = max(1, int(trainb.lengths.sum()) // (batch * chunk))
    total_steps = max(1, epochs * steps_per_epoch)
    warmup = min(100, total_steps // 20)

    rng = np.random.default_rng(seed)
    with _deterministic(dev):
        model = _Net(shape, torch.Generator().manual_seed(seed)).to(dev)
        model.clamp_()
        opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=False)

        def validate() -> tuple[float, float]:
            if not vsegs:
                return float("nan"), float("nan")
            return _bits(model, validb, vsegs, False, dev), _bits(model, validb, vsegs, True, dev)

        history: list[dict] = []
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=total_steps, unit="step")
        step = 0
        vf = vq = float("nan")
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            bits_sum = 0.0
            for _ in range(steps_per_epoch):
                g = rng.integers(0, len(usable), batch)
                offs = rng.integers(0, trainb.lengths[g] - chunk + 1)
                rows = trainb.rows([(int(a), int(o), int(o) + chunk) for a, o in zip(g, offs)])
                codes = torch.from_numpy(rows).to(dev)
                frac = step / total_steps
                scale = min(1.0, (step + 1) / warmup) if warmup else 1.0
                for grp in opt.param_groups:
                    grp["lr"] = lr * scale * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
                loss = model(codes, True) / (batch * chunk)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                model.clamp_()
                bits_sum += loss.item()
                step += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(bits=f"{float(loss):.4f}")
            vf, vq = validate()
            seconds = time.perf_counter() - t0
            history.append({"epoch": epoch, "train_bits": bits_sum / steps_per_epoch,
                            "val_float_bits": vf, "val_qat_bits": vq, "seconds": seconds})
            if log is not None:
                log(f"epoch {epoch}: train {bits_sum / steps_per_epoch:.4f} bits/base, "
                    f"valid float {vf:.4f}, valid qat {vq:.4f}, {seconds:.1f} s")
        if bar is not None:
            bar.close()
        if not history:
            vf, vq = validate()
        weights = model.export()
    return TrainedNet(shape=shape, weights=weights, float_bits=vf, qat_bits=vq, history=history)
