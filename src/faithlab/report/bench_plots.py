"""Plots of a benchmark summary table (PNG): metric against model size, per architecture, under randomisation and
under attack.

Figures are built with matplotlib's object API (`Figure` rendered by the Agg canvas, no pyplot), so drawing needs
no display and switches no process-wide backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

SIZE_ORDER = {"xs": 0, "s": 1, "m": 2, "l": 3}


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
            fig = Figure(figsize=(7, 4))
            ax = fig.subplots()
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
        fig = Figure(figsize=(8, 4))
        ax = fig.subplots()
        _grouped_bars(ax, pivot)
        ax.set_ylabel(metric)
        ax.legend(fontsize=7)
        path = plots / f"architectures_{metric}.png"
        _save(fig, path)
        out[f"architectures_{metric}"] = path
    return out


def plot_randomization(table: pd.DataFrame, plots: Path) -> dict[str, Path]:
    """Spearman(original, randomised) per randomised layer, cascading from the top block down."""
    out = {}
    data = table[(table["metric"] == "randomization_spearman") & table["variant"].str.startswith("cascading")]
    for model, group in data.groupby("model", sort=False):
        fig = Figure(figsize=(7, 4))
        ax = fig.subplots()
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
    """Top-k rank change per method under the unconstrained and the constrained attack."""
    out = {}
    data = table[table["metric"] == "attack_rank_change"]
    for model, group in data.groupby("model", sort=False):
        pivot = group.pivot_table(index="method", columns="variant", values="mean")
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        _grouped_bars(ax, pivot)
        ax.set_ylabel("top-k rank change")
        path = plots / f"adversarial_{model}.png"
        _save(fig, path)
        out[f"adversarial_{model}"] = path
    return out


def _grouped_bars(ax: Axes, pivot: pd.DataFrame) -> None:
    """One group of bars per row of `pivot` (labelled by its index), one bar per column, as pandas draws them."""
    positions = np.arange(len(pivot.index))
    width = 0.5 / max(1, len(pivot.columns))
    for i, column in enumerate(pivot.columns):
        offset = (i - (len(pivot.columns) - 1) / 2) * width
        ax.bar(positions + offset, pivot[column].to_numpy(dtype=float), width=width, label=str(column))
    ax.set_xticks(positions, [str(label) for label in pivot.index], rotation=90)
    ax.set_xlabel(str(pivot.index.name or ""))
    ax.legend()


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
