"""`faithlab audit`: which explanation can I trust for my model? One command, one time budget."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from faithlab.audit.budget import parse_budget, process_seconds
from faithlab.audit.plan import Plan
from faithlab.audit.run import AuditRequest, run_audit
from faithlab.cli_options import Delimiter, Encoding, Input, LabelCol, Model, Out, PairCol, Quiet, Reader, TextCol
from faithlab.errors import FaithlabError
from faithlab.evaluate.verdict import read_verdicts


def audit_command(
    model: Model = None,
    data: Input = None,
    text_col: TextCol = None,
    pair_col: PairCol = None,
    label_col: LabelCol = None,
    reader: Reader = None,
    encoding: Encoding = None,
    delimiter: Delimiter = None,
    methods: Annotated[str | None, typer.Option(
        help="Comma-separated methods to audit (default: all the audit runs); 'random' is always the baseline."
    )] = None,
    budget: Annotated[str, typer.Option(help="Time for the whole audit, e.g. 90s, 15m, 1h.")] = "15m",
    out: Out = None,
    seed: Annotated[int, typer.Option(help="Seed of every random choice (methods, metrics, baselines).")] = 0,
    quiet: Quiet = False,
) -> None:
    """Audit the explanation methods on your own model and data within a time budget.

    A short calibration on your model picks the examples, methods and sample budgets that fit --budget; the
    faithfulness metrics and the randomization sanity check then run as a resumable benchmark in --out (default
    runs/audit), which ends with verdict.json and report.html. Re-running the same command resumes it. The budget
    counts from the start of the process, start-up and imports included.
    """
    elapsed = process_seconds()
    if model is None or data is None:
        raise FaithlabError("give the model with --model and the data file with --data")
    console = Console()
    request = AuditRequest(
        model=model if model == "minilm" else str(Path(model).resolve()), data=str(data.resolve()),
        budget_seconds=parse_budget(budget), reader=reader or "table", text_col=text_col, pair_col=pair_col,
        label_col=label_col, encoding=encoding, delimiter=delimiter, seed=seed,
        methods=None if methods is None else tuple(m.strip() for m in methods.split(",") if m.strip()),
    )
    outcome = run_audit(request, out or Path("runs/audit"), progress=not quiet, elapsed=elapsed,
                        on_plan=lambda plan, resumed: _print_plan(console, plan, resumed, request.budget_seconds))
    kept = "within" if outcome.within_budget else "OVER"

    def say(text: str) -> None:  # plain (names are not rich markup), unwrapped (paths stay whole)
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    say(f"audit took {outcome.seconds:.0f} s of a {request.budget_seconds:.0f} s budget ({kept} budget); "
        f"summary: {outcome.summary}; report: {outcome.report}")
    if outcome.verdict is None:
        say("no verdict: no faithfulness metric was measured")
        return
    for verdict in read_verdicts(outcome.verdict.read_text()).values():
        tied = f"; tied with it: {', '.join(verdict.best[1:])}" if len(verdict.best) > 1 else ""
        say(f"verdict for {verdict.model} on {verdict.dataset}: most faithful {verdict.leader or 'none'}{tied}")
        say(verdict.summary)
    say(f"verdict: {outcome.verdict}")


def _print_plan(console: Console, plan: Plan, resumed: bool, budget: float) -> None:
    methods = ", ".join(f"{name}({', '.join(f'{k}={v}' for k, v in settings.items())})" if settings else name
                        for name, settings in plan.methods.items())
    console.print(
        f"{'resuming' if resumed else 'plan'}: {plan.examples} examples; methods {methods}; metrics "
        f"{', '.join(plan.metrics)} + randomization ({plan.randomization_examples} examples)"
        f"{' + meta-evaluation' if plan.meta_evaluation else ''}; estimated {plan.estimated_seconds:.0f} s of the "
        f"{budget:.0f} s budget", markup=False, highlight=False,
    )


def register(main: typer.Typer) -> None:
    """Add `audit` to the main `faithlab` command (whose error handler it shares)."""
    main.command("audit")(audit_command)
