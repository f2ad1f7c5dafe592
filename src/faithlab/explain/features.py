"""Feature granularity: which tokens removal-based methods and metrics remove together.

A feature is one content token ('token'), a tokenizer word ('word'), a whitespace-separated word ('whitespace':
'0.8', 'pre-tax' and 'market.' are one each), a sentence ('sentence') or a group the user gave ('group': a phrase,
an entity, a clause; `faithlab.explain.groups`). The cost of KernelSHAP, LIME, occlusion
and the removal metrics grows with the number of features, so a long text explained by sentences costs what a
short one does by tokens. A method run at a granularity gives every token of a feature that feature's score
(copied, not spread: `Explanation.feature_scores` reads it back from any one of them).

Sentences (a stated, dependency-free rule): a sentence ends at a line break, or after '.', '!' or '?' (with any
closing quotes or brackets) followed by whitespace. ERASER's documents hold one sentence per line, so the rule
reproduces their sentences; abbreviations such as 'Dr. Smith' split, a known cost of not carrying a model.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import Any

from faithlab.errors import FaithlabError

UNITS = ("token", "word", "whitespace", "sentence", "group")
_SENTENCE_END = re.compile(r"\n|[.!?][\"'”’)\]]*\s")


def sentence_starts(text: str) -> list[int]:
    """Character offsets where the sentences of `text` start (the rule in the module docstring); the first is 0."""
    return [0] + [match.end() for match in _SENTENCE_END.finditer(text)]


def whitespace_word(source: str, start: int, end: int) -> tuple[int, int]:
    """The [start, end) characters of the whitespace-separated word of `source` around the span [start, end)."""
    while start < end - 1 and source[start].isspace():  # spans of byte-level tokenizers may start at the space
        start += 1
    while start > 0 and not source[start - 1].isspace():
        start -= 1
    while end < len(source) and not source[end].isspace():
        end += 1
    return start, end


def feature_keys(
    word_ids: Sequence[int | None],
    words: Sequence[tuple[int, int, int]],
    sides: tuple[str, str | None],
    positions: Sequence[int],
    unit: str,
    token_groups: Sequence[int | None] | None = None,
) -> list[Any]:
    """A key per position of `positions` (content tokens of one text); positions with equal keys are one feature.

    Args:
        word_ids: the word of each token (None outside any word).
        words: (side, start, end) characters of each word in its side's string.
        sides: the text and its pair text (or None).
        positions: the token positions to key.
        unit: one of `UNITS`.
        token_groups: the user group of each token (`faithlab.explain.groups`); needed by unit 'group'.

    Returns:
        Hashable keys, in `positions` order; a token outside any word (or, for 'group', any group) is a feature of
        its own.
    """
    if unit not in UNITS:
        raise FaithlabError(f"unknown unit {unit!r}; choose one of {', '.join(UNITS)}")
    if unit == "group":
        if token_groups is None:
            raise FaithlabError("unit 'group' needs the text's groups: pass groups= (one FeatureGrouping per text)")
        return [("token", p) if token_groups[p] is None else ("group", token_groups[p]) for p in positions]
    starts = {side: sentence_starts(text) for side, text in enumerate(sides) if text is not None}
    keys: list[Any] = []
    for p in positions:
        word = word_ids[p]
        if unit == "token" or word is None:
            keys.append(("token", p))
            continue
        side, start, end = words[word]
        if unit == "word":
            keys.append(word)
        elif unit == "whitespace":
            keys.append((side, *whitespace_word(sides[side] or "", start, end)))
        else:
            keys.append((side, bisect.bisect_right(starts[side], start)))
    return keys


def feature_ids(keys: Sequence[Any]) -> list[int]:
    """The keys numbered 0, 1, ... in order of first appearance."""
    numbers: dict[Any, int] = {}
    return [numbers.setdefault(key, len(numbers)) for key in keys]
