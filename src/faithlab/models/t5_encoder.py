"""T5 encoder with a mean-pooled classification head (the encoder-only T5 classifier of the thesis setup).

transformers ships only an encoder-decoder `T5ForSequenceClassification`; this class keeps the encoder, averages its
last hidden states over the real tokens and applies one linear layer. Saved folders name this architecture in
`config.architectures`, and `load_classifier` maps that name to this class (no remote code is run).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import T5Config
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.models.t5.modeling_t5 import T5PreTrainedModel, T5Stack

from faithlab.models.mean_pooled import masked_mean

ARCHITECTURE = "T5EncoderForSequenceClassification"


class T5EncoderForSequenceClassification(T5PreTrainedModel):
    """T5 encoder + mean pooling over non-pad tokens + dropout + linear head."""

    _tied_weights_keys = {"encoder.embed_tokens.weight": "shared.weight"}
    _keys_to_ignore_on_load_unexpected = [r"decoder", r"lm_head"]

    def __init__(self, config: T5Config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.shared = nn.Embedding(config.vocab_size, config.d_model)
        encoder_config = config.__class__.from_dict(config.to_dict())
        encoder_config.use_cache = False
        encoder_config.is_decoder = False
        encoder_config.is_encoder_decoder = False
        encoder_config._attn_implementation = config._attn_implementation
        self.encoder = T5Stack(encoder_config)
        self.encoder.embed_tokens = self.shared
        self.dropout = nn.Dropout(config.classifier_dropout if config.classifier_dropout is not None else 0.1)
        self.classifier = nn.Linear(config.d_model, config.num_labels)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.shared

    def set_input_embeddings(self, new_embeddings: nn.Embedding) -> None:
        self.shared = new_embeddings
        self.encoder.embed_tokens = new_embeddings

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        encoded = self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            **kwargs,  # attention kwargs (faithlab's constant_attention) reach every attention layer
        )
        logits = self.classifier(self.dropout(masked_mean(encoded.last_hidden_state, attention_mask)))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=encoded.hidden_states, attentions=encoded.attentions
        )
