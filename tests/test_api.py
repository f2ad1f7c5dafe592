"""The public API: `fl.load`, `fl.explain`, `fl.evaluate` — one call shape, single strings, explicit structure."""

from __future__ import annotations

import numpy as np
import pytest

import faithlab as fl
from faithlab.evaluate import evaluate_faithfulness, evaluate_ground_truth
from faithlab.evaluate.metrics import GROUPS, METRICS
from faithlab.explain import explain_many, get_explainer

TEXTS = ["the movie was great and fun to watch", "a dull , boring film"]


@pytest.fixture
def bert(tiny_classifiers):
    return tiny_classifiers["bert"]


def test_every_metric_belongs_to_exactly_one_group():
    members = [m for group in GROUPS.values() for m in group]
    assert sorted(members) == sorted(METRICS)


def test_load_gives_the_fixture_models_logits(tiny_folders, bert):
    loaded = fl.load(tiny_folders["bert"])
    np.testing.assert_allclose(loaded.predict(TEXTS), bert.predict(TEXTS), atol=1e-6)


def test_a_single_string_is_one_text(bert):
    single = fl.explain(bert, TEXTS[0], methods="grad_x_input")
    listed = fl.explain(bert, [TEXTS[0]], methods=["grad_x_input"])
    assert single.texts == [TEXTS[0]]
    np.testing.assert_array_equal(single["grad_x_input"][0].scores, listed["grad_x_input"][0].scores)


def test_explain_matches_explain_many(bert):
    result = fl.explain(bert, TEXTS, methods={"ig": {"n_steps": 8}, "occlusion": {}})
    direct = explain_many(bert, TEXTS, [("ig", {"n_steps": 8}), ("occlusion", {})])
    for method in ("ig", "occlusion"):
        for ours, theirs in zip(result[method], direct[method], strict=True):
            np.testing.assert_array_equal(ours.scores, theirs.scores)


def test_target_all_is_explicit_per_text_and_class(bert):
    result = fl.explain(bert, TEXTS, methods=["grad_x_input"], target="all")
    assert result.targets == [[0, 1], [0, 1]]
    for text in range(2):
        for label in bert.labels:
            explanation = result.get("grad_x_input", text, label)
            assert explanation.text == TEXTS[text] and explanation.target_name == label
    per_class = result.for_class(1)["grad_x_input"]
    assert [e.text for e in per_class] == TEXTS and all(e.target == 1 for e in per_class)
    with pytest.raises(fl.FaithlabError, match="several classes"):
        result["grad_x_input"]
    with pytest.raises(fl.FaithlabError, match="unknown label"):
        result.for_class("neutral")


def test_predicted_target_has_one_class_per_text(bert):
    result = fl.explain(bert, TEXTS, methods="gradient")
    predicted = bert.predict(TEXTS).argmax(axis=1).tolist()
    assert result.targets == [[p] for p in predicted]
    assert len(result) == 2 and [e.target for e in result] == predicted


def test_evaluate_equals_the_evaluators_it_wraps(bert):
    result = fl.explain(bert, TEXTS, methods=["grad_x_input", "random"])
    table = fl.evaluate(bert, result, metrics="eraser", settings={"eraser": {"replacement": "delete"}})
    direct = evaluate_faithfulness(bert, result.flat(), parts=["eraser"], replacement="delete")
    assert len(table) == len(direct) == 2 * 2 * 2
    for row in direct:
        match = table[(table.example == row.example) & (table.method == row.method) & (table.metric == row.metric)]
        assert match["value"].item() == pytest.approx(row.value, nan_ok=True)
        assert match["replacement"].item() == "delete"


def test_evaluate_single_metrics_keep_only_those(bert):
    result = fl.explain(bert, TEXTS, methods=["grad_x_input"])
    table = fl.evaluate(bert, result, metrics=["sufficiency", "loo_spearman"])
    assert set(table["metric"]) == {"sufficiency", "loo_spearman"}
    assert list(table.columns[:8]) == ["example", "method", "metric", "value", "text", "pair", "target", "target_name"]


def test_evaluate_ground_truth_takes_rationales(bert):
    result = fl.explain(bert, TEXTS, methods=["grad_x_input"])
    masks = [[0, 0, 0, 1, 0, 0, 0, 0], [0, 1, 0, 1, 0]]
    table = fl.evaluate(bert, result, metrics="ground_truth", rationales=masks)
    direct = evaluate_ground_truth(result.flat(), masks)
    assert sorted(table["value"]) == pytest.approx(sorted(r.value for r in direct))
    with pytest.raises(fl.FaithlabError, match="needs rationales"):
        fl.evaluate(bert, result, metrics="ground_truth")


def test_evaluate_randomization_and_attack_rebuild_the_explainer(bert):
    result = fl.explain(bert, TEXTS[:1], methods=["grad_x_input"])
    table = fl.evaluate(bert, result, metrics=["randomization", "attack_rank_change"],
                        settings={"adversarial": {"steps": 3}})
    assert set(table["metric"]) == {"randomization_spearman", "randomization_spearman_abs", "attack_rank_change"}
    assert table["value"].notna().all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": "faithfulnes"}, "unknown metric 'faithfulnes'"),
        ({"metrics": []}, "no metrics given"),
        ({"metrics": "eraser", "settings": {"eraserr": {}}}, "unknown metric group 'eraserr'"),
    ],
)
def test_evaluate_names_bad_arguments(bert, kwargs, message):
    result = fl.explain(bert, TEXTS[0], methods="random")
    with pytest.raises(fl.FaithlabError, match=message):
        fl.evaluate(bert, result, **kwargs)


def test_explain_names_a_bad_method_request(bert):
    with pytest.raises(fl.FaithlabError, match="name or a \\(name, settings\\) pair"):
        fl.explain(bert, TEXTS[0], methods=[3])
    with pytest.raises(fl.FaithlabError, match="unknown method"):
        fl.explain(bert, TEXTS[0], methods="integrated")


def test_every_entry_point_takes_a_single_string(bert):
    text = TEXTS[0]
    np.testing.assert_array_equal(bert.predict(text), bert.predict([text]))
    explainer = get_explainer("grad_x_input", bert)
    [alone] = explainer.explain(text)
    [listed] = explainer.explain([text])
    np.testing.assert_array_equal(alone.scores, listed.scores)
    assert explain_many(bert, text, ["occlusion"])["occlusion"][0].text == text
