"""Perturbation views: the deletion table equals an independent leave-one-out on a tiny model, one contrast per
table, per-class top words, loss extremes, and MoRF / LeRF labels under stated thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import faithlab as fl
from faithlab.errors import FaithlabError
from faithlab.evaluate.faithfulness import curve_shape
from faithlab.report.perturbation_views import (
    CurveRule,
    DeletionTable,
    curve_table,
    curves_figure,
    deletion_table,
    loss_extremes,
    top_words,
)

TEXTS = ["profit rose 0.8 % pre-tax .", "the market fell sharply"]


def test_deletion_table_equals_an_independent_leave_one_out(tiny_classifiers) -> None:
    model = tiny_classifiers["bert"]
    target, contrast = model.labels[1], model.labels[0]
    settings = {"unit": "whitespace", "output": "probability_margin", "contrast": contrast}
    result = fl.explain(model, TEXTS, methods={"occlusion": settings}, target=target)
    table = deletion_table(result["occlusion"], ids=["a", "b"])
    assert f"{target} − probability of {contrast} (fixed contrast)" in table.quantity
    frame = table.frame
    for text_id, text in zip(["a", "b"], TEXTS, strict=True):
        words = text.split()
        rows = frame[frame["text_id"] == text_id]
        assert rows["word"].tolist() == words
        before = model.predict(text)[0]
        for i, row in enumerate(rows.itertuples()):
            after = model.predict(" ".join(words[:i] + words[i + 1:]))[0]  # delete the i-th word by hand
            assert row.output_before == pytest.approx(before[1] - before[0], abs=1e-5)
            assert row.output_after == pytest.approx(after[1] - after[0], abs=1e-5)
            assert row.difference == pytest.approx((before[1] - before[0]) - (after[1] - after[0]), abs=1e-5)
            assert row.predicted_after == model.labels[int(np.argmax(after))]
            assert frame.loc[row.Index, f"p_after:{contrast}"] == pytest.approx(after[0], abs=1e-5)


def test_a_table_with_two_contrasts_is_refused(tiny_classifiers) -> None:
    model = tiny_classifiers["bert"]
    result = fl.explain(model, TEXTS, methods={"occlusion": {"output": "margin"}}, target="all")
    with pytest.raises(FaithlabError, match=r"occlusion\.contrast"):
        deletion_table(list(result))


def _table(rows: list[tuple[str, str, float]], quantity: str = "difference = loss after") -> DeletionTable:
    return DeletionTable(pd.DataFrame(rows, columns=["predicted_before", "word", "difference"]), quantity)


def test_top_words_per_class_and_loss_extremes() -> None:
    table = _table([("pos", "good", 0.5), ("neg", "bad", 0.9), ("pos", "great", 0.7), ("pos", "the", -0.1),
                    ("neg", "awful", 0.2), ("neg", "a", -0.3)])
    top = top_words(table.frame, n=2)
    assert top[["predicted_before", "word", "rank"]].values.tolist() == [
        ["neg", "bad", 1], ["neg", "awful", 2], ["pos", "great", 1], ["pos", "good", 2]]
    high, low = loss_extremes(table, n=2)
    assert high["word"].tolist() == ["bad", "great"]
    assert low["word"].tolist() == ["a", "the"]
    with pytest.raises(FaithlabError, match="loss"):
        loss_extremes(_table([("pos", "x", 1.0)], "output = logit"), n=1)


@pytest.mark.parametrize(
    ("y", "rule", "label"),
    [
        ([1.0, 0.4, 0.35, 0.3, 0.3, 0.3], CurveRule(), "sharp"),  # most of the drop by x = 0.2
        ([1.0, 0.9, 0.8, 0.7, 0.6, 0.5], CurveRule(), "gradual"),  # 0.1 of 0.5 by x = 0.2
        ([1.0, 0.9, 0.8, 0.7, 0.6, 0.5], CurveRule(share=0.15), "sharp"),  # the share is a setting
        ([1.0, 0.9, 0.8, 0.7, 0.6, 0.5], CurveRule(at=0.6), "sharp"),  # and so is the point
        ([0.9, 0.9, 0.9005, 0.9, 0.9, 0.9], CurveRule(), "flat"),
    ],
)
def test_curve_labels_follow_their_thresholds(y: list[float], rule: CurveRule, label: str) -> None:
    x = np.linspace(0, 1, 6)
    assert rule.label(x, y) == label
    assert f"{rule.share:g} of its largest drop by x = {rule.at:g}" in str(rule)


def test_default_rule_agrees_with_the_metric_on_morf_curves() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        x = np.linspace(0, 1, 8)
        y = np.concatenate([[1.0], rng.uniform(0, 1, 7)])
        expected = {1.0: "sharp", 0.0: "gradual"}.get(curve_shape(x, y), "flat")
        assert CurveRule().label(x, y) == expected


def test_curve_table_labels_both_curves_and_plots_them(tiny_classifiers) -> None:
    model = tiny_classifiers["bert"]
    result = fl.explain(model, TEXTS[:1], methods=["grad_x_input", "random"])
    from faithlab.evaluate import evaluate_faithfulness

    rows = evaluate_faithfulness(model, result.flat(), parts=["curves"])
    curves = curve_table(r.to_dict() for r in rows)
    assert sorted(set(zip(curves["method"], curves["curve"], strict=True))) == [
        ("grad_x_input", "lerf"), ("grad_x_input", "morf"), ("random", "lerf"), ("random", "morf")]
    assert set(curves["label"]) <= {"sharp", "gradual", "flat"}
    assert len(curves_figure(curves, 0).get_axes()[0].lines) == 4
