"""faithlab's own attention function, registered with transformers' attention interface.

It computes plain (eager) scaled dot-product attention, so attention probabilities can always be returned, and it can
treat those probabilities as constants for the backward pass. That switch is the attention rule of LRP by
conservative propagation (Ali et al. 2022, "XAI for Transformers: Better Explanations through Conservative
Propagation", ICML): relevance flows through the values only, never through the softmax. The switch is an argument,
`constant_attention=True`, that a model call passes down to every attention layer with transformers' attention kwargs
(`model(..., constant_attention=True)`); no state is kept between calls.
"""

from __future__ import annotations

import torch
from transformers import AttentionInterface
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, eager_mask

ATTENTION_NAME = "faithlab"


def register_attention() -> None:
    """Make `attn_implementation="faithlab"` known to transformers (idempotent; called when a model is loaded or
    wrapped, never at import). Its masks are the eager 4-D float masks."""
    AttentionInterface.register(ATTENTION_NAME, faithlab_attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION_NAME, eager_mask)


def faithlab_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    position_bias: torch.Tensor | None = None,
    constant_attention: bool = False,
    softcap: float | None = None,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eager attention with the signature of transformers' `eager_attention_forward`; with `constant_attention`,
    the probabilities mix the values as constants for autograd (their forward value is unchanged).

    `softcap` (Gemma 2) bounds the scores by softcap · tanh(scores / softcap) before the mask. A `sliding_window`
    needs nothing here: the mask the model builds for that layer already hides what lies outside the window.
    """
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    if key.shape[1] != query.shape[1]:  # grouped-query attention: repeat the key/value heads
        repeat = query.shape[1] // key.shape[1]
        key = key.repeat_interleave(repeat, dim=1)
        value = value.repeat_interleave(repeat, dim=1)
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling
    if softcap is not None:
        scores = torch.tanh(scores / softcap) * softcap
    if position_bias is not None:
        scores = scores + position_bias
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + attention_mask[..., : key.shape[-2]]
    probabilities = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    if dropout and module.training:
        probabilities = torch.nn.functional.dropout(probabilities, p=dropout)
    mixing = probabilities.detach() if constant_attention else probabilities
    output = torch.matmul(mixing, value).transpose(1, 2).contiguous()
    return output, probabilities
