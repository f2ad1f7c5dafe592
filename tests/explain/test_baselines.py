"""Random scores (seeded, per text) and the ensemble (mean of L1-normalised members, sharing their work)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faithlab.errors import FaithlabError
from faithlab.explain import explain_many, get_explainer
from faithlab.explain.base import explain_batch
from faithlab.explain.lrp import Lrp
from faithlab.explain.settings import DEFAULT_MEMBERS
from faithlab.models import Classifier

TEXTS = ["the movie was great and fun to watch", "not bad", "i loved every minute of it !", "a dull film"]
# members of one ensemble explain one quantity: attention weights, or the target logit
MEMBER_SETS = {
    "attention": (["attention_sum", "attention_mean", "rollout"], {}),
    "logit": (["gradient", "grad_x_input", "lrp"], {"gradient": {"output": "logit"}}),
}


@pytest.fixture
def bert(tiny_classifiers: dict[str, Classifier]) -> Classifier:
    return tiny_classifiers["bert"]


def _scores(explanations) -> list[np.ndarray]:
    return [e.scores for e in explanations]


def test_random_is_reproducible_and_changes_with_the_seed(bert: Classifier) -> None:
    first = _scores(get_explainer("random", bert, seed=3).explain(TEXTS))
    again = _scores(get_explainer("random", bert, seed=3).explain(TEXTS))
    other = _scores(get_explainer("random", bert, seed=4).explain(TEXTS))
    for a, b, c in zip(first, again, other, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c)


def test_random_scores_a_text_the_same_in_any_batch(classifier: Classifier) -> None:
    explainer = get_explainer("random", classifier, seed=7)
    together = explainer.explain(TEXTS)
    reordered = explainer.explain(TEXTS[::-1])[::-1]
    for joint, shuffled, text in zip(together, reordered, TEXTS, strict=True):
        np.testing.assert_array_equal(joint.scores, explainer.explain([text])[0].scores)
        np.testing.assert_array_equal(joint.scores, shuffled.scores)


def test_random_fills_content_tokens_only(bert: Classifier) -> None:
    for distribution in ("uniform", "normal"):
        for explanation in get_explainer("random", bert, distribution=distribution).explain(TEXTS):
            content = explanation.content
            special = np.setdiff1d(np.arange(len(explanation.tokens)), content)
            assert np.all(explanation.scores[special] == 0)
            assert np.all(explanation.scores[content] != 0)
            if distribution == "uniform":
                assert np.all(np.abs(explanation.scores) < 1)


def test_random_rejects_bad_settings(bert: Classifier) -> None:
    with pytest.raises(FaithlabError, match="gaussian"):
        get_explainer("random", bert, distribution="gaussian")
    with pytest.raises(FaithlabError, match=r"1\.5"):
        get_explainer("random", bert, seed=1.5)


@pytest.mark.parametrize("quantity", sorted(MEMBER_SETS))
def test_ensemble_is_the_mean_of_l1_normalised_members(classifier: Classifier, quantity: str) -> None:
    names, member_settings = MEMBER_SETS[quantity]
    ensemble = get_explainer("ensemble", classifier, methods=names, member_settings=member_settings)
    combined = ensemble.explain(TEXTS, target=0)
    members = [
        get_explainer(name, classifier, **member_settings.get(name, {})).explain(TEXTS, target=0) for name in names
    ]
    for row, explanation in enumerate(combined):
        expected = np.mean([m[row].normalized("l1") for m in members], axis=0)  # over content tokens
        np.testing.assert_allclose(explanation.scores, expected, rtol=1e-5, atol=1e-7)
        assert explanation.extras["members"] == names
        assert np.abs(explanation.scores).sum() <= 1 + 1e-6
        assert explanation.output == quantity


def test_ensemble_reuses_work_already_done_on_the_batch(bert: Classifier, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = Lrp.attribute

    def counted(self: Lrp, batch, targets: torch.Tensor):
        calls.append(len(batch))
        return original(self, batch, targets)

    monkeypatch.setattr(Lrp, "attribute", counted)
    results = explain_many(bert, TEXTS, ["lrp", ("ensemble", {"methods": ["lrp", "gradient"]})])
    assert calls == [len(TEXTS)], "lrp must run once for both requests"
    batch = bert.encode(TEXTS)
    explain_batch(get_explainer("ensemble", bert, methods=["lrp", "gradient"]), batch)
    explain_batch(get_explainer("lrp", bert), batch)
    assert len(calls) == 2, "lrp after the ensemble on the same batch must come from the cache"
    assert all(len(e.scores) for e in results["ensemble"])


def test_ensemble_rejects_bad_settings(bert: Classifier) -> None:
    with pytest.raises(FaithlabError, match="nonsense"):
        get_explainer("ensemble", bert, methods=["rollout", "nonsense"])
    with pytest.raises(FaithlabError, match="twice"):
        get_explainer("ensemble", bert, methods=["rollout", "rollout"])
    with pytest.raises(FaithlabError, match="ensemble"):
        get_explainer("ensemble", bert, methods=["rollout", "ensemble"])
    with pytest.raises(FaithlabError, match="lrp"):
        get_explainer("ensemble", bert, methods=["rollout"], member_settings={"lrp": {}})
    with pytest.raises(FaithlabError, match="non-empty"):
        get_explainer("ensemble", bert, methods=[])


def test_default_ensemble_runs_its_default_members(bert: Classifier) -> None:
    settings = {"ig": {"n_steps": 4}, "lime": {"n_samples": 16, "output": "logit"}, "kernel_shap": {"n_samples": 16},
                "occlusion": {"output": "logit"}}
    explanations = get_explainer("ensemble", bert, member_settings=settings).explain(TEXTS[:2])
    for explanation in explanations:
        assert explanation.extras["members"] == list(DEFAULT_MEMBERS)
        assert np.all(np.isfinite(explanation.scores))
        assert (explanation.output, explanation.replacement) == ("logit", "mixed")


def test_ensemble_refuses_members_that_explain_different_quantities(bert: Classifier) -> None:
    margin = {"occlusion": {"output": "margin"}}
    with pytest.raises(FaithlabError, match=r"grad_x_input: logit, occlusion: margin.*member_settings=") as error:
        get_explainer("ensemble", bert, methods=["grad_x_input", "occlusion"], member_settings=margin)
    assert "{'occlusion': {'output': 'logit'}}" in str(error.value)
    with pytest.raises(FaithlabError, match=r"rollout: attention, lrp: logit.*cannot"):
        get_explainer("ensemble", bert, methods=["rollout", "lrp"])
    agreed = get_explainer("ensemble", bert, methods=["grad_x_input", "occlusion"],
                           member_settings={"occlusion": {"output": "logit", "replacement": "mask"}})
    assert (agreed.output, agreed.replacement) == ("logit", "mixed")
    explanation = agreed.explain(TEXTS[:1])[0]
    assert (explanation.output, explanation.replacement) == ("logit", "mixed")
    same = get_explainer("ensemble", bert, methods=["lime", "kernel_shap"],
                         member_settings={"lime": {"output": "logit", "replacement": "pad"},
                                          "kernel_shap": {"replacement": "pad"}})
    assert (same.output, same.replacement) == ("logit", "pad")


def test_ensemble_members_take_the_settings_of_their_own_requests(bert: Classifier) -> None:
    own = {"ig": {"n_steps": 6}, "occlusion": {"output": "logit"}}
    results = explain_many(bert, TEXTS, [*own.items(), ("ensemble", {"methods": ["ig", "occlusion"]})])
    alone = explain_many(bert, TEXTS, [("ensemble", {"methods": ["ig", "occlusion"], "member_settings": own})])
    for shared, separate in zip(results["ensemble"], alone["ensemble"], strict=True):
        np.testing.assert_allclose(shared.scores, separate.scores, rtol=1e-5, atol=1e-7)
        assert shared.settings["member_settings"] == own


def test_labelled_ensembles_are_named_by_their_label(bert: Classifier) -> None:
    labelled = ("ensemble", {"label": "ensemble_x", "methods": ["occlusion"]})
    results = explain_many(bert, TEXTS[:2], ["occlusion", labelled])
    assert set(results) == {"occlusion", "ensemble_x"}
    assert results["ensemble_x"][0].method == "ensemble_x"
    with pytest.raises(FaithlabError, match="label"):
        get_explainer("ensemble", bert, label="mine")
    with pytest.raises(FaithlabError, match="requested twice"):
        explain_many(bert, TEXTS[:1], [("ensemble", {"methods": ["lrp"]})] * 2)
