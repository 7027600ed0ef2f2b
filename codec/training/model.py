"""Train a whole model file: the network, then the adaptive models primed on the training set.

``train_model`` reads FASTA files, holds out a validation split, trains the CNN+LSTM with
quantisation-aware training (:mod:`codec.training.neural`), then runs the complete integer predictor
(context models + network + mixer) over the training genomes, one lane each. The count-table entries
it filled and the lanes' mean mixer weights become the model's primed statistics, so a new genome
starts from what the training set taught. Everything is deterministic given the seed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from codec import allocator
from codec.models import BUNDLED, encode_mix, encode_neural_mix, resolve
from codec.predictors import sequences_as_lanes, small_matrix_threads
from codec.predictors.context_mix import ContextMixPredictor, ContextMixSpec
from codec.predictors.mix import MixPredictor, MixSpec
from codec.predictors.neural import NeuralMixerInput, NeuralNet, sequence_bits
from codec.training.data import holdout_split, read_records
from codec.training.neural import NetShape, train_net


@dataclass
class TrainReport:
    """What training measured (bits per base on the held-out validation records)."""

    train_records: int
    valid_records: int
    valid_bases: int
    float_bits: float           # float twin of the network
    qat_bits: float             # fake-quantised network (training's view)
    integer_bits: float         # the integer network, exactly as the codec runs it
    primed_entries: int
    seconds: dict[str, float] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)


def default_mixer_init(spec: ContextMixSpec, network_weight: int) -> np.ndarray:
    """Initial mixer weights: the spec's weight for every context model, 0 for the bias, and
    ``network_weight`` for the network's input."""
    init = np.full((3, len(spec.models) + 2), spec.weight_init, dtype=np.int64)
    init[:, len(spec.models)] = 0
    init[:, -1] = network_weight
    return init


def prime(spec: ContextMixSpec | MixSpec, net: NeuralNet, seqs: Sequence[np.ndarray], min_order: int = 12,
          network_weight: int = 0, progress: Callable[[int], None] | None = None,
          ) -> tuple[np.ndarray, np.ndarray]:
    """Run the predictor over ``seqs`` (one lane each) and return the count-table rows of context
    models of order >= ``min_order`` that it filled, with their packed counts. Long contexts from
    the training set almost never occur by chance in unrelated genomes, so they cannot mislead the
    codec there; short ones would (measured: priming every order costs 1.3% on E. coli)."""
    steps, counts = sequences_as_lanes(seqs)
    extra = [NeuralMixerInput(net, len(seqs))]
    if isinstance(spec, MixSpec):
        pred = MixPredictor(spec, len(seqs), extra)
        context = spec.context
    else:
        pred = ContextMixPredictor(spec, len(seqs), extra, default_mixer_init(spec, network_weight))
        context = spec.models
    pred.start_block(np.sort([len(s) for s in seqs])[::-1])
    allocator.tune()
    with small_matrix_threads():
        for t, k in enumerate(counts.tolist()):
            pred.predict(k)
            pred.update(steps[t, :k])
            if progress is not None and t % 1024 == 0:
                progress(t)
    rows, packed = pred.table_entries()
    owner = np.searchsorted(spec.table_offsets(), rows, side="right") - 1
    keep = np.array([m.order >= min_order for m in context])[owner]
    return rows[keep], packed[keep]


def train_model(paths: Sequence[str | os.PathLike], *, holdout: int = 100, shape: NetShape = NetShape(),
                epochs: int = 10, seed: int = 0, device: str = "cpu", base: str = "cm-v1",
                prime_min_order: int = 12, network_weight: int = 0, network_from: str | None = None,
                log: Callable[[str], None] | None = print, **net_options) -> tuple[bytes, TrainReport]:
    """Train a model on the records of ``paths``; returns its canonical bytes and a report. The model
    is kind 2 for a context-mix ``base`` and kind 3 for a mix ``base``; ``network_from`` takes the
    network of that model instead of training one."""
    say = log or (lambda _msg: None)
    records = [r for p in paths for r in read_records(p)]
    train, valid = holdout_split(records, holdout)
    if not train or not valid:
        raise ValueError(f"need training and validation records (got {len(train)} and {len(valid)}); "
                         "pass more FASTA records or a different --holdout")
    say(f"{len(train)} training records ({sum(map(len, train)):,} bases), "
        f"{len(valid)} held out ({sum(map(len, valid)):,} bases)")
    seconds = {}
    t0 = time.perf_counter()
    if network_from is None:
        trained = train_net(train, valid, shape, epochs=epochs, seed=seed, device=device, log=log, **net_options)
        net = NeuralNet.from_weights(trained.shape, trained.weights)
        float_bits, qat_bits, history = trained.float_bits, trained.qat_bits, trained.history
    else:
        net = resolve(network_from, 6).parts.net
        if net is None:
            raise ValueError(f"model {network_from!r} has no network")
        float_bits = qat_bits = float("nan")
        history = []
    seconds["network"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    with small_matrix_threads():
        bits, bases = sequence_bits(net, valid)
    seconds["integer validation"] = time.perf_counter() - t0
    say(f"validation bits/base: float {float_bits:.4f}, fake-quantised {qat_bits:.4f}, "
        f"integer {bits / bases:.4f}")

    t0 = time.perf_counter()
    spec = BUNDLED[base].spec
    rows, counts = prime(spec, net, train, prime_min_order, network_weight)
    seconds["priming"] = time.perf_counter() - t0
    say(f"primed {len(rows):,} table entries in {seconds['priming']:.0f} s")
    if isinstance(spec, MixSpec):
        data = encode_mix(spec, net, (rows, counts))
    else:
        data = encode_neural_mix(spec, net, default_mixer_init(spec, network_weight), rows, counts)
    report = TrainReport(len(train), len(valid), bases, float_bits, qat_bits, bits / bases,
                         len(rows), seconds, history)
    return data, report
