"""The top-k attack: differentiable explanations equal the explainers', ε and the prediction are respected."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faithlab.errors import FaithlabError
from faithlab.evaluate import differentiable_scores, evaluate_attack
from faithlab.evaluate.adversarial import RowInputs, top_k_count
from faithlab.explain import get_explainer
from faithlab.models import Classifier

TEXTS = ["the movie was great and fun to watch", "a dull , boring film that is not good"]
METHODS = [("gradient", {}), ("gradient_abs", {}), ("grad_x_input", {}), ("ig", {"n_steps": 4}), ("lrp", {})]


@pytest.mark.parametrize(("method", "settings"), METHODS)
def test_differentiable_scores_at_zero_equal_the_explainer(classifier: Classifier, method: str, settings: dict) -> None:
    """At δ = 0 the attacked function is the explanation `explain` returns, on every family."""
    explainer = get_explainer(method, classifier, **settings)
    explanations = explainer.explain(TEXTS)
    batch = classifier.encode(TEXTS)
    targets = torch.tensor([e.target for e in explanations])
    words = classifier.word_embeddings(batch.input_ids).detach()
    baseline = explainer._baseline(batch, words) if method == "ig" else None
    inputs = RowInputs(batch, torch.arange(2), baseline)
    with torch.enable_grad():
        delta = torch.zeros_like(words, requires_grad=True)
        scores, _ = differentiable_scores(explainer, words + delta, inputs, targets)
        (second,) = torch.autograd.grad(scores.sum(), delta)  # the explanation is differentiable in δ
    for row, explanation in enumerate(explanations):  # `explain` reports content tokens (specials get 0)
        content = explanation.content  # token indices
        np.testing.assert_allclose(scores[row, content].detach().numpy(), explanation.scores[content],
                                   rtol=1e-5, atol=1e-6)
    assert second.abs().sum() > 0


def test_k_is_fifteen_percent_rounded_down_at_least_one() -> None:
    assert [top_k_count(n, 0.15) for n in (1, 6, 7, 20, 100)] == [1, 1, 1, 3, 15]


@pytest.mark.parametrize("objective", ["unconstrained", "constrained"])
def test_attack_respects_epsilon_and_keeps_the_prediction(
    tiny_classifiers: dict[str, Classifier], objective: str
) -> None:
    classifier = tiny_classifiers["bert"]
    explainer = get_explainer("grad_x_input", classifier)
    rows = evaluate_attack(explainer, TEXTS, objective=objective, epsilon=0.05, steps=12, lr=0.02, halve_every=5)
    assert {r.metric for r in rows} == {"attack_rank_change", "attack_spearman", "attack_topk_mass_change",
                                        "attack_probability_change"}
    for row in rows:
        assert row.details["linf"] <= 0.05 + 1e-7
        assert row.details["label_kept"]
        assert row.settings["objective"] == objective and row.settings["epsilon"] == 0.05
    mass = [r.value for r in rows if r.metric == "attack_topk_mass_change"]
    assert all(m >= 0 for m in mass) and max(m for m in mass) > 0  # the best δ never does worse than δ = 0


def test_steps_that_flip_the_prediction_are_rejected(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["gpt2"]  # its random head sits near 0.5: large steps flip the label
    explainer = get_explainer("gradient", classifier)
    probabilities = classifier.predict(TEXTS)
    rows = evaluate_attack(explainer, TEXTS, epsilon=50.0, lr=20.0, steps=8)
    assert all(r.details["label_kept"] for r in rows)
    after = [r.value for r in rows if r.metric == "attack_probability_change"]
    assert all(p < max(probabilities[i]) - 0.5 + 1e-6 for i, p in enumerate(after))  # still the same class


def test_attack_settings_are_checked(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    with pytest.raises(FaithlabError, match="method 'occlusion' cannot be attacked"):
        evaluate_attack(get_explainer("occlusion", classifier), TEXTS)
    with pytest.raises(FaithlabError, match="n_steps='auto'"):
        evaluate_attack(get_explainer("ig", classifier, n_steps="auto"), TEXTS)
    with pytest.raises(FaithlabError, match=r"epsilon must be a number > 0\.0, got -1"):
        evaluate_attack(get_explainer("gradient", classifier), TEXTS, epsilon=-1)
    with pytest.raises(FaithlabError, match="objective 'targeted'"):
        evaluate_attack(get_explainer("gradient", classifier), TEXTS, objective="targeted")
