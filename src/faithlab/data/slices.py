"""Slices for error analysis: negation, contrast and length buckets, as tags of a text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NEGATION_WORDS = (
    "not", "no", "never", "nothing", "nobody", "none", "nowhere", "neither", "nor", "without",
    "cannot", "hardly", "barely", "scarcely", "n't", "dont", "doesnt", "didnt", "isnt", "wasnt", "cant",
    "wont",
)  # fmt: skip
CONTRAST_WORDS = (
    "but", "however", "although", "though", "yet", "whereas", "nevertheless", "nonetheless", "despite",
    "even so", "on the other hand", "in spite of",
)  # fmt: skip
LENGTH_EDGES = (4, 8, 16, 32)

_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class SliceSpec:
    """Word lists (words or phrases, matched case-insensitively on whole words) and length bucket edges.

    Any word ending in "n't" also counts as negation. `length_edges` (4, 8, 16, 32) give the buckets
    `length<=4`, `length5-8`, `length9-16`, `length17-32`, `length33+`, counted in whitespace words.
    """

    negation_words: Sequence[str] = NEGATION_WORDS
    contrast_words: Sequence[str] = CONTRAST_WORDS
    length_edges: Sequence[int] = LENGTH_EDGES


DEFAULT_SLICES = SliceSpec()


def length_bucket(n_words: int, edges: Sequence[int] = LENGTH_EDGES) -> str:
    """The length tag of a text with `n_words` words, e.g. `length5-8`."""
    low = 0
    for edge in edges:
        if n_words <= edge:
            return f"length<={edge}" if low == 0 else f"length{low + 1}-{edge}"
        low = edge
    return f"length{low + 1}+"


def slice_tags(text: str, spec: SliceSpec = DEFAULT_SLICES) -> list[str]:
    """Tags of a text: "negation" and/or "contrast" when present, and always one length tag."""
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    padded = f" {' '.join(words)} "
    tags = []
    if any(word.endswith("n't") for word in words) or _contains(padded, spec.negation_words):
        tags.append("negation")
    if _contains(padded, spec.contrast_words):
        tags.append("contrast")
    tags.append(length_bucket(len(text.split()), spec.length_edges))
    return tags


def _contains(padded: str, phrases: Iterable[str]) -> bool:
    return any(f" {' '.join(_WORD.findall(phrase.lower()))} " in padded for phrase in phrases)


def slice_index(texts: Iterable[str], spec: SliceSpec = DEFAULT_SLICES) -> dict[str, list[int]]:
    """For each tag, the positions of the texts that carry it."""
    index: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        for tag in slice_tags(text, spec):
            index.setdefault(tag, []).append(i)
    return index
