"""Commands `faithlab train`, `faithlab ablate`, `faithlab zoo build` and `faithlab zoo train`.

`app` runs them on its own; `register(main_app)` mounts them on the main `faithlab` command.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from faithlab.errors import FaithlabError
from faithlab.models.zoo import SIZES, ZOO_FAMILIES
from faithlab.train.zoo_train import ZOO_LIMIT

console = Console()
app = typer.Typer(help="Fine-tune classifiers, run ablations, build and train the model zoo.", no_args_is_help=True)
zoo_app = typer.Typer(help="Small models of every family and size, built and trained offline.", no_args_is_help=True)


def _friendly(command: Callable[..., None]) -> Callable[..., None]:
    """Show a `FaithlabError` as one line and exit with code 2, as the main command does."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except FaithlabError as exc:
            Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from exc

    return run


Sets = Annotated[list[str] | None, typer.Option("--set", help="Any setting as key=value (dotted: data.limit=500).")]
Resume = Annotated[bool, typer.Option(help="Continue an unfinished run found in the output folder.")]
Overwrite = Annotated[bool, typer.Option(help="Delete the output folder first.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


@_friendly
def train_command(
    config: Annotated[Path | None, typer.Argument(help="YAML train config; flags override it.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model folder or alias (minilm).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Run folder.")] = None,
    task: Annotated[str | None, typer.Option(help="planted or classify.")] = None,
    data: Annotated[str | None, typer.Option(help="Training file (planted: texts; classify: labelled).")] = None,
    test: Annotated[str | None, typer.Option("--test", help="Labelled test file (e.g. GLUE dev.tsv).")] = None,
    reader: Annotated[str | None, typer.Option(help="table, sst2, mnli or emotion.")] = None,
    text_column: Annotated[str | None, typer.Option(help="Text column of a table.")] = None,
    pair_column: Annotated[str | None, typer.Option(help="Second-text column (pairs).")] = None,
    label_column: Annotated[str | None, typer.Option(help="Label column of a table.")] = None,
    limit: Annotated[int | None, typer.Option(help="Use a seeded sample of this many training examples.")] = None,
    epochs: Annotated[int | None, typer.Option()] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate.")] = None,
    weight_decay: Annotated[float | None, typer.Option()] = None,
    warmup_ratio: Annotated[float | None, typer.Option()] = None,
    max_grad_norm: Annotated[float | None, typer.Option(help="Gradient clipping norm.")] = None,
    label_smoothing: Annotated[float | None, typer.Option()] = None,
    dropout: Annotated[float | None, typer.Option()] = None,
    pooling: Annotated[str | None, typer.Option(help="auto, cls or mean.")] = None,
    max_length: Annotated[int | None, typer.Option()] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    monitor: Annotated[str | None, typer.Option(help="dev_loss or dev_accuracy (best checkpoint, stopping).")] = None,
    patience: Annotated[int | None, typer.Option(help="Stop after this many epochs without improvement.")] = None,
    save_steps: Annotated[int | None, typer.Option(help="Also checkpoint last/ every N steps.")] = None,
    new_head: Annotated[bool, typer.Option(help="Accept a base model and attach an untrained head.")] = False,
    settings: Sets = None,
    resume: Resume = True,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Fine-tune a classifier; every artifact goes into one run folder."""
    from faithlab.train.config import load_config, parse_assignments
    from faithlab.train.trainer import train

    flags = {
        "model": model, "output_dir": _str(output), "data.task": task, "data.train": data, "data.test": test,
        "data.reader": reader, "data.text_column": text_column, "data.pair_column": pair_column,
        "data.label_column": label_column, "data.limit": limit, "epochs": epochs, "batch_size": batch_size,
        "learning_rate": lr, "weight_decay": weight_decay, "warmup_ratio": warmup_ratio,
        "max_grad_norm": max_grad_norm, "label_smoothing": label_smoothing, "dropout": dropout, "pooling": pooling,
        "max_length": max_length, "seed": seed, "monitor": monitor, "patience": patience, "save_steps": save_steps,
    }
    overrides = {key: value for key, value in flags.items() if value is not None}
    if new_head:
        overrides["new_head"] = True
    if quiet:
        overrides["progress"] = False
    overrides |= parse_assignments(settings or [])
    result = train(load_config(config, overrides), resume=resume, overwrite=overwrite)
    metrics = result.metrics
    table = Table(title=f"test metrics ({metrics['n']} examples)")
    for name in ("accuracy", "f1_binary", "f1_macro", "brier", "ece", "nll"):
        if metrics[name] is not None:
            table.add_row(name, f"{metrics[name]:.4f}")
    console.print(table)
    console.print(f"best checkpoint: {result.best_dir} (epoch {result.best_epoch}); "
                  f"{result.tokens_per_second:,.0f} training tokens/s; run folder: {result.run_dir}")


@_friendly
def ablate_command(
    spec: Annotated[Path, typer.Argument(help="Ablation YAML (base + variations), or a train config with --vary.")],
    vary: Annotated[list[str] | None, typer.Option(
        "--vary", help="A variation as name:key=value,key=value (e.g. mean:pooling=mean); repeatable.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Folder for all runs and the table.")] = None,
    resume: Resume = True,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Train a config and named variations of it; print test accuracy and the delta against the base."""
    from faithlab.train.ablate import ablate, load_ablation
    from faithlab.train.config import TrainConfig, parse_assignments, read_yaml

    raw = read_yaml(spec)
    if "variations" in raw or "base" in raw:
        base, variations = load_ablation(spec)
    else:
        base, variations = TrainConfig.from_dict(raw), {}
    for item in vary or []:
        name, sep, assignments = item.partition(":")
        if not sep:
            raise FaithlabError(f"--vary expects name:key=value[,key=value], got {item!r}")
        variations[name.strip()] = parse_assignments(assignments.split(","))
    changes = {"output_dir": str(output)} if output else {}
    if quiet:
        changes["progress"] = False
    table = ablate(base.with_overrides(changes), variations, resume=resume, overwrite=overwrite)
    _print_table(table.drop(columns="run_dir"), "ablation")


@zoo_app.command("build")
@_friendly
def zoo_build_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the untrained models.")] = Path("zoo"),
    data: Annotated[str | None, typer.Option(help="Text file/table to train tokenizers on (default: built-in).")]
    = None,
    text_column: Annotated[str, typer.Option(help="Text column of the table.")] = "sentence",
    limit: Annotated[int | None, typer.Option(help="Seeded sample of this many texts.")] = ZOO_LIMIT,
    family: Annotated[list[str] | None, typer.Option(help=f"Families ({', '.join(ZOO_FAMILIES)}).")] = None,
    size: Annotated[list[str] | None, typer.Option(help=f"Sizes ({', '.join(SIZES)}).")] = None,
    seed: int = 0,
) -> None:
    """Build untrained models with tokenizers trained on the given texts."""
    from faithlab.train.task_data import load_splits
    from faithlab.train.zoo_train import build_zoo, zoo_data

    splits = load_splits(zoo_data(data=data, limit=limit, text_column=text_column), seed)
    table = build_zoo(splits.train.texts, output, families=family or ZOO_FAMILIES, sizes=size or tuple(SIZES),
                      labels=splits.train.label_names, seed=seed)
    _print_table(table, f"zoo in {output}")  # the untrained zoo: eight short columns


@zoo_app.command("train")
@_friendly
def zoo_train_command(
    task: Annotated[str, typer.Option(help="planted (label word decides) or classify.")] = "planted",
    data: Annotated[str | None, typer.Option(help="Training file, e.g. ../shared/data/sst2/train.tsv.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for models, runs and zoo.csv.")] = Path(
        "runs/zoo"),
    text_column: Annotated[str, typer.Option(help="Text column of the table.")] = "sentence",
    limit: Annotated[int | None, typer.Option(help="Seeded sample of this many examples.")] = ZOO_LIMIT,
    family: Annotated[list[str] | None, typer.Option(help=f"Families ({', '.join(ZOO_FAMILIES)}).")] = None,
    size: Annotated[list[str] | None, typer.Option(help=f"Sizes ({', '.join(SIZES)}).")] = None,
    settings: Sets = None,
    resume: Resume = True,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Build and train the whole zoo with the same trainer; print test accuracy per model."""
    from faithlab.train.config import parse_assignments
    from faithlab.train.zoo_train import train_zoo, zoo_data

    overrides = parse_assignments(settings or []) | ({"progress": False} if quiet else {})
    table = train_zoo(zoo_data(task, data, limit, text_column=text_column), output,
                      families=family or ZOO_FAMILIES, sizes=size or tuple(SIZES), overrides=overrides,
                      resume=resume, overwrite=overwrite)
    shown = ["family", "size", "parameters", "tokenizer", "test_accuracy", "ece", "epochs_run", "train_seconds"]
    _print_table(table[shown], f"zoo on the {task} task")
    console.print(f"lowest test accuracy: {table['test_accuracy'].min():.4f}; table: {output / 'zoo.csv'}")


def _print_table(frame: pd.DataFrame, title: str) -> None:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def register(main: typer.Typer) -> None:
    """Add `train`, `ablate` and the `zoo` group to the main `faithlab` command."""
    main.command("train")(train_command)
    main.command("ablate")(ablate_command)
    main.add_typer(zoo_app, name="zoo")


register(app)
