"""Integrated gradients: completeness, Captum's numbers, adaptive steps, batch invariance, settings checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import LayerIntegratedGradients

from faithlab.errors import FaithlabError
from faithlab.explain import get_explainer
from faithlab.explain.base import expand_targets
from faithlab.explain.integrated_gradients import quadrature
from faithlab.models import Classifier
from tiny_families import NEW_FAMILIES

TEXTS = ["the movie was great fun", "not bad", "terrible acting but great music"]
BATCH_TEXTS = [*TEXTS, "fine", "i loved every minute of it !", "a dull film", "the plot is clever", "a woman"]


def _attribute(classifier: Classifier, texts: list[str], **settings: object) -> tuple[torch.Tensor, list[dict]]:
    batch, targets = expand_targets(classifier, classifier.encode(texts), None)
    result = get_explainer("ig", classifier, **settings).attribute(batch, targets)
    return result.scores, result.extras


@pytest.mark.parametrize("method", ["gauss_legendre", "riemann_trapezoid"])
def test_quadrature_weights_integrate_polynomials(method: str) -> None:
    for n in (2, 5, 50):
        alphas, weights = quadrature(method, n)
        assert float(weights.sum()) == pytest.approx(1.0, abs=1e-12)
        assert alphas.min() >= 0 and alphas.max() <= 1
        exact_degree = 2 * n - 1 if method == "gauss_legendre" else 1
        for degree in range(exact_degree + 1):
            assert float((weights * alphas**degree).sum()) == pytest.approx(1 / (degree + 1), abs=1e-12)


def test_completeness_error_shrinks_with_steps(classifier: Classifier) -> None:
    coarse = np.array([e["convergence_delta"] for e in _attribute(classifier, TEXTS, n_steps=1)[1]])
    scores, extras = _attribute(classifier, TEXTS, n_steps=300)
    fine = np.array([e["convergence_delta"] for e in extras])
    assert np.abs(fine).sum() < np.abs(coarse).sum()
    # small relative to f(x) − f(baseline), or at float32's noise floor where a tiny random model's gap is ~1e-5
    assert all(e["relative_delta"] < 1e-2 or abs(e["convergence_delta"]) < 1e-5 for e in extras)
    assert all(e["n_steps"] == 300 for e in extras)
    # the reported delta is Σ scores − (f(x) − f(baseline)), recomputed here from the model
    batch, targets = expand_targets(classifier, classifier.encode(TEXTS), None)
    # (the baseline changes only the word embeddings: positions still come from the real ids, as for RoBERTa's
    # pad-aware position ids, so f(baseline) is taken with the embeddings replaced, not from the baseline ids)
    baseline_ids = batch.input_ids.masked_fill(batch.content_mask, classifier.replacement_id("pad"))
    args = (batch.input_ids, batch.attention_mask, batch.token_type_ids)
    with torch.no_grad():
        f_input = classifier.logits_from_embeddings(classifier.word_embeddings(batch.input_ids), *args)
        f_base = classifier.logits_from_embeddings(classifier.word_embeddings(baseline_ids), *args)
    rows = torch.arange(len(TEXTS))
    gap = (f_input - f_base)[rows, targets]
    torch.testing.assert_close(scores.sum(dim=1) - gap, torch.tensor(fine, dtype=torch.float32), rtol=0, atol=1e-5)


@pytest.mark.parametrize("method", ["gauss_legendre", "riemann_trapezoid"])
def test_equals_captum_layer_integrated_gradients(classifier: Classifier, method: str) -> None:
    n_steps = 16
    batch, targets = expand_targets(classifier, classifier.encode(TEXTS), None)
    ours = get_explainer("ig", classifier, n_steps=n_steps, method=method).attribute(batch, targets).scores
    baseline_ids = batch.input_ids.masked_fill(batch.content_mask, classifier.replacement_id("pad"))
    captum = LayerIntegratedGradients(
        lambda ids, mask, tt: classifier.forward(ids, mask, tt).logits, classifier.model.get_input_embeddings()
    )
    theirs = captum.attribute(
        batch.input_ids,
        baselines=baseline_ids,
        target=targets,
        additional_forward_args=(batch.attention_mask, batch.token_type_ids),
        n_steps=n_steps,
        method="gausslegendre" if method == "gauss_legendre" else "riemann_trapezoid",
    ).sum(dim=-1)
    if method == "riemann_trapezoid":
        # Captum's trapezoid weights are 1/n (ends halved) and sum to (n − 1)/n; faithlab's are 1/(n − 1).
        theirs = theirs * n_steps / (n_steps - 1)
    scale = float(theirs.abs().max())
    assert scale > 0
    assert float((ours - theirs).abs().max()) <= 1e-4 * scale


def test_auto_steps_grow_until_the_target_delta(classifier: Classifier) -> None:
    _, extras = _attribute(classifier, TEXTS, n_steps="auto", target_delta=0.01)
    for row in extras:
        assert row["n_steps"] in (7, 15, 31, 63, 127, 255, 511)
        assert row["converged"] == (row["relative_delta"] <= 0.01 + 1e-6)
        assert row["converged"] or row["n_steps"] == 511
    _, capped = _attribute(classifier, TEXTS, n_steps="auto", target_delta=1e-12, max_steps=20)
    assert all(row["n_steps"] == 15 or row["converged"] for row in capped)
    assert any(row["n_steps"] == 15 for row in capped)


@pytest.mark.parametrize(("family", "baseline"), [("gpt2", "zero"), ("bert", "mask")])
def test_zero_and_mask_baselines_are_complete(
    tiny_classifiers: dict[str, Classifier], family: str, baseline: str
) -> None:
    classifier = tiny_classifiers[family]
    batch, targets = expand_targets(classifier, classifier.encode(TEXTS), None)
    result = get_explainer("ig", classifier, baseline=baseline, n_steps=64).attribute(batch, targets)
    assert all(e["relative_delta"] < 1e-2 or abs(e["convergence_delta"]) < 1e-5 for e in result.extras)
    assert torch.all(result.scores[~batch.content_mask] == 0)  # special tokens are kept in the baseline


def test_explaining_together_equals_one_by_one(classifier: Classifier, monkeypatch: pytest.MonkeyPatch) -> None:
    explainer = get_explainer("ig", classifier, n_steps=8)
    alone = [explainer.explain([text])[0] for text in BATCH_TEXTS]
    monkeypatch.setattr(classifier, "max_batch_tokens", 5 * classifier.encode(BATCH_TEXTS).input_ids.shape[1])
    together = explainer.explain(BATCH_TEXTS)  # rows × steps paths, in chunks of five
    for single, batched in zip(alone, together, strict=True):
        np.testing.assert_allclose(batched.scores, single.scores, rtol=1e-5, atol=1e-5)
        assert batched.extras["convergence_delta"] == pytest.approx(single.extras["convergence_delta"], abs=1e-5)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"baseline": "random"}, "random"),
        ({"n_steps": 0}, "n_steps"),
        ({"n_steps": -3}, "n_steps"),
        ({"n_steps": 2.5}, "n_steps"),
        ({"n_steps": "many"}, "many"),
        ({"method": "simpson"}, "simpson"),
        ({"method": "riemann_trapezoid", "n_steps": 1}, "n_steps"),
        ({"n_steps": 50, "target_delta": 0.01}, "target_delta"),
        ({"n_steps": "auto", "target_delta": 0}, "target_delta"),
        ({"n_steps": "auto", "max_steps": 2}, "max_steps"),
        ({"output": "softmax"}, "softmax"),
        ({"steps": 10}, "bad settings"),
    ],
)
def test_bad_settings_are_refused(
    tiny_classifiers: dict[str, Classifier], settings: dict[str, object], message: str
) -> None:
    with pytest.raises(FaithlabError, match=message):
        get_explainer("ig", tiny_classifiers["bert"], **settings)


def test_fused_first_pass_equals_the_separate_passes(classifier: Classifier) -> None:
    """explain() folds prediction and f(baseline) into the path pass; the result equals attribute() on its own."""
    explainer = get_explainer("ig", classifier, n_steps=6)
    fused = explainer.explain(TEXTS)
    batch = classifier.encode(TEXTS)
    targets = classifier.probabilities(batch).argmax(dim=1)
    plain = explainer.attribute(batch, targets)
    for row, explanation in enumerate(fused):
        assert explanation.target == int(targets[row])
        n = len(explanation.tokens)
        np.testing.assert_allclose(explanation.scores, plain.scores[row, :n].numpy(), rtol=1e-5, atol=1e-6)
        assert explanation.extras["convergence_delta"] == pytest.approx(
            plain.extras[row]["convergence_delta"], rel=1e-4, abs=1e-6
        )


def test_rows_with_different_node_counts_share_a_pass(classifier: Classifier) -> None:
    explainer = get_explainer("ig", classifier, n_steps=5)
    batch = classifier.encode(TEXTS)
    targets = classifier.probabilities(batch).argmax(dim=1)
    inputs, baselines = explainer._endpoints(batch)
    steps = [3 + 2 * i for i in range(len(batch))]
    nodes = [quadrature("gauss_legendre", n)[0] for n in steps]
    together = explainer._paths(batch, inputs, baselines, torch.arange(len(batch)), nodes, targets=targets)[0]
    for row, n in enumerate(steps):
        weights = quadrature("gauss_legendre", n)[1].float()
        alone = get_explainer("ig", classifier, n_steps=n).attribute(batch, targets).scores[row]
        torch.testing.assert_close((weights[:, None] * together[row]).sum(dim=0), alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["gauss_legendre", "fejer", "riemann_trapezoid"])
def test_quadrature_integrates_polynomials(method: str) -> None:
    n = 9
    alphas, weights = quadrature(method, n)
    exact_degree = {"gauss_legendre": 2 * n - 1, "fejer": n - 1, "riemann_trapezoid": 1}[method]
    for degree in range(exact_degree + 1):
        assert float((weights * alphas**degree).sum()) == pytest.approx(1 / (degree + 1), abs=1e-12)


def test_fejer_levels_are_nested_and_auto_reuses_their_nodes(classifier: Classifier) -> None:
    coarse, fine = quadrature("fejer", 7)[0], quadrature("fejer", 15)[0]
    torch.testing.assert_close(fine[1::2], coarse, rtol=0, atol=1e-14)
    _, extras = _attribute(classifier, TEXTS, n_steps="auto", target_delta=1e-3)
    for row in extras:
        assert row["n_steps"] in (7, 15, 31, 63, 127, 255, 511)
        assert row["evaluations"] == row["n_steps"]
    _, doubled = _attribute(classifier, TEXTS, n_steps="auto", method="gauss_legendre", target_delta=1e-3)
    for row in doubled:
        assert row["evaluations"] == 2 * row["n_steps"] - 4  # 4 + 8 + ... + n


@pytest.mark.parametrize("family", NEW_FAMILIES)
def test_newer_families_equal_captum(family_classifiers: dict[str, Classifier], family: str) -> None:
    test_equals_captum_layer_integrated_gradients(family_classifiers[family], "gauss_legendre")


def test_zero_baseline_and_gradient_times_input_refuse_modernbert(family_classifiers: dict[str, Classifier]) -> None:
    """ModernBERT's word embeddings enter a LayerNorm alone: the output ignores their scale, so the path from the zero
    embedding and gradient × input carry no signal, only rounding."""
    classifier = family_classifiers["modernbert"]
    batch = classifier.encode(TEXTS)
    embeddings = classifier.word_embeddings(batch.input_ids)
    with torch.no_grad():
        plain = classifier.logits_from_embeddings(embeddings, batch.input_ids, batch.attention_mask)
        scaled = classifier.logits_from_embeddings(3 * embeddings, batch.input_ids, batch.attention_mask)
    torch.testing.assert_close(scaled, plain, rtol=1e-4, atol=1e-4)  # but for the LayerNorm's eps
    for method, settings in (("ig", {"baseline": "zero"}), ("grad_x_input", {})):
        with pytest.raises(FaithlabError, match=r"modernbert.*LayerNorm alone"):
            get_explainer(method, classifier, **settings)


@pytest.mark.parametrize("name", ["llama", "gpt2-phrases"])
def test_prompted_causal_lms_equal_captum(prompted_classifiers: dict[str, Classifier], name: str) -> None:
    """The prompt's tokens keep their embeddings in the baseline (like special tokens); labels of one and of several
    tokens."""
    test_equals_captum_layer_integrated_gradients(prompted_classifiers[name], "gauss_legendre")
