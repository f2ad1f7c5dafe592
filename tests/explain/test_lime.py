"""LIME: the three samplings, the kernel of the lime package, the weighted ridge surrogate, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from planted_games import TWELVE, AdditiveClassifier, InteractingClassifier
from scipy.stats import spearmanr
from sklearn.linear_model import Ridge

from faithlab.errors import FaithlabError
from faithlab.explain import get_explainer
from faithlab.explain.lime import AUTO_MARGIN, balanced_masks, lime_masks, lime_weights, weighted_ridge
from faithlab.models import Classifier


def test_count_sampling_removes_a_uniform_number_of_features() -> None:
    masks = lime_masks(6, 3000, seed=0, sampling="count")
    assert masks.shape == (3001, 6) and masks[0].all()
    removed = 6 - masks[1:].sum(axis=1)
    assert set(removed.tolist()) == {1, 2, 3, 4, 5, 6}
    assert np.bincount(removed)[1:].min() > 400  # the number removed is uniform: 500 expected each
    assert np.array_equal(masks, lime_masks(6, 3000, seed=0, sampling="count"))


@pytest.mark.parametrize("sampling", ["balanced", "bernoulli"])
def test_coin_flip_samplings_keep_each_token_with_probability_one_half(sampling: str) -> None:
    masks = lime_masks(7, 4096, seed=3, sampling=sampling)
    assert masks.shape == (4097, 7) and masks[0].all()
    np.testing.assert_allclose(masks[1:].mean(axis=0), 0.5, atol=0.03)
    # every one of the 2^7 masks is drawn about equally often (uniform on the hypercube)
    codes = masks[1:] @ (1 << np.arange(7))
    counts = np.bincount(codes, minlength=128)
    assert counts.min() > 10 and counts.max() < 55  # 32 expected each
    assert np.array_equal(masks, lime_masks(7, 4096, seed=3, sampling=sampling))


def test_balanced_blocks_are_orthogonal_fold_overs() -> None:
    rng = np.random.default_rng(0)
    n, order = 11, 16  # Hadamard order: the smallest power of two above n
    masks = balanced_masks(n, 3 * 2 * order + 5, rng)
    assert masks.shape == (3 * 2 * order + 5, n)
    np.testing.assert_array_equal(masks[1::2], ~masks[0:-1:2])  # each row followed by its complement
    signs = np.where(masks, 1, -1)
    for block in range(3):
        rows = signs[block * 2 * order : (block + 1) * 2 * order]
        np.testing.assert_array_equal(rows.T @ rows, 2 * order * np.eye(n))  # columns balanced and orthogonal
    assert not np.array_equal(masks[: 2 * order], masks[2 * order : 4 * order])  # blocks are randomised anew


def test_unknown_sampling_is_a_clear_error(tiny_classifiers: dict[str, Classifier]) -> None:
    with pytest.raises(FaithlabError, match="unknown sampling 'sobol'"):
        get_explainer("lime", tiny_classifiers["bert"], sampling="sobol")


def test_kernel_equals_lime_text_default() -> None:
    masks = lime_masks(9, 200, seed=1, sampling="count")
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


@pytest.mark.parametrize("sampling", ["balanced", "bernoulli", "count"])
def test_surrogate_recovers_a_planted_linear_function(sampling: str) -> None:
    rng = np.random.default_rng(1)
    masks = lime_masks(10, 500, seed=2, sampling=sampling)
    planted = rng.normal(size=10)
    y = 0.3 + masks @ planted
    coef, intercept = weighted_ridge(masks.astype(float), y, lime_weights(masks, 0.25), alpha=1e-9)
    np.testing.assert_allclose(coef, planted, atol=1e-6)
    assert intercept == pytest.approx(0.3, abs=1e-6)


def test_balanced_design_has_less_error_than_coin_flips_at_equal_samples() -> None:
    """Main effects plus two-token interactions: the fold-over cancels the interactions' pull on the coefficients,
    so over many seeds the balanced design lands closer to the large-sample fit."""
    rng = np.random.default_rng(7)
    n = 12
    main, pairs = rng.normal(size=n), rng.normal(scale=0.5, size=(n, n))

    def fit(masks: np.ndarray) -> np.ndarray:
        x = masks.astype(float)
        y = x @ main + np.einsum("ri,ij,rj->r", x, np.triu(pairs, 1), x)
        return weighted_ridge(x, y, lime_weights(masks, 0.25), alpha=1.0)[0]

    limit = fit(lime_masks(n, 200_000, seed=99, sampling="bernoulli"))
    errors = {
        s: np.mean([np.abs(fit(lime_masks(n, 64, seed=k, sampling=s)) - limit).max() for k in range(30)])
        for s in ("balanced", "bernoulli")
    }
    assert errors["balanced"] < 0.7 * errors["bernoulli"]


def test_same_seed_same_scores(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    # (a 3-token text is exempt from the seed: 80 balanced samples are ten copies of all 8 coalitions)
    texts = ["a dull film", "the movie was great, though far too long and a bit loud"]
    runs = [get_explainer("lime", classifier, n_samples=80, seed=s).explain(texts) for s in (4, 4, 5)]
    for a, b, c in zip(*runs, strict=True):
        np.testing.assert_array_equal(a.scores, b.scores)
        assert np.array_equal(a.scores, c.scores) == (a.text == "a dull film")
        assert set(a.extras) == {"intercept", "r2", "local_prediction", "n_evaluations"}
        assert a.extras["local_prediction"] == pytest.approx(a.extras["intercept"] + a.scores.sum(), abs=1e-5)


def test_probability_output_explains_the_target_probability(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    lime = get_explainer("lime", classifier, output="probability")
    (explanation,) = lime.explain(["a dull film"], target="negative")
    settings = explanation.settings
    assert settings["output"] == "probability" and settings["replacement"] == "mask" and settings["n_samples"] == "auto"
    # the surrogate's value at the original input approximates p(negative) there
    assert explanation.extras["local_prediction"] == pytest.approx(explanation.probabilities[0], abs=0.05)


def test_auto_budget_stops_at_the_first_round_on_an_additive_game(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = AdditiveClassifier(tiny_classifiers["bert"])
    # without the ridge penalty, any half of the samples fits an additive logit exactly
    explainer = get_explainer("lime", classifier, n_samples="auto", output="logit", replacement="mask", alpha=0)
    (explanation,) = explainer.explain([TWELVE], target=1)
    assert explanation.settings["n_samples"] == "auto" and explanation.settings["target_spearman"] == 0.95
    assert explanation.extras["predicted_spearman"] == pytest.approx(1.0)
    assert explanation.extras["n_evaluations"] <= 1 + 64  # the original and the first round
    weights = classifier.weights[classifier.encode([TWELVE]).input_ids[0]].numpy()[explanation.content]
    assert spearmanr(explanation.scores[explanation.content], weights).statistic == pytest.approx(1.0)


def test_auto_budget_grows_until_stable_and_stays_batch_invariant(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = InteractingClassifier(tiny_classifiers["bert"])
    settings = {"output": "logit", "replacement": "mask", "sampling": "bernoulli"}
    explainer = get_explainer("lime", classifier, n_samples="auto", target_spearman=0.97, **settings)
    together = explainer.explain(["not bad", TWELVE, TWELVE + " really"], target=1)
    (alone,) = get_explainer("lime", classifier, n_samples="auto", target_spearman=0.97, **settings).explain(
        [TWELVE], target=1
    )
    np.testing.assert_array_equal(together[1].scores, alone.scores)
    extras = alone.extras
    assert 1 + 64 < extras["n_evaluations"] <= 1 + 2 * 12 + 2048
    assert extras["predicted_spearman"] >= 0.97 + AUTO_MARGIN or extras["n_evaluations"] > 1024
    (reference,) = get_explainer("lime", classifier, n_samples=20000, seed=9, **settings).explain([TWELVE], target=1)
    rho = spearmanr(alone.scores[alone.content], reference.scores[reference.content]).statistic
    assert rho >= 0.95


@pytest.mark.parametrize("sampling", ["balanced", "count"])
def test_auto_budget_on_each_sampling_is_batch_invariant(tiny_classifiers: dict[str, Classifier], sampling) -> None:
    classifier = tiny_classifiers["roberta"]
    texts = ["the movie was great and fun to watch , not bad", "a dull film"]
    together = get_explainer("lime", classifier, n_samples="auto", sampling=sampling).explain(texts, target=0)
    alone = get_explainer("lime", classifier, n_samples="auto", sampling=sampling).explain(texts[:1], target=0)
    np.testing.assert_allclose(together[0].scores, alone[0].scores, atol=1e-6)
    assert together[0].extras["n_evaluations"] >= 2 * len(together[0].content)


def test_auto_settings_are_checked(tiny_classifiers: dict[str, Classifier]) -> None:
    for bad in (0, 1.0, -0.5, "high"):
        with pytest.raises(FaithlabError, match="target_spearman"):
            get_explainer("lime", tiny_classifiers["bert"], n_samples="auto", target_spearman=bad)
    with pytest.raises(FaithlabError, match="n_samples"):
        get_explainer("lime", tiny_classifiers["bert"], n_samples="lots")
