"""``dnacodec train``: a tiny end-to-end training run makes a model file that compresses, decodes
(also embedded, and not at all without the model), and is byte-identical when run again."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import codec  # noqa: E402
from codec import cli, models  # noqa: E402
from formats.errors import CodecError  # noqa: E402

TINY = ["--window", "6", "--filters", "6", "--pool", "2", "--hidden", "6", "--dense", "6",
        "--epochs", "1", "--steps-per-epoch", "3", "--batch", "16", "--chunk", "64", "--holdout", "2", "--base", "cm-fast-v1", "-q",
        "--device", "cpu"]


def _genomes(path, n: int = 8, length: int = 3000) -> bytes:
    """A family of related 'genomes': one random sequence with a few point mutations each."""
    rng = np.random.default_rng(11)
    base = rng.integers(0, 4, length)
    out = []
    for i in range(n):
        g = base.copy()
        g[rng.integers(0, length, 20)] = rng.integers(0, 4, 20)
        seq = bytes(np.frombuffer(b"ACGT", np.uint8)[g])
        out.append(b">g%d\n" % i + b"\n".join(seq[j:j + 60] for j in range(0, len(seq), 60)) + b"\n")
    path.write_bytes(b"".join(out))
    return out[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("train")
    first = _genomes(d / "family.fa")
    out = d / "tiny.dnacm"
    assert cli.main(["train", str(d / "family.fa"), "--out", str(out), "--report", str(d / "r.json"), *TINY]) == 0
    return d, out, first


def test_train_writes_a_valid_deterministic_model(trained):
    d, out, _ = trained
    model = models.load_model_file(out)
    assert model.neural and model.parts.net.hidden == 6
    assert len(model.parts.primed[0]) > 0  # the context models were primed on the training records
    again = d / "again.dnacm"
    assert cli.main(["train", str(d / "family.fa"), "--out", str(again), *TINY]) == 0
    assert again.read_bytes() == out.read_bytes()
    other = d / "other.dnacm"
    assert cli.main(["train", str(d / "family.fa"), "--out", str(other), "--seed", "5", *TINY]) == 0
    assert other.read_bytes() != out.read_bytes()
    assert (d / "r.json").read_text().count("integer_bits") == 1


def test_trained_model_round_trips_and_embeds(trained, tmp_path):
    _, out, first = trained
    data = first * 3 + b">other\nNNNNACGTRYacgt\n"
    arc = codec.compress(data, model=str(out))
    assert codec.decompress(arc, model=str(out)) == data
    with pytest.raises(CodecError, match="not installed.*--model"):
        codec.decompress(arc)  # the model is neither bundled nor supplied
    embedded = codec.compress(data, model=str(out), embed_model=True)
    assert len(embedded) > len(arc)
    assert codec.decompress(embedded) == data  # no registry needed


def test_train_reports_bad_input(tmp_path, capsys):
    empty = tmp_path / "empty.fa"
    empty.write_bytes(b">only\nACGT\n")
    assert cli.main(["train", str(empty), "--out", str(tmp_path / "m"), *TINY]) == 1
    assert "dnacodec train:" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
    fa = tmp_path / "family.fa"
    _genomes(fa)
    assert cli.main(["train", str(fa), "--out", str(tmp_path / "missing" / "m"), *TINY]) == 1
    assert "cannot write the model" in capsys.readouterr().err


def test_train_a_mix_model_from_an_existing_network(trained, tmp_path):
    """--base with a mix model gives a kind-3 model; --network-from reuses a trained network."""
    from codec.predictors.mix import MixSpec

    d, tiny, first = trained
    out = tmp_path / "mix.dnacm"
    args = ["train", str(d / "family.fa"), "--out", str(out), "--base", "mix-fast-v1",
            "--network-from", str(tiny), "--holdout", "2", "-q", "--device", "cpu"]
    assert cli.main(args) == 0
    model = models.load_model_file(out)
    assert isinstance(model.spec, MixSpec) and model.parts.net is not None
    assert np.array_equal(model.parts.net.weights["out_w"], models.load_model_file(tiny).parts.net.weights["out_w"])
    assert len(model.parts.primed[0]) > 0
    data = first * 2
    arc = codec.compress(data, model=str(out))
    assert codec.decompress(arc, model=str(out)) == data
    assert len(arc) < len(codec.compress(data, model="mix-fast-v1"))  # the primed tables help
