"""`faithlab explain --input` checks the reader's skipped rows: above --max-skipped it stops with one error line
(unless --accept-skipped), and the console, summary.json and report.html say how many rows were kept and why not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faithlab import jobs
from faithlab.cli import app


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "texts.csv"
    path.write_text("text\nthe movie was great\nit is fine\ntoo,many\n", encoding="utf-8")
    return path


def _explain(model: Path, table: Path, out: Path, *flags: str):
    args = ["explain", "-m", str(model), "--methods", "random", "--input", str(table), "--out", str(out), *flags]
    return CliRunner().invoke(app, args)


def test_explain_stops_above_the_limit_with_one_error_line(tiny_folders, table: Path, tmp_path: Path):
    result = _explain(tiny_folders["bert"], table, tmp_path / "out")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output
    assert "error: the table reader skipped 1 of 3 rows" in result.stderr
    assert "1 x wrong number of fields (line 4)" in result.stderr and "--accept-skipped" in result.stderr
    assert not (tmp_path / "out").exists()
    refused = _explain(tiny_folders["bert"], table, tmp_path / "out", "--max-skipped", "1.5")
    assert refused.exit_code == 2 and "max_skipped must be a fraction between 0 and 1, got 1.5" in refused.stderr


@pytest.mark.parametrize("flags", [("--accept-skipped",), ("--max-skipped", "0.5")])
def test_an_allowed_run_reports_the_rows_kept_everywhere(tiny_folders, table: Path, tmp_path: Path, flags):
    out = tmp_path / "out"
    result = _explain(tiny_folders["bert"], table, out, *flags)
    assert result.exit_code == 0, result.output
    headline = f"table reader kept 2 of 3 rows of {table}; skipped 1 malformed (33.3%)"
    assert headline in result.stderr and "1 x wrong number of fields (line 4)" in result.stderr
    data = json.loads((out / jobs.SUMMARY_NAME).read_text(encoding="utf-8"))["data"]
    assert (data["rows_read"], data["kept"], data["accepted"]) == (3, 2, flags == ("--accept-skipped",))
    report = (out / jobs.HTML_NAME).read_text(encoding="utf-8")
    assert headline in report and "1 x wrong number of fields (line 4)" in report
