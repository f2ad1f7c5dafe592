"""Agreement of explanations with reference token sets: planted ground truth and human rationales (plausibility).

Only content tokens are ranked (special tokens are never candidates), by signed score, high first. Ties follow
`faithlab.evaluate.ranking` ('average' by default: the expectation under random tie-breaking). A metric is NaN when
the reference set is empty (no planted word, no highlight): there is nothing to find, and the mean leaves it out.

Discrete explanations for token F1 / IOU are the top-|R| tokens (|R| = rationale size; under 'average' ties the
expected intersection is used) or, with `threshold`, every token scoring above it. Token IOU is the token-level
Jaccard index |P ∩ R| / |P ∪ R| (not ERASER's span-level IOU-F1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn.metrics import average_precision_score

from faithlab.errors import FaithlabError
from faithlab.evaluate.alignment import token_rationale
from faithlab.evaluate.ranking import check_ties, covering_fraction, hits_at, overlap_at_size
from faithlab.evaluate.results import Explanations, Row, by_method
from faithlab.explain.explanation import Explanation

WordMask = Sequence[int] | None


def _content(explanation: Explanation, token_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    token_mask = np.asarray(token_mask, dtype=bool)
    if token_mask.shape != (len(explanation.tokens),):
        n = len(explanation.tokens)
        raise FaithlabError(f"token mask has shape {token_mask.shape}, but the explanation has {n} tokens")
    content = explanation.content
    return explanation.scores[content], token_mask[content]


def ground_truth_scores(explanation: Explanation, token_mask: np.ndarray, ties: str = "average") -> dict[str, float]:
    """Ground Truth Overlap and Mean Rank Percentage of one explanation against planted token positions."""
    scores, relevant = _content(explanation, token_mask)
    return {
        "gt_overlap": overlap_at_size(scores, relevant, ties),
        "gt_mean_rank": covering_fraction(scores, relevant, ties),
    }


def plausibility_scores(
    explanation: Explanation, token_mask: np.ndarray, ties: str = "average", threshold: float | None = None
) -> dict[str, float]:
    """Overlap, mean rank, AUPRC, token F1 and token IOU of one explanation against a human rationale."""
    scores, relevant = _content(explanation, token_mask)
    size = int(relevant.sum())
    if size == 0:
        names = ("plausibility_overlap", "plausibility_mean_rank", "auprc", "token_f1", "token_iou")
        return dict.fromkeys(names, float("nan"))
    if threshold is None:
        predicted, hits = size, hits_at(scores, relevant, size, ties)
    else:
        chosen = scores > threshold
        predicted, hits = int(chosen.sum()), float((chosen & relevant).sum())
    return {
        "plausibility_overlap": overlap_at_size(scores, relevant, ties),
        "plausibility_mean_rank": covering_fraction(scores, relevant, ties),
        "auprc": float(average_precision_score(relevant, scores)),
        "token_f1": 2 * hits / (predicted + size),
        "token_iou": hits / (predicted + size - hits),
    }


def evaluate_ground_truth(
    explanations: Explanations,
    rationales: Sequence[WordMask],
    pair_rationales: Sequence[WordMask] | None = None,
    ties: str = "average",
) -> list[Row]:
    """Agreement with planted ground truth: are the words that decide the label ranked first?

    On data where the label is decided by planted words (and a model that learned them), a faithful explanation
    ranks those words first (Arras et al. 2022, CLEVR-XAI's relevance rank accuracy; Zhou et al. 2022, "Do Feature
    Attribution Methods Correctly Attribute Features?"). Content tokens are ranked by signed score, high first.

    Args:
        explanations: one method's list, or a mapping method → list aligned by example.
        rationales: per example, a 0/1 mask over its whitespace words marking the planted ones (None: none).
        pair_rationales: the same for the pair texts (default None: no planted word in a pair text).
        ties: how tied scores are ranked, see `faithlab.evaluate.TIES` (default 'average': the expectation under
            random tie-breaking).

    Returns:
        `Row`s per example and method: gt_overlap (share of the top-|L| tokens that are planted, |L| = planted
        tokens; higher is better, in [0, 1]) and gt_mean_rank (smallest fraction of the ranking that holds every
        planted token; lower is better, in [0, 1]). NaN where an example has no planted token.

    Example:
        >>> result = fl.explain(model, "a warm and funny film", methods={"random": {"seed": 0}})
        >>> rows = evaluate_ground_truth(result["random"], rationales=[[0, 1, 0, 1, 0]])
        >>> [(row.metric, row.value) for row in rows]
        [('gt_overlap', 0.5), ('gt_mean_rank', 1.0)]
    """
    check_ties(ties)
    return _rows(explanations, rationales, pair_rationales, {"ties": ties},
                 lambda e, mask: ground_truth_scores(e, mask, ties))


def evaluate_plausibility(
    explanations: Explanations,
    rationales: Sequence[WordMask],
    pair_rationales: Sequence[WordMask] | None = None,
    ties: str = "average",
    threshold: float | None = None,
) -> list[Row]:
    """Plausibility: agreement of explanations with human rationales (highlighted words).

    The ERASER measures (DeYoung et al. 2020: AUPRC, token F1, token IOU) and the ranking measures of
    `evaluate_ground_truth` against what annotators marked. Plausible is not faithful: a model may rely on other
    words than a person would.

    Args:
        explanations: one method's list, or a mapping method → list aligned by example.
        rationales: per example, a 0/1 mask over its whitespace words marking the human rationale (None: none).
        pair_rationales: the same for the pair texts (default None: no rationale in a pair text).
        ties: how tied scores are ranked, see `faithlab.evaluate.TIES` (default 'average').
        threshold: the discrete explanation for token F1 and IOU: None takes the top-|R| tokens (|R| = rationale
            size), a number every token scoring above it (default None).

    Returns:
        `Row`s per example and method, all in [0, 1]: plausibility_overlap, auprc, token_f1 and token_iou (higher
        is better) and plausibility_mean_rank (lower is better). NaN where an example has no rationale.

    Example:
        >>> result = fl.explain(model, ["a warm and funny film", "dull and slow"], methods="random")
        >>> rows = evaluate_plausibility(result["random"], rationales=[[0, 1, 0, 1, 0], None])
        >>> sorted(row.metric for row in rows if row.example == 0)
        ['auprc', 'plausibility_mean_rank', 'plausibility_overlap', 'token_f1', 'token_iou']
        >>> [row.value for row in rows if row.example == 1]  # no rationale, nothing to find
        [nan, nan, nan, nan, nan]
    """
    check_ties(ties)
    settings = {"ties": ties, "discrete": "top_rationale_size" if threshold is None else f"score>{threshold}"}
    return _rows(explanations, rationales, pair_rationales, settings,
                 lambda e, mask: plausibility_scores(e, mask, ties, threshold))


def _rows(
    explanations: Explanations,
    rationales: Sequence[WordMask],
    pair_rationales: Sequence[WordMask] | None,
    settings: dict[str, str],
    score: Callable[[Explanation, np.ndarray], dict[str, float]],
) -> list[Row]:
    methods = by_method(explanations)
    pairs = pair_rationales if pair_rationales is not None else [None] * len(rationales)
    rows = []
    for method, items in methods.items():
        if len(items) != len(rationales) or len(pairs) != len(rationales):
            raise FaithlabError(
                f"{len(items)} explanations of '{method}', {len(rationales)} rationales and {len(pairs)} pair "
                "rationales; give one of each per example"
            )
        for i, (explanation, rationale, pair) in enumerate(zip(items, rationales, pairs, strict=True)):
            mask = token_rationale(explanation, rationale, pair)
            for name, value in score(explanation, mask).items():
                rows.append(Row(i, method, name, value, dict(settings)))
    return rows
