"""Calibration and classification metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from faithlab.errors import FaithlabError
from faithlab.train.metrics import (
    brier_score,
    classification_metrics,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_bins,
)

# Four rows, two classes. Confidences 0.9, 0.8, 0.6, 0.7; the third row (label 1, predicted 0) is wrong.
PROBS = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
LABELS = [0, 1, 1, 1]


def test_brier_sums_squared_errors_over_classes():
    # rows: 2·0.1², 2·0.2², 2·0.6², 2·0.3² → (0.02 + 0.08 + 0.72 + 0.18) / 4
    assert brier_score(PROBS, LABELS) == pytest.approx(0.25)


def test_nll_is_mean_negative_log_probability_of_the_true_class():
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.7)) / 4
    assert negative_log_likelihood(PROBS, LABELS) == pytest.approx(expected)


def test_ece_with_two_bins_by_hand():
    # Bins (0, .5], (.5, 1]: all four rows fall in the upper bin: confidence 0.75, accuracy 0.75 → ECE 0.
    assert expected_calibration_error(PROBS, LABELS, bins=2) == pytest.approx(0.0)
    # 15 bins: each confidence falls in a bin of its own, so ECE is the mean |correct − confidence|.
    expected = (abs(1 - 0.9) + abs(1 - 0.8) + abs(0 - 0.6) + abs(1 - 0.7)) / 4
    assert expected_calibration_error(PROBS, LABELS) == pytest.approx(expected)


def test_ece_bins_are_right_closed():
    probs = np.array([[0.5, 0.5], [1.0, 0.0]])
    bins = reliability_bins(probs, [1, 0], bins=2)
    assert [b["count"] for b in bins] == [1, 1]  # 0.5 belongs to (0, 0.5], 1.0 to (0.5, 1]
    assert bins[0]["accuracy"] == 0.0 and bins[1]["accuracy"] == 1.0


def test_perfect_confident_predictions_score_zero():
    probs = np.eye(3)[[0, 1, 2, 1]]
    labels = [0, 1, 2, 1]
    assert brier_score(probs, labels) == 0.0
    assert expected_calibration_error(probs, labels) == 0.0
    assert negative_log_likelihood(probs, labels) == pytest.approx(0.0, abs=1e-9)


def test_classification_metrics_f1_and_confusion():
    metrics = classification_metrics(PROBS, LABELS, ["neg", "pos"])
    # class 1: tp 2, fp 0, fn 1 → P 1, R 2/3, F1 0.8; class 0: tp 1, fp 1, fn 0 → P 0.5, R 1, F1 2/3
    assert metrics["accuracy"] == pytest.approx(0.75)
    assert metrics["f1_binary"] == pytest.approx(0.8)
    assert metrics["f1_macro"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert metrics["confusion_matrix"] == [[1, 0], [1, 2]]
    assert metrics["classification_report"]["pos"]["recall"] == pytest.approx(2 / 3)
    assert metrics["ece_bins"] == 15 and len(metrics["reliability"]) == 15


def test_multiclass_has_no_binary_f1():
    metrics = classification_metrics(np.eye(3)[[0, 1, 2]], [0, 1, 1], ["a", "b", "c"])
    assert metrics["f1_binary"] is None
    assert metrics["confusion_matrix"][1] == [0, 1, 1]  # two true "b": one right, one taken for "c"


@pytest.mark.parametrize("labels", [[0, 1, 2, 1], [0, 1, 1]])
def test_bad_labels_are_rejected(labels):
    with pytest.raises(FaithlabError):
        brier_score(PROBS, labels)
