"""Commands `faithlab train`, `faithlab ablate`, `faithlab zoo build` and `faithlab zoo train`.

`register(main_app)` mounts them on the main `faithlab` command, whose one error handler they share. Flags cover
the common settings; every other `TrainConfig` setting is `--set key=value` (dotted: `--set data.limit=500`), so
each default lives in the schema only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from faithlab.cli_options import (
    AcceptSkipped,
    Delimiter,
    Device,
    Encoding,
    Input,
    LabelCol,
    MaxSkipped,
    Model,
    Out,
    Overwrite,
    PairCol,
    Quiet,
    Reader,
    Resume,
    Sets,
    TextCol,
)
from faithlab.errors import FaithlabError
from faithlab.models.zoo import SIZES, ZOO_FAMILIES
from faithlab.schema import parse_assignments
from faithlab.train.zoo_train import ZOO_LIMIT

console = Console()
zoo_app = typer.Typer(help="Small models of every family and size, built and trained offline.", no_args_is_help=True)


def train_command(
    config: Annotated[Path | None, typer.Argument(help="YAML train config; flags and --set override it.")] = None,
    model: Model = None,
    data: Input = None,
    test: Annotated[Path | None, typer.Option("--test", help="Labelled test file (e.g. GLUE dev.tsv).")] = None,
    reader: Reader = None,
    encoding: Encoding = None,
    delimiter: Delimiter = None,
    text_col: TextCol = None,
    pair_col: PairCol = None,
    label_col: LabelCol = None,
    max_skipped: MaxSkipped = None,
    accept_skipped: AcceptSkipped = False,
    epochs: Annotated[int | None, typer.Option(help="Training epochs.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the splits, the head and the batches.")] = None,
    out: Out = None,
    new_head: Annotated[bool, typer.Option(help="Accept a base model and attach an untrained head.")] = False,
    device: Device = None,
    settings: Sets = None,
    resume: Resume = True,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Fine-tune a classifier; every artifact goes into one run folder.

    --input holds texts (planted task) or labelled examples (--set data.task=classify). Any other setting is
    --set key=value (e.g. --set batch_size=16 --set pooling=mean).
    """
    from faithlab.train.config import load_config
    from faithlab.train.trainer import train

    flags = {
        "model": model, "output_dir": out, "data.train": data, "data.test": test, "data.reader": reader,
        "data.encoding": encoding, "data.delimiter": delimiter,
        "data.text_column": text_col, "data.pair_column": pair_col, "data.label_column": label_col,
        "data.max_skipped": max_skipped, "data.accept_skipped": accept_skipped or None,
        "epochs": epochs, "learning_rate": lr, "seed": seed, "new_head": new_head or None,
        "progress": False if quiet else None, "device": device,
    }
    overrides = {key: _str(v) if isinstance(v, Path) else v for key, v in flags.items() if v is not None}
    overrides |= parse_assignments(settings or [])
    result = train(load_config(config, overrides), resume=resume, overwrite=overwrite)
    for read in result.reads:
        for line in read.lines():
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    metrics = result.metrics
    table = Table(title=f"test metrics ({metrics['n']} examples)")
    for name in ("accuracy", "f1_binary", "f1_macro", "brier", "ece", "nll"):
        if metrics[name] is not None:
            table.add_row(name, f"{metrics[name]:.4f}")
    console.print(table)
    console.print(f"best checkpoint: {result.best_dir} (epoch {result.best_epoch}); "
                  f"{result.tokens_per_second:,.0f} training tokens/s; run folder: {result.run_dir}")


def ablate_command(
    spec: Annotated[Path, typer.Argument(help="Ablation YAML (base + variations), or a train config with --vary.")],
    vary: Annotated[list[str] | None, typer.Option(
        "--vary", help="A variation as name:key=value,key=value (e.g. mean:pooling=mean); repeatable.")] = None,
    out: Out = None,
    device: Device = None,
    resume: Resume = True,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Train a config and named variations of it; print test accuracy and the delta against the base."""
    from faithlab.train.ablate import ablate, load_ablation
    from faithlab.train.config import TrainConfig, read_yaml

    raw = read_yaml(spec)
    if "variations" in raw or "base" in raw:
        base, variations = load_ablation(spec)
    else:
        base, variations = TrainConfig.from_dict(raw, f"config file '{spec}': "), {}
    for item in vary or []:
        name, sep, assignments = item.partition(":")
        if not sep:
            raise FaithlabError(f"--vary expects name:key=value[,key=value], got {item!r}")
        variations[name.strip()] = parse_assignments(assignments.split(","), "pooling=mean")
    changes = {"output_dir": str(out)} if out else {}
    if quiet:
        changes["progress"] = False
    if device is not None:
        changes["device"] = device
    table = ablate(base.with_overrides(changes), variations, resume=resume, overwrite=overwrite)
    _print_table(table.drop(columns="run_dir"), "ablation")


@zoo_app.command("build")
def zoo_build_command(
    out: Out = None,
    data: Input = None,
    text_col: TextCol = None,
    limit: Annotated[int | None, typer.Option(help="Seeded sample of this many texts.")] = ZOO_LIMIT,
    family: Annotated[list[str] | None, typer.Option(help=f"Families ({', '.join(ZOO_FAMILIES)}).")] = None,
    size: Annotated[list[str] | None, typer.Option(help=f"Sizes ({', '.join(SIZES)}).")] = None,
    seed: int = 0,
) -> None:
    """Build untrained models (in --out, default zoo) with tokenizers trained on the given texts."""
    from faithlab.train.task_data import load_splits
    from faithlab.train.zoo_train import build_zoo, zoo_data

    out = out or Path("zoo")
    splits = load_splits(zoo_data(data=_str(data), limit=limit, **_text_column(text_col)), seed)
    table = build_zoo(splits.train.texts, out, families=family or ZOO_FAMILIES, sizes=size or tuple(SIZES),
                      labels=splits.train.label_names, seed=seed)
    _print_table(table, f"zoo in {out}")  # the untrained zoo: eight short columns


@zoo_app.command("train")
def zoo_train_command(
    task: Annotated[str, typer.Option(help="planted (label word decides) or classify.")] = "planted",
    data: Input = None,
    out: Out = None,
    text_col: TextCol = None,
    limit: Annotated[int | None, typer.Option(help="Seeded sample of this many examples.")] = ZOO_LIMIT,
    family: Annotated[list[str] | None, typer.Option(help=f"Families ({', '.join(ZOO_FAMILIES)}).")] = None,
    size: Annotated[list[str] | None, typer.Option(help=f"Sizes ({', '.join(SIZES)}).")] = None,
    settings: Sets = None,
    device: Device = None,
    resume: Resume = True,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Build and train the whole zoo with the same trainer (into --out, default runs/zoo); print test accuracy per
    model."""
    from faithlab.train.zoo_train import train_zoo, zoo_data

    out = out or Path("runs/zoo")
    overrides = parse_assignments(settings or []) | ({"progress": False} if quiet else {})
    overrides |= {"device": device} if device is not None else {}
    table = train_zoo(zoo_data(task, _str(data), limit, **_text_column(text_col)), out,
                      families=family or ZOO_FAMILIES, sizes=size or tuple(SIZES), overrides=overrides,
                      resume=resume, overwrite=overwrite)
    shown = ["family", "size", "parameters", "tokenizer", "test_accuracy", "ece", "epochs_run", "train_seconds"]
    _print_table(table[shown], f"zoo on the {task} task")
    console.print(f"lowest test accuracy: {table['test_accuracy'].min():.4f}; table: {out / 'zoo.csv'}")


def _print_table(frame: pd.DataFrame, title: str) -> None:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _text_column(text_col: str | None) -> dict[str, str]:
    """The data setting of --text-col when given (otherwise the schema's default stays)."""
    return {} if text_col is None else {"text_column": text_col}


def register(main: typer.Typer) -> None:
    """Add `train`, `ablate` and the `zoo` group to the main `faithlab` command."""
    main.command("train")(train_command)
    main.command("ablate")(ablate_command)
    main.add_typer(zoo_app, name="zoo")
