"""A benchmark run with the meta-evaluation on stores its rows, resumes without repeating them, and its summary writes
verdict.json and a verdict section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markupsafe import escape

from faithlab.bench.config import parse_config
from faithlab.bench.runner import run_benchmark
from faithlab.bench.store import ResultStore
from faithlab.bench.summary import write_summary
from faithlab.errors import FaithlabError
from faithlab.evaluate.meta_evaluation import meta_from_frame
from faithlab.evaluate.verdict import BASELINE, read_verdicts
from faithlab.report.run_report import render_report

SENTENCES = ["the food was warm and the staff were kind", "a slow film with a clever script",
             "the shares fell after the report", "my order arrived two days late", "the battery lasts all day"]


def _config(tmp_path: Path, folder: Path, **extra) -> dict:
    data = tmp_path / "sentences.tsv"
    data.write_text("sentence\tlabel\n" + "".join(f"{s}\t0\n" for s in SENTENCES))
    return {
        "models": [{"name": "tiny", "path": str(folder)}],
        "datasets": [{"name": "planted", "kind": "planted", "path": str(data), "n": 5}],
        "methods": ["grad_x_input", "occlusion", "random"],
        "metrics": ["ground_truth", "faithfulness", "randomization"],
        "samples": {"examples": 5, "randomization": 2},
        "chunk_size": 5,
        "bootstrap": {"resamples": 50},
        **extra,
    }


def test_the_meta_evaluation_unit_and_the_verdict_file(tmp_path: Path, tiny_folders) -> None:
    meta = {"enabled": True, "examples": 3, "repeats": 2}
    config = parse_config(_config(tmp_path, tiny_folders["bert"], meta_evaluation=meta))
    database = run_benchmark(config, tmp_path / "run", progress=False)
    with ResultStore(database) as store:
        frame = store.frame()
        assert "meta_evaluation" in store.done_units("tiny", "planted")
    variants = set(frame["variant"])
    assert {"meta:original:0", "meta:noise:0", "meta:noise:1", "meta:randomized:0", "meta:randomized:1"} <= variants
    meta_rows = frame[frame["variant"].str.startswith("meta:")]
    assert set(meta_rows["example"]) == {0, 1, 2}  # the first `examples` examples
    again = run_benchmark(config, tmp_path / "run", progress=False)  # resumed: nothing is stored twice
    with ResultStore(again) as store:
        assert len(store.frame()) == len(frame)

    paths = write_summary(frame, tmp_path / "run", {"tiny": {"family": "bert"}}, resamples=50)
    verdicts = read_verdicts(paths["verdict"].read_text())
    verdict = verdicts[("tiny", "planted")]
    assert verdict.best and BASELINE not in verdict.best and verdict.cheapest in verdict.best
    assert {e.metric for e in verdict.evidence} == {"gt_overlap", "gt_mean_rank", "comprehensiveness", "sufficiency"}
    meta_found = meta_from_frame(frame)[("tiny", "planted")]
    assert [e.meta_passed for e in verdict.evidence] == [meta_found.passed(e.metric) for e in verdict.evidence]
    assert verdict.flagged_metrics == [e.metric for e in verdict.evidence if e.meta_passed is False]
    assert {s.variant for s in verdict.sanity} == {"cascading:0"}  # tiny BERT has 2 blocks; 0 is randomised last
    markdown = paths["markdown"].read_text()
    assert "## Verdicts" in markdown and verdict.summary in markdown
    assert json.loads(paths["recommendation"].read_text())["tiny"]["best"]["method"] != BASELINE
    page = render_report([tmp_path / "run"])  # the report renders the verdict: headline, summary, evidence
    assert f"Most faithful: {verdict.leader}" in page and str(escape(verdict.summary)) in page
    for evidence in verdict.evidence:
        assert f"<td>{evidence.metric}</td>" in page


def test_a_misspelt_meta_evaluation_setting_is_named(tmp_path: Path, tiny_folders) -> None:
    with pytest.raises(FaithlabError, match=r"unknown setting 'meta_evaluation\.enabeld'"):
        parse_config(_config(tmp_path, tiny_folders["bert"], meta_evaluation={"enabeld": True}))
