"""``dnacodec train FASTA... --out MODEL``: train a model file (network + primed context models)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict

PROG = "dnacodec train"


def build_parser() -> argparse.ArgumentParser:
    from codec.training.neural import NetShape

    d = NetShape()
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Train a dnacodec model on FASTA files: a CNN+LSTM next-base network "
        "(quantisation-aware, exported as integers) mixed with context models primed on the "
        "training records. Deterministic for a given seed and device.",
        epilog="Use the model with: dnacodec --model MODEL FILE (add --embed-model to make archives "
        "that decode without the model file).")
    p.add_argument("fasta", nargs="+", metavar="FASTA", help="training FASTA files (records are genomes)")
    p.add_argument("-o", "--out", required=True, metavar="MODEL", help="model file to write")
    p.add_argument("--holdout", type=int, default=100, metavar="N",
                   help="records held out for validation, evenly spaced (default 100)")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--steps-per-epoch", type=int, default=None, metavar="N",
                   help="optimiser steps per epoch (default: one pass over the training bases)")
    p.add_argument("--batch", type=int, default=256, help="chunks per step (default 256)")
    p.add_argument("--chunk", type=int, default=128, help="bases per training chunk (default 128)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--base", default="cm-v1", metavar="NAME",
                   help="bundled model whose context models are primed: a context mix (cm-v1, the default) "
                        "gives a kind-2 model, a mix (mix-v1, ...) a kind-3 one")
    p.add_argument("--network-from", metavar="MODEL",
                   help="take the network of this model (name or file) instead of training one")
    p.add_argument("--prime-min-order", type=int, default=12, metavar="K",
                   help="ship the training set's counts of context models of order >= K (default 12)")
    p.add_argument("--network-weight", type=int, default=0, metavar="W",
                   help="initial mixer weight of the network (16.16 fixed point; default 0: learned)")
    for name in ("window", "filters", "pool", "hidden", "dense"):
        p.add_argument(f"--{name}", type=int, default=getattr(d, name))
    p.add_argument("--report", metavar="JSON", help="also write the training report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return p


def _write_atomically(path: str, data: bytes) -> None:
    """Write like the main command writes its outputs (temp file, fsync, rename; nothing partial)."""
    from codec.cli import _Output

    out = _Output(path, force=True, input_stat=None)
    try:
        out.write(data)
        out.finish(sync=True)
        out.commit(None)
    except BaseException:
        out.discard()
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dnacodec train``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        import torch
    except ImportError:
        print(f"{PROG}: training needs PyTorch (pip install 'dnacodec[torch]')", file=sys.stderr)
        return 1
    from codec import cli_signals
    from codec.cli import _Fail
    from codec.models import Model
    from codec.training.model import train_model
    from codec.training.neural import NetShape

    out = os.path.abspath(args.out)
    if not os.path.isdir(os.path.dirname(out)) or os.path.isdir(out):
        print(f"{PROG}: {args.out}: cannot write the model there", file=sys.stderr)
        return 1
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    shape = NetShape(args.window, args.filters, args.pool, args.hidden, args.dense)
    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    start = time.perf_counter()
    with cli_signals.handled():
        try:
            try:
                data, report = train_model(
                    args.fasta, holdout=args.holdout, shape=shape, epochs=args.epochs, seed=args.seed,
                    device=device, base=args.base, log=log, prime_min_order=args.prime_min_order,
                    network_weight=args.network_weight, network_from=args.network_from,
                    steps_per_epoch=args.steps_per_epoch, batch=args.batch, chunk=args.chunk,
                    progress=not args.quiet and sys.stderr.isatty())
            except (OSError, ValueError) as exc:
                print(f"{PROG}: {exc}", file=sys.stderr)
                return 1
            cli_signals.check()
            model = Model(os.path.basename(out), data)
            _write_atomically(out, data)
            if args.report:
                report_json = json.dumps(dict(asdict(report), shape=asdict(shape), device=device,
                                              seed=args.seed, fingerprint=model.fingerprint.hex(),
                                              bytes=len(data)), indent=1)
                _write_atomically(os.path.abspath(args.report), report_json.encode())
        except _Fail as exc:
            print(f"{PROG}: {exc.name}: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"{PROG}: {exc.filename or args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
        except cli_signals.Terminated as exc:
            return 128 + exc.signum
    if log:
        log(f"wrote {args.out}: {len(data):,} bytes, sha256 {model.fingerprint.hex()}, "
            f"{time.perf_counter() - start:.0f} s in all")
    return 0
