"""The built-in sentences are plentiful, distinct and varied enough for the demo planted job."""

from faithlab.data import builtin_sentences, plant_feature, slice_index


def test_builtin_sentences_are_many_short_and_distinct():
    sentences = builtin_sentences()
    assert len(sentences) >= 300
    assert len(set(sentences)) == len(sentences)
    assert all(3 <= len(s.split()) <= 25 and s == s.strip() for s in sentences)


def test_builtin_sentences_include_negation_and_contrast():
    index = slice_index(builtin_sentences())
    assert len(index["negation"]) >= 30 and len(index["contrast"]) >= 30


def test_builtin_sentences_feed_the_planted_task_and_callers_get_a_fresh_list():
    sentences = builtin_sentences()
    sentences.clear()
    data = plant_feature(builtin_sentences(), seed=0)
    assert len(data) == len(builtin_sentences())
