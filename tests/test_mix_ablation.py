"""bench/mix_ablation.py: each ablation variant of a bundled mix model is a valid model without the
part it names."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from codec import models

_PATH = Path(__file__).resolve().parent.parent / "bench" / "mix_ablation.py"
_spec = importlib.util.spec_from_file_location("mix_ablation", _PATH)
mix_ablation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mix_ablation)


@pytest.mark.parametrize("base", ["mix-lite-v13", "mix-rep-v13", "mix-mid-v9", "mix-v13", "mix-v14", "mito-lite-v1",
                                  "mix-mito-v1"])
def test_every_variant_is_a_valid_model_without_its_part(base: str) -> None:
    model = models.BUNDLED[base]
    for name in mix_ablation.VARIANTS:
        spec = mix_ablation.variant(model, name).parts.spec  # decoding validates the model
        if name == "no-repeat":
            assert spec.repeat is None and spec.votes is None and not spec.residual_context
        elif name == "no-stcm":
            assert not spec.tolerant
        elif name == "no-sse":
            assert not spec.sse_order
        elif name == "no-residual":
            assert not spec.residual_rate and not spec.residual_context
        elif name == "no-codon":
            assert spec.codon is None
    assert mix_ablation.variant(model, "no-network").parts.net is None
    assert mix_ablation.variant(model, "+network").parts.net is not None
