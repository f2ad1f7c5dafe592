"""`faithlab explain --groups FILE`: user feature groups read from JSONL, one line per text, into a run folder."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faithlab import jobs
from faithlab.cli import app

TEXTS = ["unwatchable tedium throughout the film", "a warm and funny film", "the film was good"]
SPANS = [[[0, 18]], None, [[4, 17]]]  # 'unwatchable tedium'; none; 'film was good'


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "texts.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["sentence"], *([t] for t in TEXTS)])
    return path


def write_groups(path: Path, lines: list) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_explain_with_a_groups_file_removes_the_groups(tiny_folders, table: Path, tmp_path: Path) -> None:
    out, groups = tmp_path / "out", write_groups(tmp_path / "groups.jsonl", SPANS)
    args = ("explain", "-m", tiny_folders["bert"], "--methods", "occlusion", "--input", table, "--text-col",
            "sentence", "--out", out, "--chunk-size", 2, "--groups", groups, "-q")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (out / jobs.JSONL_NAME).read_text(encoding="utf-8").splitlines()]
    by_row = {r["meta"]["row"]: r for r in lines}
    assert all(r["granularity"] == "group" for r in lines)
    assert by_row[0]["extras"]["table"][0]["group"] == "unwatchable tedium"
    assert by_row[2]["extras"]["table"][1]["group"] == "film was good"
    content = [t for t in by_row[1]["tokens"] if t not in ("[CLS]", "[SEP]")]
    assert len(by_row[1]["extras"]["table"]) == len(content)  # no groups: every token on its own
    other = write_groups(tmp_path / "other.jsonl", [[[0, 11]], None, None])
    rerun = invoke(*args[:-3], "--groups", other, "-q")
    assert rerun.exit_code != 0 and "groups" in rerun.output


@pytest.mark.parametrize(("lines", "message"), [
    ([[[0, 18]]], "groups has 1 entries for 3 texts"),
    (["spans", None, None], "line 1: give a list of \\[start, end\\] spans or null"),
])
def test_a_bad_groups_file_is_one_error(tiny_folders, table: Path, tmp_path: Path, lines: list, message: str) -> None:
    groups = write_groups(tmp_path / "groups.jsonl", lines)
    result = invoke("explain", "-m", tiny_folders["bert"], "--methods", "occlusion", "--input", table, "--text-col",
                    "sentence", "--out", tmp_path / "out", "--groups", groups)
    assert result.exit_code != 0
    assert re.search(message, result.output), result.output
