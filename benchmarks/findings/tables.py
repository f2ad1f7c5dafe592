"""Condensed tables for FINDINGS.md from the result stores of the three findings runs.

Run from the repository root after the runs (see FINDINGS.md):
    python benchmarks/findings/tables.py runs/findings/planted_minilm runs/findings/zoo_planted runs/findings/nli_minilm
Each table is method × metric (mean over examples) per model and data set, plus randomization and attack summaries.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pandas as pd

from faithlab.train.ablate import markdown_table

MAIN = ["gt_overlap", "gt_mean_rank", "comprehensiveness", "sufficiency", "loo_spearman", "auc_morf", "morf_sharp"]
PLAUSIBILITY = ["plausibility_overlap", "plausibility_mean_rank", "auprc", "token_f1", "token_iou"]


def load(run: Path) -> pd.DataFrame:
    with sqlite3.connect(run / "results.sqlite") as db:
        return pd.read_sql("SELECT model, dataset, method, metric, variant, example, value FROM results", db)


def per_example_table(frame: pd.DataFrame, first: int | None) -> str:
    rows = frame[frame.variant == ""]
    if first is not None:
        rows = rows[rows.example < first]
    out = []
    for (model, dataset), part in rows.groupby(["model", "dataset"], sort=False):
        table = part.pivot_table(index="method", columns="metric", values="value", aggfunc="mean")
        columns = [c for c in [*MAIN, *PLAUSIBILITY] if c in table.columns]
        n = part.example.nunique()
        out.append(f"\n### {model} on {dataset} ({n} examples)\n\n{_md(table[columns])}")
    return "\n".join(out)


def randomization_table(frame: pd.DataFrame) -> str:
    rows = frame[frame.metric == "randomization_spearman"]
    if rows.empty:
        return ""
    rows = rows.assign(mode=rows.variant.str.split(":").str[0], layer=rows.variant.str.split(":").str[1])
    cascading = rows[rows["mode"] == "cascading"]
    table = cascading.pivot_table(index=["model", "method"], columns="layer", values="value", aggfunc="mean")
    return "\n### Cascading randomization: Spearman(original, randomized) per layer randomized\n\n" + (
        _md(table)
    )


def attack_table(frame: pd.DataFrame) -> str:
    rows = frame[frame.variant.isin(["unconstrained", "constrained"])]
    if rows.empty:
        return ""
    table = rows.pivot_table(index=["model", "method", "variant"], columns="metric", values="value", aggfunc="mean")
    return "\n### Adversarial top-k attack\n\n" + _md(table)


def _md(table: pd.DataFrame) -> str:
    flat = table.reset_index()
    flat.columns = [str(c) for c in flat.columns]
    return markdown_table(flat.round(3))


def main(args: list[str]) -> None:
    """Arguments: run folders; `--first N` keeps the first N examples of each model (equal sets across models)."""
    first = int(args[args.index("--first") + 1]) if "--first" in args else None
    runs = [a for i, a in enumerate(args) if a != "--first" and (i == 0 or args[i - 1] != "--first")]
    for run in map(Path, runs):
        frame = load(run)
        print(f"\n## {run.name}\n{per_example_table(frame, first)}")
        print(f"{randomization_table(frame)}\n{attack_table(frame)}")


if __name__ == "__main__":
    main(sys.argv[1:])
