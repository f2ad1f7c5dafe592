"""`faithlab bench`: run (or resume) a benchmark config and summarise it."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from faithlab.bench.config import load_config
from faithlab.bench.runner import run_benchmark
from faithlab.bench.store import ResultStore
from faithlab.bench.summary import write_summary
from faithlab.errors import FaithlabError

QUICK = "quick.yaml"


def bench_command(
    config: Annotated[Path | None, typer.Argument(help="YAML benchmark config (or use --quick).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder; a re-run resumes it.")] = Path("runs/bench"),
    quick: Annotated[bool, typer.Option("--quick", help="The built-in quick profile (a few minutes on CPU).")] = False,
    summary_only: Annotated[bool, typer.Option(help="Only rebuild the summary of an existing run.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Evaluate explanation methods across models and data sets; results go row by row to SQLite."""
    console = Console(stderr=True)
    try:
        if quick == (config is not None):
            raise FaithlabError("give a config file or --quick (not both)")
        source = resources.files("faithlab.bench") / QUICK if quick else config
        parsed = load_config(Path(str(source)))
        if not summary_only:
            run_benchmark(parsed, out, progress=not quiet)
        database = out / "results.sqlite"
        if not database.is_file():
            raise FaithlabError(f"{out} holds no results.sqlite; run the benchmark first")
        with ResultStore(database) as store:
            written = store.export(out)
            frame = store.frame()
        models = json.loads((out / "models.json").read_text()) if (out / "models.json").is_file() else {}
        paths = write_summary(frame, out, models, resamples=parsed.bootstrap_resamples, seed=parsed.seed)
    except FaithlabError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    Console().print(paths["markdown"].read_text())
    typer.echo(f"results: {', '.join(str(p) for p in written)}; summary: {paths['markdown']}")


def register(main: typer.Typer) -> None:
    main.command("bench")(bench_command)
