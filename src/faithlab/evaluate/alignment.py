"""Word-level rationales (0/1 over the whitespace words of a text) mapped onto an explanation's tokens.

The mapping goes through characters, never through token strings, so it holds for any subword scheme (WordPiece,
byte-level BPE, Unigram): a rationale marks the characters of its words; a token is marked when the tokenizer word
it belongs to (its character span in `Explanation.words`) overlaps marked characters. Tokenizer words never cross
whitespace, so each lies inside one whitespace word. Words cut off by truncation simply have no tokens. A
`SpanMask` marks given character spans instead (a reader's tokens aligned to the raw text: `church` without `.`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from faithlab.errors import FaithlabError
from faithlab.explain.explanation import Explanation


@dataclass(frozen=True)
class SpanMask:
    """A rationale over given words of a text: `mask[i]` marks the characters `spans[i]` (`Example.spans`)."""

    mask: Sequence[int]
    spans: Sequence[tuple[int, int]]


Rationale = Sequence[int] | SpanMask


def rationale_to_token_mask(explanation: Explanation, word_mask: Rationale, side: int = 0) -> np.ndarray:
    """Boolean mask over `explanation.tokens`: True for tokens overlapping marked words of one side.

    The words are the side's whitespace words, or a `SpanMask`'s spans. side 0 is the text, side 1 the pair text;
    special tokens and the other side's tokens are always False.
    """
    if side not in (0, 1):
        raise FaithlabError(f"side must be 0 (text) or 1 (pair text), got {side!r}")
    text = explanation.text if side == 0 else explanation.pair
    if text is None:
        raise FaithlabError("a pair rationale was given but the explanation has no pair text")
    what = "word spans" if isinstance(word_mask, SpanMask) else "whitespace words"
    if isinstance(word_mask, SpanMask):
        word_mask, spans = word_mask.mask, list(word_mask.spans)
    else:
        spans = [match.span() for match in re.finditer(r"\S+", text)]
    if len(word_mask) != len(spans):
        raise FaithlabError(
            f"rationale has {len(word_mask)} entries but the {'text' if side == 0 else 'pair text'} has "
            f"{len(spans)} {what}: {text[:60]!r}"
        )
    marked = np.zeros(len(text) + 1, dtype=bool)
    for (start, end), flag in zip(spans, word_mask, strict=True):
        marked[start:end] = bool(flag)
    out = np.zeros(len(explanation.tokens), dtype=bool)
    for t, word in enumerate(explanation.word_ids):
        if word is None:
            continue
        word_side, start, end = explanation.words[word]
        out[t] = word_side == side and bool(marked[start:end].any())
    return out


def token_rationale(
    explanation: Explanation, rationale: Rationale | None, pair_rationale: Rationale | None = None
) -> np.ndarray:
    """Token mask of a text rationale and an optional pair-text rationale together (e.g. e-SNLI highlights)."""
    mask = np.zeros(len(explanation.tokens), dtype=bool)
    if rationale is not None:
        mask |= rationale_to_token_mask(explanation, rationale, 0)
    if pair_rationale is not None:
        mask |= rationale_to_token_mask(explanation, pair_rationale, 1)
    return mask
