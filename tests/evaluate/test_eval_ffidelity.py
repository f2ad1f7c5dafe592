"""F-Fidelity: the original model stays bit-identical, the limits reduce to ERASER, removals are bounded and seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import faithlab as fl
from faithlab.errors import FaithlabError
from faithlab.evaluate import evaluate_faithfulness, evaluate_ffidelity, fine_tuned_copy
from faithlab.models import Classifier

TEXT = "the plot is clever although the ending drags"
SHORT = "not bad at all , really"
SCORES = np.array([0.2, 3.0, -1.0, 2.0, 0.0, 1.0, 0.5, -2.0])


def mask_probability(classifier: Classifier, text: str, removed: list[int]) -> np.ndarray:
    batch = classifier.encode([text])
    ids = batch.input_ids.clone()
    content = np.flatnonzero(batch.content_mask[0].numpy())
    ids[0, [int(content[i]) for i in removed]] = classifier.replacement_id("mask")
    return torch.softmax(classifier.logits(ids, batch.attention_mask, batch.token_type_ids).double(), dim=-1)[0].numpy()


def test_fine_tuning_changes_a_copy_and_leaves_the_original_bit_identical(
    tiny_classifiers: dict[str, Classifier], on_model
) -> None:
    classifier = tiny_classifiers["bert"]
    before = {k: v.clone() for k, v in classifier.model.state_dict().items()}
    batch = classifier.encode([TEXT, SHORT])
    tuned = fine_tuned_copy(classifier, batch, steps=3, mask_rate=0.3, lr=1e-2, batch_size=2, seed=0,
                            replacement="mask")
    again = fine_tuned_copy(classifier, batch, steps=3, mask_rate=0.3, lr=1e-2, batch_size=2, seed=0,
                            replacement="mask")
    after = classifier.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert tuned.model is not classifier.model
    assert any(not torch.equal(before[k], v) for k, v in tuned.model.state_dict().items())
    assert all(torch.equal(v, again.model.state_dict()[k]) for k, v in tuned.model.state_dict().items())  # seeded
    evaluate_ffidelity(classifier, [on_model(classifier, TEXT, SCORES)], steps=2, samples=2)
    assert all(torch.equal(before[k], v) for k, v in classifier.model.state_dict().items())


def test_without_fine_tuning_and_with_no_bound_it_is_eraser(tiny_classifiers: dict[str, Classifier], on_model) -> None:
    classifier = tiny_classifiers["bert"]
    explanation = on_model(classifier, TEXT, SCORES)
    fractions = (0.25, 0.5, 1.0)
    rows = {r.metric: r for r in evaluate_ffidelity(classifier, [explanation], fractions=fractions, mask_rate=1.0,
                                                    steps=0, samples=2)}
    eraser = {r.metric: r for r in evaluate_faithfulness(classifier, [explanation], fractions=fractions,
                                                         parts=["eraser"])}
    assert rows["ffidelity_plus"].details["per_fraction"] == pytest.approx(
        eraser["comprehensiveness"].details["per_fraction"], abs=1e-6)
    assert rows["ffidelity_minus"].details["per_fraction"] == pytest.approx(
        eraser["sufficiency"].details["per_fraction"], abs=1e-6)


def test_each_removal_takes_at_most_beta_n_tokens_from_the_right_pool(
    tiny_classifiers: dict[str, Classifier], on_model
) -> None:
    classifier = tiny_classifiers["bert"]
    explanation = on_model(classifier, TEXT, SCORES)
    target = explanation.target
    p = classifier.predict(TEXT)[0, target]
    top4, rest = [1, 3, 5, 6], [4, 0, 2, 7]  # by score; beta = 0.125 of 8 tokens: one token per removal
    rows = {r.metric: r for r in evaluate_ffidelity(classifier, [explanation], fractions=(0.5,), mask_rate=0.125,
                                                    steps=0, samples=40, seed=1)}
    for metric, pool in (("ffidelity_plus", top4), ("ffidelity_minus", rest)):
        singles = [p - mask_probability(classifier, TEXT, [t])[target] for t in pool]
        assert min(singles) - 1e-6 <= rows[metric].value <= max(singles) + 1e-6
        # 40 uniform draws over 4 tokens: the mean is close to the mean single-token drop
        assert rows[metric].value == pytest.approx(np.mean(singles), abs=0.6 * (max(singles) - min(singles)))


def test_ffidelity_is_seeded_and_runs_through_the_public_api(tiny_classifiers: dict[str, Classifier], on_model) -> None:
    classifier = tiny_classifiers["bert"]
    explanations = [on_model(classifier, TEXT, SCORES), on_model(classifier, SHORT, lambda n: np.arange(n, 0, -1.0))]
    settings = {"ffidelity": {"steps": 2, "samples": 3, "lr": 1e-2, "fractions": (0.2, 0.5)}}
    first = fl.evaluate(classifier, explanations, metrics=["ffidelity"], settings=settings)
    again = fl.evaluate(classifier, explanations, metrics=["ffidelity"], settings=settings)
    untuned = fl.evaluate(classifier, explanations, metrics=["ffidelity"],
                          settings={"ffidelity": {**settings["ffidelity"], "steps": 0}})
    assert sorted(set(first["metric"])) == ["ffidelity_minus", "ffidelity_plus"]
    assert first["value"].tolist() == again["value"].tolist()
    assert first["value"].tolist() != untuned["value"].tolist()  # the fine-tuned copy judges differently
    with pytest.raises(FaithlabError, match="mask_rate"):
        evaluate_ffidelity(classifier, explanations, mask_rate=0.0)
