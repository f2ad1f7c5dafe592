"""Attention-based scores: attention received (totals and means) and attention rollout.

Attention weights say where the model looks, not why it decides (Jain & Wallace 2019, "Attention is not
Explanation"), and none of these scores depends on the target class. They come from the pass that also predicts
(`Classifier.attentions`), so they cost no extra forward. Padding takes no part: only real tokens are queries, and
rollout mixes real tokens only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import torch

from faithlab.errors import FaithlabError
from faithlab.explain.base import Attributions, Explainer, Target, register
from faithlab.explain.explanation import Explanation
from faithlab.models import Batch, Classifier

SUBWORD_MARKERS = ("##", "Ġ", "▁", "Ċ")


def raw_attention(classifier: Classifier, batch: Batch) -> tuple[torch.Tensor, ...]:
    """Attention probabilities per layer, each (rows, heads, tokens, tokens): query rows, key columns."""
    return classifier.attentions(batch)


def attention_received(classifier: Classifier, batch: Batch, *, average: bool = False) -> torch.Tensor:
    """Attention each token receives (rows, tokens), summed over layers, heads and real query positions.

    `average=True` gives the mean over layers and heads, averaged over the real query positions instead.
    """
    real = batch.attention_mask.float()
    layers = raw_attention(classifier, batch)
    received = sum(torch.einsum("rhqk,rq->rk", layer, real) for layer in layers)
    if average:
        heads = layers[0].shape[1]
        received = received / (len(layers) * heads * real.sum(dim=1, keepdim=True))
    return received * real


def attention_rollout(classifier: Classifier, batch: Batch) -> torch.Tensor:
    """Attention rollout matrix (rows, tokens, tokens) (Abnar & Zuidema 2020, "Quantifying Attention Flow").

    Per layer A' = 0.5·mean_heads(A) + 0.5·I restricted to real tokens with rows renormalised; the rollout is the
    product A'_L ··· A'_1. Row q says how much each input token flows into position q; real rows sum to 1, padding
    rows and columns are 0.
    """
    real = batch.attention_mask.float()
    width = real.shape[1]
    pairs = real[:, :, None] * real[:, None, :]
    identity = torch.eye(width, device=real.device)
    rollout = torch.diag_embed(real)
    for layer in raw_attention(classifier, batch):
        mixed = (0.5 * layer.mean(dim=1) + 0.5 * identity) * pairs
        mixed = mixed / mixed.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(mixed.dtype).tiny)
        rollout = mixed @ rollout
    return rollout


def pooled_rollout(classifier: Classifier, batch: Batch) -> torch.Tensor:
    """The rollout row of the position the head reads (rows, tokens): the first, the last real one, or the
    mean over real positions (`Classifier.pooling`)."""
    rollout = attention_rollout(classifier, batch)
    real = batch.attention_mask.float()
    pooling = classifier.pooling
    if pooling == "first":
        return rollout[:, 0]
    if pooling == "last":
        last = batch.attention_mask.sum(dim=1).long() - 1
        return rollout[torch.arange(len(batch), device=rollout.device), last]
    if pooling == "mean":
        return (rollout * real[:, :, None]).sum(dim=1) / real.sum(dim=1, keepdim=True)
    raise FaithlabError(f"unknown pooling '{pooling}' in the adapter of family '{classifier.adapter.family}'")


class _AttentionExplainer(Explainer):
    """Attention scores take no settings and ignore the target; special tokens keep what they receive."""

    @property
    def output(self) -> str:
        return "attention"

    def scores(self, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def prepare(self, batch: Batch, target: Target) -> None:
        """The attention pass also gives the prediction, so no separate prediction forward runs."""
        self.classifier.attentions(batch)

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        return Attributions(self.scores(batch))


@register
class AttentionSum(_AttentionExplainer):
    """Attention totals: attention each token receives, summed over layers, heads and queries (FinBERT study).

    Raw attention as used in attention-analysis studies (Clark et al. 2019, "What Does BERT Look At?"); it says
    where the model looks, not why it decides (Jain & Wallace 2019, "Attention is not Explanation"). It costs no
    pass beyond the prediction.

    Args:
        This method takes no settings.

    Returns:
        Scores: non-negative, the same for every target class; special tokens keep what they receive, padding
        takes no part. A row's scores sum to layers × heads × real tokens (each real query gives out 1).
        No extras.

    Example:
        >>> explanation = fl.explain(model, "a warm and funny film", methods="attention_sum")["attention_sum"][0]
        >>> explanation.tokens
        ['[CLS]', 'a', 'warm', 'and', 'funny', 'film', '[SEP]']
        >>> round(float(explanation.scores.sum()))  # 2 layers × 2 heads × 7 queries
        28
    """

    name = "attention_sum"

    def scores(self, batch: Batch) -> torch.Tensor:
        return attention_received(self.classifier, batch)


@register
class AttentionMean(_AttentionExplainer):
    """Average attention each token receives: mean over layers and heads, averaged over query positions.

    `attention_sum` rescaled so that texts of different lengths and models of different depths compare (Jain &
    Wallace 2019, "Attention is not Explanation": a view of where the model looks, not of why).

    Args:
        This method takes no settings.

    Returns:
        Scores: non-negative, the same for every target class, summing to 1 over a row's real tokens (special
        tokens included). No extras.

    Example:
        >>> explanation = fl.explain(model, "a warm and funny film", methods="attention_mean")["attention_mean"][0]
        >>> round(float(explanation.scores.sum()), 4)
        1.0
    """

    name = "attention_mean"

    def scores(self, batch: Batch) -> torch.Tensor:
        return attention_received(self.classifier, batch, average=True)


@register
class Rollout(_AttentionExplainer):
    """Attention rollout (Abnar & Zuidema 2020), read at the position the classification head pools.

    Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers" (ACL): each layer's head-averaged attention
    is mixed half and half with the identity (the residual connection) and the layers are multiplied; the row of the
    pooled position ([CLS], the last token, or the mean over tokens) says how much each input token flows into what
    the head reads.

    Args:
        This method takes no settings.

    Returns:
        Scores: non-negative, the same for every target class; the rollout row itself, special tokens included, so
        a row's scores sum to 1. No extras.

    Example:
        >>> explanation = fl.explain(model, "a warm and funny film", methods="rollout")["rollout"][0]
        >>> round(float(explanation.scores.sum()), 4)
        1.0
        >>> explanation.output
        'attention'
    """

    name = "rollout"

    def scores(self, batch: Batch) -> torch.Tensor:
        return pooled_rollout(self.classifier, batch)


def top_attention_tokens(explanations: Explanation | Sequence[Explanation], k: int = 10) -> list[tuple[str, float]]:
    """The k tokens with the highest scores, skipping special tokens and punctuation.

    Given several explanations, scores are summed per token string across them: the corpus-level list of the most
    attended tokens of the FinBERT study.
    """
    if k < 1:
        raise FaithlabError(f"k must be >= 1, got {k}")
    if isinstance(explanations, Explanation):
        explanations = [explanations]
    totals: dict[str, float] = {}
    for explanation in explanations:
        for t in explanation.content:
            token = explanation.tokens[t]
            if not _is_punctuation(token):
                totals[token] = totals.get(token, 0.0) + float(explanation.scores[t])
    return sorted(totals.items(), key=lambda item: -item[1])[:k]


def _is_punctuation(token: str) -> bool:
    """True for tokens made only of punctuation once subword markers are stripped (empty counts too)."""
    for marker in SUBWORD_MARKERS:
        token = token.replace(marker, "")
    return all(unicodedata.category(ch).startswith("P") for ch in token.strip())
