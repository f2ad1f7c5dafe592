"""The skipped-rows guard: a job stops above `max_skipped` malformed rows, naming reader, file, count and reasons,
unless accepted; rows left out on purpose are reported but do not count."""

from __future__ import annotations

import pytest

from faithlab.data import DataError, Dataset, Example, Report, check_skipped


def _dataset(kept: int, malformed: int, filtered: int = 0) -> Dataset:
    report = Report(source="data.csv")
    for line in range(malformed):
        report.malformed(kept + line + 2, f"row {line}: wrong number of fields", "wrong number of fields")
    for line in range(filtered):
        report.filtered(kept + malformed + line + 2, "label is '-' (no gold label)")
    return Dataset([Example(f"text {i}") for i in range(kept)], report=report, name="data")


def test_below_the_limit_the_summary_counts_rows_by_reason():
    summary = check_skipped(_dataset(96, 4, 30), "table", max_skipped=0.05)
    assert (summary.read, summary.kept, summary.malformed, summary.filtered) == (130, 96, 4, 30)
    assert not summary.accepted
    assert summary.lines() == [
        "table reader kept 96 of 130 rows of data.csv; skipped 4 malformed (3.1%); left out 30 on purpose",
        "  4 x wrong number of fields (lines 98, 99, 100, 101)",
        "  30 x label is '-' (no gold label) (lines 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, "
        "115, 116, 117, 118, 119, 120, 121, ...; left out on purpose)",
    ]
    record = summary.to_dict()
    assert record["rows_read"] == 130 and record["skipped"][0] == {
        "reason": "wrong number of fields", "malformed": True, "count": 4, "first_lines": [98, 99, 100, 101]}


def test_above_the_limit_the_job_stops_naming_reader_file_count_and_reasons():
    with pytest.raises(DataError, match=r"the esnli reader skipped 6 of 100 rows of data.csv as malformed \(6.0%, "
                                        r"above max_skipped 0.05\): 6 x wrong number of fields \(lines 96, .*"
                                        r"--accept-skipped"):
        check_skipped(_dataset(94, 6), "esnli")
    assert check_skipped(_dataset(94, 6), "esnli", max_skipped=0.06).malformed == 6  # the limit itself is allowed


def test_accepting_runs_on_and_says_so():
    summary = check_skipped(_dataset(1, 9), "table", accept=True)
    assert summary.accepted and summary.kept == 1
    assert summary.headline().endswith("(above max_skipped 0.05, accepted)")


def test_a_limit_outside_0_1_is_refused():
    with pytest.raises(DataError, match=r"max_skipped must be a fraction between 0 and 1, got 1\.5"):
        check_skipped(_dataset(1, 0), "table", max_skipped=1.5)
