"""Getting a loaded classifier ready to fine-tune: labels, pooling choice and dropout."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from torch import nn
from transformers import PreTrainedModel

from faithlab.errors import FaithlabError
from faithlab.models import Classifier, load_classifier
from faithlab.models.loading import resolve_alias
from faithlab.models.mean_pooled import is_mean_pooled, to_mean_pooled

# Config fields that hold a dropout probability, across the supported families.
_DROPOUT_FIELDS = (
    "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout",  # BERT, RoBERTa
    "dropout", "attention_dropout", "seq_classif_dropout",  # DistilBERT
    "resid_pdrop", "embd_pdrop", "attn_pdrop", "summary_first_dropout",  # GPT-2
    "dropout_rate",  # T5
)  # fmt: skip


def classifier_to_train(
    source: str | Path, labels: Sequence[str] | None, *, new_head: bool, pooling: str, dropout: float | None,
    device: str = "auto",
) -> Classifier:
    """Load `source` (a model name, folder or alias) with `labels` on `device`, switch its pooling and set its
    dropout. Pooling 'auto' on a sentence encoder that gets a new head pools as the encoder was trained to
    (`encoder_pooling`): its [CLS] output and pooler were never trained to summarise the text."""
    base = load_classifier(source, labels=list(labels) if labels is not None else None, new_head=new_head,
                           device=device)
    if pooling == "auto" and not base.head_trained and encoder_pooling(source) == "mean":
        pooling = "mean"
    model = with_pooling(base.model, pooling)
    if dropout is not None:
        set_dropout(model, dropout)
    head_trained = base.head_trained and model is base.model
    return Classifier(model, base.tokenizer, base.name, head_trained=head_trained)


def encoder_pooling(source: str | Path) -> str | None:
    """'mean' or 'cls' when `source` is a sentence-transformers folder whose Pooling module pools that way, else
    None (no such folder or module, or another pooling)."""
    folder = Path(resolve_alias(str(source))[0])
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        module = next(m for m in modules if str(m.get("type", "")).endswith(".Pooling"))
        settings = json.loads((folder / module["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, StopIteration):
        return None  # not a sentence-transformers folder (a hub name, a plain classifier) or an unreadable one
    if settings.get("pooling_mode_mean_tokens"):
        return "mean"
    return "cls" if settings.get("pooling_mode_cls_token") else None


def with_pooling(model: PreTrainedModel, pooling: str) -> PreTrainedModel:
    """'auto' keeps the model's pooling; 'mean' moves the encoder under a mean-pooled head (a new head);
    'cls' keeps first-token pooling (last real token for GPT-2) and refuses models that can only mean-pool."""
    if pooling == "auto":
        return model
    if pooling == "mean":
        return model if is_mean_pooled(model) else to_mean_pooled(model)
    if is_mean_pooled(model):
        raise FaithlabError(
            f"pooling='cls' is not available for {type(model).__name__}: it mean-pools (T5 encoders have no "
            "summary token); use pooling 'mean' or 'auto'"
        )
    return model


def set_dropout(model: PreTrainedModel, probability: float) -> None:
    """Every dropout of the model (modules, attention probabilities, config fields) to `probability`."""
    for name in _DROPOUT_FIELDS:
        if name in model.config.to_dict():
            setattr(model.config, name, probability)
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = probability
        elif isinstance(getattr(module, "dropout", None), float):  # T5 attention keeps a plain float
            module.dropout = probability
