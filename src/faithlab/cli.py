"""The `faithlab` command: thin wrappers over `faithlab.jobs`, `faithlab.explain` and `faithlab.report`.

Every command (train, ablate, zoo and bench register theirs from their own modules) runs under ONE error handler,
`FaithlabGroup.invoke`: bad input of any kind ends with one `error: ...` line on stderr and exit code 2, never a
traceback. Options that mean the same thing are spelled the same on every command (`faithlab.cli_options`).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

import faithlab
from faithlab import jobs, study_outputs
from faithlab.audit.cli import register as register_audit_command
from faithlab.bench.cli import register as register_bench_command
from faithlab.cli_options import (
    AcceptSkipped,
    Delimiter,
    Device,
    Dtype,
    Encoding,
    Input,
    LabelCol,
    MaxSkipped,
    Model,
    Out,
    PairCol,
    Quiet,
    Reader,
    Sets,
    TextCol,
)
from faithlab.data import MAX_SKIPPED
from faithlab.data.text_file import DEFAULT_ENCODING
from faithlab.errors import FaithlabError
from faithlab.explain import EXPLAINERS, explain_many
from faithlab.explain.base import check_settings
from faithlab.explain.groups import read_groupings
from faithlab.explain.io import iter_jsonl
from faithlab.models import load_classifier
from faithlab.models.prompted import load_prompted
from faithlab.prompting import prompt_spec
from faithlab.report import run_report
from faithlab.report.terminal import print_explanations
from faithlab.schema import describe_fields
from faithlab.selection import Selection, parse_classes, select_inputs
from faithlab.serve.cli import register as register_serve_command
from faithlab.train.cli import register as register_train_commands

TEXT_COL = "text"  # explain's default text column


class FaithlabGroup(TyperGroup):
    """The command group whose `invoke` is faithlab's one error handler, for every command and sub-group."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except FaithlabError as exc:
            typer.echo(f"error: {' '.join(str(exc).split())}", err=True)  # one line, however long
            raise typer.Exit(2) from None


app = typer.Typer(
    name="faithlab",
    cls=FaithlabGroup,
    help="Explain transformer text classifiers and measure how far each explanation can be trusted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    model: Model = None,
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to explain (or use --input).")] = None,
    methods: Annotated[str, typer.Option(help="Comma-separated methods, or 'all' (see `faithlab methods`).")] = "all",
    input_file: Input = None,
    text_col: TextCol = None,
    pair_col: PairCol = None,
    reader: Reader = None,
    encoding: Encoding = None,
    delimiter: Delimiter = None,
    max_skipped: MaxSkipped = None,
    accept_skipped: AcceptSkipped = False,
    out: Out = None,
    target: Annotated[str, typer.Option(help="predicted, all, a label name or a label index.")] = "predicted",
    max_batch_tokens: Annotated[int | None, typer.Option(
        help="Largest batch (rows x tokens) of one model pass; passes with a backward use half (default 4096; on "
        "CUDA, from the free GPU memory).")] = None,
    device: Device = None,
    dtype: Dtype = None,
    chunk_size: Annotated[int, typer.Option(help="Texts explained (and written) together.")] = 16,
    new_head: Annotated[bool, typer.Option(help="Attach an untrained head to a model that has none.")] = False,
    top: Annotated[int, typer.Option(help="Top tokens shown per method in the terminal.")] = 5,
    show_special: Annotated[
        bool, typer.Option(help="Show special tokens ([CLS], [SEP], ...) and their scores in the terminal and report.")
    ] = False,
    setting: Sets = None,
    quiet: Quiet = False,
    label_col: LabelCol = None,
    select_predicted: Annotated[str | None, typer.Option(
        help="Explain only texts predicted as these classes (comma-separated names or indices).")] = None,
    select_label: Annotated[str | None, typer.Option(
        help="Explain only texts whose gold label is one of these (comma-separated; needs labels in --input).")] = None,
    first: Annotated[int | None, typer.Option(help="Explain the first N (selected) texts.")] = None,
    sample: Annotated[int | None, typer.Option(help="Explain a seeded sample of N (selected) texts.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of --sample.")] = 0,
    evaluate: Annotated[str | None, typer.Option(
        "--evaluate", help="Metrics or groups to evaluate into the run folder (e.g. curves,comprehensiveness,loo).")
    ] = None,
    attention_out: Annotated[Path | None, typer.Option(
        help="Write every layer's and head's attention matrices to this .npz or .safetensors file.")] = None,
    top_n: Annotated[int, typer.Option(
        help="Words per predicted class in top_words.csv (and at each end of loss_extremes.csv).")] = 20,
    prompt: Annotated[Path | None, typer.Option(
        help="YAML prompt (template, labels, examples, score): explain a causal LM as a zero/few-shot classifier."
    )] = None,
    prompt_template: Annotated[str | None, typer.Option(
        help="Prompt template with {text} (and {text_pair}) for a causal LM; overrides --prompt's."
    )] = None,
    label_words: Annotated[list[str] | None, typer.Option(
        help="CLASS=WORD per class (repeatable), the word as it follows the prompt (e.g. 'positive= good')."
    )] = None,
    groups: Annotated[Path | None, typer.Option(
        "--groups", help="JSONL of user features, one line per text: [[start, end], ...] character spans, or null; "
        "occlusion, LIME and KernelSHAP then remove the groups (unit 'group').")] = None,
) -> None:
    """Explain texts with one or more methods: print them, or write JSONL + HTML to --out (resumable).

    --set takes a method setting as method.key=value (e.g. ig.n_steps=32); `faithlab methods NAME` lists them.
    With --out, occlusion's per-word deletions go to deletions.csv (the --top-n most influential words per class to
    top_words.csv, and on output=loss the extremes to loss_extremes.csv), per-text bar plots to figures/,
    --evaluate's results to evaluation.csv and curves.json, and a selection's rows to selection.csv.
    A causal LM is explained as a prompted classifier with --prompt or --prompt-template and --label-words.
    """
    console = Console()
    if model is None:
        raise FaithlabError("give the model to explain with --model (a folder, Hub cache id or 'minilm')")
    if input_file is not None and texts:
        raise FaithlabError("give texts as arguments or a file with --input, not both")
    if input_file is not None:
        if out is None:
            raise FaithlabError("--input needs --out DIR for the explanations")
        with _reading(str(input_file)):
            inputs = jobs.read_inputs(input_file, text_col or TEXT_COL, pair_col, reader or "table",
                                      max_skipped=MAX_SKIPPED if max_skipped is None else max_skipped,
                                      accept_skipped=accept_skipped, encoding=encoding or DEFAULT_ENCODING,
                                      delimiter=delimiter, label_col=label_col)
    else:
        inputs = jobs.check_texts(texts or [])
    if groups is not None:
        inputs.groups = read_groupings(groups, len(inputs.texts))
    names = jobs.resolve_methods(methods)
    if top_n < 1:
        raise FaithlabError(f"--top-n must be at least 1, got {top_n}")
    settings = jobs.parse_settings(setting or [])
    unknown = [m for m in settings if m not in names]
    if unknown:
        raise FaithlabError(f"settings given for method '{unknown[0]}', which is not among {names}")
    for name, values in settings.items():
        check_settings(name, values)  # before the model loads
    spec = prompt_spec(prompt, prompt_template, label_words)
    if spec is not None and new_head:
        raise FaithlabError("--new-head attaches a classification head; a prompted causal LM needs none")
    with _reading(f"model '{model}'"):
        if spec is None:
            classifier = load_classifier(model, new_head=new_head, max_batch_tokens=max_batch_tokens,
                                         device=device or "auto", dtype=dtype or "float32")
        elif dtype not in (None, "float32"):
            raise FaithlabError("--dtype applies to sequence classifiers; a prompted causal LM runs in float32")
        else:
            classifier = load_prompted(model, spec, max_batch_tokens=max_batch_tokens, device=device or "auto")
    target = jobs.resolve_target(classifier, target)
    selection = Selection(parse_classes(select_predicted), parse_classes(select_label), first, sample, seed)
    selected = select_inputs(classifier, inputs, selection)
    inputs = selected.inputs
    if (evaluate or attention_out) and out is None:
        raise FaithlabError("--evaluate and --attention-out write into the run folder: give --out DIR")
    if out is None:
        requested = [(name, settings.get(name, {})) for name in names]
        results = explain_many(classifier, inputs.texts, requested, inputs.pairs, target, inputs.groups)
        print_explanations((e for rows in results.values() for e in rows), console, k=top, show_special=show_special)
        return
    summary = jobs.run_explain_job(
        classifier, inputs, names, out, target=target, chunk_size=chunk_size, settings=settings, progress=not quiet,
        show_special=show_special,
    )
    if input_file is None:
        print_explanations(iter_jsonl(Path(out) / jobs.JSONL_NAME), console, k=top, show_special=show_special)
    summary.files |= study_outputs.write_all(
        classifier, Path(out), selected, names, evaluate=evaluate, attention_out=attention_out, top_n=top_n,
        console=console,
    )
    jobs.write_summary(summary)
    _print_summary(summary, console)


@app.command()
def demo(
    out: Out = None,
    sample: Annotated[int, typer.Option(help="Number of held-out (or built-in) sentences to explain.")] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the sentence sample and of the untrained head.")] = 0,
    untrained: Annotated[bool, typer.Option(help="Skip fine-tuning: explain with an untrained head.")] = False,
    device: Device = None,
    quiet: Quiet = False,
) -> None:
    """Fine-tune minilm on the planted task (built-in sentences), explain held-out ones with every method
    (report in --out, default runs/demo)."""
    console = Console()
    if sample < 1:
        raise FaithlabError(f"--sample must be >= 1, got {sample}")
    note = jobs.DEMO_NOTE if untrained else jobs.DEMO_TRAINED_NOTE
    console.print(f"Note: {note}", style="bold yellow", markup=False, highlight=False)
    summary = jobs.run_demo(
        out or Path("runs/demo"), n=sample, seed=seed, untrained=untrained, console=console, progress=not quiet,
        device=device or "auto",
    )
    _print_summary(summary, console)


@app.command("methods")
def list_methods(
    name: Annotated[str | None, typer.Argument(help="A method: show its description and settings.")] = None,
) -> None:
    """List the registered explanation methods, or describe one with its settings (type, default, choices)."""
    console = Console()
    if name is not None:
        cls = EXPLAINERS.get(name.strip().lower())
        if cls is None:
            raise FaithlabError(f"unknown method '{name}'; available: {', '.join(EXPLAINERS)}")
        console.print(inspect.cleandoc(cls.__doc__ or ""), markup=False, highlight=False)
        table = Table("setting", "type", "default", "choices", box=None, pad_edge=False, header_style="bold")
        for row in describe_fields(cls.Settings):
            table.add_row(*row)
        console.print(table if cls.Settings.model_fields else "settings: none", markup=False, highlight=False)
        return
    table = Table("method", "description", box=None, pad_edge=False, header_style="bold")
    for method, cls in EXPLAINERS.items():
        table.add_row(method, " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split()))
    console.print(table)


@app.command()
def report(
    runs: Annotated[list[Path], typer.Argument(help="Run folders: explain, train or bench (any mix).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
    title: Annotated[str, typer.Option(help="The page title.")] = "faithlab report",
    max_texts: Annotated[int, typer.Option(help="Most texts shown per explain run.")] = run_report.MAX_TEXTS,
    aggregation: Annotated[str, typer.Option(help="Word level: merge token scores by sum, mean or absmax.")] = "sum",
) -> None:
    """Write one self-contained HTML report (no network, strict Content-Security-Policy) of any run folders."""
    with _reading("the run folders"):
        path = run_report.write_report(runs, out, title=title, max_texts=max_texts, aggregation=aggregation)
    typer.echo(f"report: {path} ({path.stat().st_size / 1e6:.1f} MB)")


def _print_summary(summary: jobs.JobSummary, console: Console) -> None:
    done = f" ({summary.resumed} already done)" if summary.resumed else ""
    console.print(
        f"explained {summary.explained} of {summary.texts} texts{done} with {', '.join(summary.methods)} "
        f"on {summary.model} in {summary.seconds:.1f} s",
        markup=False, highlight=False,
    )
    for warning, count in summary.warnings.items():
        console.print(f"warning ({count} explanations): {warning}", style="yellow", markup=False, highlight=False)
    for kind, path in summary.files.items():
        console.print(f"  {kind}: {path}", markup=False, highlight=False)


register_train_commands(app)  # faithlab train / ablate / zoo
register_bench_command(app)  # faithlab bench
register_audit_command(app)  # faithlab audit
register_serve_command(app)  # faithlab serve
