"""Rankings of token scores: top-k selection and tie-aware agreement of a ranking with a set of relevant tokens.

Scores rank from high to low (higher = more evidence for the target). Tied scores have no order of their own, so the
set metrics say how ties are resolved:
- 'average' (default): the expected value when ties are broken uniformly at random (a constant explanation scores
  chance level);
- 'pessimistic': relevant tokens are placed after the irrelevant tokens they tie with (the worst order).
Perturbation metrics need one concrete order instead: `descending_order` breaks ties by position, earlier first.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import ConstantInputWarning, kendalltau, spearmanr

from faithlab.errors import FaithlabError

TIES = ("average", "pessimistic")


def check_ties(ties: str) -> str:
    if ties not in TIES:
        raise FaithlabError(f"unknown tie rule '{ties}'; choose one of {', '.join(TIES)}")
    return ties


def descending_order(scores: np.ndarray) -> np.ndarray:
    """Indices from highest to lowest score; equal scores keep their positional order (earlier first)."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def hits_at(scores: np.ndarray, relevant: np.ndarray, k: int, ties: str = "average") -> float:
    """How many relevant items are among the k highest scores (expected number under 'average' ties)."""
    scores, relevant = np.asarray(scores, dtype=np.float64), np.asarray(relevant, dtype=bool)
    if k <= 0:
        return 0.0
    k = min(k, len(scores))
    cut = np.sort(scores)[::-1][k - 1]
    above, tied = scores > cut, scores == cut
    slots = k - int(above.sum())  # how many of the tied items make it into the top k
    group, relevant_in_group = int(tied.sum()), int((relevant & tied).sum())
    base = float((relevant & above).sum())
    if check_ties(ties) == "average":
        return base + slots * relevant_in_group / group
    return base + max(0, slots - (group - relevant_in_group))


def overlap_at_size(scores: np.ndarray, relevant: np.ndarray, ties: str = "average") -> float:
    """Share of the top-|L| items that are relevant, |L| = number of relevant items; NaN when there are none."""
    size = int(np.sum(relevant))
    return hits_at(scores, relevant, size, ties) / size if size else float("nan")


def covering_fraction(scores: np.ndarray, relevant: np.ndarray, ties: str = "average") -> float:
    """Smallest fraction of the ranking (top 1..n) that contains every relevant item; NaN when there are none.

    Only the lowest-scored relevant item matters: its group of ties starts after the `before` strictly higher items.
    With r relevant items among its g ties, 'pessimistic' puts them at the group's end, 'average' takes the expected
    largest of r positions drawn from g, before + r (g + 1) / (r + 1).
    """
    scores, relevant = np.asarray(scores, dtype=np.float64), np.asarray(relevant, dtype=bool)
    if not relevant.any():
        return float("nan")
    lowest = scores[relevant].min()
    before = int((scores > lowest).sum())
    tied = scores == lowest
    group, r = int(tied.sum()), int((relevant & tied).sum())
    last = before + group if check_ties(ties) == "pessimistic" else before + r * (group + 1) / (r + 1)
    return last / len(scores)


def rank_correlation(a: np.ndarray, b: np.ndarray, kind: str = "spearman") -> float:
    """Spearman's rho or Kendall's tau-b (ties get average ranks); NaN for fewer than two items or a constant side,
    where there is no ranking to compare."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        result = spearmanr(a, b) if kind == "spearman" else kendalltau(a, b)
    return float(result.statistic)
