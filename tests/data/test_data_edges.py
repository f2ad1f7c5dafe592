"""Readers on awkward but real files: very long fields, a header naming a column twice, records over several
lines, and files with many bad rows (counted in full, located by their first lines, in bounded memory)."""

import csv

import pytest

from faithlab.data import DataError, read_emotion, read_table
from faithlab.data.records import MAX_KEPT, Report


@pytest.mark.parametrize("suffix, sep", [(".csv", ","), (".tsv", "\t")])
def test_a_field_over_csv_default_limit_is_read_whole(tmp_path, suffix, sep):
    long_text = "word " * 60_000  # 300 KB, over csv's default 128 KiB field limit
    path = tmp_path / f"long{suffix}"
    path.write_text(f"text{sep}label\n{long_text}{sep}1\nshort{sep}0\n", encoding="utf-8")
    before = csv.field_size_limit()
    data = read_table(path, "text", label_column="label")
    assert data.texts == [long_text.strip(), "short"]
    assert csv.field_size_limit() == before  # the process-wide limit is left as it was


@pytest.mark.parametrize("suffix, sep", [(".csv", ","), (".tsv", "\t")])
def test_a_header_naming_a_column_twice_is_refused_naming_it(tmp_path, suffix, sep):
    path = tmp_path / f"dup{suffix}"
    path.write_text(sep.join(["id", "text", "label", "text "]) + "\n" + sep.join(["1", "a", "0", "b"]) + "\n")
    with pytest.raises(DataError, match=rf"dup\{suffix}: the header names column 'text' 2 times"):
        read_table(path, "text")


def test_a_record_over_several_lines_is_numbered_by_its_first_line(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('text,label\n"one\ntwo\nthree",1\n\n"bad\nrow",1,extra\nfine,7\nok,0\n', encoding="utf-8")
    data = read_table(path, "text", label_column="label", label_names=["a", "b"])
    assert data.texts == ["one\ntwo\nthree", "ok"]
    assert [(issue.row, issue.malformed) for issue in data.report.issues] == [(6, True), (8, True)]
    assert [ex.id for ex in data] == ["2", "9"]


def test_many_bad_rows_are_all_counted_but_only_the_first_are_kept_per_reason(tmp_path):
    path = tmp_path / "emotion.txt"
    lines = [f"text {i};label{i}" if i % 2 else f"no separator {i}" for i in range(1, 201)]
    path.write_text("\n".join(["i feel fine;joy", *lines]) + "\n", encoding="utf-8")
    report = read_emotion(path).report
    assert report.n_malformed == 200
    assert [(group.reason, group.count) for group in report.skipped()] == [
        ("unknown label", 100), ("expected 'text;label'", 100)
    ]
    unknown, no_separator = report.skipped()
    assert unknown.rows == list(range(2, 2 + 2 * MAX_KEPT, 2))  # line 1 is good, line 2 holds "text 1;label1"
    assert no_separator.rows == list(range(3, 3 + 2 * MAX_KEPT, 2))
    assert "label 'label1' is not one of" in unknown.issues[0].reason  # each kept row keeps its own message
    assert len(report.issues) == 2 * MAX_KEPT


def test_report_keeps_the_first_rows_even_when_found_out_of_order():
    report = Report("x")
    for row in range(100, 0, -1):
        report.filtered(row, f"duplicate of row {row - 1}", "duplicate")
    (group,) = report.skipped()
    assert group.count == 100 and group.rows == list(range(1, MAX_KEPT + 1))
