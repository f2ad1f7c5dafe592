"""Tiny random causal LMs (Llama, GPT-2) saved offline from their configs, and the prompts that make them
classifiers (the session fixtures `causal_lm_folders` and `prompted_classifiers` of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM

from faithlab.models.prompt import FewShotExample, PromptSpec
from faithlab.models.zoo import build_tokenizer

TEMPLATE = "review : {text} sentiment :"
# words the tokenizer (trained on the corpus and these) keeps whole, and phrases of several tokens
ONE_TOKEN = {"negative": " bad", "positive": " good"}
SEVERAL_TOKENS = {"negative": " not good at all", "positive": " great fun"}
VOCABULARY = [TEMPLATE.replace("{text}", "x"), "bad good", "premise : hypothesis : entailment contradiction"]
CAUSAL_CONFIGS = {
    "llama": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2, "head_dim": 8, "max_position_embeddings": 512},
    "gpt2": {"n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": 512},
}
# name: (LM family, prompt); one-token log-odds (LRP's rules hold), several tokens with log-probabilities, few-shot
PROMPTS: dict[str, tuple[str, PromptSpec]] = {
    "llama": ("llama", PromptSpec(template=TEMPLATE, labels=ONE_TOKEN)),
    "llama-phrases": ("llama", PromptSpec(template=TEMPLATE, labels=SEVERAL_TOKENS, score="log_prob")),
    "gpt2-few-shot": ("gpt2", PromptSpec(
        template=TEMPLATE, labels=ONE_TOKEN, separator=" . ",
        examples=[FewShotExample(text="i loved it", label="positive"), FewShotExample(text="dull", label="negative")],
    )),
    "gpt2-phrases": ("gpt2", PromptSpec(template=TEMPLATE, labels=SEVERAL_TOKENS)),
}


def build_causal_lm_folder(family: str, folder: Path, texts: Sequence[str], *, seed: int = 1) -> Path:
    """Save a tiny random causal LM of `family` ('llama' or 'gpt2') with a byte-level BPE tokenizer of 400 tokens."""
    tokenizer = build_tokenizer("gpt2", [*texts, *VOCABULARY * 20], 400)
    config = AutoConfig.for_model(
        family, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, **CAUSAL_CONFIGS[family],
    )
    torch.manual_seed(seed)
    AutoModelForCausalLM.from_config(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
