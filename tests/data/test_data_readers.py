"""Readers of plain labelled text: GLUE TSV, MultiNLI, emotion and the generic table reader."""

from pathlib import Path

import pytest

from faithlab.data import DataError, read_emotion, read_mnli, read_sst2, read_table

FIXTURES = Path(__file__).parent / "fixtures"


def test_sst2_reads_good_rows_and_reports_each_bad_one():
    data = read_sst2(FIXTURES / "sst2_small.tsv")
    assert data.texts == [
        "it 's a charming and often affecting journey .",
        "unflinchingly bleak and desperate",
        'a "quoted" word stays as is',
        "not good at all",
        "the last line is fine",
    ]
    assert data.labels == [1, 0, 1, 0, 0]
    assert data[0].label_name == "positive"
    assert data.label_names == ("negative", "positive")
    assert [(issue.row, issue.malformed) for issue in data.report.issues] == [(4, True), (5, True), (7, True)]
    assert "3 fields, expected 2" in data.report.issues[0].reason
    assert "'7'" in data.report.issues[2].reason
    assert "3 malformed" in str(data.report)


def test_on_error_raise_stops_at_the_first_bad_row_and_names_it():
    with pytest.raises(DataError, match=r"sst2_small.tsv: row 4: 3 fields"):
        read_sst2(FIXTURES / "sst2_small.tsv", on_error="raise")


def test_glue_test_file_without_labels_gives_unlabelled_examples_with_index_ids():
    data = read_sst2(FIXTURES / "sst2_test.tsv")
    assert data.labels == [None, None]
    assert [ex.id for ex in data] == ["0", "1"]
    assert not data.has_labels


def test_mnli_jsonl_filters_missing_gold_and_reports_broken_json():
    data = read_mnli(FIXTURES / "mnli_small.jsonl")
    assert [ex.id for ex in data] == ["p1", "p2", "p5"]
    assert [ex.label_name for ex in data] == ["entailment", "contradiction", "neutral"]
    assert data[0].pair == "A person plays music."
    assert data.report.n_filtered == 1 and data.report.n_malformed == 1
    assert {issue.row for issue in data.report.issues} == {3, 4}


def test_mnli_jsonl_missing_gold_label_is_not_fatal_under_raise():
    with pytest.raises(DataError, match="row 4: invalid JSON"):
        read_mnli(FIXTURES / "mnli_small.jsonl", on_error="raise")


def test_mnli_glue_tsv_uses_sentence_columns_and_gold_label():
    data = read_mnli(FIXTURES / "mnli_glue.tsv")
    assert [(ex.id, ex.label) for ex in data] == [("31193n", 1), ("101457e", 0)]
    assert data[1].text == "yes now you know if"


def test_mnli_line_files_pair_premise_and_hypothesis_with_aligned_labels():
    data = read_mnli(FIXTURES / "mnli_source", labels_path=FIXTURES / "mnli_labels")
    assert [(ex.text, ex.pair, ex.label_name) for ex in data] == [
        ("The new rights are nice enough", "Everyone really likes the newest benefits", "neutral"),
        ("A cat sleeps .", "An animal rests .", "entailment"),
    ]
    assert data.report.issues[0].row == 2


def test_emotion_splits_on_the_last_semicolon_and_skips_the_header():
    data = read_emotion(FIXTURES / "emotion_small.txt")
    assert [(ex.text, ex.label_name) for ex in data] == [
        ("i didnt feel humiliated", "sadness"),
        ("i feel great; really great", "joy"),
        ("i am ever feeling nostalgic about the fireplace", "love"),
    ]
    assert data[2].label == 2
    assert [issue.row for issue in data.report.issues] == [4, 5]


def test_generic_csv_with_named_columns_infers_sorted_label_names():
    data = read_table(FIXTURES / "table.csv", text_column="review", label_column="stars", id_column="uid")
    assert data.label_names == ("bad", "good")
    assert [(ex.id, ex.text, ex.label) for ex in data] == [
        ("a1", "Great food, friendly staff.", 1),
        ("a2", "Cold soup, slow service.", 0),
        ("a4", 'Lovely patio, "best" in town.', 1),
    ]
    assert [issue.row for issue in data.report.issues] == [4, 6]


def test_generic_reader_pair_column_and_given_label_names():
    data = read_table(FIXTURES / "table.csv", "review", "summary", "stars", label_names=["good", "bad"])
    assert data[0].pair == "tasty" and data[0].label == 0


def test_unknown_column_error_names_it_and_lists_the_columns():
    with pytest.raises(
        DataError, match=r"text column 'sentence' not found.*'uid', 'review', 'summary', 'stars'"
    ):
        read_table(FIXTURES / "table.csv", text_column="sentence")
    assert issubclass(DataError, ValueError)


def test_generic_jsonl_integer_labels_and_non_object_rows():
    data = read_table(FIXTURES / "table.jsonl", "text", label_column="label", id_column="id")
    assert data.label_names == ("0", "1", "2")
    assert [ex.id for ex in data] == ["1", "2", "4"]
    assert data.report.issues[0].row == 3


def test_unknown_suffix_and_missing_file_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match=r"suffix '\.xlsx'"):
        read_table(tmp_path / "x.xlsx", "text")
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "missing.csv", "text")
