"""The newer families (decoders with rotary positions, grouped-query attention, RMSNorm and gated MLPs; ModernBERT,
DeBERTa-v2, ELECTRA, ALBERT): faithlab's passes give the logits of stock transformers with eager attention, the head
reads the last real token from the mask, and what Gemma's attention receives (softcap, sliding window) matters."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, PreTrainedModel

from faithlab.models import FAMILIES, Classifier, load_classifier
from tiny_families import NEW_FAMILIES, NO_PAD_TOKEN

TEXTS = ["a good film", "the plot was dull and far too long for what it had to say", "fine"]
PAIRS = ["it is good", "nothing happens", "a long and winding road of a hypothesis"]
DECODERS = ("llama", "qwen2", "qwen3", "mistral", "gemma2", "gemma3_text", "phi3")


def stock_logits(folder: Path, batch, pad_token_id: int, **config: object) -> torch.Tensor:
    """Logits of the folder as transformers loads it with eager attention (config overrides applied)."""
    model: PreTrainedModel = AutoModelForSequenceClassification.from_pretrained(
        folder, attn_implementation="eager", **config).eval()
    if model.config.pad_token_id is None:  # the tokenizer had none: the one load_classifier set
        model.config.pad_token_id = pad_token_id
    segments = {} if batch.token_type_ids is None else {"token_type_ids": batch.token_type_ids}
    with torch.no_grad():
        return model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, **segments).logits


def test_every_new_family_has_an_adapter() -> None:
    assert set(NEW_FAMILIES) <= set(FAMILIES)


@pytest.mark.parametrize("family", NEW_FAMILIES)
@pytest.mark.parametrize("pairs", [None, PAIRS], ids=["single", "pairs"])
def test_logits_equal_stock_transformers(family_folders: dict[str, Path], family: str, pairs: list[str] | None) -> None:
    classifier = load_classifier(family_folders[family])
    assert classifier.model.config.model_type == family
    assert classifier.model.config._attn_implementation == "faithlab"
    batch = classifier.encode(TEXTS, pairs)
    assert not bool(batch.attention_mask.all())  # rows of different lengths: padded
    expected = stock_logits(family_folders[family], batch, classifier.tokenizer.pad_token_id)
    with torch.no_grad():
        for pooled_only in (True, False):
            ours = classifier.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids,
                                      pooled_only=pooled_only).logits
            torch.testing.assert_close(ours, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("family", DECODERS)
def test_decoders_pool_the_last_real_token_from_the_mask(family_classifiers, family: str) -> None:
    """A text's last token replaced by the pad id is still the token the head reads (transformers would search
    pad ids and read the one before), as the token it replaces is when an explainer hides it."""
    classifier = family_classifiers[family]
    assert classifier.pooling == "last" and classifier.tokenizer.padding_side == "right"
    batch = classifier.encode(TEXTS)
    last = batch.attention_mask.sum(dim=1) - 1
    hidden = batch.input_ids.clone()
    hidden[torch.arange(len(TEXTS)), last] = classifier.tokenizer.pad_token_id
    with torch.no_grad():
        out = classifier.model.base_model(input_ids=hidden, attention_mask=batch.attention_mask).last_hidden_state
        expected = classifier.model.score(out[torch.arange(len(TEXTS)), last])
        ours = classifier.forward(hidden, batch.attention_mask).logits
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-6)


def test_a_decoder_tokenizer_without_pad_token_gets_one(family_folders: dict[str, Path]) -> None:
    folder = family_folders[NO_PAD_TOKEN]
    assert AutoConfig.from_pretrained(folder).pad_token_id is None
    classifier = load_classifier(folder)
    assert classifier.tokenizer.pad_token == classifier.tokenizer.eos_token
    assert classifier.model.config.pad_token_id == classifier.tokenizer.eos_token_id


@pytest.mark.parametrize(("family", "setting", "without"), [
    ("gemma2", "attn_logit_softcapping", None),
    ("gemma2", "sliding_window", 512),
    ("gemma3_text", "sliding_window", 512),
])
def test_gemma_softcap_and_sliding_window_change_the_logits(family_folders: dict[str, Path], family: str,
                                                            setting: str, without: object) -> None:
    """The parity test would pass with these settings ignored only if they changed nothing: they do change the
    logits of the long text, so faithlab's attention honours them."""
    classifier = load_classifier(family_folders[family])
    batch = classifier.encode(TEXTS)
    assert int(batch.attention_mask.sum(dim=1).max()) > 4  # longer than the window
    with torch.no_grad():
        ours = classifier.forward(batch.input_ids, batch.attention_mask).logits
    ignored = stock_logits(family_folders[family], batch, classifier.tokenizer.pad_token_id, **{setting: without})
    assert (ours - ignored).abs().max() > 1e-4


def test_modernbert_pooling_follows_the_heads_setting(family_folders: dict[str, Path]) -> None:
    folder = family_folders["modernbert"]
    first = load_classifier(folder)
    assert first.model.config.classifier_pooling == "cls" and first.pooling == "first"
    model = AutoModelForSequenceClassification.from_pretrained(folder, classifier_pooling="mean")
    assert Classifier(model, first.tokenizer, "mean-pooled ModernBERT").pooling == "mean"


@pytest.mark.parametrize("family", NEW_FAMILIES)
def test_blocks_are_the_stack_of_layers(family_classifiers, family: str) -> None:
    """ALBERT shares one group of layers across its depth: that group is its one block."""
    model = family_classifiers[family].model
    blocks = family_classifiers[family].adapter.blocks(model)
    expected = model.config.num_hidden_groups if family == "albert" else model.config.num_hidden_layers
    assert isinstance(blocks, torch.nn.ModuleList) and len(blocks) == expected
