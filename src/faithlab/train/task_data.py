"""The train / dev / test splits a `DataConfig` asks for, built with `faithlab.data` (leakage-safe splits)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from faithlab.data import (
    DataError,
    Dataset,
    ReadSummary,
    Splits,
    builtin_sentences,
    check_skipped,
    make_splits,
    plant_feature,
    stratified_indices,
)
from faithlab.data.named import read_named
from faithlab.errors import FaithlabError
from faithlab.train.config import DataConfig


def load_splits(data: DataConfig, seed: int = 0) -> Splits:
    """Read or plant the examples, hold out a stratified test set unless one is given, carve dev from train.

    Each file read is checked against `data.max_skipped` (`faithlab.data.check_skipped`); `splits.reads` holds
    what each reader kept and skipped.
    """
    reads: list[ReadSummary] = []
    try:
        if data.task == "planted":
            full = planted_dataset(data, seed, reads)
            test = None
        else:
            full = _limit(_read(data.train, data, reads), data.limit, seed)
            test = _read(data.test, data, reads) if data.test else None
        if not full.has_labels:
            raise FaithlabError(f"'{data.train}' has unlabelled rows; training needs a label for every example")
        if test is None:
            keep, held_out = stratified_indices(full.labels, data.test_fraction, seed)
            full, test = full.subset(keep, name=full.name), full.subset(held_out, name=f"{full.name}-test")
        splits = make_splits(full, test=test, dev_fraction=data.dev_fraction, seed=seed)
        splits.reads = reads
    except DataError as exc:
        raise FaithlabError(str(exc)) from exc
    for name in ("train", "dev", "test"):
        if len(getattr(splits, name)) == 0:
            raise FaithlabError(f"the {name} split is empty; give more examples (or larger fractions)")
    return splits


def planted_dataset(data: DataConfig, seed: int, reads: list[ReadSummary] | None = None) -> Dataset:
    """Texts with a random label each, announced by that label's word.

    Texts already holding a label word are dropped, and so is any text nested in another (SST-2's train set holds
    every phrase of each sentence): a phrase and its sentence with different labels would reward memorising
    content, so that only the planted word decides the label. What the reader made of `data.train` is appended to
    `reads`.
    """
    texts = builtin_sentences() if data.train is None else _read(data.train, data, reads).texts
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in data.label_words) + r")\b", re.IGNORECASE)
    order = np.random.default_rng(seed).permutation(len(texts))
    chosen = _unnested((texts[i] for i in order if not pattern.search(texts[i])), data.limit)
    words = dict(enumerate(data.label_words))
    return plant_feature(chosen, label_words=words, position=data.position, seed=seed)


def _unnested(texts: Iterable[str], limit: int | None) -> list[str]:
    """The first `limit` texts (all when None) of which none is a word span of another, nor a repeat."""
    kept: list[str] = []
    kept_keys: set[str] = set()
    kept_spans: set[str] = set()
    for text in texts:
        words = text.lower().split()
        spans = {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
        if " ".join(words) in kept_spans or not kept_keys.isdisjoint(spans):
            continue
        kept.append(text)
        kept_keys.add(" ".join(words))
        kept_spans |= spans
        if limit is not None and len(kept) == limit:
            break
    return kept


def _read(path: str, data: DataConfig, reads: list[ReadSummary] | None) -> Dataset:
    """The file read by `data.reader`, its skipped rows checked against `data.max_skipped` (summary into `reads`)."""
    label = data.label_column if data.task == "classify" else None
    dataset = read_named(data.reader, path, data.text_column, data.pair_column, label, data.label_names,
                         encoding=data.encoding, delimiter=data.delimiter)
    read = check_skipped(dataset, data.reader, max_skipped=data.max_skipped, accept=data.accept_skipped)
    if reads is not None:
        reads.append(read)
    return dataset


def _limit(dataset: Dataset, limit: int | None, seed: int) -> Dataset:
    if limit is None or limit >= len(dataset):
        return dataset
    return dataset.subset(sorted(np.random.default_rng(seed).permutation(len(dataset))[:limit].tolist()))
