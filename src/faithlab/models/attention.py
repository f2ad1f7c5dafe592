"""faithlab's own attention function, registered with transformers' attention interface.

It computes plain (eager) scaled dot-product attention, so attention probabilities can always be returned, and it can
treat those probabilities as constants for the backward pass. That switch is the attention rule of LRP by
conservative propagation (Ali et al. 2022, "XAI for Transformers: Better Explanations through Conservative
Propagation", ICML): relevance flows through the values only, never through the softmax.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch
from transformers import AttentionInterface
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, eager_mask

ATTENTION_NAME = "faithlab"

_state = threading.local()


def _detach_probabilities() -> bool:
    return getattr(_state, "detach", False)


@contextlib.contextmanager
def constant_attention() -> Iterator[None]:
    """Within this block, attention probabilities are constants for autograd (LRP's attention rule)."""
    previous = _detach_probabilities()
    _state.detach = True
    try:
        yield
    finally:
        _state.detach = previous


def faithlab_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    position_bias: torch.Tensor | None = None,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eager attention with the same signature as transformers' `eager_attention_forward`."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    if key.shape[1] != query.shape[1]:  # grouped-query attention: repeat the key/value heads
        repeat = query.shape[1] // key.shape[1]
        key = key.repeat_interleave(repeat, dim=1)
        value = value.repeat_interleave(repeat, dim=1)
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling
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
    mixing = probabilities.detach() if _detach_probabilities() else probabilities
    output = torch.matmul(mixing, value).transpose(1, 2).contiguous()
    return output, probabilities


AttentionInterface.register(ATTENTION_NAME, faithlab_attention)
ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION_NAME, eager_mask)
