"""The `faithlab` command: thin wrappers over `faithlab.jobs`, `faithlab.explain` and `faithlab.report`.

Bad input of any kind ends with one `error: ...` line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import faithlab
from faithlab import jobs
from faithlab.bench.cli import register as register_bench_command
from faithlab.errors import FaithlabError
from faithlab.explain import EXPLAINERS, explain_many
from faithlab.explain.io import iter_jsonl
from faithlab.models import load_classifier
from faithlab.report.terminal import print_explanations
from faithlab.train.cli import register as register_train_commands

app = typer.Typer(
    name="faithlab",
    help="Explain transformer text classifiers and measure how far each explanation can be trusted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str) -> None:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(2)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn faithlab's errors into one line on stderr and exit code 2."""
    try:
        yield
    except FaithlabError as exc:
        _fail(str(exc))


@contextlib.contextmanager
def _reading(what: str) -> Iterator[None]:
    """File and model reading: an unreadable file or undecodable text is bad input, not a bug."""
    try:
        yield
    except FaithlabError:
        raise
    except OSError as exc:
        raise FaithlabError(f"cannot read {exc.filename or what}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise FaithlabError(f"cannot read {what}: {exc}") from exc


def _version(value: bool) -> None:
    if value:
        typer.echo(f"faithlab {faithlab.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Explain transformer text classifiers and measure how far each explanation can be trusted."""


@app.command()
def explain(
    model: Annotated[str, typer.Option("--model", "-m", help="Model folder, Hub cache id or alias (minilm).")],
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to explain (or use --input).")] = None,
    methods: Annotated[str, typer.Option(help="Comma-separated methods, or 'all' (see `faithlab methods`).")] = "all",
    input_file: Annotated[
        Path | None, typer.Option("--input", "-i", help="CSV, TSV or JSONL file of texts.")
    ] = None,
    text_col: Annotated[str, typer.Option(help="Column of the texts in --input.")] = "text",
    pair_col: Annotated[str | None, typer.Option(help="Column of the pair texts (e.g. NLI hypotheses).")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for explanations.jsonl, report.html, summary.json.")] = None,
    target: Annotated[str, typer.Option(help="predicted, all, a label name or a label index.")] = "predicted",
    max_batch_tokens: Annotated[
        int, typer.Option(help="Largest batch (rows x tokens) of one model pass; passes with a backward use half.")
    ] = 4096,
    chunk_size: Annotated[int, typer.Option(help="Texts explained (and written) together.")] = 16,
    new_head: Annotated[bool, typer.Option(help="Attach an untrained head to a model that has none.")] = False,
    top: Annotated[int, typer.Option(help="Top tokens shown per method in the terminal.")] = 5,
    setting: Annotated[
        list[str] | None, typer.Option("--set", help="A method setting as method.key=value (repeatable).")
    ] = None,
) -> None:
    """Explain texts with one or more methods: print them, or write JSONL + HTML to --out (resumable)."""
    console = Console()
    with _user_errors():
        if input_file is not None and texts:
            raise FaithlabError("give texts as arguments or a file with --input, not both")
        if input_file is not None:
            if out is None:
                raise FaithlabError("--input needs --out DIR for the explanations")
            with _reading(str(input_file)):
                inputs = jobs.read_inputs(input_file, text_col, pair_col)
        else:
            inputs = jobs.check_texts(texts or [])
        names = jobs.resolve_methods(methods)
        settings = jobs.parse_settings(setting or [])
        with _reading(f"model '{model}'"):
            classifier = load_classifier(model, new_head=new_head, max_batch_tokens=max_batch_tokens)
        target = jobs.resolve_target(classifier, target)
        if out is None:
            unknown = [m for m in settings if m not in names]
            if unknown:
                raise FaithlabError(f"settings given for method '{unknown[0]}', which is not among {names}")
            requested = [(name, settings.get(name, {})) for name in names]
            results = explain_many(classifier, inputs.texts, requested, inputs.pairs, target)
            print_explanations((e for rows in results.values() for e in rows), console, k=top)
            return
        summary = jobs.run_explain_job(
            classifier, inputs, names, out, target=target, chunk_size=chunk_size, settings=settings
        )
        if input_file is None:
            print_explanations(iter_jsonl(Path(out) / jobs.JSONL_NAME), console, k=top)
        _print_summary(summary, console)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the report.")] = Path("runs/demo"),
    sample: Annotated[int, typer.Option(help="Number of held-out (or built-in) sentences to explain.")] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the sentence sample and of the untrained head.")] = 0,
    untrained: Annotated[bool, typer.Option(help="Skip fine-tuning: explain with an untrained head.")] = False,
) -> None:
    """Fine-tune minilm on the planted task (built-in sentences), explain held-out ones with every method."""
    console = Console()
    with _user_errors():
        if sample < 1:
            raise FaithlabError(f"--sample must be >= 1, got {sample}")
        note = jobs.DEMO_NOTE if untrained else jobs.DEMO_TRAINED_NOTE
        console.print(f"Note: {note}", style="bold yellow", markup=False, highlight=False)
        summary = jobs.run_demo(out, n=sample, seed=seed, untrained=untrained, console=console)
        _print_summary(summary, console)


@app.command("methods")
def list_methods() -> None:
    """List the registered explanation methods."""
    table = Table("method", "description", box=None, pad_edge=False, header_style="bold")
    for name, cls in EXPLAINERS.items():
        table.add_row(name, " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split()))
    Console().print(table)


def _print_summary(summary: jobs.JobSummary, console: Console) -> None:
    done = f" ({summary.resumed} already done)" if summary.resumed else ""
    console.print(
        f"explained {summary.explained} of {summary.texts} texts{done} with {', '.join(summary.methods)} "
        f"on {summary.model} in {summary.seconds:.1f} s",
        markup=False, highlight=False,
    )
    if summary.skipped_rows:
        console.print(f"skipped {summary.skipped_rows} empty or malformed input rows", markup=False)
    for warning, count in summary.warnings.items():
        console.print(f"warning ({count} explanations): {warning}", style="yellow", markup=False, highlight=False)
    for kind, path in summary.files.items():
        console.print(f"  {kind}: {path}", markup=False, highlight=False)


register_train_commands(app)  # faithlab train / ablate / zoo
register_bench_command(app)  # faithlab bench
