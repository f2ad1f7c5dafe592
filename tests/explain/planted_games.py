"""Planted games for the sampling explainers: cheap models whose exact answers are known or brute-forced."""

from __future__ import annotations

import torch

from faithlab.models import Classifier
from faithlab.models.adapters import ModelOutput

TWELVE = "the movie was great and fun to watch , not bad ."  # 12 BERT tokens


class InteractingClassifier(Classifier):
    """A planted model whose tokens interact at every order: logit(positive) = exp(s) with s = Σ w[id] over real
    tokens (w = 0 for the mask token), logit(negative) = 0; cheap enough to brute-force 2^12 coalitions. (Quadratic
    or single-kink functions of s are too easy: paired sampling recovers them almost exactly.)"""

    def __init__(self, base: Classifier):
        super().__init__(base.model, base.tokenizer, "planted-interactions")
        self.weights = torch.randn(len(base.tokenizer), generator=torch.Generator().manual_seed(5)) * 0.7
        self.weights[self.replacement_id("mask")] = 0.0

    def forward(self, input_ids, attention_mask, token_type_ids=None, *, output_attentions=False) -> ModelOutput:
        s = (self.weights[input_ids] * attention_mask).sum(dim=1)
        return ModelOutput(torch.stack([torch.zeros_like(s), torch.exp(s)], dim=-1), None)


class AdditiveClassifier(InteractingClassifier):
    """logit(positive) = s itself: an additive game, so any half of the samples gives the exact Shapley values."""

    def forward(self, input_ids, attention_mask, token_type_ids=None, *, output_attentions=False) -> ModelOutput:
        s = (self.weights[input_ids] * attention_mask).sum(dim=1)
        return ModelOutput(torch.stack([torch.zeros_like(s), s], dim=-1), None)
