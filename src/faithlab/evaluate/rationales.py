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
    """Rows of gt_overlap and gt_mean_rank; `rationales[i]` marks the planted whitespace words of example i."""
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
    """Rows of the plausibility metrics; `rationales[i]` is the human word mask of example i (None: no rationale)."""
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
