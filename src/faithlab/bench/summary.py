"""Summaries of a benchmark run: method × metric tables with bootstrap intervals, each model's test accuracy
against chance, a per-model recommendation of the most faithful method, and per model and data set the verdict with
its confidence (`faithlab.evaluate.verdict`); the views (markdown, plots) are drawn by `faithlab.report`.

Recommendation rule (stated in every summary): among methods other than `random`, keep those whose mean beats the
random baseline on every faithfulness metric measured (ground-truth overlap, comprehensiveness, sufficiency,
leave-one-out Spearman); rank them by their average rank over those metrics (1 = best on a metric); break ties by
lower cost (seconds per explanation). Without a random baseline every method is eligible.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from faithlab.evaluate import get_metric, summarize
from faithlab.evaluate.verdict import build_verdict, verdict_markdown, verdicts_json
from faithlab.report.bench_plots import plot_adversarial, plot_architectures, plot_randomization, plot_sizes
from faithlab.report.bench_summary import markdown_summary
from faithlab.train.chance import CHANCE_RULE, is_near_chance, near_chance_warning

FAITHFULNESS_METRICS = ("gt_overlap", "comprehensiveness", "sufficiency", "loo_spearman")
RULE = (
    "most faithful = best average rank over the faithfulness metrics measured (gt_overlap, comprehensiveness, "
    "sufficiency, loo_spearman), among methods that beat the random baseline on each of them; ties go to the "
    "cheaper method"
)


def summary_table(frame: pd.DataFrame, resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Mean and 95% bootstrap interval per model, data set, metric, variant and method (NaN values left out)."""
    rows = []
    for key, group in frame.groupby(["model", "dataset", "metric", "variant", "method"], sort=False):
        summary = summarize(group["value"].to_numpy(dtype=float), resamples=resamples, seed=seed)
        metric = get_metric(key[2])
        rows.append(
            dict(zip(["model", "dataset", "metric", "variant", "method"], key, strict=True))
            | {
                "mean": summary.mean,
                "low": summary.low,
                "high": summary.high,
                "n": summary.n,
                "seconds": float(group["seconds"].mean()),
                "higher_is_better": metric.higher_is_better,
            }
        )
    return pd.DataFrame(rows)


def recommend(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per model: the most faithful method by the stated rule, its runner-up, and their costs."""
    out = {}
    plain = table[table["variant"] == ""]
    for model, group in plain.groupby("model", sort=False):
        metrics = [m for m in FAITHFULNESS_METRICS if m in set(group["metric"])]
        if not metrics:
            continue
        means = group.groupby(["method", "metric"])["mean"].mean().unstack()[metrics]
        cost = group.groupby("method")["seconds"].mean()
        eligible = means.index.drop("random", errors="ignore")
        if "random" in means.index:
            beats = [
                m
                for m in eligible
                if all(_better(metric, means.loc[m, metric], means.loc["random", metric]) for metric in metrics)
            ]
            eligible = pd.Index(beats) if beats else eligible
        ranks = pd.DataFrame(
            {
                metric: (means.loc[eligible, metric] * (-1 if get_metric(metric).higher_is_better else 1)).rank()
                for metric in metrics
            }
        )
        order = sorted(eligible, key=lambda m: (ranks.loc[m].mean(), cost.get(m, np.inf)))
        out[model] = {
            "rule": RULE,
            "metrics": metrics,
            "best": _pick(order, 0, ranks, cost, means),
            "runner_up": _pick(order, 1, ranks, cost, means),
        }
    return out


def _better(metric: str, value: float, baseline: float) -> bool:
    return value > baseline if get_metric(metric).higher_is_better else value < baseline


def _pick(order: list[str], i: int, ranks: pd.DataFrame, cost: pd.Series, means: pd.DataFrame) -> dict | None:
    if len(order) <= i:
        return None
    method = order[i]
    return {
        "method": method,
        "average_rank": float(ranks.loc[method].mean()),
        "seconds_per_explanation": float(cost.get(method, np.nan)),
        "means": {k: float(v) for k, v in means.loc[method].items()},
    }


def model_accuracy(models: dict[str, Any]) -> pd.DataFrame:
    """One row per model: test accuracy and chance accuracy (NaN where the run neither trained nor evaluated it),
    whether it is near chance (`faithlab.train.chance`), and the warning line for those that are."""
    rows = []
    for name, info in models.items():
        accuracy, chance = info.get("test_accuracy", np.nan), info.get("chance_accuracy", np.nan)
        near = bool(is_near_chance(accuracy, chance)) if pd.notna(accuracy) and pd.notna(chance) else None
        source = info.get("accuracy_source", "its own test set" if pd.notna(accuracy) else None)
        rows.append({"model": name, "test_accuracy": accuracy, "chance_accuracy": chance, "near_chance": near,
                     "measured_on": source, "warning": near_chance_warning(name, info) if near else None})
    columns = ["model", "test_accuracy", "chance_accuracy", "near_chance", "measured_on", "warning"]
    return pd.DataFrame(rows, columns=columns)


def write_summary(
    results: pd.DataFrame,
    folder: str | Path,
    models: dict[str, Any] | None = None,
    datasets: dict[str, Any] | None = None,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Path]:
    """Write summary.csv, summary.md, summary.json, recommendation.json, verdict.json and the plots; returns the
    paths.

    `datasets` is the runner's datasets.json: per data set, the examples used and what its reader kept and skipped.
    summary.json holds each model's accuracy (`model_accuracy`), the chance rule, the warnings about models near
    chance, the data sets' counts and the recommendation. verdict.json holds the verdict of every (model, data set)
    (`faithlab.evaluate.verdict.build_verdict`, meta-evaluation read from the run's meta rows), and summary.md ends
    with each verdict's section.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plots = folder / "plots"  # created by the first plot drawn: a run with nothing to plot leaves no empty folder
    models = models or {}
    table = summary_table(results, resamples, seed)
    recommendation = recommend(table)
    verdicts = build_verdict(results, resamples=resamples, seed=seed)
    accuracy = model_accuracy(models)
    data = dataset_counts(datasets or {})
    paths = {
        "csv": folder / "summary.csv",
        "markdown": folder / "summary.md",
        "json": folder / "summary.json",
        "recommendation": folder / "recommendation.json",
        "verdict": folder / "verdict.json",
    }
    table.to_csv(paths["csv"], index=False)
    if recommendation:  # none of the metrics the rule ranks was computed: no file rather than `{}`
        paths["recommendation"].write_text(json.dumps(recommendation, indent=2))
    else:
        del paths["recommendation"]
    if verdicts:
        paths["verdict"].write_text(verdicts_json(verdicts))
    else:
        del paths["verdict"]
    paths["json"].write_text(json.dumps(_json_summary(accuracy, recommendation) | {"datasets": datasets or {}},
                                        indent=2))
    verdict_section = "".join(f"\n{verdict_markdown(v)}" for v in verdicts.values())
    paths["markdown"].write_text(
        markdown_summary(table, recommendation, accuracy, rule=RULE, chance_rule=CHANCE_RULE, datasets=data)
        + (f"\n## Verdicts\n{verdict_section}" if verdicts else "")
    )
    for path in (
        plot_sizes(table, models, plots),
        plot_architectures(table, models, plots),
        plot_randomization(table, plots),
        plot_adversarial(table, plots),
    ):
        paths |= path
    return paths


def dataset_counts(datasets: dict[str, Any]) -> pd.DataFrame:
    """One row per data set: its reader, the examples used, the rows read and kept, and the skipped rows by reason."""
    rows = [
        {"dataset": name, "reader": info["reader"], "used": info["used"], "rows_read": info["rows_read"],
         "kept": info["kept"], "skipped": _reasons(info["skipped"])}
        for name, info in datasets.items()
    ]
    return pd.DataFrame(rows, columns=["dataset", "reader", "used", "rows_read", "kept", "skipped"])


def _reasons(skipped: list[dict[str, Any]]) -> str:
    # a reason may quote a separator such as 'premise|||hypothesis', which would split a markdown cell
    return "; ".join(f"{group['count']} x {group['reason']}" for group in skipped).replace("|", "\\|") or "none"


def _json_summary(accuracy: pd.DataFrame, recommendation: dict[str, dict[str, Any]]) -> dict[str, Any]:
    per_model = {
        row["model"]: {key: None if pd.isna(value) else value for key, value in row.items() if key != "model"}
        for row in accuracy.drop(columns="warning").to_dict("records")
    }
    warnings = [w for w in accuracy["warning"] if isinstance(w, str)]
    return {"accuracy": per_model, "chance_rule": CHANCE_RULE, "warnings": warnings, "recommendation": recommendation}
