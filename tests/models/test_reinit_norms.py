"""Re-initialised blocks get the values a freshly built model has in its normalisation layers (Gemma's (1 + w)
norms included), so randomising a block never leaves a trained norm behind."""

from __future__ import annotations

import copy

import pytest
import torch

from faithlab.models import Classifier
from faithlab.models.reinit import reinitialized_block

NORMED = ["bert", "gpt2", "llama", "qwen3", "gemma2", "phi3", "electra"]


def _norms(block: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {
        f"{name}.{p}": value.detach().clone()
        for name, module in block.named_modules()
        if type(module).__name__.endswith(("LayerNorm", "RMSNorm"))
        for p, value in module.named_parameters(recurse=False)
    }


@pytest.mark.parametrize("family", NORMED)
def test_randomized_norms_equal_a_fresh_models(tiny_classifiers, family_classifiers, family):
    classifier: Classifier = {**tiny_classifiers, **family_classifiers}[family]
    model = copy.deepcopy(classifier.model)
    torch.manual_seed(0)
    fresh = type(model)(copy.deepcopy(model.config))
    expected = _norms(classifier.adapter.blocks(fresh)[-1])
    assert expected, f"{family}: no normalisation layer found in its last block"
    block = classifier.adapter.blocks(model)[-1]
    with torch.no_grad():  # as if trained: norms away from their initial values
        for module in block.modules():
            if type(module).__name__.endswith(("LayerNorm", "RMSNorm")):
                for value in module.parameters(recurse=False):
                    value.add_(torch.rand_like(value) + 0.5)
    trained = _norms(block)
    with reinitialized_block(block, model.config, "model", seed=0):
        randomized = _norms(block)
    assert randomized.keys() == expected.keys()
    for name, value in randomized.items():
        torch.testing.assert_close(value, expected[name], msg=name)
    for name, value in _norms(block).items():  # and the trained values come back
        torch.testing.assert_close(value, trained[name], rtol=0, atol=0)
