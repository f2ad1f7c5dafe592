"""The last encoder layer computed for the pooled first position only.

A classifier that pools the first token (BERT's [CLS], RoBERTa's <s>, DistilBERT's first token) reads nothing else
from its last layer. That layer still needs the keys and values of every position, but the other positions' queries,
attention outputs and feed-forward blocks are wasted work: in a 6-layer MiniLM about a seventh of every forward and
backward pass (6–19% measured in benchmarks/RESULTS.md). Inside `first_position_only()`, a patched last layer returns
the first position alone, (rows, 1, dim); the logits are those of the full pass up to float rounding.

The patch sets the layer's own `forward` (an instance attribute bound to the layer, so the weights, the state dict
and `save_pretrained` are untouched and a deep copy patches its own layer); outside the block, and on every other
thread, the layer runs its class's forward as before.
"""

from __future__ import annotations

import contextlib
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from faithlab.models.attention import faithlab_attention

_state = threading.local()

FirstPosition = Callable[[nn.Module, torch.Tensor, torch.Tensor | None], torch.Tensor]


@contextlib.contextmanager
def first_position_only() -> Iterator[None]:
    """Within this block (on this thread), patched last layers compute the first position only."""
    previous = getattr(_state, "active", False)
    _state.active = True
    try:
        yield
    finally:
        _state.active = previous


def patch_last_layer(layer: nn.Module, compute: FirstPosition) -> None:
    """Let `layer` compute only its first position inside `first_position_only()` (idempotent)."""
    if "forward" in vars(layer):
        return
    layer._faithlab_first_position = compute
    layer.forward = types.MethodType(_forward, layer)


def _forward(layer: nn.Module, hidden_states: torch.Tensor, attention_mask: Any = None, *args: Any,
             **kwargs: Any) -> Any:
    if getattr(_state, "active", False):
        return layer._faithlab_first_position(layer, hidden_states, attention_mask)
    return type(layer).forward(layer, hidden_states, attention_mask, *args, **kwargs)


def _first_query_attention(
    attention: nn.Module, query: nn.Linear, key: nn.Linear, value: nn.Linear, hidden: torch.Tensor,
    mask: torch.Tensor | None, head_size: int,
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
    context, _ = faithlab_attention(attention, q, k, v, mask, scaling=scaling, dropout=dropout)
    return context.reshape(rows, 1, -1)


def bert_first_position(layer: nn.Module, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """BertLayer / RobertaLayer (self-attention, add & norm, feed-forward, add & norm) at position 0."""
    attn = layer.attention.self
    context = _first_query_attention(attn, attn.query, attn.key, attn.value, hidden, mask, attn.attention_head_size)
    attended = layer.attention.output(context, hidden[:, :1])
    return layer.output(layer.intermediate(attended), attended)


def distilbert_first_position(layer: nn.Module, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """DistilBERT's TransformerBlock at position 0."""
    attn = layer.attention
    context = _first_query_attention(attn, attn.q_lin, attn.k_lin, attn.v_lin, hidden, mask, attn.attention_head_size)
    attended = layer.sa_layer_norm(attn.out_lin(context) + hidden[:, :1])
    return layer.output_layer_norm(layer.ffn(attended) + attended)
