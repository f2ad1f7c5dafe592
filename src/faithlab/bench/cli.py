"""`faithlab bench`: run (or resume) a benchmark config and summarise it."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from faithlab.bench.config import BenchConfig, load_config
from faithlab.bench.plan import BenchPlan, plan_benchmark
from faithlab.bench.ray_backend import RayBackend
from faithlab.bench.runner import DATASETS_NAME, run_benchmark
from faithlab.bench.store import ResultStore
from faithlab.bench.summary import write_summary
from faithlab.cli_options import AcceptSkipped, Device, Dtype, MaxSkipped, Out, Quiet
from faithlab.errors import FaithlabError
from faithlab.explain.perturbation import check_choice
from faithlab.models.devices import check_device_name, dtype_name, resolve_dtype
from faithlab.schema import validate
from faithlab.train.config import SkipLimits

QUICK = "quick.yaml"
BACKENDS = ("in-process", "ray")


def bench_command(
    config: Annotated[Path | None, typer.Argument(help="YAML benchmark config (or use --quick).")] = None,
    out: Out = None,
    quick: Annotated[bool, typer.Option("--quick", help="The built-in quick profile (a few minutes on CPU).")] = False,
    summary_only: Annotated[bool, typer.Option(help="Only rebuild the summary of an existing run.")] = False,
    plan: Annotated[bool, typer.Option(
        "--plan", help="Print every unit with its model passes and estimated time; run and train nothing.")] = False,
    max_skipped: MaxSkipped = None,
    accept_skipped: AcceptSkipped = False,
    device: Device = None,
    dtype: Dtype = None,
    quiet: Quiet = False,
    backend: Annotated[str, typer.Option(help=f"Where units run: {', '.join(BACKENDS)} (Ray: the 'ray' extra).")] = (
        "in-process"
    ),
    address: Annotated[str | None, typer.Option(
        help="With --backend ray: a running Ray cluster's address (default: a private local instance)."
    )] = None,
    workers: Annotated[int, typer.Option(help="With --backend ray: workers per model, each holding the model.")] = 1,
) -> None:
    """Evaluate explanation methods across models and data sets; results go row by row to SQLite.

    Each data set's `kind` is its reader. Results go to --out (default runs/bench); a re-run resumes it.
    """
    out = out or Path("runs/bench")
    if quick == (config is not None):
        raise FaithlabError("give a config file or --quick (not both)")
    source = resources.files("faithlab.bench") / QUICK if quick else config
    parsed = load_config(Path(str(source)))
    flags = {"max_skipped": max_skipped, "accept_skipped": accept_skipped or None}
    limits = parsed.data.model_dump() | {k: v for k, v in flags.items() if v is not None}
    parsed = parsed.model_copy(update={"data": validate(SkipLimits, limits, "--max-skipped: ")})
    if device is not None:
        parsed = parsed.model_copy(update={"device": check_device_name(device).group(0)})
    if dtype is not None:
        parsed = parsed.model_copy(update={"dtype": dtype_name(resolve_dtype(dtype))})
    if plan:
        print_plan(plan_benchmark(parsed, out), Console())
        return
    if not summary_only:
        _run(parsed, out, not quiet, backend, address, workers)
    written, paths = summarize_run(out, parsed)
    Console().print(paths["markdown"].read_text())
    typer.echo(f"results: {', '.join(str(p) for p in written)}; summary: {paths['markdown']}")


def summarize_run(out: Path, config: BenchConfig) -> tuple[list[Path], dict[str, Path]]:
    """Export a run folder's results (CSV, Parquet) and write its summary; returns (results files, summary files).

    Raises:
        FaithlabError: the folder holds no results yet.
    """
    database = out / "results.sqlite"
    if not database.is_file():
        raise FaithlabError(f"{out} holds no results.sqlite; run the benchmark first")
    with ResultStore(database) as store:
        written = store.export(out)
        frame = store.frame()
    models = json.loads((out / "models.json").read_text()) if (out / "models.json").is_file() else {}
    datasets = json.loads((out / DATASETS_NAME).read_text()) if (out / DATASETS_NAME).is_file() else {}
    paths = write_summary(frame, out, models, datasets, resamples=config.bootstrap_resamples, seed=config.seed)
    return written, paths


def _run(config: BenchConfig, out: Path, progress: bool, backend: str, address: str | None, workers: int) -> None:
    check_choice("--backend", backend, BACKENDS)
    if backend == "in-process":
        if address is not None or workers != 1:
            raise FaithlabError("--address and --workers go with --backend ray")
        run_benchmark(config, out, progress=progress)
        return
    with RayBackend(address, workers=workers) as ray_backend:
        run_benchmark(config, out, progress=progress, backend=ray_backend)


def print_plan(plan: BenchPlan, console: Console) -> None:
    """The plan as one table of units, then the calibration and the training each model needs first."""
    table = Table(title="benchmark plan (nothing was run)")
    for column, key in (("model", "model"), ("data set", "dataset"), ("unit", "unit")):  # names whole, never cut
        widest = max((len(str(getattr(u, key))) for u in plan.units), default=0)
        table.add_column(column, no_wrap=True, min_width=widest)
    for column in ("fwd rows", "bwd rows", "tokens", "est. s"):
        table.add_column(column, no_wrap=True, justify="right")
    table.add_column("notes", overflow="fold")
    for unit in plan.units:
        p = unit.passes
        table.add_row(unit.model, unit.dataset, unit.unit, f"{p.forward_rows:,}", f"{p.backward_rows:,}",
                      f"{p.forward_tokens + p.backward_tokens:,}", "done" if unit.done else f"{unit.seconds:.1f}",
                      "; ".join(sorted(p.notes)))
    console.print(table)
    for model in plan.models:
        c = model.calibration
        console.print(f"{model.name}: calibrated on {c.device} (forward {c.forward_per_token * 1e6:.1f} µs/token + "
                      f"{c.forward_overhead * 1e3:.1f} ms/chunk, backward {c.backward_per_token * 1e6:.1f} µs/token + "
                      f"{c.backward_overhead * 1e3:.1f} ms/chunk, budget {c.max_batch_tokens} tokens)"
                      + (f"; trains first: {model.training}, about {model.training_seconds:.0f} s" if model.training
                         else ""), markup=False, highlight=False)
    console.print(f"estimated total: {plan.seconds / 60:.1f} min for {sum(not u.done for u in plan.units)} units to "
                  "run", markup=False, highlight=False)


def register(main: typer.Typer) -> None:
    """Add `bench` to the main `faithlab` command (whose error handler it shares)."""
    main.command("bench")(bench_command)
