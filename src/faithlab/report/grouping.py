"""Explanations grouped by input text, the unit every report shows; and the warnings reports single out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from faithlab.explain.explanation import Explanation

MAX_TEXTS = 200


@dataclass
class TextGroup:
    """All explanations of one input text (rows: one per method and target)."""

    text: str
    pair: str | None
    rows: list[Explanation] = field(default_factory=list)


def group_by_text(explanations: Iterable[Explanation], max_texts: int = MAX_TEXTS) -> tuple[list[TextGroup], int]:
    """Groups for the first `max_texts` inputs, and the number of inputs seen in all.

    The k-th explanation of a method and target for a text goes to that text's k-th group, so a text that occurs
    twice in the input gets two groups, whether explanations arrive text by text or method by method.
    """
    groups: dict[tuple[int, int], TextGroup] = {}
    seen: dict[tuple[int, str, int], int] = {}
    keys: set[tuple[int, int]] = set()  # hashes, not texts: a long stream is counted without keeping its texts
    for e in explanations:
        text = hash((e.text, e.pair))
        occurrence = seen.get((text, e.method, e.target), 0)
        seen[(text, e.method, e.target)] = occurrence + 1
        key = (text, occurrence)
        keys.add(key)
        if key not in groups and len(groups) < max_texts:
            groups[key] = TextGroup(e.text, e.pair)
        if key in groups:
            groups[key].rows.append(e)
    return list(groups.values()), len(keys)


def is_head_warning(warning: str) -> bool:
    """The warning `Explainer` adds when the classification head was freshly initialised."""
    return "untrained" in warning and "head" in warning


def is_truncation(warning: str) -> bool:
    return "truncated" in warning
