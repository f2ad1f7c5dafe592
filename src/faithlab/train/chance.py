"""Chance accuracy: what a classifier scores without learning, so that a model near it can be flagged.

Chance is the test set's majority-class rate (always at least 1 / n_classes): predicting the commonest class gets
it. A model is near chance when its test accuracy is below chance + `NEAR_CHANCE_MARGIN`; explanations of such a
model say little about the task, so benchmark summaries warn about it.
"""

from __future__ import annotations

from collections.abc import Sequence

NEAR_CHANCE_MARGIN = 0.1
CHANCE_RULE = (
    f"a model is near chance when its test accuracy < chance + {NEAR_CHANCE_MARGIN}, chance being the test set's "
    "majority-class rate (at least 1 / number of classes)"
)


def chance_accuracy(confusion_matrix: Sequence[Sequence[int]]) -> float:
    """The majority-class rate of a test set, from its confusion matrix (rows: true classes).

    Args:
        confusion_matrix: counts of (true, predicted) classes.

    Returns:
        The share of the commonest true class.
    """
    totals = [sum(row) for row in confusion_matrix]
    return max(totals) / sum(totals)


def is_near_chance(accuracy: float, chance: float) -> bool:
    """Whether `accuracy` is below `chance` + `NEAR_CHANCE_MARGIN`."""
    return accuracy < chance + NEAR_CHANCE_MARGIN


def near_chance_warning(name: str, info: dict[str, float]) -> str:
    """The warning line for model `name` whose `info` holds its test_accuracy and chance_accuracy."""
    return (
        f"model {name} is near chance: test accuracy {info['test_accuracy']:.3f}, chance "
        f"{info['chance_accuracy']:.3f}; its explanations say little about the task"
    )
