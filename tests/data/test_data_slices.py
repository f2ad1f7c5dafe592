"""Slice tags: negation, contrast and length buckets."""

import pytest

from faithlab.data import SliceSpec, length_bucket, slice_index, slice_tags


@pytest.mark.parametrize(
    ("n_words", "tag"),
    [
        (1, "length<=4"),
        (4, "length<=4"),
        (5, "length5-8"),
        (16, "length9-16"),
        (32, "length17-32"),
        (33, "length33+"),
    ],
)
def test_length_buckets(n_words, tag):
    assert length_bucket(n_words) == tag


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("I did not like it", ["negation", "length5-8"]),
        ("it does n't work", ["negation", "length<=4"]),
        ("It doesn't work", ["negation", "length<=4"]),
        ("Cheap, but it works.", ["contrast", "length<=4"]),
        ("Although slow, it is never boring", ["negation", "contrast", "length5-8"]),
        ("On the other hand, the soup was lovely", ["contrast", "length5-8"]),
        ("Nothingness is a word", ["length<=4"]),
        ("A butterfly is known", ["length<=4"]),
    ],
)
def test_slice_tags(text, tags):
    assert slice_tags(text) == tags


def test_word_lists_and_edges_are_configurable():
    spec = SliceSpec(negation_words=("nah",), contrast_words=("albeit",), length_edges=(2,))
    assert slice_tags("nah, fine albeit late", spec) == ["negation", "contrast", "length3+"]
    assert slice_tags("not but", spec) == ["length<=2"]


def test_slice_index_lists_positions_per_tag():
    index = slice_index(["not bad", "good but pricey", "fine"])
    assert index["negation"] == [0] and index["contrast"] == [1] and index["length<=4"] == [0, 1, 2]
