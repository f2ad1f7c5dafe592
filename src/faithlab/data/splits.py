"""Leakage-safe splits: a stratified dev set carved from train, no text shared between train, dev and test."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from faithlab.data.records import DataError, Dataset, Example, Report
from faithlab.data.skips import ReadSummary


@dataclass
class Splits:
    """Train / dev / scored-test datasets, notes (which set is scored, what was dropped), and what the readers
    kept and skipped of each file the splits were read from."""

    train: Dataset
    dev: Dataset
    test: Dataset
    notes: list[str] = field(default_factory=list)
    reads: list[ReadSummary] = field(default_factory=list)


def text_key(example: Example) -> tuple[str, str]:
    """What makes two examples "the same text": case- and whitespace-insensitive text and pair."""
    return " ".join(example.text.lower().split()), " ".join((example.pair or "").lower().split())


def make_splits(
    train: Dataset,
    validation: Dataset | None = None,
    test: Dataset | None = None,
    dev_fraction: float = 0.1,
    seed: int = 0,
) -> Splits:
    """Carve a stratified dev split from `train` and pick the scored test split.

    The test split is `test` when it has labels, else the official `validation` set (GLUE test labels are
    hidden). Train examples whose text also occurs in the test split, and repeated train texts, are dropped
    before the carve (listed in `splits.train.report`), so no text is in two splits. Test is kept whole.
    """
    if not 0.0 < dev_fraction < 1.0:
        raise DataError(f"dev_fraction must be between 0 and 1 (exclusive), got {dev_fraction}")
    notes = []
    if test is not None and test.has_labels:
        scored = test
    elif validation is not None and validation.has_labels:
        scored = validation
        notes.append(f"test split has no labels; the official validation set '{validation.name}' is scored")
    else:
        raise DataError("no labelled split to score: pass a labelled `test` or an official `validation` set")
    keep, report = _deduplicated(train, {text_key(ex) for ex in scored})
    if report:
        notes.append(f"dropped {report.n_filtered} train examples repeating a test or earlier train text")
    train_idx, dev_idx = stratified_indices([train[i].label for i in keep], dev_fraction, seed)
    new_train = train.subset([keep[i] for i in train_idx], name=f"{train.name}-train")
    new_train.report = report
    dev = train.subset([keep[i] for i in dev_idx], name=f"{train.name}-dev")
    return Splits(new_train, dev, scored, notes)


def _deduplicated(train: Dataset, test_keys: set[tuple[str, str]]) -> tuple[list[int], Report]:
    report = Report(source=f"{train.name} (split)")
    seen: set[tuple[str, str]] = set()
    keep = []
    for i, example in enumerate(train):
        key = text_key(example)
        if example.label is None:
            raise DataError(f"train example {i} (id {example.id}) has no label; a dev split needs labels")
        if key in test_keys:
            report.filtered(i + 1, f"id {example.id}: text also in the test split", "text also in the test split")
        elif key in seen:
            report.filtered(i + 1, f"id {example.id}: text repeats an earlier train example",
                            "text repeats an earlier train example")
        else:
            seen.add(key)
            keep.append(i)
    return keep, report


def stratified_indices(labels: list[int | None], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, dev) positions; dev takes `round(fraction * n)` of each label, leaving train at least one.

    Both lists are sorted, so the original order survives inside each split.
    """
    by_label: dict[int | None, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    rng = np.random.default_rng(seed)
    dev: list[int] = []
    for label in sorted(by_label, key=str):
        members = by_label[label]
        n_dev = min(round(fraction * len(members)), len(members) - 1)
        dev.extend(rng.permutation(members)[:n_dev].tolist())
    dev_set = set(dev)
    return [i for i in range(len(labels)) if i not in dev_set], sorted(dev)
