"""Meta-evaluation of the metrics: Kendall tau of method rankings under noise and randomization, computed by hand on a
made-up frame, and on a tiny model a metric of random numbers fails while comprehensiveness passes."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from faithlab.errors import FaithlabError
from faithlab.evaluate import Row, evaluate_faithfulness
from faithlab.evaluate.meta_evaluation import MetaEvaluation, meta_evaluate, meta_evaluation_rows, meta_frame
from faithlab.explain import explain_many
from faithlab.models import Classifier

TEXTS = ["the movie was great and fun to watch", "a dull , boring film that is not good",
         "i loved every minute of it !", "terrible acting but great music", "it is fine , nothing special",
         "the plot is clever although the ending drags", "not bad at all , really",
         "positive negative words appear here", "the premise is a man walks his dog",
         "a woman is playing the guitar on stage"]
METHODS = ["grad_x_input", ("ig", {"n_steps": 8}), "occlusion", "random"]


def _means(variant: str, means: dict[str, float]) -> list[dict]:
    return [{"method": m, "metric": "x", "variant": variant, "example": 0, "value": v} for m, v in means.items()]


def test_taus_by_hand() -> None:
    original = {"a": 3.0, "b": 2.0, "c": 1.0}
    frame = pd.DataFrame(
        _means("meta:original:0", original)
        + _means("meta:noise:0", {"a": 30.0, "b": 20.0, "c": 10.0})  # same order: tau 1
        + _means("meta:noise:1", {"a": 3.0, "b": 1.0, "c": 2.0})  # one swap of three pairs: tau 1/3
        + _means("meta:randomized:0", {"a": 1.0, "b": 2.0, "c": 3.0})  # reversed: tau -1
        + _means("meta:randomized:1", {"a": 5.0, "b": 5.0, "c": 5.0})  # no ranking left: tau 0
        + _means("", {"a": 0.0, "b": 9.0, "c": 1.0})  # plain rows are not meta rows
    )
    meta = meta_evaluate(frame).metrics["x"]
    assert meta.noise_taus == pytest.approx([1.0, 1 / 3]) and meta.randomized_taus == pytest.approx([-1.0, 0.0])
    assert meta.resilience == pytest.approx(2 / 3) and meta.reactivity == pytest.approx(1.5) and meta.passed
    assert MetaEvaluation.from_dict(meta_evaluate(frame).to_dict()) == meta_evaluate(frame)


def test_a_metric_that_cannot_rank_fails() -> None:
    frame = pd.DataFrame(_means("meta:original:0", {"a": 1.0, "b": 1.0}) + _means("meta:noise:0", {"a": 1.0, "b": 1.0})
                         + _means("meta:randomized:0", {"a": 2.0, "b": 1.0}))
    meta = meta_evaluate(frame)
    assert meta.metrics["x"].resilience == 0.0 and meta.passed("x") is False and meta.passed("y") is None


def test_random_numbers_fail_and_comprehensiveness_passes_on_a_tiny_model(tiny_classifiers) -> None:
    tiny = tiny_classifiers["bert"]
    model = copy.deepcopy(tiny.model)
    with torch.no_grad():
        model.classifier.weight.mul_(100.0)  # the random head barely responds; scaled, removals move the probability
    bert = Classifier(model, tiny.tokenizer, "tiny-bert-scaled-head")
    targets = bert.predict(TEXTS).argmax(axis=1).tolist()
    draws = np.random.default_rng(0)

    def score(explanations: dict) -> list[Row]:
        rows = evaluate_faithfulness(bert, explanations, parts=["eraser"])
        return rows + [Row(i, method, "random_numbers", float(draws.random()))
                       for method in explanations for i in range(len(TEXTS))]

    before = {name: tensor.clone() for name, tensor in bert.model.state_dict().items()}
    probabilities = bert.predict(TEXTS)
    rows = meta_evaluation_rows(bert, lambda: explain_many(bert, TEXTS, METHODS, target=targets), score,
                                repeats=3, noise=0.05, seed=0)
    meta = meta_evaluate(meta_frame(rows))
    assert meta.passed("random_numbers") is False and meta.metrics["random_numbers"].resilience < 0.5
    assert meta.passed("comprehensiveness") is True
    assert {(r.settings["condition"], r.settings["repeat"]) for r in rows} == {
        ("original", 0), *((c, r) for c in ("noise", "randomized") for r in range(3))}
    # every block restored and the noise hook removed
    assert all(torch.equal(before[name], tensor) for name, tensor in bert.model.state_dict().items())
    np.testing.assert_array_equal(bert.predict(TEXTS), probabilities)


@pytest.mark.parametrize(("settings", "message"), [({"repeats": 0}, "repeats must be an integer >= 1, got 0"),
                                                   ({"noise": 0.0}, "noise must be > 0, got 0.0")])
def test_bad_settings_are_named(tiny_classifiers, settings: dict, message: str) -> None:
    with pytest.raises(FaithlabError, match=message):
        meta_evaluation_rows(tiny_classifiers["bert"], list, lambda _: [], **settings)
