"""Which texts of a file a job explains: those predicted (or labelled) as given classes, then the first N or a
seeded sample of N, in file order.

Selecting by prediction runs the classifier once over every text (in its usual memory-bounded chunks). The rows
chosen keep their row numbers in the file, so tables written later can name where each text came from.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from faithlab.errors import FaithlabError
from faithlab.jobs import Inputs
from faithlab.models import Classifier


@dataclass(frozen=True)
class Selection:
    """The classes to keep by prediction and by gold label (empty: any), and how many of the kept rows: the
    `first` N or a `sample` of N drawn with `seed` (not both)."""

    predicted: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    first: int | None = None
    sample: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.first is not None and self.sample is not None:
            raise FaithlabError("give --first N or --sample N, not both")
        for name, value in (("--first", self.first), ("--sample", self.sample)):
            if value is not None and value < 1:
                raise FaithlabError(f"{name} must be >= 1, got {value}")

    @property
    def active(self) -> bool:
        return bool(self.predicted or self.labels or self.first or self.sample)


@dataclass
class Selected:
    """The inputs kept, each one's row in the file, and the predicted class of every kept row (None where the
    selection needed no prediction)."""

    inputs: Inputs
    rows: list[int]
    predicted: list[str] | None = field(default=None)


def parse_classes(spec: str | None) -> tuple[str, ...]:
    """'pos,neg' → ('pos', 'neg'); None or '' → ()."""
    return tuple(c.strip() for c in (spec or "").split(",") if c.strip())


def select_inputs(classifier: Classifier, inputs: Inputs, selection: Selection) -> Selected:
    """Keep the inputs that `selection` asks for.

    Args:
        classifier: predicts the texts when `selection.predicted` is given; its labels name the classes.
        inputs: every text of the file (with gold `labels` when selecting by label).
        selection: the classes and counts.

    Returns:
        The `Selected` inputs (file order).

    Raises:
        FaithlabError: an unknown class, labels asked for where the file has none, or nothing left to explain.
    """
    rows = list(range(len(inputs.texts)))
    predicted = None
    if selection.predicted:
        wanted = {classifier.labels[classifier.label_index(c)] for c in selection.predicted}
        predicted = _predict(classifier, inputs)
        rows = [r for r in rows if predicted[r] in wanted]
    if selection.labels:
        if inputs.labels is None:
            raise FaithlabError("--select-label needs gold labels: give --label-col for a table, or a reader with "
                                "labels (label_sep, emotion, sst2, mnli)")
        names = sorted({y for y in inputs.labels if y is not None})
        unknown = [c for c in selection.labels if c not in names]
        if unknown:
            raise FaithlabError(f"unknown label '{unknown[0]}'; the file's labels are {', '.join(names)}")
        rows = [r for r in rows if inputs.labels[r] in selection.labels]
    if selection.first is not None:
        rows = rows[: selection.first]
    elif selection.sample is not None and selection.sample < len(rows):
        rows = sorted(random.Random(selection.seed).sample(rows, selection.sample))
    if not rows:
        raise FaithlabError("no text matches the selection (--select-predicted / --select-label)")
    kept = Inputs(
        [inputs.texts[r] for r in rows], None if inputs.pairs is None else [inputs.pairs[r] for r in rows],
        inputs.source, inputs.read, None if inputs.labels is None else [inputs.labels[r] for r in rows],
        None if inputs.groups is None else [inputs.groups[r] for r in rows],
    )
    return Selected(kept, rows, None if predicted is None else [predicted[r] for r in rows])


def _predict(classifier: Classifier, inputs: Inputs, chunk: int = 64) -> list[str]:
    """The predicted label of every input text, in chunks of `chunk` texts."""
    out: list[str] = []
    for start in range(0, len(inputs.texts), chunk):
        pairs: Sequence[str | None] | None = None if inputs.pairs is None else inputs.pairs[start:start + chunk]
        probabilities = classifier.predict(inputs.texts[start:start + chunk], pairs)
        out += [classifier.labels[i] for i in np.argmax(probabilities, axis=1)]
    return out
