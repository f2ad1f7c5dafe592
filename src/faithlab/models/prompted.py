"""`PromptClassifier`: a causal language model with a `PromptSpec`, used as a zero- or few-shot `Classifier`.

Everything downstream (explainers, metrics, views) sees an ordinary `Classifier`: its encoding puts each text into
the prompt and marks the prompt's own tokens (template, few-shot examples, the tokenizer's specials) exactly as
special tokens are marked: `special_mask` True and no word id. So perturbations never remove them, metrics never
rank them and views hide them by default. The label tokens are not in the batch at all: the model appends them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from transformers import AutoModelForCausalLM, PreTrainedTokenizerBase

from faithlab.errors import FaithlabError
from faithlab.models import attention
from faithlab.models.adapters import ADAPTERS, FAMILIES
from faithlab.models.batch import Batch
from faithlab.models.classifier import Classifier, _check_texts, _strip_span, _word_spans
from faithlab.models.devices import CPU_BATCH_TOKENS, batch_tokens_for, resolve_device
from faithlab.models.loading import (
    _ensure_pad_token,
    _first_line,
    _load_config,
    _load_tokenizer,
    quiet_transformers,
    weights_fingerprint,
)
from faithlab.models.prompt import PromptSpec, Rendered
from faithlab.models.prompted_lm import PromptedLM

CAUSAL_FAMILIES = tuple(f for f in FAMILIES if ADAPTERS[f].causal)


class PromptClassifier(Classifier):
    """A `Classifier` over a `PromptedLM`: `encode` renders each text into the prompt; `max_length` counts the
    whole prompt and leaves room for the longest label."""

    def __init__(self, model: PromptedLM, tokenizer: PreTrainedTokenizerBase, name: str, **options):
        super().__init__(model, tokenizer, name, **options)
        self.spec = model.spec
        self.max_length -= max(model.label_lengths)

    def encode(
        self, texts: str | Sequence[str], pairs: str | Sequence[str | None] | None = None, *, truncate: bool = True
    ) -> Batch:
        """Each text (and pair) rendered into the prompt and tokenized; the text is cut (longest side first) where
        the prompt would exceed `max_length`, with a record in `truncated`.

        The text is cut whatever `truncate` says (the keyword is `Classifier.encode`'s): sliding windows would need
        the whole prompt in every window, which they do not build, so a prompted classifier reads no windows and
        every cut is recorded and warned about instead."""
        del truncate  # see the docstring: a prompted text is always fitted to the prompt
        texts = _check_texts(texts, "text")
        pairs = [pairs] if isinstance(pairs, str) else pairs
        if pairs is None or all(p is None for p in pairs):
            pairs = [None] * len(texts)
        elif len(pairs) != len(texts):
            raise FaithlabError(f"got {len(texts)} texts but {len(pairs)} pair texts; give one pair per text")
        else:
            pairs = _check_texts(pairs, "pair text")
        fitted = [(text, pair, False) for text, pair in zip(texts, pairs, strict=True)]
        rendered = [self.spec.render(text, pair) for text, pair in zip(texts, pairs, strict=True)]
        enc = self.tokenizer([r.string for r in rendered], padding=True, return_token_type_ids=False)
        if max(sum(row) for row in enc["attention_mask"]) > self.max_length:  # only then is a text cut
            fitted = [self._fit(text, pair) for text, pair in zip(texts, pairs, strict=True)]
            rendered = [self.spec.render(text, pair) for text, pair, _ in fitted]
            enc = self.tokenizer([r.string for r in rendered], padding=True, return_token_type_ids=False)
        attention_mask = torch.tensor(enc["attention_mask"], dtype=torch.long)
        lengths = attention_mask.sum(dim=1).tolist()
        special = torch.zeros_like(attention_mask, dtype=torch.bool)
        tokens, sequence_ids, word_ids, words = [], [], [], []
        for row, (n, encoding, shown) in enumerate(zip(lengths, enc.encodings, rendered, strict=True)):
            sides = _sides(shown, encoding.offsets[:n], encoding.special_tokens_mask[:n])
            special[row, :n] = torch.tensor([side is None for side in sides])
            offsets = [_relative(shown, side, span) for side, span in zip(sides, encoding.offsets[:n], strict=True)]
            spans, global_ids = _word_spans(sides, encoding.word_ids[:n], offsets)
            side_texts = (fitted[row][0], fitted[row][1] or "")
            tokens.append(encoding.tokens[:n])
            sequence_ids.append(sides)
            word_ids.append(global_ids)
            words.append([_strip_span(side_texts[side], side, start, end) for side, start, end in spans])
        special |= ~attention_mask.bool()
        device = self.device
        return Batch(
            texts=[text for text, _, _ in fitted], pairs=[pair for _, pair, _ in fitted],
            input_ids=torch.tensor(enc["input_ids"], dtype=torch.long).to(device),
            attention_mask=attention_mask.to(device), token_type_ids=None, special_mask=special.to(device),
            tokens=tokens, sequence_ids=sequence_ids, word_ids=word_ids, words=words,
            truncated=[cut for _, _, cut in fitted],
        )

    def _fit(self, text: str, pair: str | None) -> tuple[str, str | None, bool]:
        """The text and pair, cut at a token boundary (longest side first) until the prompt fits `max_length`."""
        cut = False
        while True:
            shown = self.spec.render(text, pair)
            encoding = self.tokenizer(shown.string).encodings[0]
            excess = len(encoding.ids) - self.max_length
            if excess <= 0:
                return text, pair, cut
            sides = _sides(shown, encoding.offsets, encoding.special_tokens_mask)
            counts = [sides.count(0), sides.count(1)]
            side = int(counts[1] > counts[0])
            if counts[side] <= 1:
                raise FaithlabError(
                    f"the prompt (template and {len(self.spec.examples)} few-shot examples) leaves no room for the "
                    f"text within the model's limit of {self.max_length} tokens; shorten the prompt"
                )
            keep = max(1, counts[side] - excess)
            start = [span for s, span in zip(sides, encoding.offsets, strict=True) if s == side][keep][0]
            origin = (shown.text if side == 0 else shown.pair)[0]
            if side == 0:
                text = text[: start - origin]
            else:
                pair = pair[: start - origin]
            cut = True


def _sides(shown: Rendered, offsets: Sequence[tuple[int, int]], specials: Sequence[int]) -> list[int | None]:
    """Per token: 0 inside the text, 1 inside the pair text, None for the prompt's tokens and special tokens.
    A token that straddles the template and the text (a merged leading space) belongs to the text."""
    out: list[int | None] = []
    for (start, end), flag in zip(offsets, specials, strict=True):
        side = None
        if not flag and end > start:
            for index, span in ((0, shown.text), (1, shown.pair)):
                if span is not None and start < span[1] and end > span[0]:
                    side = index
        out.append(side)
    return out


def _relative(shown: Rendered, side: int | None, span: tuple[int, int]) -> tuple[int, int]:
    """A token's character span in its own side's text (clamped to it); the prompt's tokens keep theirs."""
    if side is None:
        return span
    begin, end = shown.text if side == 0 else shown.pair
    return min(max(span[0], begin), end) - begin, min(max(span[1], begin), end) - begin


def load_prompted(
    name_or_path: str | os.PathLike,
    prompt: PromptSpec,
    *,
    max_length: int | None = None,
    max_batch_tokens: int | None = None,
    device: str | torch.device = "auto",
) -> PromptClassifier:
    """Load a causal LM (`AutoModelForCausalLM`, safetensors, no remote code) as a classifier prompted by `prompt`.

    Args:
        name_or_path: a saved causal LM folder (or a cached Hub id) of a family in `CAUSAL_FAMILIES`.
        prompt: the template, label words, few-shot examples and score (`PromptSpec`).
        max_length, max_batch_tokens, device: as for `faithlab.models.load_classifier` (the model stays float32).

    Returns:
        A `PromptClassifier` whose classes are the prompt's label names.
    """
    where = resolve_device(device)  # a bad device name fails before anything loads
    attention.register_attention()
    source = str(name_or_path)
    with quiet_transformers():
        config = _load_config(source)
        if config.model_type not in CAUSAL_FAMILIES:
            raise FaithlabError(f"'{source}' is a '{config.model_type}' model; a prompt needs a causal LM of one of "
                                f"{', '.join(CAUSAL_FAMILIES)}")
        tokenizer = _load_tokenizer(source, source)
        try:
            lm = AutoModelForCausalLM.from_pretrained(source, attn_implementation=attention.ATTENTION_NAME,
                                                      use_safetensors=True, trust_remote_code=False)
        except (OSError, ValueError, RuntimeError) as exc:
            raise FaithlabError(f"could not load '{source}' as a causal LM: {_first_line(exc)}") from exc
    _ensure_pad_token(lm, tokenizer)
    label_ids = [tokenizer(word, add_special_tokens=False)["input_ids"] for word in prompt.labels.values()]
    for name, ids in zip(prompt.labels, label_ids, strict=True):
        if not ids:
            raise FaithlabError(f"the label word of class {name!r} has no tokens")
    if len({tuple(ids) for ids in label_ids}) != len(label_ids):
        raise FaithlabError(f"two label words tokenize alike ({label_ids}); choose words that differ")
    model = PromptedLM(lm, ADAPTERS[config.model_type], prompt, label_ids)
    classifier = PromptClassifier(model.to(where), tokenizer, source, max_length=max_length,
                                  max_batch_tokens=max_batch_tokens or CPU_BATCH_TOKENS,
                                  fingerprint=weights_fingerprint(model))
    if max_batch_tokens is None:  # the budget follows the device, as `load_classifier`'s does
        classifier.max_batch_tokens = batch_tokens_for(where, config, torch.float32, classifier.max_length)
    return classifier
