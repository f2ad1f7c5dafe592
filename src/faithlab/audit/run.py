"""Run an audit: calibrate on the user's model, choose a plan that fits the budget, and run it as a benchmark.

The run folder holds audit.json (the request, the calibration, the plan, the seconds each session took, where the
verdict and the report are), audit.yaml (the plan as a bench config, so `faithlab bench audit.yaml` reruns it) and
report.html (`faithlab report` of the folder), next to the bench runner's and the summary's files (verdict.json).
A re-run of the same request resumes from audit.json without calibrating again (so the plan, and the results, stay
the same); a different request into the same folder is refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from faithlab.audit.calibrate import Calibration, calibrate, candidates
from faithlab.audit.plan import Plan, choose_plan
from faithlab.bench.cli import summarize_run
from faithlab.bench.config import BenchConfig, parse_config
from faithlab.bench.runner import load_examples, run_benchmark
from faithlab.data.named import DELIMITED, READERS
from faithlab.errors import FaithlabError
from faithlab.models import load_classifier
from faithlab.report.run_report import write_report
from faithlab.runs import prepare_out_dir

AUDIT_JSON = "audit.json"
AUDIT_YAML = "audit.yaml"
VERDICT_JSON = "verdict.json"  # written by the bench summary where the verdict exists
REPORT_HTML = "report.html"
FINISH_SHARE = 0.05  # of the budget, kept for what follows the bench run: the summary, the verdict, the report
CALIBRATION_SHARE = 0.2  # at most this share of the budget goes to timing methods before the plan is made
CHUNK_SIZE = 10  # examples per resumable unit: a killed audit loses at most this many
CHECKPOINTS = ("best", "last")  # the folders `faithlab train` saves its checkpoints in


@dataclass(frozen=True)
class AuditRequest:
    """What the user asked for; two runs into one folder must ask for the same."""

    model: str
    data: str
    budget_seconds: float
    reader: str = "table"
    text_col: str | None = None
    pair_col: str | None = None
    label_col: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    methods: tuple[str, ...] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.reader not in READERS:
            raise FaithlabError(f"unknown --reader '{self.reader}'; choose one of {', '.join(READERS)}")
        columns = [flag for flag, v in (("--text-col", self.text_col), ("--pair-col", self.pair_col),
                                        ("--label-col", self.label_col)) if v is not None]
        if columns and self.reader != "table":
            raise FaithlabError(f"{columns[0]} applies to --reader table only, not to '{self.reader}'")
        if self.delimiter is not None and self.reader not in DELIMITED:
            raise FaithlabError(f"--delimiter applies to --reader {' and '.join(DELIMITED)} only, not '{self.reader}'")
        if not Path(self.data).is_file():
            raise FaithlabError(f"--data {self.data}: no such file")
        candidates(self.methods)  # an unknown name fails now, before the model loads
        if self.seed < 0:
            raise FaithlabError(f"--seed must be an integer >= 0, got {self.seed}")

    @property
    def model_name(self) -> str:
        """The model's name in the results: its folder's, or the run's for a `faithlab train` checkpoint."""
        path = Path(self.model)
        return (path.parent.name if path.name in CHECKPOINTS else path.name) or "model"

    def dataset_entry(self, examples: int) -> dict[str, Any]:
        """The bench config's data set entry: the reader, its options and the examples used."""
        options: dict[str, Any] = {"encoding": self.encoding, "delimiter": self.delimiter}
        if self.reader == "table":
            options |= {"text_column": self.text_col or "text", "pair_column": self.pair_col,
                        "label_column": self.label_col}
        options = {k: v for k, v in options.items() if v is not None}
        return {"name": Path(self.data).stem, "kind": self.reader, "path": self.data, "n": examples, "options": options}


@dataclass
class AuditOutcome:
    """Where an audit wrote what, and how long it took against its budget."""

    out: Path
    plan: Plan
    seconds: float
    within_budget: bool
    summary: Path
    verdict: Path | None
    report: Path


def run_audit(
    request: AuditRequest, out: str | Path, *, progress: bool = True, max_units: int | None = None,
    on_plan: Callable[[Plan, bool], None] | None = None, elapsed: float = 0.0,
) -> AuditOutcome:
    """Run (or resume) an audit into `out`.

    Args:
        request: the model, data and budget (paths are made absolute here).
        out: the run folder.
        progress: show the bench runner's progress bar.
        max_units: stop after this many bench units (to test resuming).
        on_plan: called with the `Plan` and whether it was resumed, before the run starts (to print it).
        elapsed: seconds this session spent before the call (the process's start-up and imports), counted against
            the budget like the rest.

    Returns:
        The `AuditOutcome`; audit.json records the same.

    Raises:
        FaithlabError: bad input, a budget too small for one example, or a folder holding another run.
    """
    start = time.perf_counter() - elapsed
    out = prepare_out_dir(out)
    record = _stored_record(out, request)
    resumed = record is not None
    if record is None:
        record = _plan_audit(request, out, start)
    plan = Plan(**record["plan"])
    if on_plan is not None:
        on_plan(plan, resumed)
    config = _bench_config(request, plan, out)
    run_benchmark(config, out, progress=progress, max_units=max_units)
    _, paths = summarize_run(out, config)
    verdict = out / VERDICT_JSON if (out / VERDICT_JSON).is_file() else None
    report = write_report([out], out / REPORT_HTML, title=f"faithlab audit: {request.model_name}")
    record["sessions"].append(round(time.perf_counter() - start, 1))
    record["actual_seconds"] = round(sum(record["sessions"]), 1)
    record["within_budget"] = record["actual_seconds"] <= request.budget_seconds
    record |= {"verdict": None if verdict is None else str(verdict), "report": str(report)}
    (out / AUDIT_JSON).write_text(json.dumps(record, indent=2))
    return AuditOutcome(out, plan, record["actual_seconds"], record["within_budget"], paths["markdown"], verdict,
                        report)


def _plan_audit(request: AuditRequest, out: Path, start: float) -> dict[str, Any]:
    """Load the model and data, calibrate, choose the plan; audit.json is written once the plan is known."""
    probe = parse_config({"models": [{"name": request.model_name, "path": request.model}],
                          "datasets": [request.dataset_entry(10**9)], "seed": request.seed}, base=out)
    examples = load_examples(probe.datasets[0], probe).examples
    if not examples:
        raise FaithlabError(f"--data {request.data}: no examples to audit")
    classifier = load_classifier(probe.models[0].path)
    limit = CALIBRATION_SHARE * request.budget_seconds - (time.perf_counter() - start)
    calibration: Calibration = calibrate(classifier, examples, candidates(request.methods), seed=request.seed,
                                         limit_seconds=limit)
    spent = time.perf_counter() - start + FINISH_SHARE * request.budget_seconds
    plan = choose_plan(calibration, request.budget_seconds, spent=spent, available=len(examples), meta_evaluation=True)
    record = {"request": asdict(request), "available_examples": len(examples), "calibration": calibration.to_dict(),
              "plan": plan.to_dict(), "sessions": []}
    (out / AUDIT_JSON).write_text(json.dumps(record, indent=2))
    return record


def _bench_config(request: AuditRequest, plan: Plan, out: Path) -> BenchConfig:
    """The plan as a bench config, written to audit.yaml."""
    raw: dict[str, Any] = {
        "models": [{"name": request.model_name, "path": request.model}],
        "datasets": [request.dataset_entry(plan.examples)],
        "methods": [{name: settings} for name, settings in plan.methods.items()],
        "metrics": [*plan.metrics, "randomization"],
        "seed": request.seed,
        "samples": {"examples": plan.examples, "randomization": plan.randomization_examples},
        "chunk_size": CHUNK_SIZE,
    }
    if plan.meta_evaluation:  # on the randomization examples, as the planner counted it
        raw["meta_evaluation"] = {"enabled": True, "examples": plan.randomization_examples}
    (out / AUDIT_YAML).write_text(yaml.safe_dump(raw, sort_keys=False))
    return parse_config(raw, base=out, source=str(out / AUDIT_YAML))


def _stored_record(out: Path, request: AuditRequest) -> dict[str, Any] | None:
    """The folder's audit.json when it holds this request; None for a fresh folder; refuses anything else."""
    path = out / AUDIT_JSON
    if not path.is_file():
        if (out / "results.sqlite").exists():
            raise FaithlabError(f"'{out}' holds a benchmark run that is not an audit; choose another --out")
        return None
    record = json.loads(path.read_text())
    asked = json.loads(json.dumps(asdict(request)))  # as stored (a tuple reads back as a list)
    changed = [key for key in asked if record["request"].get(key) != asked[key]]
    if changed:
        before = ", ".join(f"{k}={record['request'].get(k)!r}" for k in changed)
        now = ", ".join(f"{k}={asked[k]!r}" for k in changed)
        raise FaithlabError(f"'{out}' holds an audit with {before}; this command asks for {now}. Re-run the same "
                            "command to resume it, or choose another --out")
    return record
