"""Attention totals, means and rollout: padding excluded, same probabilities as stock transformers' eager model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification

from faithlab.errors import FaithlabError
from faithlab.explain import get_explainer
from faithlab.explain.attention import (
    attention_received,
    attention_rollout,
    pooled_rollout,
    raw_attention,
    top_attention_tokens,
)
from faithlab.models import Classifier
from faithlab.models.t5_encoder import T5EncoderForSequenceClassification

TEXTS = [
    "the movie was great and fun to watch",
    "not bad",
    "i loved every minute of it !",
    "terrible acting but great music",
    "it is fine , nothing special",
    "the plot is clever although the ending drags on and on",
    "a dull film",
    "a woman is playing the guitar on stage",
]


def _stock_attentions(folder: Path, family: str, texts: list[str], classifier: Classifier) -> tuple[torch.Tensor, ...]:
    """Attention probabilities of the stock transformers model (eager attention) loaded from the same folder."""
    model_class = T5EncoderForSequenceClassification if family == "t5" else AutoModelForSequenceClassification
    stock = model_class.from_pretrained(folder, attn_implementation="eager").eval()
    batch = classifier.encode(texts)
    kwargs = {} if batch.token_type_ids is None else {"token_type_ids": batch.token_type_ids}
    with torch.no_grad():
        out = stock(input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_attentions=True, **kwargs)
    return out.attentions


def test_raw_attention_is_the_stock_models(classifier: Classifier, tiny_folders: dict[str, Path], family: str) -> None:
    batch = classifier.encode(TEXTS)
    ours = raw_attention(classifier, batch)
    theirs = _stock_attentions(tiny_folders[family], family, TEXTS, classifier)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_attention_totals_equal_a_manual_sum_over_real_queries(
    classifier: Classifier, tiny_folders: dict[str, Path], family: str
) -> None:
    batch = classifier.encode(TEXTS)
    totals = attention_received(classifier, batch)
    layers = _stock_attentions(tiny_folders[family], family, TEXTS, classifier)
    for row, n in enumerate(batch.lengths.tolist()):
        manual = sum(layer[row, :, :n, :n].sum(dim=(0, 1)) for layer in layers)
        torch.testing.assert_close(totals[row, :n], manual, rtol=1e-5, atol=1e-5)
        assert torch.all(totals[row, n:] == 0)
    explained = get_explainer("attention_sum", classifier).explain(TEXTS)
    for row, explanation in enumerate(explained):
        content = explanation.content
        np.testing.assert_allclose(explanation.scores[content], totals[row, content].numpy(), rtol=1e-6)


def test_attention_mean_averages_over_layers_heads_and_queries(classifier: Classifier) -> None:
    batch = classifier.encode(TEXTS)
    layers = raw_attention(classifier, batch)
    n_layers, n_heads = len(layers), layers[0].shape[1]
    expected = attention_received(classifier, batch) / (n_layers * n_heads * batch.lengths[:, None])
    means = get_explainer("attention_mean", classifier).attribute(batch, torch.zeros(len(batch), dtype=torch.long))
    torch.testing.assert_close(means.scores, expected)
    # every real query distributes a total of 1, so the averages over a row's real tokens sum to 1
    torch.testing.assert_close(means.scores.sum(dim=1), torch.ones(len(batch)), rtol=1e-5, atol=1e-5)


def test_rollout_rows_over_real_tokens_sum_to_one(classifier: Classifier) -> None:
    batch = classifier.encode(TEXTS)
    rollout = attention_rollout(classifier, batch)
    real = batch.attention_mask.bool()
    sums = rollout.sum(dim=-1)
    torch.testing.assert_close(sums[real], torch.ones(int(real.sum())), rtol=1e-5, atol=1e-5)
    assert torch.all(sums[~real] == 0)
    assert torch.all(rollout.transpose(1, 2)[~real] == 0), "padding columns must receive nothing"
    assert torch.all(rollout >= 0)


def test_rollout_is_the_product_of_mixed_layers(classifier: Classifier) -> None:
    batch = classifier.encode(TEXTS[:1])
    n = int(batch.lengths[0])
    expected = torch.eye(n)
    for layer in raw_attention(classifier, batch):
        mixed = 0.5 * layer[0].mean(dim=0) + 0.5 * torch.eye(n)
        expected = (mixed / mixed.sum(dim=-1, keepdim=True)) @ expected
    torch.testing.assert_close(attention_rollout(classifier, batch)[0], expected, rtol=1e-5, atol=1e-6)


def test_rollout_reads_the_pooled_position(classifier: Classifier) -> None:
    batch = classifier.encode(TEXTS)
    rollout = attention_rollout(classifier, batch)
    pooled = pooled_rollout(classifier, batch)
    for row, n in enumerate(batch.lengths.tolist()):
        expected = {"first": rollout[row, 0], "last": rollout[row, n - 1], "mean": rollout[row, :n].mean(dim=0)}
        torch.testing.assert_close(pooled[row], expected[classifier.pooling])
    torch.testing.assert_close(pooled.sum(dim=1), torch.ones(len(batch)), rtol=1e-5, atol=1e-5)


def test_rollout_of_a_mean_pooled_head_averages_the_real_rows(
    tiny_classifiers: dict[str, Classifier], mean_pooled_bert: Classifier
) -> None:
    mean = mean_pooled_bert
    assert (tiny_classifiers["bert"].pooling, mean.pooling) == ("first", "mean")
    batch = mean.encode(TEXTS)
    rollout, pooled = attention_rollout(mean, batch), pooled_rollout(mean, batch)
    for row, n in enumerate(batch.lengths.tolist()):
        torch.testing.assert_close(pooled[row], rollout[row, :n].mean(dim=0))


def test_scores_do_not_depend_on_the_rest_of_the_batch(classifier: Classifier) -> None:
    explainers = [get_explainer(m, classifier) for m in ("attention_sum", "attention_mean", "rollout")]
    targets = torch.zeros(len(TEXTS), dtype=torch.long)
    batch = classifier.encode(TEXTS)
    together = [e.attribute(batch, targets).scores for e in explainers]
    for row, text in enumerate(TEXTS):
        alone = classifier.encode([text])
        n = int(alone.lengths[0])
        for joint, explainer in zip(together, explainers, strict=True):
            single = explainer.attribute(alone, targets[:1]).scores
            torch.testing.assert_close(joint[row, :n], single[0], rtol=1e-5, atol=1e-5)


def test_top_attention_tokens_skip_special_tokens_and_punctuation(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    texts = ["great ! fun , really", "great movie !"]
    explanations = get_explainer("attention_sum", classifier).explain(texts)
    top = top_attention_tokens(explanations[0], k=10)
    assert {token for token, _ in top} == {"great", "fun", "really"}
    assert [score for _, score in top] == sorted((score for _, score in top), reverse=True)
    corpus = dict(top_attention_tokens(explanations, k=10))
    first, second = explanations
    expected = sum(float(e.scores[e.tokens.index("great")]) for e in (first, second))
    assert corpus["great"] == pytest.approx(expected)
    assert len(top_attention_tokens(explanations, k=2)) == 2
    with pytest.raises(FaithlabError, match="k must be"):
        top_attention_tokens(explanations, k=0)


def test_attention_methods_take_no_settings(tiny_classifiers: dict[str, Classifier]) -> None:
    with pytest.raises(FaithlabError, match="rollout"):
        get_explainer("rollout", tiny_classifiers["bert"], layers=2)


def test_rollout_explanations_keep_the_mass_on_special_tokens(classifier: Classifier) -> None:
    pooled = pooled_rollout(classifier, classifier.encode(TEXTS))
    explanations = get_explainer("rollout", classifier).explain(TEXTS)
    for row, explanation in enumerate(explanations):
        total = explanation.scores.sum()
        assert total == pytest.approx(float(pooled[row].sum()), rel=1e-5)
        assert total == pytest.approx(1.0, abs=1e-5)  # the pooled row is a probability row
        assert explanation.output == "attention" and explanation.special_tokens == "kept"
