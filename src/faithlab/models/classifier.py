"""`Classifier`: the one object through which faithlab touches a model."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from faithlab.errors import FaithlabError
from faithlab.models.adapters import Adapter, ModelOutput, adapter_for
from faithlab.models.attention import register_attention
from faithlab.models.batch import Batch
from faithlab.models.first_position import pooled_logits
from faithlab.models.mean_pooled import is_mean_pooled
from faithlab.models.windows import encode_windowed, window_logits

Target = int | str | None | Sequence[int | str]


class Classifier:
    """A sequence classifier with its tokenizer: encode, predict, logits (from ids or embeddings), attentions.

    `max_batch_tokens` bounds memory: every batched pass is cut into chunks of at most that many (rows × width)
    tokens. `head_trained` is False when the classification head was freshly initialised (say so in any output).
    `window_stride` is the stride, in content tokens, of the sliding windows that read texts longer than
    `max_length` (None: half a window; `faithlab.models.windows`). `pass_observer`, when given, is called with the
    (rows, width) shape of every model pass, before it runs (to check memory bounds).
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        name: str,
        *,
        head_trained: bool = True,
        max_length: int | None = None,
        max_batch_tokens: int = 4096,
        fingerprint: str | None = None,
        window_stride: int | None = None,
        pass_observer: Callable[[tuple[int, int]], None] | None = None,
    ):
        if not tokenizer.is_fast:
            raise FaithlabError(f"model '{name}': faithlab needs a fast (Rust) tokenizer with offsets and word ids")
        if max_batch_tokens < 1:
            raise FaithlabError(f"max_batch_tokens must be >= 1, got {max_batch_tokens}")
        register_attention()  # a model built elsewhere may name faithlab's attention in its config
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.head_trained = head_trained
        self.fingerprint = fingerprint  # sha256 of the weights as loaded (`weights_fingerprint`); None if not known
        self.adapter: Adapter = adapter_for(model)
        self.max_length = max_length or _model_limit(model, tokenizer)
        self.max_batch_tokens = max_batch_tokens
        self.window_stride = window_stride
        self.pass_observer = pass_observer
        # `Module.to` moves a parameter's data in place, so this one tensor always knows the model's device
        self._first_parameter = next(model.parameters())
        # only the head classes known to read nothing else (not faithlab's mean-pooled heads on the same encoders)
        self.pooled_last_layer = self.adapter.reads_first_token_only(model)
        id2label = model.config.id2label or {}
        self.labels = [str(id2label.get(i, f"LABEL_{i}")) for i in range(model.config.num_labels)]

    @property
    def pooling(self) -> str:
        """The position(s) the head reads: the family's convention ("first", "last"), or "mean" for faithlab's
        mean-pooled heads, which share the family's adapter."""
        return "mean" if is_mean_pooled(self.model) else self.adapter.pooling

    def __repr__(self) -> str:
        return f"Classifier({self.name!r}, family={self.adapter.family!r}, labels={self.labels})"

    @property
    def device(self) -> torch.device:
        return self._first_parameter.device

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the model's weights (float32 unless loaded with a lower precision)."""
        return self._first_parameter.dtype

    # ----- encoding -------------------------------------------------------------------------------------------
    def encode(
        self, texts: str | Sequence[str], pairs: str | Sequence[str | None] | None = None, *, truncate: bool = True
    ) -> Batch:
        """Tokenize texts (and optional pair texts; a single string is one text) into one right-padded batch,
        truncating with a record (`truncate=False` keeps every token, for `faithlab.models.windows`)."""
        texts = _check_texts(texts, "text")
        if isinstance(pairs, str):
            pairs = [pairs]
        if pairs is not None:
            if len(pairs) != len(texts):
                raise FaithlabError(f"got {len(texts)} texts but {len(pairs)} pair texts; give one pair per text")
            if any(p is None for p in pairs) and not all(p is None for p in pairs):
                raise FaithlabError("either every text has a pair text or none has")
            pairs = None if pairs[0] is None else _check_texts(pairs, "pair text")
        pair_arg = list(pairs) if pairs is not None else None
        # plain lists from the Rust encodings: converting them to tensors here is cheaper than transformers' own
        enc = self.tokenizer(
            list(texts),
            pair_arg,
            truncation=truncate,
            max_length=self.max_length if truncate else None,
            padding=True,
            return_token_type_ids=self.adapter.uses_token_types,
            verbose=truncate,  # untruncated texts are read in windows: transformers' "indexing errors" warning is wrong
        )
        attention = torch.tensor(enc["attention_mask"], dtype=torch.long)
        lengths = attention.sum(dim=1).tolist()
        truncated = self._truncated(texts, pair_arg, lengths) if truncate else [False] * len(lengths)
        tokens, sequence_ids, word_ids, words, special_rows = [], [], [], [], []
        for row, (n, encoding) in enumerate(zip(lengths, enc.encodings, strict=True)):
            flags = encoding.special_tokens_mask
            special_rows.append(flags)
            tokens.append(encoding.tokens[:n])
            seq = [None if flag else side for flag, side in zip(flags[:n], encoding.sequence_ids[:n], strict=True)]
            spans, global_ids = _word_spans(seq, encoding.word_ids[:n], encoding.offsets[:n])
            sides = (texts[row], pairs[row] if pairs is not None else "")
            sequence_ids.append(seq)
            word_ids.append(global_ids)
            words.append([_strip_span(sides[side], side, start, end) for side, start, end in spans])
        special = torch.tensor(special_rows, dtype=torch.bool) | ~attention.bool()
        token_types = torch.tensor(enc["token_type_ids"]) if self.adapter.uses_token_types else None
        device = self.device
        return Batch(
            texts=list(texts),
            pairs=list(pairs) if pairs is not None else [None] * len(texts),
            input_ids=torch.tensor(enc["input_ids"], dtype=torch.long).to(device),
            attention_mask=attention.to(device),
            token_type_ids=None if token_types is None else token_types.to(device),
            special_mask=special.to(device),
            tokens=tokens,
            sequence_ids=sequence_ids,
            word_ids=word_ids,
            words=words,
            truncated=truncated,
        )

    def _truncated(self, texts: Sequence[str], pairs: list[str] | None, lengths: list[int]) -> list[bool]:
        """Which rows lost tokens to truncation: only a row that fills max_length can have, so only those are
        tokenized again in full."""
        full = [row for row, n in enumerate(lengths) if n >= self.max_length]
        truncated = [False] * len(lengths)
        if full:
            again = self.tokenizer([texts[r] for r in full], [pairs[r] for r in full] if pairs else None,
                                   truncation=False)["input_ids"]
            for row, ids in zip(full, again, strict=True):
                truncated[row] = len(ids) > self.max_length
        return truncated

    # ----- forward passes -------------------------------------------------------------------------------------
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        *,
        output_attentions: bool = False,
        pooled_only: bool = True,
        constant_attention: bool = False,
    ) -> ModelOutput:
        """One pass of the model (autograd as the caller's context says); no chunking.

        Args:
            input_ids, attention_mask, token_type_ids: (rows, width) inputs, right-padded.
            output_attentions: also return every layer's attention probabilities (every position is computed).
            pooled_only: compute only what the head reads: a first-token classifier (`pooled_last_layer`) computes
                its last layer for the pooled position alone (`faithlab.models.first_position`), same logits up to
                float rounding. Ignored with `output_attentions` and for heads that read every position.
            constant_attention: attention probabilities are constants for autograd (LRP's attention rule; the
                forward values are unchanged). Needs faithlab's attention function (`load_classifier` sets it).

        Returns:
            `ModelOutput` with logits (rows, classes) and the attentions when asked for.
        """
        if self.pass_observer is not None:
            self.pass_observer((input_ids.shape[0], input_ids.shape[1]))
        if pooled_only and self.pooled_last_layer and not output_attentions:
            adapter = self.adapter
            logits = pooled_logits(adapter.first_token, self.model, adapter.blocks(self.model), input_ids,
                                   attention_mask, token_type_ids, constant_attention=constant_attention)
            return ModelOutput(logits, None)
        return self.adapter.forward(self.model, input_ids, attention_mask, token_type_ids, output_attentions,
                                    constant_attention=constant_attention)

    def logits(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits for many rows without gradients, in chunks of at most `max_batch_tokens` tokens."""
        parts = []
        with torch.inference_mode():
            for rows in self.chunks(input_ids.shape[0], input_ids.shape[1]):
                tt = None if token_type_ids is None else token_type_ids[rows]
                parts.append(self.forward(input_ids[rows], attention_mask[rows], tt).logits.float())
        if not parts:
            return torch.empty(0, len(self.labels))
        return torch.cat(parts)

    def batch_logits(self, batch: Batch) -> torch.Tensor:
        """Logits of a batch's own rows, computed once and shared through the batch cache; a row longer than the
        limit gets the mean of its windows' logits (`faithlab.models.windows`)."""
        if batch.cache.logits is None and batch.window is not None:
            batch.cache.logits = window_logits(self, batch)
        if batch.cache.logits is None:
            batch.cache.logits = self.logits(batch.input_ids, batch.attention_mask, batch.token_type_ids)
        return batch.cache.logits

    def probabilities(self, batch: Batch) -> torch.Tensor:
        return torch.softmax(self.batch_logits(batch), dim=-1)

    def predict(self, texts: str | Sequence[str], pairs: str | Sequence[str | None] | None = None) -> np.ndarray:
        """Class probabilities, one row per text (a single string is one text). A text longer than the model's
        limit is read whole through sliding windows (the mean of its windows' logits, `faithlab.models.windows`),
        the same output every explanation of it explains, never its truncated head."""
        return self.probabilities(encode_windowed(self, texts, pairs)).cpu().numpy()

    def attentions(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """Attention probabilities per layer, each (rows, heads, tokens, tokens); shared through the batch cache.

        The same pass fills the logits cache, so prediction and attention cost one forward.
        """
        if batch.cache.attentions is None:
            layers: list[list[torch.Tensor]] = []
            logits = []
            with torch.inference_mode():
                for rows in self.chunks(len(batch), batch.input_ids.shape[1]):
                    tt = None if batch.token_type_ids is None else batch.token_type_ids[rows]
                    out = self.forward(batch.input_ids[rows], batch.attention_mask[rows], tt, output_attentions=True)
                    logits.append(out.logits.float())
                    layers.append([a.float() for a in out.attentions])
            batch.cache.attentions = tuple(torch.cat(per_layer) for per_layer in zip(*layers, strict=True))
            if batch.cache.logits is None:
                batch.cache.logits = torch.cat(logits)
        return batch.cache.attentions

    def word_embeddings(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The word (token) embeddings of ids, before positions or segments are added."""
        return self.model.get_input_embeddings()(input_ids)

    def logits_from_embeddings(
        self,
        embeddings: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        *,
        constant_attention: bool = False,
    ) -> torch.Tensor:
        """Logits when the word-embedding layer outputs `embeddings` instead of looking up `input_ids`.

        The ids still drive everything else (positions, segments, pooling), exactly as in a normal pass;
        `constant_attention` as in `forward`.
        """
        with self.replaced_word_embeddings(embeddings):
            return self.forward(input_ids, attention_mask, token_type_ids,
                                constant_attention=constant_attention).logits

    @contextlib.contextmanager
    def shifted_word_embeddings(self, shift: torch.Tensor) -> Iterator[None]:
        """Within the block, the word embedding at position t has `shift[t]` added (noise for smoothed sanity
        checks); the hook is removed on exit, also after an error."""

        def add(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor:
            return output + shift[: output.shape[-2]]

        handle = self.model.get_input_embeddings().register_forward_hook(add)
        try:
            yield
        finally:
            handle.remove()

    @contextlib.contextmanager
    def replaced_word_embeddings(self, embeddings: torch.Tensor) -> Iterator[None]:
        handle = self.model.get_input_embeddings().register_forward_hook(lambda _m, _i, _o: embeddings)
        try:
            yield
        finally:
            handle.remove()

    @property
    def max_backward_tokens(self) -> int:
        """Token budget of a pass that keeps its graph for a backward: half of `max_batch_tokens`, because the
        activations saved for the backward about double what a forward holds at its peak."""
        return max(1, self.max_batch_tokens // 2)

    def chunks(self, n_rows: int, width: int, *, backward: bool = False) -> Iterator[slice]:
        """Row slices whose rows × width stay within `max_batch_tokens` (`max_backward_tokens` with a backward)."""
        budget = self.max_backward_tokens if backward else self.max_batch_tokens
        step = max(1, budget // max(1, width))
        for start in range(0, n_rows, step):
            yield slice(start, min(n_rows, start + step))

    def length_chunks(self, lengths: torch.Tensor, *, backward: bool = False) -> list[tuple[torch.Tensor, int]]:
        """Indices of rows of the given real lengths, longest first, cut into chunks whose rows × longest length
        stay within the token budget, each with that width: short rows batched with long ones are not padded to
        the longest. The sort is stable, so rows of equal length keep their order."""
        budget = self.max_backward_tokens if backward else self.max_batch_tokens
        order = torch.sort(lengths, descending=True, stable=True).indices
        chunks, start = [], 0
        while start < len(order):
            width = int(lengths[order[start]])
            stop = min(len(order), start + max(1, budget // max(1, width)))
            chunks.append((order[start:stop], width))
            start = stop
        return chunks

    # ----- tokens and labels ----------------------------------------------------------------------------------
    def replacement_id(self, kind: str = "mask") -> int:
        """Token id used to hide a token: 'mask' (falls back to pad, then unk), 'pad' or 'unk'."""
        order = {"mask": ("mask", "pad", "unk"), "pad": ("pad", "unk"), "unk": ("unk", "pad")}
        if kind not in order:
            raise FaithlabError(f"unknown replacement '{kind}'; choose one of {', '.join(order)}")
        for name in order[kind]:
            token_id = getattr(self.tokenizer, f"{name}_token_id")
            if token_id is not None:
                return int(token_id)
        raise FaithlabError(f"model '{self.name}' has no {kind}, pad or unk token to replace tokens with")

    def label_index(self, label: int | str) -> int:
        """Index of a label given by index, by name (case-insensitive) or by an index written as a string."""
        if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
            if 0 <= int(label) < len(self.labels):
                return int(label)
        elif isinstance(label, str):
            lowered = [name.lower() for name in self.labels]
            if label.lower() in lowered:
                return lowered.index(label.lower())
            if label.lstrip("-").isdigit():
                return self.label_index(int(label))
        raise FaithlabError(f"unknown label {label!r}; model '{self.name}' has labels {self.labels}")

    def resolve_targets(self, target: Target, probabilities: torch.Tensor) -> list[list[int]]:
        """Target classes per row: None/'predicted' → argmax, an index or name, 'all', or one target per row."""
        n = probabilities.shape[0]
        if target is None or (isinstance(target, str) and target.lower() == "predicted"):
            return [[int(i)] for i in probabilities.argmax(dim=-1).tolist()]
        if isinstance(target, str) and target.lower() == "all":
            return [list(range(len(self.labels))) for _ in range(n)]
        if isinstance(target, (str, int, np.integer)):
            return [[self.label_index(target)] for _ in range(n)]
        if len(target) != n:
            raise FaithlabError(f"got {len(target)} targets for {n} texts; give one per text or a single target")
        return [[self.label_index(t)] for t in target]


def _check_texts(texts: str | Sequence[str], what: str) -> list[str]:
    """The texts as a list (a single string is one text); each must be a non-empty string."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts:
        raise FaithlabError(f"no {what}s given")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise FaithlabError(f"{what} {i} is {type(text).__name__}, not a string")
        if not text.strip():
            raise FaithlabError(f"{what} {i} is empty; give it some words")
    return texts


def _word_spans(
    sequence_ids: list[int | None], word_ids: list[int | None], offsets: list[tuple[int, int]]
) -> tuple[list[tuple[int, int, int]], list[int | None]]:
    """Number words across both sides and give each its (side, start, end) characters in its side's text."""
    index: dict[tuple[int, int], int] = {}
    spans: list[list[int]] = []
    global_ids: list[int | None] = []
    for side, word, (start, end) in zip(sequence_ids, word_ids, offsets, strict=True):
        if side is None or word is None:
            global_ids.append(None)
            continue
        key = (side, word)
        if key not in index:
            index[key] = len(spans)
            spans.append([side, start, end])
        span = spans[index[key]]
        span[1], span[2] = min(span[1], start), max(span[2], end)
        global_ids.append(index[key])
    return [tuple(s) for s in spans], global_ids


def _strip_span(text: str, side: int, start: int, end: int) -> tuple[int, int, int]:
    """Drop the whitespace some tokenizers (Metaspace, byte-level) include in a word's offsets."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return side, start, end


def _model_limit(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> int:
    limits = [tokenizer.model_max_length]
    for key in ("max_position_embeddings", "n_positions"):
        value = getattr(model.config, key, None)
        if isinstance(value, int):
            limits.append(value - 2 if model.config.model_type in ("roberta", "xlm-roberta") else value)
    limit = min(v for v in limits if isinstance(v, int) and v > 0)
    return min(limit, 512) if model.config.model_type == "t5" else limit
