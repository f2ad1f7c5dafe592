"""`PromptedLM`: a causal language model turned into a classifier module whose logits are the label scores.

Given the prompt's tokens (template, few-shot examples, text; padded on either side), the class score is the
log-probability of each label's tokens after the prompt, teacher-forced, or those log-probabilities centred over the
labels (`PromptSpec.score`). One-token labels need one pass (the last prompt position's distribution); longer labels
run one row per class with the label's tokens placed right after each row's last real token.

The module reads its word embeddings through `context_embeddings`, its own input-embedding module, so that what
faithlab's surgery does to the input embeddings (replacing or shifting them) reaches the prompt's tokens and never
the label tokens that are appended after them.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn
from transformers import PreTrainedModel

from faithlab.errors import FaithlabError
from faithlab.models.adapters import AdaptedModel, Adapter, ModelOutput, attention_kwargs
from faithlab.models.prompt import PromptSpec


class ContextEmbeddings(nn.Module):
    """The LM's word-embedding lookup for the prompt's tokens (hooks on this module leave label tokens alone)."""

    def __init__(self, embeddings: nn.Module):
        super().__init__()
        self.embeddings = embeddings

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.embeddings(input_ids)


class PromptedLM(AdaptedModel):
    """Label scores (rows, classes) of a causal LM for prompts given as ids and a mask (left or right padding).

    Args:
        lm: an `AutoModelForCausalLM` of a family with a causal adapter (GPT-2, Llama and its kin).
        family: the adapter of the LM's family (`faithlab.models.adapters.ADAPTERS`).
        spec: the prompt; its label names become the classes (`config.id2label`).
        label_ids: the tokens of each label word, in class order.
    """

    def __init__(self, lm: PreTrainedModel, family: Adapter, spec: PromptSpec, label_ids: list[list[int]]):
        super().__init__()
        if not family.causal:
            raise FaithlabError(f"model type '{family.family}' is not a causal LM faithlab can prompt; "
                                "use a GPT-2, Llama, Qwen, Mistral, Gemma or Phi-3 causal LM")
        self.lm = lm
        self.context_embeddings = ContextEmbeddings(lm.get_input_embeddings())
        self.spec = spec
        self.config = lm.config
        names = spec.class_names
        self.config.num_labels = len(names)
        self.config.id2label = dict(enumerate(names))
        self.config.label2id = {name: i for i, name in enumerate(names)}
        self.label_lengths = [len(ids) for ids in label_ids]
        width = max(self.label_lengths)
        padded = [ids + [ids[-1]] * (width - len(ids)) for ids in label_ids]  # the fill is never scored
        self.register_buffer("label_ids", torch.tensor(padded, dtype=torch.long), persistent=False)
        self.adapter = _prompted_adapter(family, self)

    @property
    def single_token_labels(self) -> bool:
        return max(self.label_lengths) == 1

    def get_input_embeddings(self) -> nn.Module:
        return self.context_embeddings

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, output_attentions: bool = False,
        constant_attention: bool = False,
    ) -> ModelOutput:
        """Label scores, and the attentions over the prompt's positions when asked for."""
        embeddings = self.context_embeddings(input_ids)
        last = _last_real(attention_mask)
        rows = torch.arange(input_ids.shape[0], device=input_ids.device)
        if self.single_token_labels:
            out = self._decode(embeddings, attention_mask, output_attentions, constant_attention)
            log_probs = self._log_probs(out.last_hidden_state[rows, last])[:, self.label_ids[:, 0]]
            attentions = out.attentions
        else:
            log_probs, attentions = self._teacher_forced(embeddings, attention_mask, last, output_attentions,
                                                         constant_attention)
        if self.spec.score == "log_odds":
            log_probs = log_probs - log_probs.mean(dim=-1, keepdim=True)
        return ModelOutput(log_probs, attentions if output_attentions else None)

    def _decode(self, embeddings: torch.Tensor, mask: torch.Tensor, output_attentions: bool, constant: bool):
        """The decoder stack on embeddings; positions count real tokens, so left padding gives the same numbers."""
        positions = (mask.long().cumsum(dim=1) - 1).clamp_min(0)
        return self.lm.base_model(inputs_embeds=embeddings, attention_mask=mask, position_ids=positions,
                                  output_attentions=output_attentions, **attention_kwargs(constant))

    def _log_probs(self, hidden: torch.Tensor) -> torch.Tensor:
        """Next-token log-probabilities from final hidden states, as the LM's own head computes its logits."""
        logits = self.lm.get_output_embeddings()(hidden).float()
        cap = getattr(self.config, "final_logit_softcapping", None)  # Gemma caps its logits after the head
        if cap is not None:
            logits = torch.tanh(logits / cap) * cap
        if self.spec.score == "log_odds" and self.single_token_labels:
            return logits  # the normaliser is the same for every label and cancels when the scores are centred
        return torch.log_softmax(logits, dim=-1)

    def _teacher_forced(
        self, embeddings: torch.Tensor, mask: torch.Tensor, last: torch.Tensor, output_attentions: bool,
        constant: bool,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
        """Σ_j log p(label_j | prompt, label_<j) per class: one row per (text, class), the label placed right after
        the row's last real token (over right padding, or after the end with left padding)."""
        n, width, dim = embeddings.shape
        classes, k = self.label_ids.shape
        span = width + k
        offset = torch.arange(span, device=mask.device)[None, None, :] - (last[:, None, None] + 1)
        lengths = torch.tensor(self.label_lengths, device=mask.device)
        slot = (offset >= 0) & (offset < lengths[None, :, None])  # (n, classes, span): a label token goes here
        label_embeddings = self.lm.get_input_embeddings()(self.label_ids)  # (classes, k, dim)
        index = offset.clamp(0, k - 1).expand(n, classes, span)
        placed = label_embeddings[torch.arange(classes, device=mask.device)[None, :, None], index]
        context = nn.functional.pad(embeddings, (0, 0, 0, k))[:, None]
        full = torch.where(slot[..., None], placed, context).reshape(n * classes, span, dim)
        full_mask = (slot | nn.functional.pad(mask.bool(), (0, k))[:, None]).long().reshape(n * classes, span)
        out = self._decode(full, full_mask, output_attentions, constant)
        # the position before each label token predicts it: last, last + 1, ...
        steps = (last[:, None] + torch.arange(k, device=mask.device)[None, :]).repeat_interleave(classes, dim=0)
        hidden = out.last_hidden_state[torch.arange(n * classes, device=mask.device)[:, None], steps]
        log_probs = self._log_probs(hidden).reshape(n, classes, k, -1)
        chosen = log_probs.gather(-1, self.label_ids[None, :, :, None].expand(n, classes, k, 1)).squeeze(-1)
        scored = torch.arange(k, device=mask.device)[None, :] < lengths[:, None]
        attentions = None
        if output_attentions:  # causal: the prompt's positions attend alike in every class's row
            attentions = tuple(a.reshape(n, classes, *a.shape[1:])[:, 0, :, :width, :width] for a in out.attentions)
        return (chosen * scored).sum(dim=-1), attentions


def _last_real(mask: torch.Tensor) -> torch.Tensor:
    """Index of each row's last real token, for right or left padding."""
    positions = torch.arange(mask.shape[1], device=mask.device)
    return (positions * mask.long()).max(dim=1).values


def _prompted_forward(
    model: PromptedLM,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None,
    output_attentions: bool = False,
    *,
    constant_attention: bool = False,
) -> ModelOutput:
    return model(input_ids, attention_mask, output_attentions, constant_attention)


def _prompted_adapter(family: Adapter, prompted: PromptedLM) -> Adapter:
    """The family's adapter, reaching the LM inside the wrapper; LRP's input point only where its rules hold."""
    reason = _lrp_refusal(prompted)

    def embedding_sum(model: PromptedLM) -> nn.Module:
        if reason:
            raise FaithlabError(f"LRP cannot explain this prompted {family.family} classifier: {reason}")
        return family.embedding_sum(model.lm)

    return replace(
        family, family=f"prompted {family.family}", forward=_prompted_forward, embedding_sum=embedding_sum,
        pooling="last",
        functional_activations=lambda m: family.functional_activations(m.lm),
        gates=lambda m: family.gates(m.lm), blocks=lambda m: family.blocks(m.lm),
    )


def _lrp_refusal(prompted: PromptedLM) -> str | None:
    """Why LRP's rules do not cover the score, or None: they have no rule for the log-softmax over the vocabulary
    (nor for Gemma's tanh cap), which only log-odds of one-token labels avoid."""
    if getattr(prompted.config, "final_logit_softcapping", None) is not None:
        return "its logits pass a tanh soft cap, for which LRP has no rule"
    if prompted.spec.score != "log_odds":
        return ("score 'log_prob' subtracts the log-sum-exp over the vocabulary, for which LRP has no rule; "
                "use score 'log_odds' with one-token label words")
    if not prompted.single_token_labels:
        return ("a label of several tokens is scored through the log-softmax at each of its positions, for which "
                "LRP has no rule; use one-token label words")
    return None
