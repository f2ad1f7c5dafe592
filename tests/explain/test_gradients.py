"""Gradient, gradient norm and gradient × input: autograd's numbers, one shared backward, batch invariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faithlab.errors import FaithlabError
from faithlab.explain import explain_many, get_explainer
from faithlab.explain.base import expand_targets
from faithlab.models import Classifier

TEXTS = [
    "the movie was great and fun to watch",
    "not bad",
    "i loved every minute of it !",
    "terrible acting but great music",
    "fine",
    "the plot is clever although the ending drags on and on",
    "a dull film",
    "a woman is playing the guitar on stage",
]
GRADIENT_METHODS = ("gradient", "gradient_abs", "grad_x_input")


def _autograd_reference(classifier: Classifier, text: str, target: int, output: str) -> tuple[torch.Tensor, ...]:
    """d output / d word embedding of one text, by retaining the embedding layer's output in a plain forward."""
    batch = classifier.encode([text])
    kept: list[torch.Tensor] = []

    def keep(_module: torch.nn.Module, _inputs: tuple, out: torch.Tensor) -> None:
        out.retain_grad()
        kept.append(out)

    handle = classifier.model.get_input_embeddings().register_forward_hook(keep)
    try:
        logits = classifier.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids).logits
    finally:
        handle.remove()
    values = logits if output == "logit" else torch.softmax(logits, dim=-1)
    values[0, target].backward()
    return kept[0].grad[0].detach(), kept[0][0].detach()


@pytest.mark.parametrize("output", ["logit", "probability"])
def test_gradients_equal_autograd_on_one_text(classifier: Classifier, output: str) -> None:
    text = TEXTS[0]
    batch = classifier.encode([text])
    batch, targets = expand_targets(classifier, batch, None)
    grad, embedding = _autograd_reference(classifier, text, int(targets[0]), output)
    expected = {
        "gradient": grad.sum(dim=-1),
        "gradient_abs": grad.norm(dim=-1),
        "grad_x_input": (grad * embedding).sum(dim=-1),
    }
    for method, reference in expected.items():
        scores = get_explainer(method, classifier, output=output).attribute(batch, targets).scores[0]
        torch.testing.assert_close(scores, reference, rtol=1e-5, atol=1e-7)
    assert expected["gradient_abs"].abs().max() > 0


def test_the_three_methods_share_one_backward(classifier: Classifier, monkeypatch: pytest.MonkeyPatch) -> None:
    passes_with_grad = []
    forward = classifier.forward

    def counting(*args, **kwargs):
        passes_with_grad.append(torch.is_grad_enabled())
        return forward(*args, **kwargs)

    monkeypatch.setattr(classifier, "forward", counting)
    results = explain_many(classifier, TEXTS, GRADIENT_METHODS)
    assert sum(passes_with_grad) == 1  # one chunk, one forward + backward for all three methods
    assert set(results) == set(GRADIENT_METHODS)
    explain_many(classifier, TEXTS, [(m, {"output": "probability"}) for m in GRADIENT_METHODS])
    assert sum(passes_with_grad) == 2  # another output is another gradient, again shared


def test_explaining_together_equals_one_by_one(classifier: Classifier, monkeypatch: pytest.MonkeyPatch) -> None:
    alone = [explain_many(classifier, [text], GRADIENT_METHODS) for text in TEXTS]
    monkeypatch.setattr(classifier, "max_batch_tokens", 3 * classifier.encode(TEXTS).input_ids.shape[1])
    together = explain_many(classifier, TEXTS, GRADIENT_METHODS)  # padded, in chunks of three rows
    for method in GRADIENT_METHODS:
        for single_result, batched in zip(alone, together[method], strict=True):
            single = single_result[method][0]
            assert single.tokens == batched.tokens
            np.testing.assert_allclose(batched.scores, single.scores, rtol=1e-5, atol=1e-5)


def test_unknown_output_is_refused(tiny_classifiers: dict[str, Classifier]) -> None:
    with pytest.raises(FaithlabError, match="softmax"):
        get_explainer("gradient", tiny_classifiers["bert"], output="softmax")
    with pytest.raises(FaithlabError, match="bad settings"):
        get_explainer("grad_x_input", tiny_classifiers["bert"], n_steps=3)


@pytest.mark.parametrize("family", ["bert", "roberta", "distilbert", "gpt2", "t5"])
def test_a_signed_gradient_that_is_rounding_noise_says_so(tiny_classifiers, family):
    """Mean-centring LayerNorms make a model blind to shifting all of a token's embedding dimensions at once, so the
    summed gradient is 0 up to rounding (BERT-style embeddings, GPT-2's pre-LN blocks); T5's RMS norm is not."""
    classifier = tiny_classifiers[family]
    texts = ["the movie was great and fun to watch", "a dull , boring film"]
    signed = get_explainer("gradient", classifier).explain(texts)
    norms = get_explainer("gradient_abs", classifier).explain(texts)
    dim = classifier.model.get_input_embeddings().weight.shape[1]
    for explanation, norm in zip(signed, norms, strict=True):
        share = np.abs(explanation.scores[explanation.content]) / (norm.scores[norm.content] * dim**0.5)
        flat = bool((share <= 1e-4).all())
        assert flat == (family != "t5")
        assert any("sums to 0 up to rounding" in w for w in explanation.warnings) == flat
