"""A first-token classifier's pass with its last encoder layer computed for the pooled first position only.

A classifier that pools the first token (BERT's [CLS], RoBERTa's <s>, DistilBERT's first token) reads nothing else
from its last layer. That layer still needs the keys and values of every position, but the other positions' queries,
attention outputs and feed-forward blocks are wasted work (about one layer's share of every forward and backward
pass; benchmarks/RESULTS.md). `pooled_logits` runs such a classifier explicitly, with the model's own modules:
embeddings → every layer but the last → the last layer at position 0 → the head. The logits are those of the full
pass up to float rounding. Nothing is patched or remembered: the caller chooses this pass per call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.masking_utils import create_bidirectional_mask

from faithlab.models.attention import faithlab_attention


@dataclass(frozen=True)
class FirstTokenPath:
    """One family's pieces of the explicit pass: the embedding call, the last block at position 0
    ((rows, 1, dim)) and the head on that position ((rows, dim) → logits). The blocks are the adapter's."""

    embed: Callable[[PreTrainedModel, torch.Tensor, torch.Tensor | None], torch.Tensor]
    last_block: Callable[[nn.Module, torch.Tensor, torch.Tensor | None, bool], torch.Tensor]
    head: Callable[[PreTrainedModel, torch.Tensor], torch.Tensor]


def pooled_logits(
    path: FirstTokenPath,
    model: PreTrainedModel,
    blocks: nn.ModuleList,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None,
    *,
    constant_attention: bool = False,
) -> torch.Tensor:
    """Logits of a first-token classifier whose last layer computes position 0 only.

    Args:
        path: the family's pieces (`FirstTokenPath`).
        model: the classifier (`BertForSequenceClassification`, ...).
        blocks: its encoder's transformer blocks, in order.
        input_ids, attention_mask, token_type_ids: the rows, as for the model's own forward.
        constant_attention: attention probabilities are constants for autograd (LRP's attention rule).

    Returns:
        (rows, classes) logits.
    """
    hidden = path.embed(model, input_ids, token_type_ids)
    mask = create_bidirectional_mask(config=model.config, inputs_embeds=hidden, attention_mask=attention_mask)
    *lower, last = blocks
    for block in lower:
        hidden = block(hidden, mask, constant_attention=constant_attention)
    return path.head(model, path.last_block(last, hidden, mask, constant_attention)[:, 0])


def _first_query_attention(
    attention: nn.Module, query: nn.Linear, key: nn.Linear, value: nn.Linear, hidden: torch.Tensor,
    mask: torch.Tensor | None, head_size: int, constant_attention: bool,
) -> torch.Tensor:
    """Self-attention of the first position over all positions, heads merged: (rows, 1, dim)."""
    rows, width = hidden.shape[:2]
    q = query(hidden[:, :1]).view(rows, 1, -1, head_size).transpose(1, 2)
    k = key(hidden).view(rows, width, -1, head_size).transpose(1, 2)
    v = value(hidden).view(rows, width, -1, head_size).transpose(1, 2)
    if mask is not None and mask.dim() == 4 and mask.shape[-2] > 1:
        mask = mask[:, :, :1, :]
    dropout = attention.dropout.p if attention.training else 0.0
    scaling = getattr(attention, "scaling", head_size**-0.5)
    context, _ = faithlab_attention(attention, q, k, v, mask, scaling=scaling, dropout=dropout,
                                    constant_attention=constant_attention)
    return context.reshape(rows, 1, -1)


def _bert_last_block(layer: nn.Module, hidden: torch.Tensor, mask: torch.Tensor | None,
                     constant_attention: bool) -> torch.Tensor:
    """BertLayer / RobertaLayer (self-attention, add & norm, feed-forward, add & norm) at position 0."""
    attn = layer.attention.self
    context = _first_query_attention(attn, attn.query, attn.key, attn.value, hidden, mask, attn.attention_head_size,
                                     constant_attention)
    attended = layer.attention.output(context, hidden[:, :1])
    return layer.output(layer.intermediate(attended), attended)


def _distilbert_last_block(layer: nn.Module, hidden: torch.Tensor, mask: torch.Tensor | None,
                           constant_attention: bool) -> torch.Tensor:
    """DistilBERT's TransformerBlock at position 0."""
    attn = layer.attention
    context = _first_query_attention(attn, attn.q_lin, attn.k_lin, attn.v_lin, hidden, mask,
                                     attn.attention_head_size, constant_attention)
    attended = layer.sa_layer_norm(attn.out_lin(context) + hidden[:, :1])
    return layer.output_layer_norm(layer.ffn(attended) + attended)


def _bert_head(model: PreTrainedModel, first: torch.Tensor) -> torch.Tensor:
    """BertForSequenceClassification: pooler (dense + tanh on the first position), dropout, classifier."""
    return model.classifier(model.dropout(model.bert.pooler(first[:, None])))


def _roberta_head(model: PreTrainedModel, first: torch.Tensor) -> torch.Tensor:
    """RobertaClassificationHead reads the first position of the sequence it is given."""
    return model.classifier(first[:, None])


def _distilbert_head(model: PreTrainedModel, first: torch.Tensor) -> torch.Tensor:
    """DistilBertForSequenceClassification: pre_classifier, ReLU, dropout, classifier on the first position."""
    return model.classifier(model.dropout(torch.relu(model.pre_classifier(first))))


BERT_PATH = FirstTokenPath(
    embed=lambda m, ids, segments: m.bert.embeddings(input_ids=ids, token_type_ids=segments),
    last_block=_bert_last_block, head=_bert_head,
)
ROBERTA_PATH = FirstTokenPath(  # RoBERTa and XLM-RoBERTa: positions are numbered from the ids' padding
    embed=lambda m, ids, segments: m.roberta.embeddings(input_ids=ids, token_type_ids=segments),
    last_block=_bert_last_block, head=_roberta_head,
)
DISTILBERT_PATH = FirstTokenPath(
    embed=lambda m, ids, _segments: m.distilbert.embeddings(ids),
    last_block=_distilbert_last_block, head=_distilbert_head,
)
