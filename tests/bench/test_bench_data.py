"""A benchmark checks each data set's skipped rows before any model runs, and its summary states per data set the
examples used of the rows read, with the skipped rows by reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faithlab.bench.config import parse_config
from faithlab.bench.runner import DATASETS_NAME, run_benchmark
from faithlab.bench.store import ResultStore
from faithlab.bench.summary import write_summary
from faithlab.errors import FaithlabError

GOOD = {"label": "entailment", "premise": "A man sits at a church.", "hypothesis": "A man sits.",
        "premise_tokens": ["A", "man", "sits", "at", "a", "church", "."],
        "hypothesis_tokens": ["A", "man", "sits", "."], "premise_highlight": [5], "hypothesis_highlight": [1]}
BAD = GOOD | {"premise": "A woman sits at a church."}  # its tokens are not its text


def _config(tmp_path: Path, folder: Path, **extra) -> dict:
    data = tmp_path / "esnli.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in [GOOD, GOOD, BAD, GOOD]))
    return {
        "models": [{"name": "tiny", "path": str(folder)}],
        "datasets": [{"name": "esnli", "kind": "esnli", "path": str(data), "n": 2}],
        "methods": ["random"], "metrics": ["plausibility"], "bootstrap": {"resamples": 20}, **extra,
    }


def test_too_many_skipped_rows_stop_the_benchmark_before_any_model_runs(tmp_path: Path, tiny_folders) -> None:
    config = parse_config(_config(tmp_path, tiny_folders["bert"]))
    with pytest.raises(FaithlabError, match=r"the esnli reader skipped 1 of 4 rows of .*esnli.jsonl as malformed "
                                            r"\(25.0%, above max_skipped 0.05\): 1 x premise_tokens cannot be aligned"):
        run_benchmark(config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "models.json").exists()
    with pytest.raises(FaithlabError, match=r"data\.max_skipped must be a number <= 1.0, got 2.0"):
        parse_config(_config(tmp_path, tiny_folders["bert"], data={"max_skipped": 2.0}))


def test_accepted_skips_are_counted_in_the_run_folder_and_the_summary(tmp_path: Path, tiny_folders) -> None:
    config = parse_config(_config(tmp_path, tiny_folders["bert"], data={"accept_skipped": True}))
    database = run_benchmark(config, tmp_path / "run", progress=False)
    counts = json.loads((tmp_path / "run" / DATASETS_NAME).read_text())["esnli"]
    assert (counts["used"], counts["kept"], counts["rows_read"], counts["accepted"]) == (2, 3, 4, True)
    assert counts["skipped"] == [{"reason": "premise_tokens cannot be aligned to premise", "malformed": True,
                                  "count": 1, "first_lines": [3]}]
    with ResultStore(database) as store:
        frame = store.frame()
    assert set(frame["example"]) == {0, 1}  # the two examples used
    paths = write_summary(frame, tmp_path / "run", {}, {"esnli": counts}, resamples=20)
    markdown = paths["markdown"].read_text()
    assert "## Data sets" in markdown
    assert "| esnli | esnli | 2 | 4 | 3 | 1 x premise_tokens cannot be aligned to premise |" in markdown
    assert json.loads(paths["json"].read_text())["datasets"]["esnli"]["used"] == 2
