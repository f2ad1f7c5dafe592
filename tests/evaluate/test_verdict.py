"""The verdict: paired bootstrap probabilities on hand-computed cases, ties, metric direction, the cheapest method of
the top set, meta-evaluation weights, sanity checks, and the JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from faithlab.errors import FaithlabError
from faithlab.evaluate.meta_evaluation import MetaEvaluation, MetricMeta
from faithlab.evaluate.verdict import (
    GROUND_TRUTH_METRICS,
    Verdict,
    build_verdict,
    compare,
    read_verdicts,
    verdict_markdown,
    verdicts_json,
)

BASE = np.random.default_rng(0).normal(0.5, 0.1, size=40)  # per-example difficulty shared by every method


def _rows(metric: str, method: str, values: np.ndarray, seconds: float = 0.1, variant: str = "") -> list[dict]:
    return [{"model": "m", "dataset": "d", "method": method, "metric": metric, "variant": variant, "example": i,
             "value": float(v), "seconds": seconds} for i, v in enumerate(values)]


def _frame(*parts: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([row for part in parts for row in part])


def test_probability_of_a_paired_bootstrap_by_hand() -> None:
    # differences (2, 0): resampled means 2, 1, 0 with probabilities 1/4, 1/2, 1/4; a zero counts half a win
    found = compare(np.array([3.0, 1.0]), np.array([1.0, 1.0]), "a", "b", 1.0, 20000, 0, 0.95)
    assert found.p_a_beats_b == pytest.approx(0.75 + 0.125, abs=0.01)
    assert found.difference == 1.0 and (found.low, found.high) == (0.0, 2.0) and found.winner is None
    always = compare(np.array([2.0, 3.0, 4.0]), np.array([1.0, 1.0, 1.0]), "a", "b", 1.0, 500, 0, 0.95)
    assert always.p_a_beats_b == 1.0 and always.winner == "a" and always.low >= 1.0  # no resample mean below 1
    assert compare(np.array([1.0, np.nan]), np.array([0.0, 0.0]), "a", "b", 1.0, 100, 0, 0.95) is None


def test_a_clearly_better_method_wins_with_probability_one() -> None:
    frame = _frame(_rows("comprehensiveness", "good", BASE + 0.3), _rows("comprehensiveness", "bad", BASE))
    verdict = build_verdict(frame, resamples=500)[("m", "d")]
    (comparison,) = verdict.evidence[0].comparisons
    p_good = comparison.p_a_beats_b if comparison.a == "good" else 1 - comparison.p_a_beats_b
    assert p_good == 1.0 and comparison.winner == "good"
    assert verdict.best == ["good"] and verdict.leader == "good" and verdict.scores == {"bad": -1.0, "good": 1.0}


def test_methods_equal_up_to_noise_are_tied() -> None:
    noise = np.tile([0.01, -0.01], 20)  # mean difference exactly 0
    frame = _frame(_rows("comprehensiveness", "a", BASE + noise), _rows("comprehensiveness", "b", BASE))
    verdict = build_verdict(frame, resamples=1000)[("m", "d")]
    (comparison,) = verdict.evidence[0].comparisons
    assert comparison.winner is None and 0.3 < comparison.p_a_beats_b < 0.7
    assert comparison.low < 0 < comparison.high
    assert sorted(verdict.best) == ["a", "b"] and "cannot be told apart" in verdict.summary


def test_a_lower_is_better_metric_reverses_the_winner() -> None:
    low, high = _rows("sufficiency", "low", BASE), _rows("sufficiency", "high", BASE + 0.2)
    assert build_verdict(_frame(low, high), resamples=200)[("m", "d")].best == ["low"]
    low, high = _rows("comprehensiveness", "low", BASE), _rows("comprehensiveness", "high", BASE + 0.2)
    assert build_verdict(_frame(low, high), resamples=200)[("m", "d")].best == ["high"]


def test_the_cheapest_method_of_the_tied_top_set() -> None:
    noise = np.tile([0.01, -0.01], 20)
    frame = _frame(
        _rows("comprehensiveness", "slow", BASE + 0.3, seconds=2.0),
        _rows("comprehensiveness", "fast", BASE + 0.3 + noise, seconds=0.5),
        _rows("comprehensiveness", "cheapest_but_bad", BASE, seconds=0.01),
    )
    verdict = build_verdict(frame, resamples=500)[("m", "d")]
    assert sorted(verdict.best) == ["fast", "slow"] and verdict.cheapest == "fast"
    assert verdict.seconds_per_example == {"cheapest_but_bad": 0.01, "fast": 0.5, "slow": 2.0}
    assert "cheapest method of the top set is fast" in verdict.summary


def test_the_random_baseline_is_never_recommended() -> None:
    frame = _frame(_rows("comprehensiveness", "random", BASE + 0.3), _rows("comprehensiveness", "weak", BASE))
    verdict = build_verdict(frame, resamples=200)[("m", "d")]
    assert verdict.best == ["weak"] and verdict.beats_baseline is False
    assert "does not beat the random baseline" in verdict.summary


def test_a_metric_the_meta_evaluation_failed_is_flagged_and_weighs_nothing() -> None:
    # comprehensiveness prefers a, sufficiency (lower is better) prefers b
    frame = _frame(
        _rows("comprehensiveness", "a", BASE + 0.3), _rows("comprehensiveness", "b", BASE),
        _rows("sufficiency", "a", BASE + 0.3), _rows("sufficiency", "b", BASE),
    )
    assert sorted(build_verdict(frame, resamples=200)[("m", "d")].best) == ["a", "b"]  # one win each
    meta = MetaEvaluation({"comprehensiveness": MetricMeta("comprehensiveness", [0.0, 0.2], [0.1, 0.0], 2),
                           "sufficiency": MetricMeta("sufficiency", [1.0, 1.0], [-1.0, 0.0], 2)})
    verdict = build_verdict(frame, meta=meta, resamples=200)[("m", "d")]
    assert verdict.flagged_metrics == ["comprehensiveness"] and verdict.best == ["b"]
    assert [(e.metric, e.weight, e.meta_passed) for e in verdict.evidence] == [
        ("comprehensiveness", 0.0, False), ("sufficiency", 1.0, True)]
    assert "flagged comprehensiveness" in verdict.summary


def test_excluding_the_ground_truth_metrics() -> None:
    frame = _frame(_rows("gt_overlap", "a", BASE + 0.3), _rows("gt_overlap", "b", BASE),
                   _rows("comprehensiveness", "a", BASE), _rows("comprehensiveness", "b", BASE + 0.3))
    assert build_verdict(frame, exclude_metrics=GROUND_TRUTH_METRICS, resamples=200)[("m", "d")].best == ["b"]
    only_gt = frame[frame["metric"] == "gt_overlap"]
    assert build_verdict(only_gt, exclude_metrics=GROUND_TRUTH_METRICS) == {}  # nothing left to judge by
    undefined = frame.assign(value=np.where(frame["metric"] == "gt_overlap", np.nan, frame["value"]))
    assert [e.metric for e in build_verdict(undefined, resamples=50)[("m", "d")].evidence] == ["comprehensiveness"]


def test_sanity_checks_read_the_fully_randomised_step_and_the_constrained_attack() -> None:
    frame = _frame(
        _rows("comprehensiveness", "a", BASE + 0.3), _rows("comprehensiveness", "b", BASE),
        _rows("randomization_spearman", "a", np.full(4, 0.9), variant="cascading:1"),
        _rows("randomization_spearman", "a", np.full(4, 0.1), variant="cascading:0"),
        _rows("attack_rank_change", "a", np.full(4, 0.8), variant="constrained"),
        _rows("attack_rank_change", "a", np.full(4, 0.1), variant="unconstrained"),
    )
    verdict = build_verdict(frame, resamples=100)[("m", "d")]
    found = {(s.check, s.variant): (s.value, s.passed) for s in verdict.sanity}
    assert found == {("randomization", "cascading:0"): (pytest.approx(0.1), True),
                     ("attack", "constrained"): (pytest.approx(0.8), False)}
    assert [e.metric for e in verdict.evidence] == ["comprehensiveness"]  # sanity metrics are not compared


def test_verdict_json_round_trip_and_markdown() -> None:
    frame = _frame(_rows("comprehensiveness", "a", BASE + 0.3, seconds=0.2), _rows("comprehensiveness", "b", BASE),
                   _rows("sufficiency", "a", BASE), _rows("sufficiency", "random", BASE + 0.1),
                   _rows("randomization_spearman", "a", np.full(4, 0.2), variant="cascading:0"))
    verdicts = build_verdict(frame, resamples=100)
    verdict = verdicts[("m", "d")]
    assert Verdict.from_dict(json.loads(verdict.to_json())) == verdict
    assert read_verdicts(verdicts_json(verdicts)) == verdicts
    text = verdict_markdown(verdict)
    assert verdict.summary in text and "| comprehensiveness | higher | 1 | not run | a |" in text


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"exclude_metrics": ["gt_overlapp"]}, "cannot exclude 'gt_overlapp'; the verdict's metrics are gt_overlap"),
        ({"resamples": 0}, "resamples must be an integer >= 1, got 0"),
        ({"level": 1.5}, "level must lie strictly between 0 and 1, got 1.5"),
    ],
)
def test_bad_settings_are_named(settings: dict, message: str) -> None:
    with pytest.raises(FaithlabError, match=message):
        build_verdict(_frame(_rows("comprehensiveness", "a", BASE)), **settings)


def test_a_frame_without_the_store_columns_is_refused() -> None:
    with pytest.raises(FaithlabError, match=r"lacks columns \['seconds', 'variant'\]"):
        build_verdict(_frame(_rows("comprehensiveness", "a", BASE)).drop(columns=["seconds", "variant"]))
