"""`faithlab audit` end to end on a tiny model: the plan is run and recorded, an interrupted audit resumes, and a
folder holding another request is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from faithlab.audit.run import AuditRequest, run_audit
from faithlab.bench.config import load_config
from faithlab.bench.store import ResultStore
from faithlab.cli import app
from faithlab.errors import FaithlabError
from faithlab.evaluate.verdict import read_verdicts

SENTENCES = [
    ("the food was warm and the staff were kind", 1),
    ("a slow film with a clever script", 1),
    ("the shares fell after the report", 0),
    ("my order arrived two days late", 0),
    ("the battery lasts all day", 1),
    ("this hotel is close to the station", 1),
]


METHODS = ("grad_x_input", "ig")  # cheap ones, so the tests run in seconds; the planner's choices are tested apart


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.csv"
    path.write_text("review,label\n" + "".join(f"{text},{label}\n" for text, label in SENTENCES))
    return path


def _request(model: Path, data: Path, budget: float = 3600.0) -> AuditRequest:
    return AuditRequest(model=str(model), data=str(data), budget_seconds=budget, text_col="review", label_col="label",
                        methods=METHODS)


@pytest.fixture(scope="module")
def interrupted(tiny_folders, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict, pd.DataFrame]:
    """An audit stopped after its first bench unit: (folder, data file, its audit.json, its done units)."""
    root = tmp_path_factory.mktemp("audit")
    data = root / "reviews.csv"
    data.write_text("review,label\n" + "".join(f"{text},{label}\n" for text, label in SENTENCES))
    out = root / "run"
    run_audit(_request(tiny_folders["bert"], data), out, progress=False, max_units=1)
    with ResultStore(out / "results.sqlite") as store:
        units = store.unit_seconds()
    return out, data, json.loads((out / "audit.json").read_text()), units


def test_a_different_request_into_the_same_folder_is_refused(tiny_folders, interrupted) -> None:
    out, data, _, _ = interrupted
    with pytest.raises(FaithlabError, match=r"holds an audit with budget_seconds=3600.0; this command asks for "
                                            r"budget_seconds=60.0\. Re-run the same command"):
        run_audit(_request(tiny_folders["bert"], data, budget=60.0), out, progress=False)
    with pytest.raises(FaithlabError, match="holds an audit with model="):
        run_audit(_request(tiny_folders["roberta"], data), out, progress=False)


def test_the_audit_resumes_and_runs_the_plan_it_recorded(tiny_folders, interrupted) -> None:
    out, data, first, done_first = interrupted
    assert len(done_first) == 1
    outcome = run_audit(_request(tiny_folders["bert"], data), out, progress=False)
    record = json.loads((out / "audit.json").read_text())
    assert record["calibration"] == first["calibration"] and record["plan"] == first["plan"]  # not calibrated again
    assert len(record["sessions"]) == 2 and record["actual_seconds"] == pytest.approx(sum(record["sessions"]))
    with ResultStore(out / "results.sqlite") as store:
        done, frame = store.unit_seconds(), store.frame()
    assert len(done) > 1  # every unit now, and the first one was not computed again
    assert done.set_index("unit").loc[done_first["unit"].iloc[0], "created"] == done_first["created"].iloc[0]

    plan = record["plan"]
    assert plan["examples"] == len(SENTENCES)  # a big budget: every example
    assert list(plan["methods"]) == ["random", "grad_x_input", "ig"] and plan["methods"]["ig"] == {"n_steps": 32}
    assert outcome.within_budget == record["within_budget"] == (record["actual_seconds"] <= 3600)
    config = load_config(out / "audit.yaml")  # the plan as a bench config
    assert [name for name, _ in config.methods] == list(plan["methods"])
    assert set(frame["method"]) == set(plan["methods"])
    assert {"comprehensiveness", "sufficiency", "soft_comprehensiveness", "naopc_comprehensiveness",
            "randomization_spearman"} <= set(frame["metric"])
    per_example = frame[frame["metric"] == "comprehensiveness"]
    assert per_example.groupby("method")["example"].nunique().eq(len(SENTENCES)).all()
    assert outcome.summary.is_file()
    # the meta-evaluation runs on the randomization examples, as the planner counted it
    assert plan["meta_evaluation"] and config.meta_evaluation.enabled
    assert config.meta_evaluation.examples == plan["randomization_examples"]
    assert frame["variant"].str.startswith("meta:").any()
    # the verdict and the report of the run folder, recorded in audit.json
    assert record["verdict"] == str(outcome.verdict) == str(out / "verdict.json")
    verdict = read_verdicts(outcome.verdict.read_text())[(Path(tiny_folders["bert"]).name, data.stem)]
    assert verdict.best and set(verdict.best) <= set(plan["methods"]) and verdict.summary
    assert record["report"] == str(outcome.report) and outcome.report.read_text().startswith("<!DOCTYPE html>")


def test_time_before_the_call_counts_against_the_budget(tmp_path: Path, tiny_folders, data: Path) -> None:
    with pytest.raises(FaithlabError, match="too small for this model"):
        run_audit(_request(tiny_folders["bert"], data, budget=60.0), tmp_path / "run", progress=False, elapsed=59.0)


def test_the_cli_prints_the_verdict_and_the_report(tmp_path: Path, tiny_folders, data: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["audit", "--model", str(tiny_folders["bert"]), "--data", str(data), "--out",
                                      str(out), "--text-col", "review", "--label-col", "label", "--methods",
                                      "grad_x_input", "--budget", "24h", "-q"])
    assert result.exit_code == 0, result.output
    verdict = next(iter(read_verdicts((out / "verdict.json").read_text()).values()))
    assert f"most faithful {verdict.leader}" in result.output and verdict.summary.split()[0] in result.output
    assert f"report: {out / 'report.html'}" in result.output and "within budget" in result.output


def test_a_benchmark_folder_is_not_taken_for_an_audit(tmp_path: Path, tiny_folders, data: Path) -> None:
    (tmp_path / "results.sqlite").write_bytes(b"")
    with pytest.raises(FaithlabError, match="holds a benchmark run that is not an audit"):
        run_audit(_request(tiny_folders["bert"], data), tmp_path, progress=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "fast"], "--budget 'fast' is not a duration"),
        (["--budget", "1s"], r"too small for this model: one example .* give at least --budget \d+s"),
        (["--reader", "sst2", "--text-col", "review"], "--text-col applies to --reader table only"),
        (["--methods", "ig,shapley"], "--methods: 'shapley' is not a method the audit runs; choose from random"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, tiny_folders, data: Path, args: list[str], message: str) -> None:
    base = ["audit", "--model", str(tiny_folders["bert"]), "--data", str(data), "--out", str(tmp_path / "run"), "-q",
            "--methods", ",".join(METHODS)]
    result = CliRunner().invoke(app, base + (args if "--text-col" in args else ["--text-col", "review", *args]))
    assert result.exit_code == 2
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("error: ") and re.search(message, line)
