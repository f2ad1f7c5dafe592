"""Occlusion: each score equals re-running the model on the input with that token (or word) removed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faithlab.explain import get_explainer
from faithlab.models import Classifier

TEXTS = ["not bad", "a dull film"]


def logits_without(classifier: Classifier, text: str, positions: set[int], replacement: str) -> torch.Tensor:
    """Logits of the text with the tokens at `positions` deleted (a shorter input) or replaced, built by hand."""
    batch = classifier.encode([text])
    ids = batch.input_ids[0].tolist()
    types = None if batch.token_type_ids is None else batch.token_type_ids[0].tolist()
    if replacement == "delete":
        keep = [p for p in range(len(ids)) if p not in positions]
        ids = [ids[p] for p in keep]
        types = None if types is None else [types[p] for p in keep]
    else:
        ids = [classifier.replacement_id(replacement) if p in positions else i for p, i in enumerate(ids)]
    tt = None if types is None else torch.tensor([types])
    return classifier.logits(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long), tt)[0]


def margin(logits: torch.Tensor, target: int) -> float:
    return float(logits[target] - logits[1 - target])  # two classes: the contrast is the other one


def test_deleting_each_token_by_hand_gives_the_scores(classifier: Classifier) -> None:
    for explanation in get_explainer("occlusion", classifier, output="margin").explain(TEXTS):
        before = margin(logits_without(classifier, explanation.text, set(), "delete"), explanation.target)
        assert explanation.extras["output_before"] == pytest.approx(before, abs=1e-5)
        for t in explanation.content:
            after = margin(logits_without(classifier, explanation.text, {t}, "delete"), explanation.target)
            assert explanation.scores[t] == pytest.approx(before - after, abs=1e-5)
        assert (explanation.scores[[t for t, w in enumerate(explanation.word_ids) if w is None]] == 0).all()


@pytest.mark.parametrize("family_name", ["bert", "roberta"])
def test_mask_replacement_by_hand_gives_the_scores(tiny_classifiers: dict[str, Classifier], family_name: str) -> None:
    classifier = tiny_classifiers[family_name]
    explainer = get_explainer("occlusion", classifier, replacement="mask", output="probability")
    for explanation in explainer.explain(TEXTS, target="negative"):
        before = float(torch.softmax(logits_without(classifier, explanation.text, set(), "mask"), -1)[0])
        for t in explanation.content:
            after = float(torch.softmax(logits_without(classifier, explanation.text, {t}, "mask"), -1)[0])
            assert explanation.scores[t] == pytest.approx(before - after, abs=1e-6)


def test_word_unit_removes_whole_words(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["t5"]  # "a dull film" → ▁a | ▁d u ll | ▁fi l m
    (explanation,) = get_explainer("occlusion", classifier, unit="word", output="margin").explain(["a dull film"])
    table = explanation.extras["table"]
    assert [row["word"] for row in table] == ["a", "dull", "film"]
    before = margin(logits_without(classifier, "a dull film", set(), "delete"), explanation.target)
    for w, row in enumerate(table):
        positions = [t for t, wid in enumerate(explanation.word_ids) if wid == w]
        assert row["positions"] == positions
        after = margin(logits_without(classifier, "a dull film", set(positions), "delete"), explanation.target)
        assert row["difference"] == pytest.approx(before - after, abs=1e-5)
        np.testing.assert_allclose(explanation.scores[positions], before - after, atol=1e-5)
    assert len(explanation.content) > len(table)


def test_loss_score_is_the_rise_in_cross_entropy(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["distilbert"]
    (explanation,) = get_explainer("occlusion", classifier, output="loss").explain(["a dull film"], target="positive")
    label = torch.tensor([1])
    loss_before = torch.nn.functional.cross_entropy(
        logits_without(classifier, "a dull film", set(), "delete")[None], label
    )
    for t in explanation.content:
        logits = logits_without(classifier, "a dull film", {t}, "delete")[None]
        loss_after = torch.nn.functional.cross_entropy(logits, label)
        assert explanation.scores[t] == pytest.approx(float(loss_after - loss_before), abs=1e-5)


def test_table_describes_each_removal(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    (explanation,) = get_explainer("occlusion", classifier, contrast="negative", output="margin").explain(
        ["a dull film"], target="positive"
    )
    extras = explanation.extras
    assert extras["contrast"] == "negative"
    assert [row["token"] for row in extras["table"]] == ["a", "dull", "film"]
    for t, row in zip(explanation.content, extras["table"], strict=True):
        probabilities = torch.softmax(logits_without(classifier, "a dull film", {t}, "delete"), -1)
        np.testing.assert_allclose(row["probabilities_after"], probabilities.numpy(), atol=1e-6)
        assert row["predicted_after"] == classifier.labels[int(probabilities.argmax())]
        assert row["difference"] == pytest.approx(explanation.scores[t], abs=1e-6)
        assert row["output_after"] == pytest.approx(extras["output_before"] - row["difference"], abs=1e-6)


def test_default_contrast_is_the_strongest_other_class(tiny_classifiers: dict[str, Classifier]) -> None:
    explainer = get_explainer("occlusion", tiny_classifiers["bert"])
    assert explainer.contrast_of(torch.tensor([1.0, 5.0, 3.0, 2.0]), target=1) == 2
    assert explainer.contrast_of(torch.tensor([1.0, 5.0, 3.0, 2.0]), target=2) == 1
