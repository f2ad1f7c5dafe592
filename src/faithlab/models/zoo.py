"""Small models built from configs, offline: a tokenizer trained on the given texts with the family's own scheme
(WordPiece for BERT/DistilBERT/ModernBERT, byte-level BPE for RoBERTa/GPT-2/Llama, Unigram for T5) and randomly
initialised weights. The Llama-style decoder (RMSNorm, rotary positions, grouped-query attention, SwiGLU MLP) and the
ModernBERT-style encoder (rotary positions, alternating local and global attention, GLU MLP) keep their MLPs at the
parameter count of the others' 4 × hidden GELU MLP (gated MLPs have three matrices, hence 2/3 of the width).

Sizes keep depth and width growing together, from about 0.5M to about 20M parameters (most of the smallest size is
its embedding table). A build is byte-identical for a seed, in any process: the tokenizer trainers' results are
made independent of their per-process hash order (see `_wordpiece` and `_canonical_unigram`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    GPT2Config,
    GPT2ForSequenceClassification,
    LlamaConfig,
    LlamaForSequenceClassification,
    ModernBertConfig,
    ModernBertForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    RobertaConfig,
    RobertaForSequenceClassification,
    T5Config,
)

from faithlab.errors import FaithlabError
from faithlab.models.t5_encoder import ARCHITECTURE as T5_ENCODER
from faithlab.models.t5_encoder import T5EncoderForSequenceClassification


@dataclass(frozen=True)
class Size:
    layers: int
    hidden: int
    heads: int
    vocab: int

    @property
    def intermediate(self) -> int:
        return 4 * self.hidden

    @property
    def gated_intermediate(self) -> int:
        """The width of a gated MLP (three matrices) with the parameters of a 4 × hidden plain one (two)."""
        return 2 * self.intermediate // 3


SIZES: dict[str, Size] = {
    "xs": Size(layers=2, hidden=64, heads=2, vocab=4000),
    "s": Size(layers=4, hidden=128, heads=4, vocab=8000),
    "m": Size(layers=6, hidden=256, heads=4, vocab=8000),
    "l": Size(layers=8, hidden=384, heads=6, vocab=8000),
}
ZOO_FAMILIES = ("bert", "roberta", "distilbert", "gpt2", "t5", "llama", "modernbert")
MAX_POSITIONS = 512
# Unigram scores: digits kept (far above the last-bit noise of the trainer's sums, far below any gap that matters)
# and the step between the scores the trainer gives to characters dropped by EM
UNIGRAM_DIGITS = 10
UNIGRAM_RUNG = 1e-4


def build_tokenizer(family: str, texts: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Train the family's kind of tokenizer on `texts` (seconds for a few thousand sentences)."""
    if family in ("bert", "distilbert", "modernbert"):
        return _wordpiece(texts, vocab_size)
    if family in ("roberta", "gpt2", "llama"):
        return _byte_level_bpe(texts, vocab_size, decoder_only=family in ("gpt2", "llama"), framed=family == "llama")
    if family == "t5":
        return _unigram(texts, vocab_size)
    raise FaithlabError(f"unknown zoo family '{family}'; choose one of {', '.join(ZOO_FAMILIES)}")


def _wordpiece(texts: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trained = _bert_pipeline(Tokenizer(models.WordPiece(unk_token="[UNK]")))
    # The trainer gives each word-inner piece ("##a") its id in the order it meets it while walking a Rust hash map,
    # which is seeded anew in every process; the ids break ties between equally frequent merges, so the vocabulary
    # changed from build to build. Passing those pieces as (sorted) special tokens fixes their ids up front.
    inner = _word_inner_pieces(trained, texts, "##")
    trained.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials + inner)
    )
    # Rebuilt from the vocabulary alone, so that only the real special tokens are split out of the text.
    tok = _bert_pipeline(Tokenizer(models.WordPiece(trained.get_vocab(with_added_tokens=False), unk_token="[UNK]")))
    tok.add_special_tokens(specials)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=MAX_POSITIONS,
    )


def _bert_pipeline(tok: Tokenizer) -> Tokenizer:
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    return tok


def _word_inner_pieces(tok: Tokenizer, texts: Sequence[str], prefix: str) -> list[str]:
    """`prefix` + each character that follows another inside a word, as the trainer sees the words; sorted."""
    chars = set()
    for text in texts:
        for word, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(text)):
            chars.update(word[1:])
    return [prefix + char for char in sorted(chars)]


def _byte_level_bpe(
    texts: Sequence[str], vocab_size: int, *, decoder_only: bool, framed: bool = False
) -> PreTrainedTokenizerFast:
    """Byte-level BPE as RoBERTa's, or GPT-2's when `decoder_only`; `framed` puts the end-of-text token before and
    after every text, as Llama's tokenizers open with a begin-of-text token and decoder classifiers are often
    fine-tuned with an end token: the head then reads the same token in every text. Without it a from-scratch
    Llama (no biases anywhere) reads a word whose embedding it may never have trained, and stalls near 0.95 on
    planted SST-2 (benchmarks/ZOO.md)."""
    specials = ["<|endoftext|>", "<pad>"] if decoder_only else ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    if decoder_only:
        eos = tok.token_to_id("<|endoftext|>")
        end = "<|endoftext|>"
        template = processors.TemplateProcessing(
            single=f"{end} $A {end}" if framed else "$A",
            pair=f"{end} $A {end} $B:1 {end}:1" if framed else f"$A {end} $B:1",
            special_tokens=[(end, eos)],
        )
        tok.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=True), template])
        return PreTrainedTokenizerFast(
            tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>",
            pad_token="<pad>", model_max_length=MAX_POSITIONS,
        )
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=True
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=MAX_POSITIONS - 2,
    )


def _unigram(texts: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    specials = ["<pad>", "</s>", "<unk>"]
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.train_from_iterator(
        texts, trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>")
    )
    tok.model = _canonical_unigram(tok, len(specials))
    eos = tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B:1 </s>:1", special_tokens=[("</s>", eos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="</s>", unk_token="<unk>", pad_token="<pad>", model_max_length=MAX_POSITIONS
    )


def _canonical_unigram(tok: Tokenizer, n_specials: int) -> models.Unigram:
    """The trained model made independent of the trainer's hash-map order (seeded anew in every process).

    That order changes the last bits of the scores (summation order), the order of pieces of equal score, and which
    rare character gets which rung of the ladder of scores (lowest score + k * 1e-4) given to characters that EM
    dropped. Here the scores are rounded to 1e-10, the rungs go to those characters in alphabetical order, and pieces
    of equal score are listed alphabetically.
    """
    trained = json.loads(tok.to_str())["model"]
    specials, vocab = trained["vocab"][:n_specials], trained["vocab"][n_specials:]
    floor = min(score for _, score in vocab)
    singles = [piece for piece, _ in vocab if len(piece) == 1]
    rungs = sorted(piece for piece, score in vocab if piece in singles and _on_ladder(score - floor, len(singles)))
    ladder = {piece: floor + k * UNIGRAM_RUNG for k, piece in enumerate(rungs)}
    pieces = [(piece, round(ladder.get(piece, score), UNIGRAM_DIGITS)) for piece, score in vocab]
    pieces.sort(key=lambda item: (-item[1], item[0]))
    return models.Unigram(
        [tuple(item) for item in specials] + pieces, unk_id=trained["unk_id"], byte_fallback=trained["byte_fallback"]
    )


def _on_ladder(offset: float, n_rungs: int) -> bool:
    rung = offset / UNIGRAM_RUNG
    return round(rung) < n_rungs and abs(rung - round(rung)) < 1e-6


def build_model(
    family: str, size: str | Size, tokenizer: PreTrainedTokenizerFast, labels: Sequence[str], seed: int = 0
) -> PreTrainedModel:
    """A randomly initialised classifier of the family and size, matched to the tokenizer."""
    spec = SIZES[size] if isinstance(size, str) else size
    labels = list(labels)
    common = {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
        "pad_token_id": tokenizer.pad_token_id,
    }
    vocab = len(tokenizer)
    torch.manual_seed(seed)
    if family == "bert":
        config = BertConfig(
            vocab_size=vocab, hidden_size=spec.hidden, num_hidden_layers=spec.layers,
            num_attention_heads=spec.heads, intermediate_size=spec.intermediate,
            max_position_embeddings=MAX_POSITIONS, **common,
        )
        model = BertForSequenceClassification(config)
    elif family == "distilbert":
        config = DistilBertConfig(
            vocab_size=vocab, dim=spec.hidden, n_layers=spec.layers, n_heads=spec.heads,
            hidden_dim=spec.intermediate, max_position_embeddings=MAX_POSITIONS, **common,
        )
        model = DistilBertForSequenceClassification(config)
    elif family == "roberta":
        config = RobertaConfig(
            vocab_size=vocab, hidden_size=spec.hidden, num_hidden_layers=spec.layers,
            num_attention_heads=spec.heads, intermediate_size=spec.intermediate,
            max_position_embeddings=MAX_POSITIONS + 2, type_vocab_size=1,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, **common,
        )
        model = RobertaForSequenceClassification(config)
    elif family == "gpt2":
        config = GPT2Config(
            vocab_size=vocab, n_embd=spec.hidden, n_layer=spec.layers, n_head=spec.heads,
            n_positions=MAX_POSITIONS, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            **common,
        )
        model = GPT2ForSequenceClassification(config)
    elif family == "t5":
        config = T5Config(
            vocab_size=vocab, d_model=spec.hidden, d_kv=spec.hidden // spec.heads, d_ff=spec.intermediate,
            num_layers=spec.layers, num_heads=spec.heads, feed_forward_proj="gelu",
            eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.pad_token_id,
            architectures=[T5_ENCODER], **common,
        )
        model = T5EncoderForSequenceClassification(config)
    elif family == "llama":
        config = LlamaConfig(
            vocab_size=vocab, hidden_size=spec.hidden, num_hidden_layers=spec.layers,
            num_attention_heads=spec.heads, num_key_value_heads=max(1, spec.heads // 2),  # grouped-query attention
            intermediate_size=spec.gated_intermediate, max_position_embeddings=MAX_POSITIONS,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, **common,
        )
        model = LlamaForSequenceClassification(config)
    elif family == "modernbert":
        config = ModernBertConfig(
            vocab_size=vocab, hidden_size=spec.hidden, num_hidden_layers=spec.layers,
            num_attention_heads=spec.heads, intermediate_size=spec.gated_intermediate,
            max_position_embeddings=MAX_POSITIONS, local_attention=64, global_attn_every_n_layers=2,
            bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id,
            cls_token_id=tokenizer.cls_token_id, sep_token_id=tokenizer.sep_token_id, **common,
        )
        model = ModernBertForSequenceClassification(config)
    else:
        raise FaithlabError(f"unknown zoo family '{family}'; choose one of {', '.join(ZOO_FAMILIES)}")
    return model.eval()


def build_classifier_folder(
    family: str,
    texts: Sequence[str],
    folder: str | os.PathLike,
    *,
    size: str | Size = "xs",
    labels: Sequence[str] = ("negative", "positive"),
    vocab_size: int | None = None,
    seed: int = 0,
) -> Path:
    """Train a tokenizer on `texts`, build a random model and save both where `load_classifier` can read them."""
    spec = SIZES[size] if isinstance(size, str) else size
    tokenizer = build_tokenizer(family, texts, vocab_size or spec.vocab)
    model = build_model(family, spec, tokenizer, labels, seed=seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def tokenizer_scheme(family: str) -> str:
    """The name of the tokenization scheme `build_tokenizer` trains for a family."""
    schemes = {"bert": "WordPiece", "distilbert": "WordPiece", "roberta": "byte-level BPE", "gpt2": "byte-level BPE",
               "t5": "Unigram", "llama": "byte-level BPE", "modernbert": "WordPiece"}
    if family not in schemes:
        raise FaithlabError(f"unknown zoo family '{family}'; choose one of {', '.join(ZOO_FAMILIES)}")
    return schemes[family]
