"""Bootstrap intervals, result aggregation and metric metadata."""

from __future__ import annotations

import math

import numpy as np
import pytest

from faithlab.errors import FaithlabError
from faithlab.evaluate import METRICS, Row, aggregate, bootstrap_means, get_metric, summarize


def test_interval_contains_the_mean_and_is_deterministic() -> None:
    values = np.random.default_rng(3).normal(0.4, 0.2, size=60)
    first = summarize(values, resamples=2000, seed=7)
    assert first.low < first.mean < first.high
    assert first.mean == pytest.approx(values.mean())
    assert summarize(values, resamples=2000, seed=7) == first
    assert summarize(values, resamples=2000, seed=8) != first
    # close to the normal-theory interval, mean ± 1.96 standard errors
    half = 1.96 * values.std(ddof=1) / math.sqrt(len(values))
    assert first.high - first.low == pytest.approx(2 * half, rel=0.15)


def test_bootstrap_means_are_means_of_resamples() -> None:
    values = np.array([0.0, 1.0])
    means = bootstrap_means(values, resamples=4000, seed=0)
    assert set(np.unique(means)) <= {0.0, 0.5, 1.0}
    assert np.mean(means == 0.5) == pytest.approx(0.5, abs=0.03)


def test_large_samples_are_drawn_in_blocks_with_the_same_answer() -> None:
    values = np.random.default_rng(0).random(5000)
    means = bootstrap_means(values, resamples=1000, seed=1)  # 5M draws: more than one block
    assert means.shape == (1000,)
    assert np.allclose(means.mean(), values.mean(), atol=0.002)


def test_nan_values_are_left_out_and_counted() -> None:
    summary = summarize([1.0, float("nan"), 3.0], resamples=100)
    assert (summary.mean, summary.n, summary.missing) == (2.0, 2, 1)
    empty = summarize([float("nan")])
    assert math.isnan(empty.mean) and empty.n == 0 and empty.missing == 1
    single = summarize([0.3])
    assert single.low == single.mean == single.high == 0.3


def test_bad_settings_are_named() -> None:
    with pytest.raises(FaithlabError, match="resamples must be an integer >= 1, got 0"):
        summarize([1.0], resamples=0)
    with pytest.raises(FaithlabError, match="level"):
        summarize([1.0], level=1.5)


def test_aggregate_sorts_best_first_by_the_metric_direction() -> None:
    rows = [Row(i, m, metric, v) for i in range(3) for m, v in (("a", 0.1), ("b", 0.5))
            for metric in ("comprehensiveness", "sufficiency")]
    table = aggregate(rows, resamples=50)
    assert [(r["metric"], r["method"]) for r in table] == [
        ("comprehensiveness", "b"), ("comprehensiveness", "a"),  # higher is better
        ("sufficiency", "a"), ("sufficiency", "b"),  # lower is better
    ]
    assert table[0]["higher_is_better"] and not table[2]["higher_is_better"]
    assert table[0]["citation"].startswith("DeYoung")


def test_aggregate_groups_by_settings() -> None:
    rows = [Row(0, "g", "randomization_spearman", v, {"layer": layer}) for layer, v in ((3, 0.9), (10, 0.1), (3, 0.7))]
    table = aggregate(rows, by=("layer",), resamples=10)
    assert [(r["layer"], r["mean"]) for r in table] == [(3, pytest.approx(0.8)), (10, 0.1)]


def test_every_metric_states_range_direction_and_source() -> None:
    for metric in METRICS.values():
        low, high = metric.range
        assert low < high and metric.citation and metric.description
    assert get_metric("sufficiency").better(0.1, 0.2)
    with pytest.raises(FaithlabError, match="unknown metric 'accuracy'"):
        get_metric("accuracy")
