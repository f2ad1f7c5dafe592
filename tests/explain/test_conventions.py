"""Every explanation states what it explains and how features are removed; special tokens keep their scores (so
LRP's shown scores plus its gap give the logit); non-finite logits stop every method with one clear error."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from faithlab.errors import FaithlabError
from faithlab.explain import EXPLAINERS, Explanation, get_explainer
from faithlab.explain.explanation import OUTPUTS, REPLACEMENTS
from faithlab.models import Classifier

TEXTS = ["the movie was great and fun to watch", "not bad", "a woman is playing the guitar on stage"]
# small budgets keep the sweep over every method quick; the ensemble names members that explain one quantity
QUICK = {
    "ig": {"n_steps": 4},
    "lime": {"n_samples": 16},
    "kernel_shap": {"n_samples": 16},
    "ensemble": {"methods": ["grad_x_input", "lrp"]},
}
EXPECTED = {  # method (default settings) -> (output, replacement)
    "gradient": ("logit", "none"),
    "gradient_abs": ("logit", "none"),
    "grad_x_input": ("logit", "baseline:zero"),
    "ig": ("logit", "baseline:pad"),
    "kernel_shap": ("logit", "mask"),
    "lrp": ("logit", "none"),
    "attention_sum": ("attention", "none"),
    "attention_mean": ("attention", "none"),
    "rollout": ("attention", "none"),
    "random": ("none", "none"),
    "ensemble": ("logit", "mixed"),
}


@pytest.fixture
def bert(tiny_classifiers: dict[str, Classifier]) -> Classifier:
    return tiny_classifiers["bert"]


def test_every_method_records_its_conventions(bert: Classifier) -> None:
    for name in sorted(EXPLAINERS):
        explainer = get_explainer(name, bert, **QUICK.get(name, {}))
        explanation = explainer.explain(TEXTS[:1])[0]
        assert explanation.output == explainer.output and explanation.output in OUTPUTS
        assert explanation.replacement == explainer.replacement and explanation.replacement in REPLACEMENTS
        assert explanation.special_tokens == "kept"
        if name in EXPECTED:
            assert (explanation.output, explanation.replacement) == EXPECTED[name], name


def test_conventions_follow_the_settings(bert: Classifier) -> None:
    probability = get_explainer("gradient", bert, output="probability").explain(TEXTS[:1])[0]
    assert probability.output == "probability"
    assert get_explainer("ig", bert, baseline="zero", n_steps=4).replacement == "baseline:zero"
    occlusion = get_explainer("occlusion", bert, output="margin", replacement="unk")
    assert (occlusion.output, occlusion.replacement) == ("margin", "unk")
    lime = get_explainer("lime", bert, output="loss", replacement="delete", n_samples=16).explain(TEXTS[:1])[0]
    assert (lime.output, lime.replacement) == ("loss", "delete")


def test_an_unknown_convention_is_refused(bert: Classifier) -> None:
    record = get_explainer("gradient", bert).explain(TEXTS[:1])[0].to_dict()
    with pytest.raises(FaithlabError, match=r"'gradients'.*logit"):
        Explanation.from_dict(record | {"output": "gradients"})
    with pytest.raises(FaithlabError, match=r"'zero'.*baseline:zero"):
        Explanation.from_dict(record | {"replacement": "zero"})


def _with_biases(classifier: Classifier, keep: bool) -> Classifier:
    """A copy whose biases are random (keep=True) or all zero, so the two LRP cases differ only there."""
    model = copy.deepcopy(classifier.model)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith(".bias"):
                noise = torch.randn(parameter.shape, generator=generator) * 0.5
                parameter.copy_(noise if keep else torch.zeros_like(parameter))
    return Classifier(model, classifier.tokenizer, f"{classifier.name}-biases-{keep}")


@pytest.mark.parametrize("keep", [False, True], ids=["biases zeroed", "biases kept"])
def test_lrp_shown_scores_and_the_gap_add_up_to_the_logit(classifier: Classifier, keep: bool) -> None:
    variant = _with_biases(classifier, keep)
    explanations = get_explainer("lrp", variant).explain(TEXTS, target=1)
    logits = variant.batch_logits(variant.encode(TEXTS))[:, 1]
    for explanation, logit in zip(explanations, logits.tolist(), strict=True):
        total = explanation.scores.sum()
        gap = explanation.extras["conservation_gap"]
        assert total + gap == pytest.approx(logit, rel=1e-4, abs=1e-5)
        if not keep:
            assert abs(gap) <= 1e-4 * max(1.0, abs(logit)), "with every bias zero the scores alone give the logit"
    special = [np.delete(e.scores, e.content) for e in explanations]
    if any(len(s) for s in special):
        assert max(np.abs(s).max(initial=0.0) for s in special) > 1e-6, "special tokens carry relevance"


def _nan_head(classifier: Classifier) -> Classifier:
    """A copy whose last weight matrix (the classification head's output layer) is NaN."""
    model = copy.deepcopy(classifier.model)
    last = [p for name, p in model.named_parameters() if name.endswith("weight") and p.dim() == 2][-1]
    with torch.no_grad():
        last.fill_(math.nan)
    return Classifier(model, classifier.tokenizer, "broken-head")


def test_non_finite_logits_stop_every_method_naming_the_model(bert: Classifier) -> None:
    broken = _nan_head(bert)
    for name in sorted(EXPLAINERS):
        explainer = get_explainer(name, broken, **QUICK.get(name, {}))
        with pytest.raises(FaithlabError, match=r"model 'broken-head' produced non-finite logits \(nan.*text 0"):
            explainer.explain(TEXTS)
