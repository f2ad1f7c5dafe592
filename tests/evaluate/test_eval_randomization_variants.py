"""Smooth and efficient MPRT: reductions to plain MPRT, noise added where it should be, entropy ratios by hand."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
import torch

import faithlab as fl
from faithlab.errors import FaithlabError
from faithlab.evaluate import (
    evaluate_efficient_randomization,
    evaluate_randomization,
    evaluate_smooth_randomization,
    histogram_entropy,
    noise_tables,
    transformer_blocks,
)
from faithlab.explain import get_explainer
from faithlab.models import Classifier
from faithlab.models.reinit import reinitialized_block

TEXTS = ["the movie was great and fun to watch", "not bad at all , really"]


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_histogram_entropy_by_hand() -> None:
    assert histogram_entropy(np.array([0.0, 0.0, 1.0, 1.0]), bins=2) == pytest.approx(math.log(2))
    assert histogram_entropy(np.array([0.0, 0.1, 0.2, 1.0]), bins=2) == pytest.approx(
        -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert histogram_entropy(np.array([3.0, 3.0, 3.0]), bins=10) == 0.0


def test_without_noise_smooth_mprt_is_plain_mprt(tiny_classifiers: dict[str, Classifier]) -> None:
    explainer = get_explainer("grad_x_input", tiny_classifiers["bert"])
    plain = [r for r in evaluate_randomization([explainer], TEXTS, seed=3) if r.metric == "randomization_spearman"]
    smooth = evaluate_smooth_randomization([explainer], TEXTS, samples=1, noise=0.0, seed=3)
    assert [(r.example, r.settings["layer"]) for r in smooth] == [(r.example, r.settings["layer"]) for r in plain]
    assert [r.value for r in smooth] == pytest.approx([r.value for r in plain], abs=1e-9)


def test_noise_is_added_to_the_word_embeddings_by_position_and_removed(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    table = noise_tables(classifier, samples=2, noise=0.5, seed=0)[1]
    weight = classifier.model.get_input_embeddings().weight
    assert table.shape == (classifier.max_length, weight.shape[1])
    assert float(table.std()) == pytest.approx(0.5 * float(weight.detach().std()), rel=0.1)
    batch = classifier.encode(TEXTS)
    with classifier.shifted_word_embeddings(table):
        noisy = classifier.logits(batch.input_ids, batch.attention_mask, batch.token_type_ids)
    by_hand = classifier.logits_from_embeddings(
        classifier.word_embeddings(batch.input_ids) + table[: batch.input_ids.shape[1]], batch.input_ids,
        batch.attention_mask, batch.token_type_ids)
    assert torch.allclose(noisy, by_hand.detach(), atol=1e-5)
    assert not torch.allclose(noisy, classifier.logits(batch.input_ids, batch.attention_mask, batch.token_type_ids))
    assert not classifier.model.get_input_embeddings()._forward_hooks  # the hook is gone


def test_smooth_mprt_is_seeded_and_leaves_the_model_as_found(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    before = snapshot(classifier.model)
    explainer = get_explainer("gradient", classifier)
    first = evaluate_smooth_randomization([explainer], TEXTS, samples=3, noise=0.2, seed=1, mode="independent")
    again = evaluate_smooth_randomization([explainer], TEXTS, samples=3, noise=0.2, seed=1, mode="independent")
    plain = evaluate_smooth_randomization([explainer], TEXTS, samples=1, noise=0.0, seed=1, mode="independent")
    assert [r.value for r in first] == [r.value for r in again]
    assert [r.value for r in first] != pytest.approx([r.value for r in plain])
    assert all(torch.equal(v, classifier.model.state_dict()[k]) for k, v in before.items())
    assert not classifier.model.get_input_embeddings()._forward_hooks
    with pytest.raises(FaithlabError, match="samples"):
        evaluate_smooth_randomization([explainer], TEXTS, samples=0)


def test_efficient_mprt_is_the_entropy_ratio_under_full_randomization(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    before = snapshot(classifier.model)
    explainer = get_explainer("grad_x_input", classifier)
    rows = evaluate_efficient_randomization([explainer], TEXTS, bins=3, seed=2)
    originals = [explainer.explain(t)[0] for t in TEXTS]
    with contextlib.ExitStack() as stack:
        for i, block in enumerate(transformer_blocks(classifier.model)):
            stack.enter_context(reinitialized_block(block, classifier.model.config, "model", 2 + i))
        randomized = [explainer.explain(t, target=e.target)[0] for t, e in zip(TEXTS, originals, strict=True)]
    assert all(torch.equal(v, classifier.model.state_dict()[k]) for k, v in before.items())
    for row, e, r in zip(rows, originals, randomized, strict=True):
        h0, h1 = histogram_entropy(e.scores[e.content], 3), histogram_entropy(r.scores[r.content], 3)
        assert row.details["entropy_original"] == pytest.approx(h0, abs=1e-9)
        assert row.details["entropy_randomized"] == pytest.approx(h1, abs=1e-9)
        assert row.value == pytest.approx(h1 / h0)
    table = fl.evaluate(classifier, fl.explain(classifier, TEXTS, methods=["grad_x_input"]),
                        metrics=["efficient_randomization_ratio", "smooth_randomization"],
                        settings={"smooth_randomization": {"samples": 2}})
    assert sorted(set(table["metric"])) == ["efficient_randomization_ratio", "smooth_randomization_spearman"]
