"""Every model surgery is a context manager that leaves the model exactly as it found it, even after an error:
no hook, no instance attribute, a bit-identical state_dict (as Captum's hook-removal tests check for its methods)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
import torch

from faithlab.models import Classifier
from faithlab.models.lrp_rules import conservative_propagation
from faithlab.models.reinit import reinitialized_block


def footprint(model: torch.nn.Module) -> tuple[dict[str, set[str]], int]:
    """Every module's instance attributes, and the number of hooks on all modules."""
    attributes = {name: set(vars(module)) for name, module in model.named_modules()}
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())
    return attributes, hooks


def lrp_rules(classifier: Classifier) -> AbstractContextManager:
    return conservative_propagation(classifier.model, classifier.adapter)


def random_top_block(classifier: Classifier) -> AbstractContextManager:
    return reinitialized_block(classifier.adapter.blocks(classifier.model)[-1], classifier.model.config, "model", 0)


SURGERIES: dict[str, Callable[[Classifier], AbstractContextManager]] = {
    "lrp_rules": lrp_rules, "random_top_block": random_top_block,
}


@pytest.mark.parametrize("surgery", SURGERIES)
@pytest.mark.parametrize("fails", [False, True], ids=["clean", "error"])
def test_surgery_leaves_the_model_as_it_was(classifier: Classifier, surgery: str, fails: bool) -> None:
    model = classifier.model
    batch = classifier.encode(["a good film", "not bad at all"])
    with torch.no_grad():  # transformers installs its own output-capturing hooks once, on a first attentions pass
        classifier.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids, output_attentions=True)
    state = {key: value.clone() for key, value in model.state_dict().items()}
    before = footprint(model)
    outcome = pytest.raises(RuntimeError, match="boom") if fails else contextlib.nullcontext()
    with outcome, SURGERIES[surgery](classifier):
        with torch.enable_grad():
            classifier.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids)
        # inside, the surgery is in effect: rules hooked on, or the top block's weights redrawn
        assert footprint(model) != before if surgery == "lrp_rules" else not same_weights(model, state)
        if fails:
            raise RuntimeError("boom")
    assert footprint(model) == before
    assert same_weights(model, state)


def same_weights(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> bool:
    now = model.state_dict()
    return now.keys() == state.keys() and all(torch.equal(now[key], state[key]) for key in state)
