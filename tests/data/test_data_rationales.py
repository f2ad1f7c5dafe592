"""Readers with human rationales return word masks aligned with `text.split()`."""

from pathlib import Path

import pytest

from faithlab.data import (
    DataError,
    combine_masks,
    read_eraser,
    read_esnli_csv,
    read_esnli_jsonl,
    read_hatexplain,
    spans_to_mask,
    word_spans,
)
from faithlab.data.esnli import parse_highlight_indices, parse_marked

FIXTURES = Path(__file__).parent / "fixtures"


def _marked(words, mask):
    return [word for word, bit in zip(words, mask, strict=True) if bit]


def test_esnli_highlight_cells():
    assert parse_highlight_indices("{}") == []
    assert parse_highlight_indices("1,0,3") == [1, 0, 3]
    assert parse_highlight_indices("13") == [13]


def test_esnli_marked_strings_mark_starred_words():
    assert parse_marked("A *man* eats *lunch.*") == (["A", "man", "eats", "lunch."], [0, 1, 0, 1])
    assert parse_marked("A *person* *eats*.") == (["A", "person", "eats."], [0, 1, 1])


def test_esnli_csv_annotator_one_by_default():
    data = read_esnli_csv(FIXTURES / "esnli_small.csv")
    first = data[0]
    assert first.words == first.text.split() and first.pair_words == first.pair.split()
    assert first.rationale == [0] * 9
    assert _marked(first.pair_words, first.pair_rationale) == ["lunch."]
    assert _marked(data[1].words, data[1].rationale) == ["Two", "women,"]
    assert data[1].label_name == "entailment" and data[1].id == "p2"


def test_esnli_csv_combines_annotators():
    union = read_esnli_csv(FIXTURES / "esnli_small.csv", annotator="union")
    majority = read_esnli_csv(FIXTURES / "esnli_small.csv", annotator="majority")
    third = read_esnli_csv(FIXTURES / "esnli_small.csv", annotator=3)
    assert _marked(union[0].pair_words, union[0].pair_rationale) == ["The", "sisters", "hugging", "lunch."]
    assert _marked(majority[0].pair_words, majority[0].pair_rationale) == ["sisters", "hugging", "lunch."]
    assert _marked(third[1].words, third[1].rationale) == ["women,"]


def test_esnli_csv_reports_out_of_range_and_filters_missing_gold():
    data = read_esnli_csv(FIXTURES / "esnli_small.csv")
    assert [ex.id for ex in data] == ["p1", "p2", "p5"]
    malformed = [issue for issue in data.report.issues if issue.malformed]
    assert [issue.row for issue in malformed] == [4]
    assert "Sentence2_Highlighted_1" in malformed[0].reason and "outside" in malformed[0].reason
    assert data.report.n_filtered == 1


def test_esnli_csv_bad_annotator_setting():
    with pytest.raises(DataError, match="annotator must be"):
        read_esnli_csv(FIXTURES / "esnli_small.csv", annotator=4)


def test_esnli_marked_columns_are_used_when_indices_are_absent():
    data = read_esnli_csv(FIXTURES / "esnli_marked.csv")
    assert _marked(data[0].words, data[0].rationale) == ["man", "lunch."]
    assert _marked(data[0].pair_words, data[0].pair_rationale) == ["person", "eats."]
    assert len(data) == 1 and "does not spell the same words" in data.report.issues[0].reason


def test_esnli_jsonl_masks_index_the_token_lists():
    data = read_esnli_jsonl(FIXTURES / "esnli_small.jsonl")
    assert len(data) == 1
    assert _marked(data[0].words, data[0].rationale) == ["does", "sleep"]
    assert _marked(data[0].pair_words, data[0].pair_rationale) == ["sleeps"]
    assert "hypothesis_highlight" in data.report.issues[0].reason


def test_eraser_rationale_is_the_union_of_evidence_spans():
    data = read_eraser(FIXTURES / "eraser" / "val.jsonl")
    neg, pos = data[0], data[1]
    assert neg.words == neg.text.split() and len(neg.words) == 16
    assert _marked(neg.words, neg.rationale) == ["a", "mess", "is", "wooden"]
    assert (neg.label_name, pos.label_name) == ("negative", "positive")
    assert _marked(pos.words, pos.rationale) == ["lovely", "warm"]
    reasons = [issue.reason for issue in data.report.issues]
    assert "does not match its text" in reasons[0] and "not in" in reasons[1]


def test_eraser_needs_its_docs_folder(tmp_path):
    with pytest.raises(DataError, match="docs_dir"):
        read_eraser(tmp_path / "val.jsonl")


def test_hatexplain_majority_label_and_majority_rationale():
    data = read_hatexplain(FIXTURES / "hatexplain_small.jsonl")
    assert [ex.id for ex in data] == ["h1", "h2", "h3"]
    assert [ex.label_name for ex in data] == ["hatespeech", "normal", "offensive"]
    assert data[0].rationale == [0, 1, 0, 0]
    assert data[1].rationale is None
    assert data[2].rationale == [1, 0, 0]
    assert (data.report.n_filtered, data.report.n_malformed) == (1, 1)


def test_hatexplain_union_vote():
    data = read_hatexplain(FIXTURES / "hatexplain_small.jsonl", vote="union")
    assert data[0].rationale == [1, 1, 1, 0]


def test_mask_helpers():
    assert spans_to_mask([(0, 2), (3, 4)], 5) == [1, 1, 0, 1, 0]
    assert combine_masks([[1, 0], [1, 1]], "majority") == [1, 0]
    assert combine_masks([[1, 0], [1, 1], [0, 1]], "majority") == [1, 1]
    assert combine_masks([[1, 0], [1, 1]], "all") == [1, 0]
    assert word_spans(" a  bc d") == [(1, 2), (4, 6), (7, 8)]
    with pytest.raises(ValueError, match="outside"):
        spans_to_mask([(2, 4)], 3)
