"""Word-level rationale masks: from indices or spans, combined across annotators, located in the text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

Vote = Literal["union", "majority", "all"]


def indices_to_mask(indices: Iterable[int], n_words: int) -> list[int]:
    """A 0/1 mask of length `n_words`, ones at `indices`; raises `ValueError` for an index out of range."""
    mask = [0] * n_words
    for index in indices:
        if not 0 <= index < n_words:
            raise ValueError(f"word index {index} is outside 0..{n_words - 1}")
        mask[index] = 1
    return mask


def spans_to_mask(spans: Iterable[tuple[int, int]], n_words: int) -> list[int]:
    """A 0/1 mask with ones over each half-open `[start, end)` word span."""
    return indices_to_mask((i for start, end in spans for i in range(start, end)), n_words)


def combine_masks(masks: Sequence[Sequence[int]], vote: Vote = "majority") -> list[int]:
    """One mask from several annotators' masks of equal length.

    "union": any annotator marked the word; "all": every annotator did; "majority": more than half did
    (so with two annotators both must agree).
    """
    if not masks:
        raise ValueError("no masks to combine")
    if len({len(mask) for mask in masks}) != 1:
        raise ValueError(f"masks differ in length: {[len(mask) for mask in masks]}")
    needed = {"union": 1, "all": len(masks), "majority": len(masks) // 2 + 1}
    if vote not in needed:
        raise ValueError(f"vote must be 'union', 'majority' or 'all', got {vote!r}")
    return [int(sum(column) >= needed[vote]) for column in zip(*masks, strict=True)]


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character `[start, end)` of each whitespace word, to map word masks onto tokenizer offsets."""
    return [match.span() for match in re.finditer(r"\S+", text)]
