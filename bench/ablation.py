#!/usr/bin/env python3
"""Ablation of a trained (kind-2) model: what the network and the primed statistics each contribute.

    .venv/bin/python bench/ablation.py FILE... [--model deepdna-mito-v1] [--level 6]

Variants, all with the model's context models and the same lanes:
  full          the model as shipped (network + primed tables + trained initial mixer weights)
  no-network    primed tables and initial weights, the network's mixer input removed
  no-priming    network, but empty tables and default initial weights (learns from the file only)
  cm-only       neither: the plain adaptive context mix
Prints the sequence body's bits per base (8 * body bytes / bases) and the model's ideal code length.
Compression only (the variants are not archivable models); the shipped model's round trip is tested
elsewhere.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from codec import models  # noqa: E402
from codec.engine import Compressor  # noqa: E402
from codec.predictors.context_mix import ContextMixPredictor  # noqa: E402
from codec.predictors.neural import NeuralMixerInput  # noqa: E402


class Variant(models.Model):
    """A model whose predictor leaves out the network and/or the primed statistics."""

    def __init__(self, base: models.Model, network: bool, priming: bool) -> None:
        super().__init__(f"{base.name}:{'net' if network else ''}{'+prime' if priming else ''}", base.data)
        object.__setattr__(self, "_network", network)  # Model is a frozen dataclass
        object.__setattr__(self, "_priming", priming)

    def predictor(self, lanes: int, backend: str = "numpy", device: str = "cpu") -> ContextMixPredictor:
        p = self.parts
        extra = [NeuralMixerInput(p.net, lanes, backend, device)] if self._network else []
        if self._priming:
            init = p.mixer_init if self._network else p.mixer_init[:, :-1]
            return ContextMixPredictor(p.spec, lanes, extra, init, p.primed)
        n_in = len(p.spec.models) + 1 + len(extra)
        init = np.full((3, n_in), p.spec.weight_init, dtype=np.int64)
        init[:, len(p.spec.models)] = 0
        return ContextMixPredictor(p.spec, lanes, extra, init)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--model", default="deepdna-mito-v1")
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("--variants", default="full,no-network,no-priming,cm-only")
    args = ap.parse_args()
    base = models.resolve(args.model, args.level)
    if not base.neural:
        sys.exit(f"{args.model} has no network to ablate")
    variants = {"full": (True, True), "no-network": (False, True), "no-priming": (True, False),
                "cm-only": (False, False)}
    print(f"{'file':24} {'variant':12} {'bases':>9} {'body B':>9} {'body bpb':>9} {'ideal bpb':>9} {'MB/s':>6}")
    for path in args.files:
        data = path.read_bytes()
        for name in args.variants.split(","):
            model = Variant(base, *variants[name])
            t0 = time.perf_counter()
            comp = Compressor(args.level, model)
            comp.compress(data)
            comp.flush()
            seconds = time.perf_counter() - t0
            st = comp.stats
            n = max(st["bases"], 1)
            print(f"{path.name[:24]:24} {name:12} {st['bases']:>9} {st['body_bytes']:>9} "
                  f"{8 * st['body_bytes'] / n:9.4f} {st['ideal_body_bits'] / n:9.4f} "
                  f"{len(data) / seconds / 1e6:6.3f}", flush=True)


if __name__ == "__main__":
    main()
