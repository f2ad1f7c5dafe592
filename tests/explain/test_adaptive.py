"""The adaptive stop rule: the split-half prediction against a known noise level, and the growth of rounds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from faithlab.explain.adaptive import AUTO_GROWTH, next_count, split_half_prediction


def test_split_half_prediction_matches_the_true_rank_correlation() -> None:
    """Each unit is an unbiased noisy observation of a planted vector and the estimate is their mean: the predicted
    Spearman of the full mean with the truth is close to the one measured against the truth."""
    rng = np.random.default_rng(0)
    truth = rng.normal(size=40)
    predicted, actual = [], []
    for noise in (2.0, 5.0, 10.0):
        for _ in range(10):
            units = truth + noise * rng.normal(size=(200, 40))
            predicted.append(split_half_prediction(lambda half, u=units: u[half].mean(axis=0), 200, rng))
            actual.append(spearmanr(units.mean(axis=0), truth).statistic)
    # noisier rows predict lower values, and the prediction tracks the measured value
    assert predicted[0] > predicted[-1]
    assert np.mean(np.array(predicted) - np.array(actual)) == pytest.approx(0.0, abs=0.02)
    assert np.abs(np.array(predicted) - np.array(actual)).mean() < 0.04


def test_split_half_prediction_of_an_exact_fit_is_one() -> None:
    truth = np.arange(10.0)
    assert split_half_prediction(lambda half: truth, 50, np.random.default_rng(0)) == pytest.approx(1.0)
    flat = np.zeros(10)
    assert split_half_prediction(lambda half: flat, 50, np.random.default_rng(0)) == pytest.approx(1.0)
    opposite = [truth, -truth]  # halves that disagree completely predict nothing
    assert split_half_prediction(lambda half: opposite[int(half[0])], 50, np.random.default_rng(0)) == 0.0


def test_next_count_grows_by_half_in_whole_steps() -> None:
    for count, step in [(64, 32), (96, 32), (64, 64), (1, 64), (200, 16)]:
        grown = next_count(count, step)
        assert grown % step == 0 and grown > count
        assert grown >= AUTO_GROWTH * count and grown - step < max(AUTO_GROWTH * count, count + 1)
