"""Sized model variants (``NAME@bits``, codec.models.sized): a small input gets its level's model with
smaller tables, the archive names the variant, and any decoder derives it from the name."""

from __future__ import annotations

import io
import random

import pytest

from codec import api, cli, engine, models
from codec.predictors.mix import MixSpec
from formats.errors import CodecError

_RNG = random.Random(11)
SEQ = "".join(_RNG.choice("ACGT") for _ in range(3000))
# repeats (direct and reverse-complement) so the repeat models and voters have work to do
DATA = (">s\n" + SEQ + SEQ[500:1500] + SEQ[1000:2000][::-1].translate(str.maketrans("ACGT", "TGCA")) + "\n").encode()


def _tables(spec) -> list[int]:
    """Rows of every table a spec allocates (context tables, repeat index and ring, voter positions)."""
    rows = [m.rows() for m in (spec.context if isinstance(spec, MixSpec) else spec.models)]
    if isinstance(spec, MixSpec) and spec.repeat is not None:
        rows += [1 << spec.repeat.index_bits, 1 << spec.repeat.history_bits]
    if isinstance(spec, MixSpec) and spec.votes is not None:
        rows.append(spec.votes.bucket << spec.votes.index_bits)
    return rows


def _model_name(archive: bytes) -> str:
    return engine.inspect(io.BytesIO(archive))["model"]["name"]


def test_sized_bits_leave_every_table_far_larger_than_the_input() -> None:
    assert models.sized_bits(0) == models.sized_bits(1) == models.MIN_SIZED_BITS
    for size in (1000, 48_502, 230_218, 1 << 20, 5_000_000):
        assert 1 << models.sized_bits(size) >= size << models.SIZED_SLACK_BITS


@pytest.mark.parametrize("level", [1, 2, 3, 5, 6, 7, 8, 9])
def test_every_level_model_has_a_smaller_variant_for_a_small_input(level: int) -> None:
    base = models.resolve(None, level)
    small = models.sized(base, 1_000)
    bits = models.sized_bits(1_000)
    assert small.name == f"{base.name}@{bits}" and small.memory_bytes() < base.memory_bytes() // 3
    assert max(_tables(small.spec)) <= 1 << bits
    # everything but the tables is the level's model
    assert len(_tables(small.spec)) == len(_tables(base.spec))
    if isinstance(base.spec, MixSpec):
        assert small.spec.mixer_rate == base.spec.mixer_rate and small.spec.codon == base.spec.codon
    # the name alone gives a decoder the same model
    assert models.for_archive(small.name, small.fingerprint, b"").data == small.data
    assert models.resolve(small.name, level).data == small.data


def test_large_or_unknown_inputs_and_other_models_are_not_sized(tmp_path) -> None:
    base = models.resolve(None, 9)
    assert models.sized(base, None) is base
    assert models.sized(base, 1 << 30) is base
    assert models.sized(models.resolve(None, 6), 5_000_000) is models.resolve(None, 6)  # tables fit already
    primed = models.BUNDLED["mix-mito-v1"]  # a network and primed rows: its tables are its training
    assert models.sized(primed, 100) is primed
    path = tmp_path / "own.dnacm"
    path.write_bytes(models.BUNDLED["cm-v1"].data)
    own = models.load_model_file(path)
    assert models.sized(own, 100) is own


@pytest.mark.parametrize("level", [6, 7, 8, 9])
def test_every_sized_model_is_one_a_decoder_derives_from_its_name(level: int) -> None:
    """Levels 6-9's ring buffers (2^28-2^29 bases) exceed the largest B a name may carry (26): an
    input whose B is larger keeps the full model instead of a variant no decoder would know."""
    base = models.resolve(None, level)
    assert base.spec.repeat.history_bits > models.MAX_SIZED_BITS
    for size in (1_000, 300_000, 2_000_000, 3_000_000, 40_000_000):
        model = models.sized(base, size)
        assert model is base or models.named(model.name).data == model.data
    assert models.sized_bits(3_000_000) == 27 and models.sized(base, 3_000_000) is base
    variant = models.sized(base, 2_000_000)  # B = 26: the ring buffer is still capped
    assert variant.name == f"{base.name}@26" and variant.spec.repeat.history_bits == 26


def test_compress_sizes_the_level_model_and_the_archive_decodes() -> None:
    for level in (1, 6, 9):
        archive = api.compress(DATA, level=level)
        assert _model_name(archive) == f"{models.resolve(None, level).name}@{models.sized_bits(len(DATA))}"
        assert api.decompress(archive) == DATA
    # an explicit model is used as it is, and a compressor without a size hint uses the full tables
    assert _model_name(api.compress(DATA, level=9, model="mix-max-v7")) == "mix-max-v7"
    c = engine.Compressor(9)
    assert _model_name(c.compress(DATA) + c.flush()) == models.LEVEL_MODELS[9]


def test_sizing_costs_almost_nothing_on_a_small_input() -> None:
    c = engine.Compressor(6)
    full = len(c.compress(DATA) + c.flush())
    sized = len(api.compress(DATA, level=6))
    assert abs(sized - full) <= 8  # the name's "@bits" in the header, and a few hash collisions


def test_a_wrong_size_hint_costs_only_compression() -> None:
    big = DATA * 30  # 30 times the hint: the ring buffer wraps, hashed rows collide
    c = engine.Compressor(9, size_hint=len(DATA), lanes=4, min_lane_bases=4096)
    archive = c.compress(big) + c.flush()
    assert _model_name(archive).startswith(models.LEVEL_MODELS[9] + "@")
    assert engine.inspect(io.BytesIO(archive))["blocks"] == 1  # blocks of at least 1 MiB
    assert api.decompress(archive) == big
    with pytest.raises(ValueError, match="size_hint"):
        engine.Compressor(6, size_hint=-1)


def test_memlimit_applies_to_the_sized_model() -> None:
    full = engine.memory_needed(models.resolve(None, 9))
    with pytest.raises(engine.MemoryLimitError):
        engine.Compressor(9, memlimit=full // 2)
    archive = api.compress(DATA, level=9, memlimit=full // 2)
    assert api.decompress(archive, memlimit=full // 2) == DATA
    assert engine.inspect(io.BytesIO(archive))["memory_bytes"] < full // 2


@pytest.mark.parametrize("name", ["mix-max-v7@99", "mix-max-v7@15", "mix-max-v7@x", "mix-max-v7@\u00b2",
                                  "mix-mito-v1@20", "nosuch@20", "mix-max-v7@"])
def test_names_that_are_no_sized_variant_are_unknown_models(name: str) -> None:
    with pytest.raises(CodecError, match="not installed"):
        models.for_archive(name, bytes(32), b"")
    with pytest.raises(CodecError, match="unknown model"):
        models.resolve(name, 6)


def test_a_sized_name_never_overrides_the_fingerprint() -> None:
    with pytest.raises(CodecError, match="not installed"):
        models.for_archive("mix-max-v7@20", models.BUNDLED["mix-max-v7"].fingerprint[::-1], b"")
    # the full model under a sized name is still found by its fingerprint
    full = models.BUNDLED["mix-max-v7"]
    assert models.for_archive("mix-max-v7@20", full.fingerprint, b"") is full


def test_cli_sizes_regular_files_and_hinted_standard_input(tmp_path, monkeypatch, capsysbinary) -> None:
    path = tmp_path / "s.fa"
    path.write_bytes(DATA)
    sized_name = f"{models.DEFAULT_MODEL}@{models.sized_bits(len(DATA))}"
    assert cli.main(["-c", str(path)]) == 0
    assert _model_name(capsysbinary.readouterr().out) == sized_name
    # standard input redirected from a regular file has a size too
    with open(path, "rb") as f:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(f))
        assert cli.main(["-c"]) == 0
    assert _model_name(capsysbinary.readouterr().out) == sized_name
    # a pipe has none, unless --size-hint gives one
    for argv, name in ((["-c"], models.DEFAULT_MODEL), (["-c", "--size-hint", "5k"], sized_name)):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(DATA)))
        assert cli.main(argv) == 0
        archive = capsysbinary.readouterr().out
        assert _model_name(archive) == name and api.decompress(archive) == DATA


@pytest.mark.parametrize("text, expected", [("0", 0), ("5k", 5 << 10), ("2MiB", 2 << 20), ("1000", 1000)])
def test_size_hint_syntax(text: str, expected: int) -> None:
    assert cli._byte_count(text) == expected


def test_bad_size_hint_is_a_usage_error(capsys) -> None:
    assert cli.main(["--size-hint", "lots", "-c", "x"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--size-hint" in err and "invalid size" in err


def test_memlimit_between_the_sized_and_the_full_model_is_checked_per_file(tmp_path, monkeypatch, capsys) -> None:
    small = tmp_path / "small.fa"
    small.write_bytes(DATA)
    limit = engine.memory_needed(models.resolve(None, 9)) // 2
    assert cli.main(["-9", "-k", "-M", str(limit), str(small)]) == 0
    assert api.decompress(small.with_name("small.fa.dnac").read_bytes()) == DATA
    # a pipe of unknown size gets the full model, which does not fit: one line, no output
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(DATA)))
    assert cli.main(["-9", "-M", str(limit), "-o", str(tmp_path / "p.dnac"), "-"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "more than the limit" in err
    assert not (tmp_path / "p.dnac").exists()


def test_exactly_the_bundled_models_without_network_or_primed_rows_have_sized_variants() -> None:
    """spec/FORMAT.md "Sized variants" defines them by that property."""
    for name in models.BUNDLED:
        parts = models.BUNDLED[name].parts
        plain = parts.net is None and (parts.primed is None or not len(parts.primed[0]))
        assert (models._sized_by_name(f"{name}@20") is not None) == plain, name


def test_open_for_writing_takes_a_size_hint(tmp_path) -> None:
    path = tmp_path / "s.fa.dnac"
    with api.open(path, "wt", level=9, size_hint=len(DATA)) as f:
        f.write(DATA.decode())
    archive = path.read_bytes()
    assert _model_name(archive) == f"{models.LEVEL_MODELS[9]}@{models.sized_bits(len(DATA))}"
    with api.open(path, "rb") as f:
        assert f.read() == DATA
    with pytest.raises(ValueError, match="size hint when reading"):
        api.open(path, "rb", size_hint=10)
