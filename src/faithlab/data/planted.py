"""Planted-feature ("augmented SST") task: random labels, each announced by a label word put into the text.

A model can only beat chance by reading the planted word, so the planted word positions are a ground-truth
rationale: a faithful explanation must put its weight there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np

from faithlab.data.records import DataError, Dataset, Example, Report

Position = Literal["start", "end", "random"] | int
DEFAULT_WORDS = {0: "negative", 1: "positive"}


def plant_feature(
    texts: Iterable[str | Example],
    label_words: Mapping[int, str] | None = None,
    position: Position = "end",
    fraction: float = 1.0,
    seed: int = 0,
    label_names: Sequence[str] | None = None,
) -> Dataset:
    """Give each text a random label (seeded) and put that label's word into it.

    `position`: "end" (append), "start", "random" (uniform over the gaps between words) or an int word index
    (negative counts from the end, as in `list.insert`). With `fraction` < 1 only that share of the examples
    (chosen at random) gets the word; the others keep their random label and no word, `planted == []`.
    Each example records `planted` (word indices of the inserted word in `text.split()`) and the same as a 0/1
    `rationale` mask over `words`. Old labels are kept in `meta["original_label"]`. Label names default to the
    label words, in label order.
    """
    words_by_label = dict(label_words or DEFAULT_WORDS)
    _validate(words_by_label, position, fraction)
    labels = sorted(words_by_label)
    if labels != list(range(len(labels))):
        raise DataError(f"label_words keys must be 0..{len(labels) - 1}, got {labels}")
    names = tuple(label_names or (words_by_label[label] for label in labels))
    if len(names) != len(labels):
        raise DataError(f"label_names has {len(names)} names for {len(labels)} labels")
    sources = [item if isinstance(item, Example) else Example(str(item)) for item in texts]

    rng = np.random.default_rng(seed)
    new_labels = rng.integers(0, len(labels), size=len(sources))
    chosen = set(rng.permutation(len(sources))[: round(fraction * len(sources))].tolist())
    examples = []
    for i, (source, label) in enumerate(zip(sources, new_labels.tolist(), strict=True)):
        words = source.text.split()
        planted: list[int] = []
        if i in chosen:
            at = _insert_at(position, len(words), rng)
            words.insert(at, words_by_label[label])
            planted = [at]
        examples.append(
            Example(
                " ".join(words),
                source.pair,
                label,
                names[label],
                rationale=[int(k in planted) for k in range(len(words))],
                words=words,
                id=source.id if source.id is not None else str(i),
                planted=planted,
                meta={**source.meta, "original_label": source.label},
            )
        )
    return Dataset(examples, names, Report(source="planted"), "planted")


def _validate(words_by_label: Mapping[int, str], position: Position, fraction: float) -> None:
    if len(words_by_label) < 2:
        raise DataError(f"label_words needs at least two labels, got {dict(words_by_label)}")
    for word in words_by_label.values():
        if len(str(word).split()) != 1:
            raise DataError(f"each label word must be one whitespace word, got {word!r}")
    valid_int = isinstance(position, int) and not isinstance(position, bool)
    if not valid_int and position not in ("start", "end", "random"):
        raise DataError(f"position must be 'start', 'end', 'random' or an int, got {position!r}")
    if not 0.0 <= fraction <= 1.0:
        raise DataError(f"fraction must be in [0, 1], got {fraction}")


def _insert_at(position: Position, n_words: int, rng: np.random.Generator) -> int:
    """The word index the planted word will have, after insertion into `n_words` words."""
    if position == "start":
        return 0
    if position == "end":
        return n_words
    if position == "random":
        return int(rng.integers(0, n_words + 1))
    index = int(position)
    return min(index, n_words) if index >= 0 else max(0, n_words + index)
