"""Comprehensiveness, sufficiency, curves and leave-one-out agreement against removing tokens by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from faithlab.errors import FaithlabError
from faithlab.evaluate import curve_counts, curve_shape, evaluate_faithfulness, faithfulness, top_k_size
from faithlab.models import Classifier

TEXT = "the plot is clever although the ending drags on and on"
SHORT = "not bad"


def probabilities_without(classifier: Classifier, text: str, removed: set[int], keep: bool, replacement: str):
    """Target probabilities after removing content tokens by hand (positions among content tokens, in order)."""
    batch = classifier.encode([text])
    ids, types = batch.input_ids[0].tolist(), batch.token_type_ids
    content = np.flatnonzero(batch.content_mask[0].numpy())
    gone = {int(content[i]) for i in range(len(content)) if (i in removed) != keep}
    if replacement == "delete":
        kept = [t for t in range(len(ids)) if t not in gone]
        ids = [ids[t] for t in kept] or [classifier.replacement_id("pad")]
        types = None if types is None else types[:, kept]
    else:
        ids = [classifier.replacement_id(replacement) if t in gone else i for t, i in enumerate(ids)]
    ids = torch.tensor([ids])
    logits = classifier.logits(ids, torch.ones_like(ids), types)
    return torch.softmax(logits.double(), dim=-1)[0].numpy()


def test_k_is_ceil_of_the_fraction_and_at_least_one() -> None:
    assert [top_k_size(f, 20) for f in (0.01, 0.05, 0.1, 0.2, 0.5, 1.0)] == [1, 1, 2, 4, 10, 20]
    assert top_k_size(0.5, 3) == 2 and top_k_size(0.01, 1) == 1
    assert curve_counts(4, None).tolist() == [0, 1, 2, 3, 4]
    assert curve_counts(100, 4).tolist() == [0, 25, 50, 75, 100]


@pytest.mark.parametrize(("family", "replacement"), [("bert", "mask"), ("bert", "delete"), ("gpt2", "delete"),
                                                     ("t5", "pad")])
def test_comprehensiveness_and_sufficiency_equal_manual_removal(
    tiny_classifiers: dict[str, Classifier], on_model, family: str, replacement: str
) -> None:
    classifier = tiny_classifiers[family]
    fractions = (0.1, 0.25, 0.5, 1.0)
    # scores fall with position, with a tie between the first two tokens (ties keep the earlier token first)
    explanation = on_model(classifier, TEXT, lambda n: np.r_[n, np.arange(n, 0, -1)[1:]].astype(float))
    rows = evaluate_faithfulness(classifier, [explanation], fractions=fractions, replacement=replacement,
                                 parts=["eraser"])
    values = {r.metric: r for r in rows}
    n = len(explanation.content)
    base = probabilities_without(classifier, TEXT, set(), False, replacement)[explanation.target]
    for metric, keep in (("comprehensiveness", False), ("sufficiency", True)):
        manual = [base - probabilities_without(classifier, TEXT, set(range(top_k_size(f, n))), keep, replacement)[
            explanation.target] for f in fractions]
        assert values[metric].details["per_fraction"] == pytest.approx(manual, abs=1e-6)
        assert values[metric].value == pytest.approx(np.mean(manual), abs=1e-6)
        assert values[metric].settings["replacement"] == replacement


def test_all_perturbations_of_all_methods_run_in_one_deduplicated_pass(
    tiny_classifiers: dict[str, Classifier], on_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    classifier = tiny_classifiers["bert"]
    ranks = lambda n: np.arange(n, 0, -1).astype(float)  # noqa: E731
    explanations = {
        "a": [on_model(classifier, TEXT, ranks, "a"), on_model(classifier, SHORT, ranks, "a")],
        "b": [on_model(classifier, TEXT, ranks, "b"), on_model(classifier, SHORT, lambda n: -ranks(n), "b")],
    }
    calls: list[int] = []
    original = classifier.logits
    monkeypatch.setattr(classifier, "logits", lambda ids, *a: calls.append(len(ids)) or original(ids, *a))
    rows = evaluate_faithfulness(classifier, explanations)
    assert len(calls) == 1  # the unperturbed examples and every perturbed input, in one chunk
    # per example: the original, its leave-one-out rows, and per method 5 + 5 fractions and two curves of n + 1
    asked = sum(1 + n + 2 * (10 + 2 * (n + 1)) for n in (len(e.content) for e in explanations["a"]))
    assert 2 < calls[0] < asked / 2  # 'a' and 'b' rank TEXT alike, curves share their ends, small k coincide
    by_key = {(r.method, r.example, r.metric): r.value for r in rows}
    for metric in ("comprehensiveness", "sufficiency", "auc_morf", "auc_lerf", "loo_spearman"):
        assert by_key[("a", 0, metric)] == by_key[("b", 0, metric)]


def test_examples_scored_in_groups_give_the_same_rows(
    tiny_classifiers: dict[str, Classifier], on_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    classifier = tiny_classifiers["t5"]
    explanations = [on_model(classifier, text, lambda n: np.cos(np.arange(n))) for text in (TEXT, SHORT, "fine")]
    together = evaluate_faithfulness(classifier, explanations, curve_steps=4)
    monkeypatch.setattr(faithfulness, "MAX_MASK_CELLS", 1)  # one scorer call per example
    apart = evaluate_faithfulness(classifier, explanations, curve_steps=4)
    assert [(r.example, r.metric) for r in apart] == [(r.example, r.metric) for r in together]
    assert np.allclose([r.value for r in apart], [r.value for r in together], atol=1e-6, equal_nan=True)


def test_curves_start_at_the_prediction_and_end_with_everything_removed(
    tiny_classifiers: dict[str, Classifier], on_model
) -> None:
    classifier = tiny_classifiers["roberta"]
    explanation = on_model(classifier, TEXT, lambda n: np.random.default_rng(0).random(n))
    rows = {r.metric: r for r in evaluate_faithfulness(classifier, [explanation], parts=["curves"])}
    morf, lerf = rows["auc_morf"].details, rows["auc_lerf"].details
    predicted = int(np.argmax(explanation.probabilities))
    assert morf["confidence"][0] == pytest.approx(explanation.probabilities[predicted], abs=1e-6)
    assert morf["confidence"][0] == lerf["confidence"][0] and morf["confidence"][-1] == lerf["confidence"][-1]
    assert morf["x"] == pytest.approx(np.linspace(0, 1, len(explanation.content) + 1).tolist())
    assert rows["auc_morf"].value == pytest.approx(np.trapezoid(morf["confidence"], morf["x"]))
    assert rows["curve_gap"].value == pytest.approx(rows["auc_lerf"].value - rows["auc_morf"].value)


def test_curve_shape_rule() -> None:
    x = np.linspace(0, 1, 6)
    assert curve_shape(x, np.array([1.0, 0.2, 0.1, 0.1, 0.1, 0.0])) == 1.0  # 80% of the drop by x = 0.2
    assert curve_shape(x, np.array([1.0, 0.8, 0.6, 0.4, 0.2, 0.0])) == 0.0  # 20% by x = 0.2
    assert math.isnan(curve_shape(x, np.full(6, 0.5)))
    # with three tokens, x = 0.2 falls inside the first step: interpolated 60% of that step's drop
    assert curve_shape(np.linspace(0, 1, 4), np.array([1.0, 0.0, 0.0, 0.0])) == 1.0


def test_leave_one_out_agreement_is_perfect_for_leave_one_out_scores(
    tiny_classifiers: dict[str, Classifier], on_model
) -> None:
    classifier = tiny_classifiers["bert"]
    first = on_model(classifier, TEXT, lambda n: np.zeros(n))
    n = len(first.content)
    base = probabilities_without(classifier, TEXT, set(), False, "mask")[first.target]
    loo = [base - probabilities_without(classifier, TEXT, {i}, False, "mask")[first.target] for i in range(n)]
    explanations = {"loo": [on_model(classifier, TEXT, np.array(loo))],
                    "reversed": [on_model(classifier, TEXT, -np.array(loo))]}
    rows = {(r.method, r.metric): r.value for r in evaluate_faithfulness(classifier, explanations, parts=["loo"])}
    assert rows[("loo", "loo_spearman")] == pytest.approx(1.0)
    assert rows[("loo", "loo_kendall")] == pytest.approx(1.0)
    assert rows[("reversed", "loo_spearman")] == pytest.approx(-1.0)


def test_single_token_input(tiny_classifiers: dict[str, Classifier], on_model) -> None:
    classifier = tiny_classifiers["bert"]
    explanation = on_model(classifier, "fine", lambda n: np.ones(n))
    assert len(explanation.content) == 1
    rows = {r.metric: r.value for r in evaluate_faithfulness(classifier, [explanation])}
    assert math.isnan(rows["loo_spearman"])  # one token: no ranking to correlate
    # every fraction rounds up to the one token: removing it is comprehensiveness, keeping it changes nothing
    base = probabilities_without(classifier, "fine", set(), False, "mask")[explanation.target]
    empty = probabilities_without(classifier, "fine", {0}, False, "mask")[explanation.target]
    assert rows["comprehensiveness"] == pytest.approx(base - empty, abs=1e-6)
    assert rows["sufficiency"] == pytest.approx(0.0, abs=1e-9)
    assert np.isfinite(rows["auc_morf"]) and rows["auc_morf"] == rows["auc_lerf"]


def test_settings_and_inputs_are_checked(tiny_classifiers: dict[str, Classifier], on_model) -> None:
    bert, roberta = tiny_classifiers["bert"], tiny_classifiers["roberta"]
    explanation = on_model(bert, TEXT, lambda n: np.ones(n))
    with pytest.raises(FaithlabError, match="replacement 'blank'"):
        evaluate_faithfulness(bert, [explanation], replacement="blank")
    with pytest.raises(FaithlabError, match="fractions"):
        evaluate_faithfulness(bert, [explanation], fractions=[0.0])
    with pytest.raises(FaithlabError, match="other tokens"):
        evaluate_faithfulness(roberta, [explanation])
    other = on_model(bert, SHORT, lambda n: np.ones(n), method="other")
    with pytest.raises(FaithlabError, match="explain different inputs"):
        evaluate_faithfulness(bert, {"hand": [explanation], "other": [other]})
