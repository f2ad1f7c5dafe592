"""The options every `faithlab` command spells the same way, defined once and shared by all the command modules.

A command declares `out: Out = None` and gets `--out/-o` with the same help everywhere; defaults of settings that
also live in a config schema stay None here, so the schema's default is the only one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from faithlab.data.named import READERS

Out = Annotated[Path | None, typer.Option("--out", "-o", help="Run folder for everything the command writes.")]
Model = Annotated[str | None, typer.Option("--model", "-m", help="Model folder, Hub cache id or alias (minilm).")]
Input = Annotated[
    Path | None, typer.Option("--input", "--data", "-i", help="Data file (CSV, TSV, JSONL, or --reader's format).")
]
TextCol = Annotated[str | None, typer.Option("--text-col", help="Column of the texts in a table.")]
PairCol = Annotated[str | None, typer.Option("--pair-col", help="Column of the pair texts (e.g. NLI hypotheses).")]
LabelCol = Annotated[str | None, typer.Option("--label-col", help="Column of the labels in a table.")]
Reader = Annotated[str | None, typer.Option("--reader", help=f"How to read --input: {', '.join(READERS)}.")]
Encoding = Annotated[str | None, typer.Option(
    "--encoding", help="Encoding of --input (default utf-8; e.g. latin-1, cp1252)."
)]
Delimiter = Annotated[str | None, typer.Option(
    "--delimiter", help="What separates the fields of --input: a table's (default: its format's) or, for --reader "
    "label_sep, the text from its label (split at the last one)."
)]
Sets = Annotated[list[str] | None, typer.Option("--set", help="A setting as key=value (repeatable).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
Resume = Annotated[bool, typer.Option(help="Continue an unfinished run found in the output folder.")]
Overwrite = Annotated[bool, typer.Option(help="Delete the output folder first.")]
MaxSkipped = Annotated[float | None, typer.Option(
    "--max-skipped", help="Largest share (0-1) of malformed rows a reader may skip before the job stops (default 0.05)."
)]
AcceptSkipped = Annotated[bool, typer.Option(
    "--accept-skipped", help="Run on the rows kept even when a reader skipped more than --max-skipped."
)]
Device = Annotated[str | None, typer.Option(
    "--device", help="Where the model runs: auto (CUDA, then MPS, else CPU), cpu, cuda, cuda:N or mps (default auto)."
)]
Dtype = Annotated[str | None, typer.Option(
    "--dtype", help="Precision of the model: float32, bfloat16 or float16 (default float32); methods whose "
    "guarantees a low precision breaks refuse it."
)]
