"""Soft comprehensiveness / sufficiency and normalized AOPC against computations by hand on the tiny BERT."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch

from faithlab.errors import FaithlabError
from faithlab.evaluate import evaluate_normalized_aopc, evaluate_soft_removal, importance
from faithlab.models import Classifier

TEXT = "the plot is clever although the ending drags"
SHORT = "not bad at all , really"


@pytest.fixture(scope="module")
def bert64(tiny_classifiers: dict[str, Classifier]) -> Classifier:
    """The tiny BERT in float64: the normalised metrics divide small drops, so float32 rounding would blur them."""
    base = tiny_classifiers["bert"]
    return Classifier(copy.deepcopy(base.model).double(), base.tokenizer, "bert64")


def target_probabilities(classifier: Classifier, text: str, keep: np.ndarray) -> np.ndarray:
    """Class probabilities with the word embeddings of the content tokens scaled by `keep` (1 keeps, 0 zeroes)."""
    batch = classifier.encode([text])
    with torch.inference_mode():
        embeddings = classifier.word_embeddings(batch.input_ids).clone()
        content = np.flatnonzero(batch.content_mask[0].numpy())
        embeddings[0, content] *= torch.as_tensor(keep, dtype=embeddings.dtype)[:, None]
        logits = classifier.logits_from_embeddings(embeddings, batch.input_ids, batch.attention_mask,
                                                   batch.token_type_ids)
    return torch.softmax(logits.double(), dim=-1)[0].numpy()


def removed_probabilities(classifier: Classifier, text: str, removed: set[int]) -> np.ndarray:
    """Class probabilities with the given content tokens replaced by [MASK]."""
    batch = classifier.encode([text])
    ids = batch.input_ids.clone()
    content = np.flatnonzero(batch.content_mask[0].numpy())
    for i in removed:
        ids[0, content[i]] = classifier.replacement_id("mask")
    logits = classifier.logits(ids, batch.attention_mask, batch.token_type_ids)
    return torch.softmax(logits.double(), dim=-1)[0].numpy()


def test_importance_is_min_max_normalised() -> None:
    assert importance(np.array([2.0, -2.0, 0.0])).tolist() == [1.0, 0.0, 0.5]
    assert importance(np.array([3.0, 3.0])).tolist() == [0.5, 0.5]


def test_soft_metrics_equal_the_papers_formulas_when_importance_is_binary(bert64: Classifier, on_model) -> None:
    classifier = bert64
    n = len(classifier.encode([TEXT]).tokens[0]) - 2
    top = np.r_[np.ones(3), np.zeros(n - 3)]  # binary importance: the Bernoulli masks are deterministic
    full = torch.softmax(classifier.batch_logits(classifier.encode([TEXT])).double(), dim=-1)[0].numpy()  # p(y|x)
    empty = target_probabilities(classifier, TEXT, np.zeros(n))
    target = int(np.argmax(full - empty))  # the class whose probability falls when every embedding is zeroed
    explanation = on_model(classifier, TEXT, top, target=target)
    rows = {r.metric: r for r in evaluate_soft_removal(classifier, [explanation], samples=2, seed=3)}
    p, room = full[target], full[target] - empty[target]
    kept_top = target_probabilities(classifier, TEXT, top)[target]
    kept_rest = target_probabilities(classifier, TEXT, 1 - top)[target]
    soft_s = 1 - max(0.0, p - kept_top)
    s0 = 1 - room
    assert rows["soft_sufficiency"].value == pytest.approx((soft_s - s0) / (1 - s0), rel=1e-9)
    assert rows["soft_comprehensiveness"].value == pytest.approx(max(0.0, p - kept_rest) / room, rel=1e-9)
    assert rows["soft_sufficiency"].details["empty_probability"] == pytest.approx(empty[target], abs=1e-6)


def test_soft_masks_are_seeded_and_drop_in_proportion_to_importance(
    tiny_classifiers: dict[str, Classifier], on_model
) -> None:
    classifier = tiny_classifiers["bert"]
    explanation = on_model(classifier, TEXT, lambda n: np.linspace(0.0, 1.0, n))
    again = evaluate_soft_removal(classifier, [explanation], samples=3, seed=1)
    first = evaluate_soft_removal(classifier, [explanation], samples=3, seed=1)
    other = evaluate_soft_removal(classifier, [explanation], samples=3, seed=2)
    assert [r.details["per_sample"] for r in first] == [r.details["per_sample"] for r in again]
    assert [r.details["per_sample"] for r in first] != [r.details["per_sample"] for r in other]
    with pytest.raises(FaithlabError, match="samples"):
        evaluate_soft_removal(classifier, [explanation], samples=0)


def test_an_example_gets_the_same_soft_values_alone_and_in_a_batch(bert64: Classifier, on_model) -> None:
    classifier = bert64
    scores = lambda n: np.linspace(1.0, 0.0, n)  # noqa: E731
    alone = evaluate_soft_removal(classifier, [on_model(classifier, TEXT, scores)], seed=5)
    both = evaluate_soft_removal(classifier, [on_model(classifier, SHORT, scores), on_model(classifier, TEXT, scores)],
                                 seed=5)
    assert [r.value for r in alone] == pytest.approx([r.value for r in both if r.example == 1], rel=1e-9)


def _by_hand(classifier: Classifier, text: str, target: int) -> tuple[dict[frozenset[int], float], int]:
    """The target probability's drop for every subset of removed content tokens."""
    n = len(classifier.encode([text]).tokens[0]) - 2
    p = removed_probabilities(classifier, text, set())[target]
    drops = {frozenset(s): p - removed_probabilities(classifier, text, set(s))[target]
             for k in range(n + 1) for s in itertools.combinations(range(n), k)}
    return drops, n


def test_normalized_aopc_uses_the_brute_force_bounds_over_all_orderings(bert64: Classifier, on_model) -> None:
    classifier = bert64
    explanation = on_model(classifier, SHORT, np.array([0.3, -1.0, 2.0, 0.1, 0.0, 1.5]))
    drops, n = _by_hand(classifier, SHORT, explanation.target)
    aopcs = {order: np.mean([drops[frozenset(order[:k])] for k in range(n + 1)])
             for order in itertools.permutations(range(n))}
    lower, upper = min(aopcs.values()), max(aopcs.values())
    ranked = (2, 5, 0, 3, 4, 1)  # the explanation's order, most important first
    rows = {r.metric: r for r in evaluate_normalized_aopc(classifier, [explanation], exact_max_tokens=6)}
    comp, suff = aopcs[ranked], aopcs[ranked[::-1]]  # sufficiency keeps the top-k = removes the reversed order
    assert rows["naopc_comprehensiveness"].details["aopc"] == pytest.approx(comp, abs=1e-7)
    assert rows["naopc_sufficiency"].details["aopc"] == pytest.approx(suff, abs=1e-7)
    assert rows["naopc_comprehensiveness"].value == pytest.approx((comp - lower) / (upper - lower), abs=1e-5)
    assert rows["naopc_sufficiency"].value == pytest.approx((suff - lower) / (upper - lower), abs=1e-5)
    assert rows["naopc_comprehensiveness"].details["bounds"] == "exact"
    # the best ordering scores 1 on comprehensiveness and, reversed, 0 on sufficiency
    best = max(aopcs, key=aopcs.get)
    scores = np.empty(n)
    scores[list(best)] = np.arange(n, 0, -1)
    ideal = {r.metric: r.value for r in evaluate_normalized_aopc(classifier, [on_model(classifier, SHORT, scores)])}
    assert ideal["naopc_comprehensiveness"] == pytest.approx(1.0, abs=1e-6)
    assert ideal["naopc_sufficiency"] == pytest.approx(0.0, abs=1e-6)


def test_a_beam_wide_enough_to_hold_every_subset_finds_the_exact_bounds(bert64: Classifier, on_model) -> None:
    classifier = bert64
    explanation = on_model(classifier, SHORT, lambda n: np.arange(n, dtype=float))
    exact = evaluate_normalized_aopc(classifier, [explanation], exact_max_tokens=10)
    beam = evaluate_normalized_aopc(classifier, [explanation], exact_max_tokens=0, beam_size=math.comb(6, 3))
    narrow = evaluate_normalized_aopc(classifier, [explanation], exact_max_tokens=0, beam_size=1)
    for a, b, c in zip(exact, beam, narrow, strict=True):
        assert b.details["bounds"] == "beam"
        assert (b.details["lower"], b.details["upper"]) == pytest.approx((a.details["lower"], a.details["upper"]))
        assert b.value == pytest.approx(a.value, abs=1e-6)
        assert c.details["lower"] >= a.details["lower"] - 1e-9 and c.details["upper"] <= a.details["upper"] + 1e-9
        assert 0.0 <= c.value <= 1.0
    with pytest.raises(FaithlabError, match="beam_size"):
        evaluate_normalized_aopc(classifier, [explanation], beam_size=0)
