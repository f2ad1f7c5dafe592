"""Feature granularity of the removal-based methods: token, word, whitespace and sentence features, exact Shapley
values over words, and views that read scores back at a granularity."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from faithlab.explain import get_explainer
from faithlab.explain.features import sentence_starts
from faithlab.explain.perturbation import feature_groups
from faithlab.models import Classifier

TEXT = "The film was good. It ended well!\nReally fine"


def test_sentences_end_at_punctuation_before_whitespace_and_at_line_breaks() -> None:
    assert sentence_starts(TEXT) == [0, 19, 34]
    assert sentence_starts('He said "no." Then 3.5 more') == [0, 14]  # a closing quote; no split inside 3.5


def test_feature_counts_follow_the_unit(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    batch = classifier.encode([TEXT])
    counts = {unit: len(feature_groups(batch, unit)[0]) for unit in ("token", "word", "whitespace", "sentence")}
    assert counts["token"] == int(batch.content_mask[0].sum())
    assert counts["word"] == len(batch.words[0])
    assert counts["whitespace"] == len(TEXT.split())
    assert counts["sentence"] == 3
    assert counts["token"] > counts["word"] > counts["whitespace"] > counts["sentence"]


@pytest.mark.parametrize("method", ["occlusion", "lime", "kernel_shap"])
def test_cost_and_scores_follow_the_sentence_features(tiny_classifiers: dict[str, Classifier], method: str) -> None:
    classifier = tiny_classifiers["bert"]
    settings = {"unit": "sentence"} | ({"n_samples": 16} if method == "lime" else {})
    (explanation,) = get_explainer(method, classifier, **settings).explain([TEXT])
    assert explanation.granularity == "sentence"
    ids = explanation.feature_ids()
    for f in range(3):  # every token of a sentence carries the sentence's score
        assert len({explanation.scores[t] for t, i in enumerate(ids) if i == f}) == 1
    assert len(explanation.feature_scores()) == 3
    if method == "kernel_shap":
        assert explanation.extras["n_evaluations"] == 2**3  # all coalitions of 3 sentences, not of the tokens
    if method == "occlusion":
        assert [row["sentence"] for row in explanation.extras["table"]] == ["The film was good.", "It ended well!",
                                                                            "Really fine"]


def test_exact_kernel_shap_over_words_is_brute_force_shapley(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    text = "unwatchable tedium throughout"  # three words of several tokens each in the tiny vocabulary
    (explanation,) = get_explainer("kernel_shap", classifier, unit="word", n_samples=64).explain([text])
    batch = classifier.encode([text])
    ids, word_ids = batch.input_ids[0].tolist(), batch.word_ids[0]
    n = len(batch.words[0])
    assert len(ids) - 2 > n  # words are split into several tokens: features are not tokens
    mask = classifier.replacement_id("mask")

    def value(kept: frozenset[int]) -> float:
        row = torch.tensor([[i if w is None or w in kept else mask for i, w in zip(ids, word_ids, strict=True)]])
        logits = classifier.logits(row, torch.ones_like(row), torch.zeros_like(row))
        return float(logits[0, explanation.target])

    values = {frozenset(s): value(frozenset(s)) for k in range(n + 1) for s in itertools.combinations(range(n), k)}
    shapley = np.zeros(n)
    for i in range(n):
        for coalition, v in values.items():
            if i not in coalition:
                s = len(coalition)
                weight = math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n)
                shapley[i] += weight * (values[coalition | {i}] - v)
    assert explanation.extras["exact"]
    assert explanation.feature_scores() == pytest.approx(shapley, abs=1e-5)


def test_views_aggregate_token_scores_to_a_granularity(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    (explanation,) = get_explainer("grad_x_input", classifier).explain([TEXT])
    ids = explanation.feature_ids("sentence")
    by_sentence = explanation.feature_scores("sentence")
    for f in range(3):
        assert by_sentence[f] == pytest.approx(sum(s for s, i in zip(explanation.scores, ids, strict=True) if i == f))
    assert explanation.feature_scores("word") == pytest.approx(explanation.word_scores())
