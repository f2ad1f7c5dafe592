"""Summaries of a benchmark run: method × metric tables with bootstrap intervals, the thesis-style plots, and a
per-model recommendation of the most faithful method.

Recommendation rule (stated in every summary): among methods other than `random`, keep those whose mean beats the
random baseline on every faithfulness metric measured (ground-truth overlap, comprehensiveness, sufficiency,
leave-one-out Spearman); rank them by their average rank over those metrics (1 = best on a metric); break ties by
lower cost (seconds per explanation). Without a random baseline every method is eligible.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from faithlab.evaluate import get_metric, summarize
from faithlab.train.ablate import markdown_table

FAITHFULNESS_METRICS = ("gt_overlap", "comprehensiveness", "sufficiency", "loo_spearman")
SIZE_ORDER = {"xs": 0, "s": 1, "m": 2, "l": 3}
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


def write_summary(
    results: pd.DataFrame,
    folder: str | Path,
    models: dict[str, Any] | None = None,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Path]:
    """Write summary.csv, summary.md, recommendation.json and the plots; returns the paths."""
    folder = Path(folder)
    plots = folder / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    table = summary_table(results, resamples, seed)
    recommendation = recommend(table)
    paths = {
        "csv": folder / "summary.csv",
        "markdown": folder / "summary.md",
        "recommendation": folder / "recommendation.json",
    }
    table.to_csv(paths["csv"], index=False)
    paths["recommendation"].write_text(json.dumps(recommendation, indent=2))
    paths["markdown"].write_text(markdown_summary(table, recommendation))
    models = models or {}
    for path in (
        plot_sizes(table, models, plots),
        plot_architectures(table, models, plots),
        plot_randomization(table, plots),
        plot_adversarial(table, plots),
    ):
        paths |= path
    return paths


def markdown_summary(table: pd.DataFrame, recommendation: dict[str, dict[str, Any]]) -> str:
    lines = ["# Benchmark summary", "", f"Recommendation rule: {RULE}.", ""]
    for model, rec in recommendation.items():
        best, second = rec["best"], rec["runner_up"]
        line = (
            f"- **{model}**: {best['method']} (average rank {best['average_rank']:.2f}, "
            f"{best['seconds_per_explanation']:.3f} s/explanation)"
        )
        if second:
            line += f"; runner-up {second['method']} ({second['seconds_per_explanation']:.3f} s)"
        lines.append(line)
    plain = table[table["variant"] == ""]
    for (model, dataset), group in plain.groupby(["model", "dataset"], sort=False):
        lines += ["", f"## {model} on {dataset}", "", "mean [95% CI]; ↑ higher is better, ↓ lower is better", ""]
        pivot = group.assign(cell=group.apply(_cell, axis=1)).pivot(index="method", columns="metric", values="cell")
        arrows = {m: f"{m} {'↑' if get_metric(m).higher_is_better else '↓'}" for m in pivot.columns}
        lines.append(markdown_table(pivot.rename(columns=arrows).fillna("").reset_index()))
    return "\n".join(lines) + "\n"


def _cell(row: pd.Series) -> str:
    if row["mean"] != row["mean"]:
        return "n/a"
    return f"{row['mean']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"


def plot_sizes(table: pd.DataFrame, models: dict[str, Any], plots: Path) -> dict[str, Path]:
    """Metric vs model size, one figure per family with at least two sizes, one line per method (the thesis' size
    comparison)."""
    out = {}
    sized = {name: info for name, info in models.items() if info.get("size") in SIZE_ORDER}
    families: dict[str, list[str]] = {}
    for name, info in sized.items():
        families.setdefault(str(info.get("family", "?")), []).append(name)
    for family, names in families.items():
        if len({sized[n]["size"] for n in names}) < 2:
            continue
        plain = table[(table["variant"] == "") & table["model"].isin(names)]
        for metric in ("gt_overlap", "comprehensiveness", "sufficiency"):
            data = plain[plain["metric"] == metric]
            if data.empty:
                continue
            fig, ax = plt.subplots(figsize=(7, 4))
            for method, group in data.groupby("method"):
                order = [SIZE_ORDER[sized[m]["size"]] for m in group["model"]]
                group = group.assign(order=order).sort_values("order")
                ax.plot(group["order"], group["mean"], marker="o", label=method)
            ax.set_xticks(list(SIZE_ORDER.values()), list(SIZE_ORDER))
            ax.set_xlabel(f"{family} model size")
            ax.set_ylabel(metric)
            ax.legend(fontsize=7, ncol=2)
            path = plots / f"size_{family}_{metric}.png"
            _save(fig, path)
            out[f"size_{family}_{metric}"] = path
    return out


def plot_architectures(table: pd.DataFrame, models: dict[str, Any], plots: Path) -> dict[str, Path]:
    """Bars per model (architecture), grouped by method."""
    out = {}
    plain = table[table["variant"] == ""]
    for metric in ("gt_overlap", "comprehensiveness"):
        data = plain[plain["metric"] == metric]
        if data.empty:
            continue
        pivot = data.pivot_table(index="method", columns="model", values="mean")
        pivot.columns = [f"{m} ({models.get(m, {}).get('family', '?')})" for m in pivot.columns]
        ax = pivot.plot.bar(figsize=(8, 4))
        ax.set_ylabel(metric)
        ax.legend(fontsize=7)
        path = plots / f"architectures_{metric}.png"
        _save(ax.figure, path)
        out[f"architectures_{metric}"] = path
    return out


def plot_randomization(table: pd.DataFrame, plots: Path) -> dict[str, Path]:
    """Spearman(original, randomised) per randomised layer, cascading from the top block down."""
    out = {}
    data = table[(table["metric"] == "randomization_spearman") & table["variant"].str.startswith("cascading")]
    for model, group in data.groupby("model", sort=False):
        fig, ax = plt.subplots(figsize=(7, 4))
        for method, rows in group.groupby("method"):
            ax.plot(range(len(rows)), rows["mean"], marker="o", label=method)
            ticks = [v.split(":")[1] for v in rows["variant"]]
        ax.set_xticks(range(len(ticks)), ticks)
        ax.set_xlabel("randomised down to block")
        ax.set_ylabel("Spearman with original")
        ax.axhline(0, color="grey", lw=0.5)
        ax.legend(fontsize=7, ncol=2)
        path = plots / f"randomization_{model}.png"
        _save(fig, path)
        out[f"randomization_{model}"] = path
    return out


def plot_adversarial(table: pd.DataFrame, plots: Path) -> dict[str, Path]:
    out = {}
    data = table[table["metric"] == "attack_rank_change"]
    for model, group in data.groupby("model", sort=False):
        pivot = group.pivot_table(index="method", columns="variant", values="mean")
        ax = pivot.plot.bar(figsize=(6, 4))
        ax.set_ylabel("top-k rank change")
        path = plots / f"adversarial_{model}.png"
        _save(ax.figure, path)
        out[f"adversarial_{model}"] = path
    return out


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
