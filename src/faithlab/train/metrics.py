"""Test metrics of a classifier: accuracy, F1, confusion matrix, and calibration (Brier score, ECE, NLL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix, f1_score

from faithlab.errors import FaithlabError

ECE_BINS = 15


@dataclass(frozen=True)
class MetricInfo:
    """What a number means: its range, which way is better, where it is defined."""

    range: tuple[float, float]
    higher_is_better: bool
    source: str


METRICS: dict[str, MetricInfo] = {
    "accuracy": MetricInfo((0.0, 1.0), True, "share of correct predictions"),
    "f1_binary": MetricInfo((0.0, 1.0), True, "F1 of class 1 (two-class tasks only)"),
    "f1_macro": MetricInfo((0.0, 1.0), True, "unweighted mean of per-class F1"),
    "brier": MetricInfo((0.0, 2.0), False, "Brier 1950, Monthly Weather Review; summed over classes"),
    "ece": MetricInfo((0.0, 1.0), False, "Naeini et al. 2015 AAAI; Guo et al. 2017 ICML; 15 equal-width bins"),
    "nll": MetricInfo((0.0, float("inf")), False, "mean negative log-likelihood of the true class"),
}


def _check(probabilities: np.ndarray, labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or probs.shape[0] != y.shape[0] or probs.shape[0] == 0:
        raise FaithlabError(f"need one probability row per label; got {probs.shape} for {y.shape[0]} labels")
    if y.min() < 0 or y.max() >= probs.shape[1]:
        raise FaithlabError(f"labels must index the {probs.shape[1]} classes; got values {y.min()}..{y.max()}")
    return probs, y


def brier_score(probabilities: np.ndarray, labels: Sequence[int]) -> float:
    """Mean over rows of Σ_k (p_k − 1[y = k])²; 0 is perfect, 2 the worst (twice the one-class binary form)."""
    probs, y = _check(probabilities, labels)
    onehot = np.eye(probs.shape[1])[y]
    return float(((probs - onehot) ** 2).sum(axis=1).mean())


def negative_log_likelihood(probabilities: np.ndarray, labels: Sequence[int]) -> float:
    """Mean of −log p_y (probabilities clipped at 1e-12 so a confident mistake stays finite)."""
    probs, y = _check(probabilities, labels)
    return float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None)).mean())


def reliability_bins(probabilities: np.ndarray, labels: Sequence[int], bins: int = ECE_BINS) -> list[dict[str, Any]]:
    """Confidence (max probability) bins ((m−1)/M, m/M]: count, mean confidence and accuracy of each."""
    probs, y = _check(probabilities, labels)
    if bins < 1:
        raise FaithlabError(f"bins must be at least 1, got {bins}")
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    # Right-closed bins: a confidence of exactly m/M belongs to bin m (1-based), as in Guo et al.
    which = np.searchsorted(np.arange(1, bins) / bins, confidence, side="left")
    rows = []
    for m in range(bins):
        members = which == m
        count = int(members.sum())
        rows.append({
            "lower": m / bins,
            "upper": (m + 1) / bins,
            "count": count,
            "confidence": float(confidence[members].mean()) if count else None,
            "accuracy": float(correct[members].mean()) if count else None,
        })
    return rows


def expected_calibration_error(probabilities: np.ndarray, labels: Sequence[int], bins: int = ECE_BINS) -> float:
    """ECE = Σ_m |B_m|/n · |acc(B_m) − conf(B_m)| over equal-width confidence bins (Guo et al. 2017)."""
    table = reliability_bins(probabilities, labels, bins)
    n = sum(row["count"] for row in table)
    return float(sum(row["count"] / n * abs(row["accuracy"] - row["confidence"]) for row in table if row["count"]))


def classification_metrics(
    probabilities: np.ndarray, labels: Sequence[int], label_names: Sequence[str], bins: int = ECE_BINS
) -> dict[str, Any]:
    """Everything the test report needs, as plain JSON-ready values."""
    probs, y = _check(probabilities, labels)
    if len(label_names) != probs.shape[1]:
        raise FaithlabError(f"{len(label_names)} label names for {probs.shape[1]} classes")
    predicted = probs.argmax(axis=1)
    classes = list(range(probs.shape[1]))
    return {
        "n": len(y),
        "accuracy": float((predicted == y).mean()),
        "f1_binary": float(f1_score(y, predicted, pos_label=1, average="binary", zero_division=0))
        if len(classes) == 2
        else None,
        "f1_macro": float(f1_score(y, predicted, labels=classes, average="macro", zero_division=0)),
        "confusion_matrix": confusion_matrix(y, predicted, labels=classes).tolist(),
        "classification_report": classification_report(
            y, predicted, labels=classes, target_names=list(label_names), output_dict=True, zero_division=0
        ),
        "brier": brier_score(probs, y),
        "ece": expected_calibration_error(probs, y, bins),
        "ece_bins": bins,
        "nll": negative_log_likelihood(probs, y),
        "reliability": reliability_bins(probs, y, bins),
        "labels": list(label_names),
    }
