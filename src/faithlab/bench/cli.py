"""`faithlab bench`: run (or resume) a benchmark config and summarise it."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from faithlab.bench.config import BenchConfig, load_config
from faithlab.bench.runner import DATASETS_NAME, run_benchmark
from faithlab.bench.store import ResultStore
from faithlab.bench.summary import write_summary
from faithlab.cli_options import AcceptSkipped, MaxSkipped, Out, Quiet
from faithlab.errors import FaithlabError
from faithlab.schema import validate
from faithlab.train.config import SkipLimits

QUICK = "quick.yaml"


def bench_command(
    config: Annotated[Path | None, typer.Argument(help="YAML benchmark config (or use --quick).")] = None,
    out: Out = None,
    quick: Annotated[bool, typer.Option("--quick", help="The built-in quick profile (a few minutes on CPU).")] = False,
    summary_only: Annotated[bool, typer.Option(help="Only rebuild the summary of an existing run.")] = False,
    max_skipped: MaxSkipped = None,
    accept_skipped: AcceptSkipped = False,
    quiet: Quiet = False,
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
    if not summary_only:
        run_benchmark(parsed, out, progress=not quiet)
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


def register(main: typer.Typer) -> None:
    """Add `bench` to the main `faithlab` command (whose error handler it shares)."""
    main.command("bench")(bench_command)
