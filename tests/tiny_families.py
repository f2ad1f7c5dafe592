"""Tiny random classifiers of the families users fine-tune beyond the zoo's five, built offline from their configs
(the session fixtures `family_folders` and `family_classifiers` of tests/conftest.py build them once)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification

from faithlab.models.zoo import build_tokenizer

# Decoders (grouped-query attention: 4 query heads share 2 key/value heads) on the GPT-2 tokenizer scheme, encoders
# on the WordPiece one.
# Gemma's sliding window (4 tokens) and softcap (small enough to bend the scores, which a wider initialisation makes
# large enough) change the logits of these texts.
_DECODER = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 8, "max_position_embeddings": 512}
_ENCODER = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
            "max_position_embeddings": 512}
FAMILY_CONFIGS: dict[str, tuple[str, dict]] = {
    "llama": ("gpt2", _DECODER),
    "qwen2": ("gpt2", _DECODER),
    "qwen3": ("gpt2", _DECODER),
    "mistral": ("gpt2", _DECODER),
    "gemma2": ("gpt2", {**_DECODER, "sliding_window": 4, "query_pre_attn_scalar": 8, "attn_logit_softcapping": 0.5,
                        "initializer_range": 0.2}),
    "gemma3_text": ("gpt2", {**_DECODER, "sliding_window": 4, "query_pre_attn_scalar": 8, "initializer_range": 0.2,
                             "layer_types": ["sliding_attention", "full_attention"]}),
    "phi3": ("gpt2", _DECODER),
    # word embeddings nearer a trained model's scale: they go straight into a LayerNorm, whose Jacobian grows as
    # 1 / their scale, and with it the rounding in the gradient methods' scores
    "modernbert": ("bert", {**_ENCODER, "local_attention": 4, "global_attn_every_n_layers": 2,
                            "initializer_range": 0.5}),
    "deberta-v2": ("bert", {**_ENCODER, "relative_attention": True, "pos_att_type": ["p2c", "c2p"],
                            "position_biased_input": False, "type_vocab_size": 2}),
    "electra": ("bert", {**_ENCODER, "embedding_size": 16}),
    "albert": ("bert", {**_ENCODER, "embedding_size": 16}),
}
NEW_FAMILIES = tuple(FAMILY_CONFIGS)
NO_PAD_TOKEN = "llama"  # saved without a pad token, as Llama's tokenizer is: `load_classifier` must set one


def build_family_folder(family: str, folder: Path, texts: Sequence[str], vocab_size: int, *, seed: int = 1) -> Path:
    """Save a tiny random classifier of `family` (a model type of `FAMILY_CONFIGS`) and its tokenizer, trained on
    `texts`, in `folder`."""
    scheme, settings = FAMILY_CONFIGS[family]
    tokenizer = build_tokenizer(scheme, texts, vocab_size)
    if family == NO_PAD_TOKEN:
        tokenizer.pad_token = None
    config = AutoConfig.for_model(
        family, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, num_labels=2, **settings,
    )
    torch.manual_seed(seed)
    AutoModelForSequenceClassification.from_config(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


