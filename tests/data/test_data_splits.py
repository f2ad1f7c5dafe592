"""Leakage-safe splits: stratified dev from train, no shared text, validation scored if test is unlabelled."""

import pytest

from faithlab.data import DataError, Dataset, Example, make_splits, stratified_indices, text_key


def _data(pairs, name):
    return Dataset(
        [Example(text, label=label, id=f"{name}{i}") for i, (text, label) in enumerate(pairs)],
        ("n", "p"),
        name=name,
    )


TRAIN = _data([(f"train sentence number {i}", int(i % 4 == 0)) for i in range(200)], "train")


def test_dev_is_stratified_and_disjoint_from_train():
    splits = make_splits(TRAIN, validation=_data([("held out", 0)], "dev"), dev_fraction=0.2, seed=0)
    assert len(splits.dev) == 40 and len(splits.train) == 160
    assert sum(splits.dev.labels) == 10  # 50 positives * 0.2
    assert not {ex.id for ex in splits.dev} & {ex.id for ex in splits.train}


def test_same_seed_same_split_and_different_seed_different_split():
    validation = _data([("held out", 0)], "dev")
    ids = [[ex.id for ex in make_splits(TRAIN, validation, seed=s).dev] for s in (0, 0, 1)]
    assert ids[0] == ids[1] != ids[2]


def test_official_validation_is_scored_when_test_has_no_labels():
    test = Dataset([Example("hidden", label=None)], ("n", "p"), name="test")
    validation = _data([("held out", 1)], "dev")
    splits = make_splits(TRAIN, validation=validation, test=test)
    assert splits.test is validation
    assert "no labels" in splits.notes[0]


def test_labelled_test_is_scored_as_is():
    test = _data([("a test sentence", 1)], "test")
    assert make_splits(TRAIN, test=test).test is test


def test_texts_in_test_or_repeated_in_train_are_dropped_and_reported():
    train = _data(
        [("Same  Text", 0), ("same text", 1), ("Leaked sentence", 0), ("other", 0), ("more", 1)], "tr"
    )
    validation = _data([("leaked   SENTENCE", 1)], "dev")
    splits = make_splits(train, validation=validation, dev_fraction=0.5)
    kept = splits.train.examples + splits.dev.examples
    assert sorted(ex.id for ex in kept) == ["tr0", "tr3", "tr4"]
    assert [issue.row for issue in splits.train.report.issues] == [2, 3]
    keys = [text_key(ex) for ex in kept + validation.examples]
    assert len(keys) == len(set(keys))


def test_every_class_keeps_a_train_example():
    train_idx, dev_idx = stratified_indices([0, 0, 1], fraction=0.9, seed=0)
    assert sorted(train_idx + dev_idx) == [0, 1, 2]
    assert 2 in train_idx


def test_nothing_to_score_and_bad_fraction_are_errors():
    with pytest.raises(DataError, match="no labelled split"):
        make_splits(TRAIN)
    with pytest.raises(DataError, match="dev_fraction"):
        make_splits(TRAIN, validation=TRAIN, dev_fraction=1.0)
