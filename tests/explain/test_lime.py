"""LIME: the sampling and kernel of the lime package, the weighted ridge surrogate, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from faithlab.explain import get_explainer
from faithlab.explain.lime import lime_masks, lime_weights, weighted_ridge
from faithlab.models import Classifier


def test_masks_start_with_the_original_and_remove_one_to_all_features() -> None:
    masks = lime_masks(6, 3000, seed=0)
    assert masks.shape == (3001, 6) and masks[0].all()
    removed = 6 - masks[1:].sum(axis=1)
    assert set(removed.tolist()) == {1, 2, 3, 4, 5, 6}
    assert np.bincount(removed)[1:].min() > 400  # the number removed is uniform: 500 expected each
    assert np.array_equal(masks, lime_masks(6, 3000, seed=0))


def test_kernel_equals_lime_text_default() -> None:
    masks = lime_masks(9, 200, seed=1)
    distance = 1 - masks.sum(axis=1) / np.sqrt(masks.sum(axis=1) * 9).clip(min=1e-12)  # cosine distance to ones
    distance[masks.sum(axis=1) == 0] = 1.0
    lime_default = np.sqrt(np.exp(-((distance * 100) ** 2) / 25**2))
    np.testing.assert_allclose(lime_weights(masks, 0.25), lime_default)
    assert lime_weights(masks[:1], 0.25)[0] == 1.0


def test_weighted_ridge_equals_sklearn() -> None:
    rng = np.random.default_rng(0)
    x = (rng.random((80, 7)) > 0.5).astype(float)
    y = x @ rng.normal(size=7) + rng.normal(scale=0.1, size=80)
    weights = rng.random(80)
    coef, intercept = weighted_ridge(x, y, weights, alpha=1.0)
    reference = Ridge(alpha=1.0).fit(x, y, sample_weight=weights)
    np.testing.assert_allclose(coef, reference.coef_, atol=1e-10)
    assert intercept == pytest.approx(reference.intercept_, abs=1e-10)


def test_surrogate_recovers_a_planted_linear_function() -> None:
    rng = np.random.default_rng(1)
    masks = lime_masks(10, 500, seed=2)
    planted = rng.normal(size=10)
    y = 0.3 + masks @ planted
    coef, intercept = weighted_ridge(masks.astype(float), y, lime_weights(masks, 0.25), alpha=1e-9)
    np.testing.assert_allclose(coef, planted, atol=1e-6)
    assert intercept == pytest.approx(0.3, abs=1e-6)


def test_same_seed_same_scores(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    texts = ["a dull film", "the movie was great"]
    runs = [get_explainer("lime", classifier, n_samples=80, seed=s).explain(texts) for s in (4, 4, 5)]
    for a, b, c in zip(*runs, strict=True):
        np.testing.assert_array_equal(a.scores, b.scores)
        assert not np.array_equal(a.scores, c.scores)
        assert set(a.extras) == {"intercept", "r2", "local_prediction", "n_evaluations"}
        assert a.extras["local_prediction"] == pytest.approx(a.extras["intercept"] + a.scores.sum(), abs=1e-5)


def test_default_explains_the_target_probability(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    (explanation,) = get_explainer("lime", classifier, n_samples=100).explain(["a dull film"], target="negative")
    assert explanation.settings["output"] == "probability" and explanation.settings["replacement"] == "delete"
    # the surrogate's value at the original input approximates p(negative) there
    assert explanation.extras["local_prediction"] == pytest.approx(explanation.probabilities[0], abs=0.05)
