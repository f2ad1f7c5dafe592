"""Model-parameter randomization: blocks found for every family, re-initialised, and restored bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faithlab.errors import FaithlabError
from faithlab.evaluate import aggregate, evaluate_randomization, randomization_steps, transformer_blocks
from faithlab.explain import get_explainer
from faithlab.models import Classifier
from faithlab.models.reinit import reinitialize, reinitialized_block

BLOCK_PATHS = {
    "bert": "bert.encoder.layer",
    "roberta": "roberta.encoder.layer",
    "distilbert": "distilbert.transformer.layer",
    "gpt2": "transformer.h",
    "t5": "encoder.block",
}
TEXTS = ["the movie was great and fun to watch", "not bad"]


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_every_family_declares_its_blocks(classifier: Classifier, family: str) -> None:
    assert transformer_blocks(classifier.model) is classifier.model.get_submodule(BLOCK_PATHS[family])


def test_steps_go_from_the_top_block_down() -> None:
    assert randomization_steps(3, "cascading") == [[2], [2, 1], [2, 1, 0]]
    assert randomization_steps(3, "independent") == [[2], [1], [0]]
    with pytest.raises(FaithlabError, match="mode 'bottom_up'"):
        randomization_steps(3, "bottom_up")


@pytest.mark.parametrize("init", ["model", "normal"])
def test_reinitialisation_changes_every_weight_matrix_and_is_restored(classifier: Classifier, init: str) -> None:
    model = classifier.model
    before = snapshot(model)
    rng_state = torch.get_rng_state()
    blocks = transformer_blocks(model)
    inside = next(name for name, module in model.named_modules() if module is blocks) + ".1."
    with reinitialized_block(blocks[1], model.config, init, seed=5):
        during = snapshot(model)
        matrices = [k for k in before if k.startswith(inside) and before[k].ndim >= 2]
        assert matrices and all(not torch.equal(during[k], before[k]) for k in matrices)
        assert identical({k: v for k, v in during.items() if not k.startswith(inside)},
                         {k: v for k, v in before.items() if not k.startswith(inside)})
        reinitialize(blocks[1], model.config, init, seed=5)
        assert identical(snapshot(model), during)  # same seed, same weights
    assert identical(snapshot(model), before)
    assert torch.equal(torch.get_rng_state(), rng_state)  # the global random state is untouched


def test_weights_are_restored_even_after_an_error(tiny_classifiers: dict[str, Classifier]) -> None:
    model = tiny_classifiers["bert"].model
    before = snapshot(model)
    blocks = transformer_blocks(model)
    with pytest.raises(RuntimeError, match="boom"), reinitialized_block(blocks[0], model.config, "normal", seed=0):
        assert not identical(snapshot(model), before)
        raise RuntimeError("boom")
    assert identical(snapshot(model), before)


@pytest.mark.parametrize("mode", ["cascading", "independent"])
def test_randomization_rows_and_exact_restore(tiny_classifiers: dict[str, Classifier], mode: str) -> None:
    classifier = tiny_classifiers["distilbert"]
    before = snapshot(classifier.model)
    explainers = [get_explainer("gradient", classifier), get_explainer("grad_x_input", classifier)]
    original = [e.explain(TEXTS) for e in explainers]
    rows = evaluate_randomization(explainers, TEXTS, mode=mode, seed=3)
    assert identical(snapshot(classifier.model), before)
    assert [e.explain(TEXTS)[0].scores.tolist() for e in explainers] == [o[0].scores.tolist() for o in original]
    assert len(rows) == 2 * len(TEXTS) * 2 * 2  # steps × texts × methods × (signed, absolute)
    assert {r.settings["layer"] for r in rows} == {1, 0}
    assert {tuple(r.settings["randomized"]) for r in rows} == ({(1,), (1, 0)} if mode == "cascading" else {(1,), (0,)})
    table = aggregate(rows, by=("layer",), resamples=20)
    assert all(-1 <= r["mean"] <= 1 for r in table)
    assert all(r["mean"] < 0.999 for r in table)  # random weights moved the explanations
    # the top block gets the same random weights in both modes (seed + block index)
    other = evaluate_randomization(explainers, TEXTS, mode="independent" if mode == "cascading" else "cascading",
                                   seed=3)
    first, again = ([r for r in rs if r.settings["layer"] == 1] for rs in (rows, other))
    assert [(r.method, r.example, r.metric) for r in first] == [(r.method, r.example, r.metric) for r in again]
    # NaN-aware: a constant randomised explanation has no ranking (NaN) in both modes
    np.testing.assert_array_equal([r.value for r in first], [r.value for r in again])


def test_explainers_must_share_a_classifier(tiny_classifiers: dict[str, Classifier]) -> None:
    a = get_explainer("gradient", tiny_classifiers["bert"])
    b = get_explainer("gradient", tiny_classifiers["gpt2"])
    with pytest.raises(FaithlabError, match="share one classifier"):
        evaluate_randomization([a, b], TEXTS)
    with pytest.raises(FaithlabError, match="unknown init 'zeros'"):
        evaluate_randomization([a], TEXTS, init="zeros")
