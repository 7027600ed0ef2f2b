#!/usr/bin/env python3
"""Ablation of a mix model (kinds 3-7): what each model class and mixing stage contributes.

    .venv/bin/python bench/mix_ablation.py FILE... [--model NAME] [--level 6] [--variant NAME]...

Each variant is a real model derived from ``--model`` (default: the default level's; its archives decode
like any other):
  full            the model as shipped
  no-repeat       without the repeat models (and the repeat voters, which read their buffer, and the
                  residual mixer's repeat context)
  no-voters       without the repeat voters (for models that have them)
  no-stcm         without the substitution-tolerant context models
  no-sse          without the SSE stage
  no-local        without the per-lane local models (kind 5)
  no-residual     without the residual mixer (kind 5)
  no-codon        without the codon models (kind 6)
  no-periodic     without the local models that keep one table per codon position (kind 6)
  no-competition  without the competitively selected shared mixer (the lane mixer alone)
  no-case         without the case context (kind 7; removing a stage also removes its case flag)
  no-network      without the model's network (for models that have one)
  no-priming      without the model's primed table entries (for models that have them)
  +network        with the network of deepdna-mito-v1 as one more mixer input
  no-ir:ORDERS    the context models of those orders (e.g. no-ir:12,20) without their inverted repeats
Prints, per file and variant, the body's bits per base (8 * body bytes / ACGT bases, from a real
compression at the level's lane length) and the compression speed, then the mean over the files.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from codec import models  # noqa: E402
from codec.engine import Compressor  # noqa: E402
from codec.predictors.mixer import CASE_RESIDUAL, CASE_SHARED, CASE_SSE, RESIDUAL_REPEAT  # noqa: E402

VARIANTS = ("full", "no-repeat", "no-voters", "no-stcm", "no-sse", "no-local", "no-residual", "no-codon",
            "no-periodic", "no-competition", "no-case", "no-network", "no-priming", "+network")


def no_ir_orders(name: str) -> frozenset[int] | None:
    """The orders of a ``no-ir:ORDERS`` variant (a comma-separated list); None for any other name."""
    orders = name.removeprefix("no-ir:").split(",")
    if name.startswith("no-ir:") and all(o.isdigit() for o in orders):
        return frozenset(map(int, orders))
    return None


def variant(base: models.Model, name: str) -> models.Model:
    spec = base.spec
    net = base.parts.net
    primed = base.parts.primed
    if name == "no-network":
        net = None
    elif name == "no-priming":
        primed = None
    elif name == "no-repeat":
        spec = dataclasses.replace(spec, repeat=None, votes=None,
                                   residual_context=spec.residual_context & ~RESIDUAL_REPEAT)
    elif name == "no-voters":
        spec = dataclasses.replace(spec, votes=None)
    elif name == "no-stcm":
        spec = dataclasses.replace(spec, tolerant=())
    elif name == "no-sse":
        spec = dataclasses.replace(spec, sse_order=0, case_context=spec.case_context & ~CASE_SSE)
    elif name == "no-local":
        spec = dataclasses.replace(spec, local=())
    elif name == "no-residual":
        spec = dataclasses.replace(spec, residual_rate=0, case_context=spec.case_context & ~CASE_RESIDUAL,
                                   residual_context=0)
    elif name == "no-codon":
        spec = dataclasses.replace(spec, codon=None)
    elif name == "no-periodic":
        spec = dataclasses.replace(spec, local=tuple(m for m in spec.local if m.period == 1))
    elif name == "no-competition":
        spec = dataclasses.replace(spec, competition=False, case_context=spec.case_context & ~CASE_SHARED)
    elif name == "no-case":
        spec = dataclasses.replace(spec, case_context=0)
    elif (orders := no_ir_orders(name)) is not None:
        spec = dataclasses.replace(spec, context=tuple(
            dataclasses.replace(m, ir=False) if m.order in orders else m for m in spec.context))
    elif name == "+network":
        net = models.BUNDLED["deepdna-mito-v1"].parts.net
    return models.Model(f"{base.name}:{name}", models.encode_mix(spec, net, primed))


def variant_name(name: str) -> str:
    """``name`` if it is one of VARIANTS or a ``no-ir:ORDERS`` variant."""
    if name not in VARIANTS and no_ir_orders(name) is None:
        raise argparse.ArgumentTypeError(f"unknown variant {name!r}: one of {', '.join(VARIANTS)} or no-ir:ORDERS")
    return name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--model", help="the model to ablate (default: the level's)")
    ap.add_argument("--level", type=int, default=6, help="its lane length, and its model without --model")
    ap.add_argument("--variant", action="append", type=variant_name)
    args = ap.parse_args()
    base = models.resolve(args.model, args.level)
    print(f"{'file':28} {'variant':16} {'bases':>10} {'body bpb':>8} {'comp MB/s':>9}")
    default = [v for v in VARIANTS if not (v == "no-network" and base.parts.net is None)
               and not (v == "no-priming" and not len(base.parts.primed[0]))
               and not (v == "no-voters" and base.spec.votes is None)
               and not (v == "no-local" and not base.spec.local)
               and not (v == "no-residual" and not base.spec.residual_rate)
               and not (v == "no-codon" and base.spec.codon is None)
               and not (v == "no-periodic" and all(m.period == 1 for m in base.spec.local))
               and not (v == "+network" and base.parts.net is not None)]
    for name in args.variant or default:
        model = variant(base, name)
        bits = bases = 0
        for path in args.files:
            data = path.read_bytes()
            t0 = time.perf_counter()
            comp = Compressor(args.level, model)
            comp.compress(data)
            comp.flush()
            seconds = time.perf_counter() - t0
            n = comp.stats["bases"]
            bpb = 8 * comp.stats["body_bytes"] / max(n, 1)
            bits += 8 * comp.stats["body_bytes"]
            bases += n
            print(f"{path.name[:28]:28} {name:16} {n:>10} {bpb:8.4f} {len(data) / seconds / 1e6:9.3f}", flush=True)
        print(f"{'(all files)':28} {name:16} {bases:>10} {bits / max(bases, 1):8.4f}", flush=True)


if __name__ == "__main__":
    main()
