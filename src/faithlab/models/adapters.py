"""Per-architecture details, in one registry, so explainers never reach into `model.bert...` themselves.

An adapter knows, for one model family: how to run the classifier (pooling included), whether segment ids exist,
which position the head pools, which module receives the summed input embeddings (word + position + segment), which
LRP treats as the input, the non-linearities LRP cannot find as modules (functional activations, gates), the stack of
transformer blocks (declared per family, for the randomization test) and, for first-token heads, the explicit pass
whose last layer computes the pooled position only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.models.t5.modeling_t5 import T5DenseGatedActDense

from faithlab.errors import FaithlabError
from faithlab.models.first_position import BERT_PATH, DISTILBERT_PATH, ROBERTA_PATH, FirstTokenPath


@dataclass(frozen=True)
class ModelOutput:
    logits: torch.Tensor
    attentions: tuple[torch.Tensor, ...] | None


def attention_kwargs(constant_attention: bool) -> dict[str, bool]:
    """The attention kwargs of a model call: transformers hands them to every attention layer's function, where
    faithlab's attention reads them; nothing is passed by default, so other attention implementations see no
    unknown argument."""
    return {"constant_attention": True} if constant_attention else {}


def _default_forward(
    model: PreTrainedModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None,
    output_attentions: bool = False,
    *,
    constant_attention: bool = False,
) -> ModelOutput:
    kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
    out = model(
        input_ids=input_ids, attention_mask=attention_mask, output_attentions=output_attentions, **kwargs,
        **attention_kwargs(constant_attention),
    )
    return ModelOutput(out.logits, out.attentions if output_attentions else None)


def _last_token_forward(
    model: PreTrainedModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None,
    output_attentions: bool = False,
    *,
    constant_attention: bool = False,
) -> ModelOutput:
    """Decoder classifiers (GPT-2, Llama and its kin): score the last real token, found from the attention mask
    (right padding).

    transformers finds that token by looking for pad ids, which breaks when an explainer replaces a token by the
    pad token; the mask is the truth about where the text ends. `base_model` is the decoder stack and `score` the
    head in every family.
    """
    out = model.base_model(
        input_ids=input_ids, attention_mask=attention_mask, output_attentions=output_attentions,
        **attention_kwargs(constant_attention),
    )
    last = attention_mask.sum(dim=1).long() - 1
    hidden = out.last_hidden_state[torch.arange(input_ids.shape[0], device=input_ids.device), last]
    return ModelOutput(model.score(hidden), out.attentions if output_attentions else None)


def _no_modules(model: PreTrainedModel) -> list:
    return []


def _no_blocks(model: PreTrainedModel) -> nn.ModuleList:
    raise FaithlabError(
        f"faithlab does not know the transformer blocks of model type '{model.config.model_type}'; "
        f"supported families: {', '.join(FAMILIES)}"
    )


def _lrp_refused(reason: str) -> Callable[[PreTrainedModel], nn.Module]:
    """An `embedding_sum` for a family LRP has no rules for: asking for LRP's input point says why."""
    def fail(model: PreTrainedModel) -> nn.Module:
        raise FaithlabError(f"LRP cannot explain model type '{model.config.model_type}': {reason}")

    return fail


def _t5_gates(model: PreTrainedModel) -> list[nn.Module]:
    """The activation of T5's gated feed-forward (flan-T5) multiplies a linear branch: it acts as a gate."""
    return [block.act for block in model.modules() if isinstance(block, T5DenseGatedActDense)]


@dataclass(frozen=True)
class Adapter:
    """What faithlab must know about one model family.

    `pooling` is the position the head reads: "first" token (CLS-like), "last" real token (causal decoders) or
    "mean" over real tokens. `functional_activations` lists (producer, consumer) module pairs where the consumer's
    input is an element-wise activation of the producer's output applied without a module (RoBERTa's head calls
    torch.tanh); `gates` lists activation modules whose output multiplies another branch. Both serve LRP's rules.
    `blocks` gives the stack of transformer blocks (attention + MLP + their norms), in order. `first_token` is the
    explicit pass whose last layer computes the pooled first position alone (`faithlab.models.first_position`),
    usable for the head classes in `first_token_heads` only: the ones known to read nothing but that position
    (faithlab's mean-pooled heads share the family's adapter).

    `forward(model, input_ids, attention_mask, token_type_ids, output_attentions=False, *,
    constant_attention=False)` runs the model's own forward, every position of every layer.

    `scale_invariant_embeddings`: the word embeddings alone enter a LayerNorm (ModernBERT adds no position embedding
    first), so the model's output does not change when they are scaled, and gradient × input (and IG from the zero
    embedding) is 0 but for rounding: those methods refuse the family (`refuse_scale_invariant`).
    """

    family: str
    uses_token_types: bool
    embedding_sum: Callable[[PreTrainedModel], nn.Module]
    forward: Callable[..., ModelOutput] = _default_forward
    causal: bool = False
    pooling: str = "first"
    functional_activations: Callable[[PreTrainedModel], list[tuple[nn.Module, nn.Module]]] = _no_modules
    gates: Callable[[PreTrainedModel], list[nn.Module]] = _no_modules
    blocks: Callable[[PreTrainedModel], nn.ModuleList] = _no_blocks
    first_token: FirstTokenPath | None = None
    first_token_heads: tuple[str, ...] = ()
    scale_invariant_embeddings: bool = False

    def reads_first_token_only(self, model: PreTrainedModel) -> bool:
        """Whether `model`'s head is one known to read the first position alone (and the family has the pass)."""
        return self.first_token is not None and type(model).__name__ in self.first_token_heads

    def refuse_scale_invariant(self, method: str) -> None:
        """Raise for a method that scales the word embeddings (x · ∂f/∂x, a path from 0) on a family whose output
        ignores their scale: its scores would be rounding noise."""
        if self.scale_invariant_embeddings:
            raise FaithlabError(
                f"{method} is 0 for model type '{self.family}': its word embeddings enter a LayerNorm alone, so "
                "the output does not change with their scale and gradient × input vanishes; use ig with a pad or "
                "mask baseline, lrp, kernel_shap, lime or occlusion"
            )


def _roberta_head_tanh(model: PreTrainedModel) -> list[tuple[nn.Module, nn.Module]]:
    return [(model.classifier.dense, model.classifier.out_proj)]


def _distilbert_head_relu(model: PreTrainedModel) -> list[tuple[nn.Module, nn.Module]]:
    return [(model.pre_classifier, model.classifier)]


_ROBERTA = Adapter(  # RoBERTa and XLM-RoBERTa share their modules
    "roberta", False, lambda m: m.roberta.embeddings.LayerNorm, functional_activations=_roberta_head_tanh,
    blocks=lambda m: m.roberta.encoder.layer, first_token=ROBERTA_PATH,
    first_token_heads=("RobertaForSequenceClassification", "XLMRobertaForSequenceClassification"),
)

def _decoder(family: str, gate: str = "act_fn") -> Adapter:
    """A Llama-style decoder classifier: `model.layers` of pre-norm blocks (RMSNorm, rotary attention, an MLP whose
    activation, the attribute `gate` of `layer.mlp`, multiplies the up projection), a `score` head on the last real
    token. LRP's input is the first block's input: rotary positions act inside attention, nothing is added to the
    word embeddings (Gemma scales them, which the first block's input includes)."""
    return Adapter(
        family, False, lambda m: m.model.layers[0], _last_token_forward, causal=True, pooling="last",
        gates=lambda m: [getattr(layer.mlp, gate) for layer in m.model.layers], blocks=lambda m: m.model.layers,
    )


_DEBERTA_ATTENTION = (
    "its disentangled attention adds content-to-position and position-to-content scores inside the model's own "
    "attention module, which never calls faithlab's attention function, so the attention probabilities cannot be "
    "held constant (the rule LRP needs); use gradient, ig, kernel_shap or occlusion for DeBERTa"
)

ADAPTERS: dict[str, Adapter] = {
    "bert": Adapter(
        "bert", True, lambda m: m.bert.embeddings.LayerNorm, blocks=lambda m: m.bert.encoder.layer,
        first_token=BERT_PATH, first_token_heads=("BertForSequenceClassification",),
    ),
    "roberta": _ROBERTA,
    "xlm-roberta": _ROBERTA,
    "distilbert": Adapter(
        "distilbert", False, lambda m: m.distilbert.embeddings.LayerNorm, functional_activations=_distilbert_head_relu,
        blocks=lambda m: m.distilbert.transformer.layer, first_token=DISTILBERT_PATH,
        first_token_heads=("DistilBertForSequenceClassification",),
    ),
    "gpt2": Adapter("gpt2", False, lambda m: m.transformer.drop, _last_token_forward, causal=True, pooling="last",
                    blocks=lambda m: m.transformer.h),
    "t5": Adapter("t5", False, lambda m: m.encoder.dropout, pooling="mean", gates=_t5_gates,
                  blocks=lambda m: m.encoder.block),
    "llama": _decoder("llama"),
    "qwen2": _decoder("qwen2"),
    "qwen3": _decoder("qwen3"),
    "mistral": _decoder("mistral"),
    "gemma2": _decoder("gemma2"),
    "gemma3_text": _decoder("gemma3_text"),
    "phi3": _decoder("phi3", gate="activation_fn"),
    "modernbert": Adapter(  # GLU feed-forward: act(input) · gate, the activation's output gates the linear half
        "modernbert", False, lambda m: m.model.embeddings.norm, blocks=lambda m: m.model.layers,
        gates=lambda m: [layer.mlp.act for layer in m.model.layers], scale_invariant_embeddings=True,
    ),
    "deberta-v2": Adapter("deberta-v2", True, _lrp_refused(_DEBERTA_ATTENTION),
                          blocks=lambda m: m.deberta.encoder.layer),
    "electra": Adapter("electra", True, lambda m: m.electra.embeddings.LayerNorm,
                       blocks=lambda m: m.electra.encoder.layer),
    # ALBERT shares one group of layers across its depth: the group is its one block
    "albert": Adapter("albert", True, lambda m: m.albert.embeddings.LayerNorm,
                      blocks=lambda m: m.albert.encoder.albert_layer_groups),
}

FAMILIES = ("bert", "roberta", "distilbert", "gpt2", "t5", "llama", "qwen2", "qwen3", "mistral", "gemma2",
            "gemma3_text", "phi3", "modernbert", "deberta-v2", "electra", "albert")


class AdaptedModel(nn.Module):
    """A model faithlab builds around a Hugging Face one, carrying its own `adapter` (the prompted causal LM: its
    forward and its LRP support depend on the prompt, not on the family alone)."""

    adapter: Adapter


def adapter_for(model: PreTrainedModel) -> Adapter:
    """The adapter of a loaded model; unknown families get the generic forward and no LRP input point."""
    if isinstance(model, AdaptedModel):
        return model.adapter
    model_type = model.config.model_type
    if model_type == "modernbert" and model.config.classifier_pooling == "mean":  # the head's pooling is a setting
        return replace(ADAPTERS[model_type], pooling="mean")
    if model_type in ADAPTERS:
        return ADAPTERS[model_type]
    return Adapter(model_type, "token_type_ids" in _forward_arguments(model), _no_embedding_sum(model_type))


def _forward_arguments(model: PreTrainedModel) -> tuple[str, ...]:
    return tuple(model.forward.__code__.co_varnames[: model.forward.__code__.co_argcount])


def _no_embedding_sum(model_type: str) -> Callable[[PreTrainedModel], nn.Module]:
    def fail(model: PreTrainedModel) -> nn.Module:
        raise FaithlabError(
            f"LRP needs an architecture adapter and model type '{model_type}' has none; "
            f"supported families: {', '.join(FAMILIES)}"
        )

    return fail
