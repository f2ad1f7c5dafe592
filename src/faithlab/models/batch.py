"""`Batch`: texts (or sentence pairs) encoded once, with everything explainers need to map tokens back to words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from faithlab.models.pass_cache import PassCache

if TYPE_CHECKING:
    from faithlab.models.windows import Windows


@dataclass
class Batch:
    """Encoded texts, right-padded.

    `sequence_ids[i][t]` is 0 for a token of the first text, 1 for the pair text and None for special/pad tokens;
    `word_ids[i][t]` numbers the words of both sides in one sequence (pair words follow the text's words);
    `words[i]` holds (side, start, end) character spans of those words in their side's string.
    `cache` lets several explainers of one run share passes (prediction, attention, gradients): a `PassCache`.
    `window` is set when some row is longer than the model's limit and is read through sliding windows
    (`faithlab.models.windows`); None for a batch whose rows all fit.
    `token_groups[i]` is row i's user feature group per token (`faithlab.explain.groups`), None for a row without
    one; None when no row has groups.
    """

    texts: list[str]
    pairs: list[str | None]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor | None
    special_mask: torch.Tensor
    tokens: list[list[str]]
    sequence_ids: list[list[int | None]]
    word_ids: list[list[int | None]]
    words: list[list[tuple[int, int, int]]]
    truncated: list[bool]
    cache: PassCache = field(default_factory=PassCache, repr=False)
    window: Windows | None = None
    token_groups: list[list[int | None] | None] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def lengths(self) -> torch.Tensor:
        """Number of real (non-pad) tokens per row."""
        return self.attention_mask.sum(dim=1)

    @property
    def content_mask(self) -> torch.Tensor:
        """True for tokens that come from the text (not special, not pad)."""
        return ~self.special_mask & self.attention_mask.bool()

    def word_text(self, row: int, word: int) -> str:
        side, start, end = self.words[row][word]
        source = self.texts[row] if side == 0 else self.pairs[row]
        return source[start:end]

    def select(self, rows: list[int]) -> Batch:
        """A batch of the given rows (repeats allowed), trimmed to its longest row; the cache is not carried."""
        index = torch.as_tensor(rows, dtype=torch.long)
        width = int(self.attention_mask[index].sum(dim=1).max()) if rows else 0
        return Batch(
            texts=[self.texts[r] for r in rows],
            pairs=[self.pairs[r] for r in rows],
            input_ids=self.input_ids[index, :width],
            attention_mask=self.attention_mask[index, :width],
            token_type_ids=None if self.token_type_ids is None else self.token_type_ids[index, :width],
            special_mask=self.special_mask[index, :width],
            tokens=[self.tokens[r] for r in rows],
            sequence_ids=[self.sequence_ids[r] for r in rows],
            word_ids=[self.word_ids[r] for r in rows],
            words=[self.words[r] for r in rows],
            truncated=[self.truncated[r] for r in rows],
            window=self.window,
            token_groups=None if self.token_groups is None else [self.token_groups[r] for r in rows],
        )
