"""Sliding windows: how a classifier reads a text longer than its limit, instead of truncating it.

A text of more than `max_length` tokens is cut into windows of consecutive content tokens, each framed by the
text's own special tokens (every window gets its own [CLS] ... [SEP]), their starts `stride` content tokens apart
(default half a window); the last window ends where the text ends, so every token lies in at least one window.
The model's output on the whole text is the mean of its windows' logits. That is the function every method of a
long text explains: gradient-type methods run per window (combined by `WindowRows.combine`), and removal-based
methods and metrics remove features from the whole text and run its windows (`Windows.pieces`), so a removal means
the same as on a short text. Single texts only: a sentence pair longer than the limit is refused, because which
segment to slide over (and whether the other still fits beside it) has no answer that suits every task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from faithlab.errors import FaithlabError
from faithlab.models.batch import Batch

if TYPE_CHECKING:
    from faithlab.models.classifier import Classifier

# Recorded in every explanation of a long text: how the windows' scores become the text's.
COMBINATION_RULE = (
    "mean_output: the text's output is the mean of its K windows' logits; a token's score is the sum of its scores "
    "in the windows that hold it, divided by K (special tokens: their scores in every window, divided by K)"
)

Piece = tuple[torch.Tensor, torch.Tensor | None]  # one model input: ids and token types (or None), real length


@dataclass(frozen=True)
class Windows:
    """The window layout of one classifier's single texts.

    `limit`: tokens per window, special tokens included; `prefix` / `suffix`: special tokens before / after the
    content (every window repeats them); `stride`: content tokens from one window's start to the next.
    """

    limit: int
    prefix: int
    suffix: int
    stride: int

    @property
    def size(self) -> int:
        """Content tokens per window."""
        return self.limit - self.prefix - self.suffix

    def spans(self, n_tokens: int) -> list[tuple[int, int]]:
        """The windows of a sequence of `n_tokens` tokens (special tokens included) as [start, end) positions of
        their content in that sequence; one window, its whole content, when the sequence fits the limit."""
        if n_tokens <= self.limit:
            return [(self.prefix, max(self.prefix, n_tokens - self.suffix))]
        last = n_tokens - self.prefix - self.suffix - self.size
        starts = [*range(0, last, self.stride), last]
        return [(self.prefix + s, self.prefix + s + self.size) for s in starts]

    def positions(self, n_tokens: int) -> list[list[int]]:
        """Per window, the positions of the sequence it reads: the prefix specials, its content, the suffix ones."""
        if n_tokens <= self.limit:
            return [list(range(n_tokens))]
        frame = list(range(self.prefix)), list(range(n_tokens - self.suffix, n_tokens))
        return [frame[0] + list(range(start, end)) + frame[1] for start, end in self.spans(n_tokens)]

    def pieces(self, ids: torch.Tensor, token_types: torch.Tensor | None) -> list[Piece]:
        """The model inputs of one real-length sequence: itself when it fits, else one per window."""
        n = len(ids)
        if n <= self.limit:
            return [(ids, token_types)]
        out = []
        for positions in self.positions(n):
            index = torch.as_tensor(positions, dtype=torch.long, device=ids.device)
            out.append((ids[index], None if token_types is None else token_types[index]))
        return out


def windows_for(classifier: Classifier, batch: Batch) -> Windows:
    """The layout of `classifier` for the texts of `batch`: its special-token frame read off the first row, and its
    `window_stride` (None: half a window)."""
    n = int(batch.lengths[0])
    special = batch.special_mask[0, :n].tolist()
    prefix = next((i for i, s in enumerate(special) if not s), n)
    suffix = next((i for i, s in enumerate(reversed(special)) if not s), 0)
    size = classifier.max_length - prefix - suffix
    if size < 1:
        raise FaithlabError(f"model '{classifier.name}': a limit of {classifier.max_length} tokens leaves no room "
                            f"for text beside {prefix + suffix} special tokens")
    stride = classifier.window_stride if classifier.window_stride is not None else max(1, size // 2)
    if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= size:
        raise FaithlabError(f"window_stride must be an integer from 1 to the window's {size} content tokens (larger "
                            f"leaves tokens outside every window), got {stride!r}")
    return Windows(classifier.max_length, prefix, suffix, stride)


def encode_windowed(
    classifier: Classifier, texts: str | Sequence[str], pairs: str | Sequence[str | None] | None = None
) -> Batch:
    """Texts encoded whole: `Classifier.encode` without truncation, with `batch.window` set when some text is
    longer than the model's limit (None otherwise, so a batch of short texts is exactly today's encoding).

    Args:
        classifier: the model.
        texts: the texts (a single string is one text).
        pairs: optional pair texts, as in `Classifier.encode`; a pair longer than the limit is an error.

    Returns:
        The batch; rows longer than the limit are never run as they are (see the module docstring).
    """
    batch = classifier.encode(texts, pairs, truncate=False)
    long_rows = [row for row, n in enumerate(batch.lengths.tolist()) if n > classifier.max_length]
    if not long_rows:
        return batch
    paired = [row for row in long_rows if batch.pairs[row] is not None]
    if paired:
        row = paired[0]
        raise FaithlabError(
            f"text {row} with its pair text has {int(batch.lengths[row])} tokens, more than model "
            f"'{classifier.name}''s limit of {classifier.max_length}; sliding windows cover single texts only: "
            "shorten the pair or explain the text alone")
    batch.window = windows_for(classifier, batch)
    return batch


def refuse_windows(batch: Batch, what: str) -> None:
    """One clear error when `what` (a metric that runs the model on the batch itself) meets a long text."""
    if batch.window is not None:
        raise FaithlabError(f"{what} runs the model on whole texts and does not read texts longer than the model's "
                            f"limit ({batch.window.limit} tokens) through sliding windows; shorten the texts")


@dataclass
class WindowRows:
    """The windows of every row of a long batch as one batch of their own (`batch`), with each window's `owner`
    row and the `positions` of the owner's tokens it reads (its token t is the owner's token positions[t])."""

    batch: Batch
    owner: list[int]
    positions: list[list[int]]

    def counts(self, n_rows: int) -> torch.Tensor:
        """Windows per owner row."""
        return torch.bincount(torch.as_tensor(self.owner), minlength=n_rows).double()

    def mean_logits(self, logits: torch.Tensor, n_rows: int) -> torch.Tensor:
        """Each owner's logits: the mean of its windows' logits."""
        owner = torch.as_tensor(self.owner, device=logits.device)
        total = torch.zeros(n_rows, logits.shape[1], dtype=torch.float64, device=logits.device)
        total.index_add_(0, owner, logits.double())
        return (total / self.counts(n_rows).to(logits.device)[:, None]).to(logits.dtype)

    def combine(self, scores: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        """Per-window token scores (windows, width) as scores of the owners' tokens, `shape` = (rows, width), by
        `COMBINATION_RULE`: for an output additive over the windows (gradient × input, IG, LRP) this is exactly
        the method's attribution of the mean of the windows' outputs, so that gradient-type and removal-based
        scores of a long text explain one function."""
        out = torch.zeros(shape, dtype=torch.float64)
        values = scores.detach().double().cpu()
        for k, (row, positions) in enumerate(zip(self.owner, self.positions, strict=True)):
            out[row, positions] += values[k, : len(positions)]
        return out / self.counts(shape[0])[:, None]


def window_rows(batch: Batch, pad_id: int) -> WindowRows:
    """The windows of every row of `batch` (whose `window` is set), each a row of one batch right-padded with
    `pad_id`."""
    windows = batch.window
    if windows is None:
        raise FaithlabError("window_rows needs a batch encoded by encode_windowed with a text longer than the limit")
    owner, positions = [], []
    for row, n in enumerate(batch.lengths.tolist()):
        for window in windows.positions(n):
            owner.append(row)
            positions.append(window)
    width = max(len(p) for p in positions)
    index = torch.zeros(len(owner), width, dtype=torch.long)
    real = torch.zeros(len(owner), width, dtype=torch.bool)
    for k, window in enumerate(positions):
        index[k, : len(window)] = torch.as_tensor(window)
        real[k, : len(window)] = True
    rows = torch.as_tensor(owner)
    device = batch.input_ids.device
    index, real, rows_d = index.to(device), real.to(device), rows.to(device)

    def gather(values: torch.Tensor, fill: int | bool) -> torch.Tensor:
        return values[rows_d[:, None], index].masked_fill(~real, fill)

    windows_batch = Batch(
        texts=[batch.texts[r] for r in owner],
        pairs=[batch.pairs[r] for r in owner],
        input_ids=gather(batch.input_ids, pad_id),
        attention_mask=real.long(),
        token_type_ids=None if batch.token_type_ids is None else gather(batch.token_type_ids, 0),
        special_mask=gather(batch.special_mask, True),
        tokens=[[batch.tokens[r][p] for p in window] for r, window in zip(owner, positions, strict=True)],
        sequence_ids=[[batch.sequence_ids[r][p] for p in window] for r, window in zip(owner, positions, strict=True)],
        word_ids=[[batch.word_ids[r][p] for p in window] for r, window in zip(owner, positions, strict=True)],
        words=[batch.words[r] for r in owner],
        truncated=[False] * len(owner),
    )
    return WindowRows(windows_batch, owner, positions)


def shared_window_rows(classifier: Classifier, batch: Batch) -> WindowRows:
    """`window_rows` of a long batch, built once per batch and kept in its cache, so every method of a run (and
    the prediction) reads the same window batch and shares its passes."""
    if batch.cache.windows is None:
        batch.cache.windows = window_rows(batch, classifier.replacement_id("pad"))
    return batch.cache.windows


def window_logits(classifier: Classifier, batch: Batch) -> torch.Tensor:
    """The logits of the rows of a long batch: the mean of each row's windows' logits."""
    rows = shared_window_rows(classifier, batch)
    return rows.mean_logits(classifier.batch_logits(rows.batch), len(batch))
