"""The markdown summary of a benchmark run: warnings about models near chance first, each model's test accuracy,
the recommended method per model, the examples used of each data set, and one method × metric table per model and
data set."""

from __future__ import annotations

from typing import Any

import pandas as pd

from faithlab.report.tables import markdown_table


def markdown_summary(
    table: pd.DataFrame,
    recommendation: dict[str, dict[str, Any]],
    accuracy: pd.DataFrame,
    *,
    rule: str,
    chance_rule: str,
    datasets: pd.DataFrame | None = None,
) -> str:
    """summary.md's text.

    Args:
        table: the summary table (mean and interval per model, data set, metric, variant, method).
        recommendation: per model, the most faithful method and its runner-up (`bench.summary.recommend`).
        accuracy: one row per model: model, test_accuracy, chance_accuracy, near_chance, warning (NaN/None where
            the run did not train or evaluate the model).
        rule: the recommendation rule, stated under the title.
        chance_rule: when a model counts as near chance, stated with the accuracy table.
        datasets: one row per data set: dataset, reader, used (examples evaluated), rows_read, kept, skipped (by
            reason); None or empty leaves the section out.

    Returns:
        The markdown text; a near-chance model puts a warning line right under the title.
    """
    lines = ["# Benchmark summary", ""]
    warnings = [w for w in accuracy.get("warning", pd.Series(dtype=object)) if isinstance(w, str)]
    lines += [f"> **WARNING: {w}**" for w in warnings] + ([""] if warnings else [])
    lines += [f"Recommendation rule: {rule}.", ""]
    if not recommendation:
        lines.append("No recommendation: the run computed none of the metrics the rule ranks.")
    for model, rec in recommendation.items():
        best, second = rec["best"], rec["runner_up"]
        line = (
            f"- **{model}**: {best['method']} (average rank {best['average_rank']:.2f}, "
            f"{best['seconds_per_explanation']:.3f} s/explanation)"
        )
        if second:
            line += f"; runner-up {second['method']} ({second['seconds_per_explanation']:.3f} s)"
        lines.append(line)
    if not accuracy.empty:
        measured = "on the model's own test set where the run trained it, else on the benchmark's labelled examples"
        lines += ["", "## Model accuracy", "", f"Test accuracy {measured} (`measured_on`); {chance_rule}.", ""]
        lines.append(markdown_table(accuracy.drop(columns="warning").astype(object).fillna("n/a")))
    if datasets is not None and not datasets.empty:
        lines += ["", "## Data sets", "", "Examples used of the rows each reader kept, of the rows it read; rows "
                  "skipped by reason.", ""]
        lines.append(markdown_table(datasets))
    higher_is_better = dict(zip(table["metric"], table["higher_is_better"], strict=True))
    plain = table[table["variant"] == ""]
    for (model, dataset), group in plain.groupby(["model", "dataset"], sort=False):
        lines += ["", f"## {model} on {dataset}", "", "mean [95% CI]; ↑ higher is better, ↓ lower is better", ""]
        pivot = group.assign(cell=group.apply(_cell, axis=1)).pivot(index="method", columns="metric", values="cell")
        arrows = {m: f"{m} {'↑' if higher_is_better[m] else '↓'}" for m in pivot.columns}
        lines.append(markdown_table(pivot.rename(columns=arrows).fillna("").reset_index()))
    return "\n".join(lines) + "\n"


def _cell(row: pd.Series) -> str:
    if row["mean"] != row["mean"]:
        return "n/a"
    return f"{row['mean']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"
