"""The planted-feature task: random labels, a label word at a known word position."""

import pytest

from faithlab.data import DataError, Example, plant_feature

TEXTS = ["the food was fine", "a long and winding road", "ok", "service was slow but friendly"] * 25


def test_every_example_carries_its_label_word_at_the_recorded_position():
    data = plant_feature(TEXTS, seed=3)
    assert data.label_names == ("negative", "positive")
    for source, ex in zip(TEXTS, data, strict=True):
        (at,) = ex.planted
        assert ex.words == ex.text.split()
        assert ex.words[at] == data.label_names[ex.label] == ex.label_name
        assert at == len(source.split())
        assert ex.rationale == [int(i == at) for i in range(len(ex.words))]


def test_labels_are_random_and_reproducible():
    first, again, other = (
        plant_feature(TEXTS, seed=1),
        plant_feature(TEXTS, seed=1),
        plant_feature(TEXTS, seed=2),
    )
    assert first.labels == again.labels and first.texts == again.texts
    assert first.labels != other.labels
    assert 30 < sum(first.labels) < 70


@pytest.mark.parametrize(("position", "expected"), [("start", 0), (0, 0), (2, 2), (-1, 4), (99, 5)])
def test_fixed_positions(position, expected):
    data = plant_feature(["a long and winding road"], position=position, seed=0)
    assert data[0].planted == [expected]
    assert data[0].text.split()[expected] == data[0].label_name


def test_random_positions_vary_but_always_point_at_the_word():
    data = plant_feature(TEXTS, position="random", seed=0)
    assert len({ex.planted[0] for ex in data}) > 2
    assert all(ex.words[ex.planted[0]] == ex.label_name for ex in data)


def test_fraction_plants_only_some_examples():
    data = plant_feature(TEXTS, fraction=0.3, seed=0)
    planted = [ex for ex in data if ex.planted]
    assert len(planted) == 30
    for source, ex in zip(TEXTS, data, strict=True):
        if not ex.planted:
            assert ex.text == source and ex.rationale == [0] * len(ex.words)


def test_custom_label_words_and_example_inputs_keep_ids_and_old_labels():
    items = [Example("great", label=1, id="x"), Example("awful", label=0, id="y")]
    data = plant_feature(items, label_words={0: "zebra", 1: "quokka", 2: "axolotl"}, position="start", seed=5)
    assert data.label_names == ("zebra", "quokka", "axolotl")
    assert [ex.id for ex in data] == ["x", "y"]
    assert [ex.meta["original_label"] for ex in data] == [1, 0]
    assert all(ex.words[0] == data.label_names[ex.label] for ex in data)


@pytest.mark.parametrize(
    "settings",
    [
        {"position": "middle"},
        {"fraction": 1.5},
        {"label_words": {0: "a"}},
        {"label_words": {0: "two words", 1: "b"}},
    ],
)
def test_bad_settings_are_rejected(settings):
    with pytest.raises(DataError):
        plant_feature(TEXTS, **settings)
