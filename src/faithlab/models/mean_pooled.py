"""Encoder classifiers whose head reads the mean of the last hidden states instead of the first ([CLS]) token.

transformers' BERT, RoBERTa and DistilBERT classifiers always pool the first token. Sentence encoders such as
all-MiniLM were trained with mean pooling (Reimers & Gurevych 2019, "Sentence-BERT", EMNLP), so fine-tuning may
choose it. Saved folders name these architectures in `config.architectures`; `load_classifier` maps the names back
to these classes (no remote code is run). The encoder keeps its usual attribute (`bert`, `roberta`, `distilbert`),
so the family's adapter applies unchanged.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import (
    BertModel,
    BertPreTrainedModel,
    DistilBertModel,
    DistilBertPreTrainedModel,
    PretrainedConfig,
    PreTrainedModel,
    RobertaModel,
    RobertaPreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from faithlab.errors import FaithlabError


def masked_mean(hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Average of `hidden` (rows, tokens, dim) over the tokens the mask marks as real."""
    if attention_mask is None:
        return hidden.mean(dim=1)
    weights = attention_mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class _MeanPooledHead:
    """Shared forward: encoder → masked mean → dropout → linear."""

    base_model_prefix: str

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        segments = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        encoded = getattr(self, self.base_model_prefix)(
            input_ids=input_ids,
            attention_mask=attention_mask,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            **segments,
            **kwargs,  # attention kwargs (faithlab's constant_attention) reach every attention layer
        )
        logits = self.classifier(self.dropout(masked_mean(encoded.last_hidden_state, attention_mask)))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1))
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=encoded.hidden_states, attentions=encoded.attentions
        )


def _head_dropout(config: PretrainedConfig, fallback: str) -> float:
    value = getattr(config, "classifier_dropout", None)
    return value if value is not None else getattr(config, fallback)


class BertMeanPooledForSequenceClassification(_MeanPooledHead, BertPreTrainedModel):
    def __init__(self, config: PretrainedConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(_head_dropout(config, "hidden_dropout_prob"))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()


class RobertaMeanPooledForSequenceClassification(_MeanPooledHead, RobertaPreTrainedModel):
    def __init__(self, config: PretrainedConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(_head_dropout(config, "hidden_dropout_prob"))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()


class DistilBertMeanPooledForSequenceClassification(_MeanPooledHead, DistilBertPreTrainedModel):
    def __init__(self, config: PretrainedConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.distilbert = DistilBertModel(config)
        self.dropout = nn.Dropout(config.seq_classif_dropout)
        self.classifier = nn.Linear(config.dim, config.num_labels)
        self.post_init()


MEAN_POOLED: dict[str, type[PreTrainedModel]] = {
    cls.__name__: cls
    for cls in (
        BertMeanPooledForSequenceClassification,
        RobertaMeanPooledForSequenceClassification,
        DistilBertMeanPooledForSequenceClassification,
    )
}
_BY_MODEL_TYPE = {
    "bert": BertMeanPooledForSequenceClassification,
    "roberta": RobertaMeanPooledForSequenceClassification,
    "xlm-roberta": RobertaMeanPooledForSequenceClassification,
    "distilbert": DistilBertMeanPooledForSequenceClassification,
}


def is_mean_pooled(model: PreTrainedModel) -> bool:
    """True for the classes above and for the T5 encoder classifier (which always mean-pools)."""
    return type(model).__name__ in MEAN_POOLED or type(model).__name__ == "T5EncoderForSequenceClassification"


def to_mean_pooled(model: PreTrainedModel) -> PreTrainedModel:
    """The same encoder weights under a new mean-pooled head (the old head, and BERT's pooler, are dropped)."""
    model_type = model.config.model_type
    if model_type not in _BY_MODEL_TYPE:
        raise FaithlabError(
            f"pooling='mean' is available for {', '.join(sorted(_BY_MODEL_TYPE))} (and T5, which always mean-pools); "
            f"model type '{model_type}' keeps its own pooling"
        )
    target = _BY_MODEL_TYPE[model_type]
    config = model.config.__class__.from_dict(model.config.to_dict())
    config.architectures = [target.__name__]
    config._attn_implementation = model.config._attn_implementation
    pooled = target(config)
    prefix = target.base_model_prefix
    result = getattr(pooled, prefix).load_state_dict(getattr(model, prefix).state_dict(), strict=False)
    if result.missing_keys:
        raise FaithlabError(f"cannot move '{model_type}' weights under a mean-pooled head: {result.missing_keys[:3]}")
    return pooled.to(next(model.parameters()).device)
