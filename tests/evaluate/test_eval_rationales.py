"""Ground truth and plausibility metrics on hand-computed cases, tie rules, and word → token rationale mapping."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from faithlab.errors import FaithlabError
from faithlab.evaluate import (
    covering_fraction,
    evaluate_ground_truth,
    evaluate_plausibility,
    ground_truth_scores,
    hits_at,
    overlap_at_size,
    plausibility_scores,
    rationale_to_token_mask,
    token_rationale,
)
from faithlab.models import Classifier


def test_overlap_and_mean_rank_by_hand() -> None:
    scores, relevant = np.array([0.9, 0.5, 0.1, 0.3]), np.array([False, True, False, True])
    assert overlap_at_size(scores, relevant) == 0.5  # top-2 = {0, 1}, one of them relevant
    assert covering_fraction(scores, relevant) == 0.75  # last relevant token (0.3) is third of four


def test_constant_scores_score_chance_on_average_and_worst_when_pessimistic() -> None:
    scores, relevant = np.ones(4), np.array([True, False, False, False])
    assert overlap_at_size(scores, relevant, "average") == 0.25
    assert overlap_at_size(scores, relevant, "pessimistic") == 0.0
    assert covering_fraction(scores, relevant, "average") == pytest.approx(2.5 / 4)  # expected position 2.5
    assert covering_fraction(scores, relevant, "pessimistic") == 1.0


def test_tie_at_the_cut() -> None:
    scores, relevant = np.array([3.0, 1.0, 1.0, 1.0, 0.0]), np.array([True, True, False, True, False])
    # L = 3: token 0 is above the cut, two of three slots go to the tied {1, 2, 3}, which hold two relevant tokens
    assert overlap_at_size(scores, relevant, "average") == pytest.approx((1 + 2 * 2 / 3) / 3)
    assert overlap_at_size(scores, relevant, "pessimistic") == pytest.approx((1 + 1) / 3)
    # the last relevant token lies in the tied group at positions 2..4: expected max of 2 of 3 positions = 1 + 8/3
    assert covering_fraction(scores, relevant, "average") == pytest.approx((1 + 8 / 3) / 5)
    assert covering_fraction(scores, relevant, "pessimistic") == pytest.approx(4 / 5)


@pytest.mark.parametrize("seed", range(5))
def test_tie_rules_match_enumerating_every_tie_break(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 3, size=6).astype(float)
    relevant = rng.random(6) < 0.4
    relevant[rng.integers(6)] = True
    size = int(relevant.sum())
    overlaps, covers = [], []
    for order in itertools.permutations(range(6)):  # every tie break: sort by (-score, position in `order`)
        ranking = sorted(range(6), key=lambda t: (-scores[t], order.index(t)))
        overlaps.append(sum(relevant[t] for t in ranking[:size]) / size)
        covers.append((max(ranking.index(t) for t in np.flatnonzero(relevant)) + 1) / 6)
    assert overlap_at_size(scores, relevant, "average") == pytest.approx(np.mean(overlaps))
    assert overlap_at_size(scores, relevant, "pessimistic") == pytest.approx(min(overlaps))
    assert covering_fraction(scores, relevant, "average") == pytest.approx(np.mean(covers))
    assert covering_fraction(scores, relevant, "pessimistic") == pytest.approx(max(covers))


def test_single_token_and_empty_reference() -> None:
    assert overlap_at_size(np.array([0.3]), np.array([True])) == 1.0
    assert covering_fraction(np.array([-2.0]), np.array([True])) == 1.0
    assert math.isnan(overlap_at_size(np.array([0.3]), np.array([False])))
    assert math.isnan(covering_fraction(np.array([0.3, 0.1]), np.array([False, False])))
    assert hits_at(np.array([1.0, 2.0]), np.array([True, False]), 0) == 0.0


def test_unknown_tie_rule_is_refused() -> None:
    with pytest.raises(FaithlabError, match="tie rule 'random'"):
        overlap_at_size(np.ones(2), np.array([True, False]), "random")


def test_ground_truth_ignores_special_tokens(hand) -> None:
    explanation = hand([0.1, 0.7, 0.2])  # tokens: [CLS] w0 w1 w2 [SEP]; specials score 0 but are never ranked
    mask = np.array([False, False, False, True, False])  # w2 planted
    scores = ground_truth_scores(explanation, mask)
    assert scores == {"gt_overlap": 0.0, "gt_mean_rank": pytest.approx(2 / 3)}


def test_plausibility_by_hand(hand) -> None:
    explanation = hand([0.9, 0.8, 0.1])
    mask = np.array([False, True, False, True, False])  # w0 and w2
    scores = plausibility_scores(explanation, mask)
    # AP: thresholds 0.9 (P 1, R .5), 0.8 (P .5, R .5), 0.1 (P 2/3, R 1) -> .5 * 1 + .5 * 2/3
    assert scores["auprc"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert scores["token_f1"] == pytest.approx(0.5)  # top-2 {w0, w1}: one hit
    assert scores["token_iou"] == pytest.approx(1 / 3)
    assert scores["plausibility_overlap"] == 0.5
    assert scores["plausibility_mean_rank"] == 1.0
    thresholded = plausibility_scores(explanation, mask, threshold=0.0)  # all three chosen, both hits
    assert thresholded["token_f1"] == pytest.approx(0.8)
    assert thresholded["token_iou"] == pytest.approx(2 / 3)


def test_plausibility_is_nan_without_rationale(hand) -> None:
    scores = plausibility_scores(hand([0.5, 0.2]), np.zeros(4, dtype=bool))
    assert all(math.isnan(v) for v in scores.values())


def test_rows_per_method_and_example(hand) -> None:
    explanations = {"a": [hand([0.9, 0.1]), hand([0.1, 0.9])], "b": [hand([0.1, 0.9]), hand([0.9, 0.1])]}
    rows = evaluate_ground_truth(explanations, [[1, 0], [1, 0]])
    overlap = {(r.method, r.example): r.value for r in rows if r.metric == "gt_overlap"}
    assert overlap == {("a", 0): 1.0, ("a", 1): 0.0, ("b", 0): 0.0, ("b", 1): 1.0}
    assert all(r.settings == {"ties": "average"} for r in rows)
    plausibility = evaluate_plausibility(explanations["a"], [[0, 1], None])
    auprc = [r.value for r in plausibility if r.metric == "auprc"]
    assert auprc[0] == 0.5 and math.isnan(auprc[1])
    with pytest.raises(FaithlabError, match="one of each per example"):
        evaluate_ground_truth(explanations, [[1, 0]])


@pytest.mark.parametrize("family", ["bert", "roberta", "gpt2", "t5"])
def test_word_rationale_maps_onto_subword_tokens(tiny_classifiers: dict[str, Classifier], on_model, family) -> None:
    classifier = tiny_classifiers[family]
    text = "the movie,was   unbelievably great !"
    explanation = on_model(classifier, text, lambda n: np.zeros(n))
    mask = rationale_to_token_mask(explanation, [0, 1, 0, 1, 0])  # "movie,was" and "great"
    marked = {explanation.word_text(explanation.word_ids[t]) for t in np.flatnonzero(mask)}
    unmarked = {explanation.word_text(w) for t, w in enumerate(explanation.word_ids) if w is not None and not mask[t]}
    assert marked <= {"movie", ",", "was", "movie,was", ",was", "movie,", "great"}
    assert "great" in marked and marked & {"movie", "movie,", "movie,was"}
    assert {"the", "unbelievably", "!"} <= unmarked
    assert not mask[[t for t, w in enumerate(explanation.word_ids) if w is None]].any()


def test_pair_rationales_map_to_their_side(tiny_classifiers: dict[str, Classifier], on_model) -> None:
    classifier = tiny_classifiers["bert"]
    explanation = on_model(classifier, "a man walks", lambda n: np.zeros(n), pair="a dog walks")
    mask = token_rationale(explanation, [0, 1, 0], [0, 0, 1])
    sides = {(explanation.words[explanation.word_ids[t]][0], explanation.tokens[t]) for t in np.flatnonzero(mask)}
    assert sides == {(0, "man"), (1, "walks")}


def test_rationale_length_must_match_the_words(hand) -> None:
    with pytest.raises(FaithlabError, match="rationale has 2 entries but the text has 3 whitespace words"):
        rationale_to_token_mask(hand([0.1, 0.2, 0.3]), [1, 0])
    with pytest.raises(FaithlabError, match="no pair text"):
        rationale_to_token_mask(hand([0.1]), [1], side=1)
