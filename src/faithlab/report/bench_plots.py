"""Plots of a benchmark summary table: metric against model size (with 95% interval bands), per architecture,
under randomisation (from the unrandomised model on) and under attack.

Every method keeps one colour and marker in every figure (`faithlab.report.styles.method_style`), and every figure
is written as PNG and SVG side by side; the returned paths are the PNGs. Figures are built with matplotlib's object
API (`Figure` rendered by the Agg canvas, no pyplot), so drawing needs no display and switches no process-wide
backend. A plot with nothing to show writes no file, so a run without such results leaves no empty folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from faithlab.report.styles import method_style, save_figure

SIZE_ORDER = {"xs": 0, "s": 1, "m": 2, "l": 3}
NOTHING_RANDOMIZED = "none"


def plot_sizes(table: pd.DataFrame, models: dict[str, Any], plots: Path) -> dict[str, Path]:
    """Metric vs model size, one figure per family with at least two sizes, one line per method with its 95%
    interval as a band (the thesis' size comparison)."""
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
                style = method_style(str(method))
                ax.plot(group["order"], group["mean"], marker=style.marker, color=style.color, label=method)
                ax.fill_between(group["order"], group["low"], group["high"], color=style.color, alpha=0.15, lw=0)
            ax.set_xticks(list(SIZE_ORDER.values()), list(SIZE_ORDER))
            ax.set_xlabel(f"{family} model size")
            ax.set_ylabel(f"{metric} (mean, band: 95% interval)")
            ax.legend(fontsize=7, ncol=2)
            out[f"size_{family}_{metric}"] = _save(fig, plots / f"size_{family}_{metric}")
    return out


def plot_architectures(table: pd.DataFrame, models: dict[str, Any], plots: Path) -> dict[str, Path]:
    """Bars per method, one bar per model (architecture), with 95% interval whiskers."""
    out = {}
    plain = table[table["variant"] == ""]
    for metric in ("gt_overlap", "comprehensiveness"):
        data = plain[plain["metric"] == metric]
        if data.empty:
            continue
        labels = {m: f"{m} ({models.get(m, {}).get('family', '?')})" for m in data["model"].unique()}
        fig = Figure(figsize=(8, 4))
        ax = fig.subplots()
        _grouped_bars(ax, data.assign(model=data["model"].map(labels)), "method", "model")
        ax.set_ylabel(metric)
        out[f"architectures_{metric}"] = _save(fig, plots / f"architectures_{metric}")
    return out


def randomization_steps(group: pd.DataFrame) -> pd.DataFrame:
    """One method's cascading rows in the order of randomisation, after a first "nothing randomized" point.

    Cascading randomisation goes from the top block down (variant 'cascading:<lowest block randomised>'); the x
    axis counts the blocks randomised, so it reads forwards: 0 (the original model, Spearman 1 by definition: its
    explanation compared with itself), 1 (the top block), ... up to all blocks.

    Args:
        group: rows of one model and method with metric 'randomization_spearman'.

    Returns:
        Columns step (0, 1, ...), label, mean, low, high.
    """
    rows = group.assign(block=[int(v.split(":")[1]) for v in group["variant"]]).sort_values("block", ascending=False)
    first = pd.DataFrame([{"label": NOTHING_RANDOMIZED, "mean": 1.0, "low": 1.0, "high": 1.0}])
    steps = rows.assign(label=[f"to block {b}" for b in rows["block"]])[["label", "mean", "low", "high"]]
    return pd.concat([first, steps], ignore_index=True).assign(step=lambda f: range(len(f)))


def plot_randomization(table: pd.DataFrame, plots: Path) -> dict[str, Path]:
    """Spearman(original, randomised) against the number of top blocks randomised, from the unrandomised model on,
    one line (and 95% band) per method."""
    out = {}
    data = table[(table["metric"] == "randomization_spearman") & table["variant"].str.startswith("cascading")]
    for model, group in data.groupby("model", sort=False):
        fig = Figure(figsize=(7, 4))
        ax = fig.subplots()
        for method, rows in group.groupby("method"):
            steps = randomization_steps(rows)
            style = method_style(str(method))
            ax.plot(steps["step"], steps["mean"], marker=style.marker, color=style.color, label=method)
            ax.fill_between(steps["step"], steps["low"], steps["high"], color=style.color, alpha=0.12, lw=0)
        ax.set_xticks(steps["step"], steps["label"], rotation=30, ha="right")
        ax.set_xlabel("blocks randomised, from the top down (cascading)")
        ax.set_ylabel("Spearman with the original explanation")
        ax.axhline(0, color="grey", lw=0.5)
        ax.legend(fontsize=7, ncol=2)
        out[f"randomization_{model}"] = _save(fig, plots / f"randomization_{model}")
    return out


def plot_adversarial(table: pd.DataFrame, plots: Path) -> dict[str, Path]:
    """Top-k rank change per method under the unconstrained and the constrained attack (bars in method colours,
    hatched per attack)."""
    out = {}
    data = table[table["metric"] == "attack_rank_change"]
    for model, group in data.groupby("model", sort=False):
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        _grouped_bars(ax, group, "method", "variant")
        ax.set_ylabel("top-k rank change")
        out[f"adversarial_{model}"] = _save(fig, plots / f"adversarial_{model}")
    return out


HATCHES = ("", "//", "..", "xx", "\\\\", "++")


def _grouped_bars(ax: Axes, data: pd.DataFrame, group: str, bar: str) -> None:
    """One group of bars per `group` value (a method: its colour), one bar per `bar` value (told apart by hatch),
    each with its 95% interval whisker."""
    groups = sorted(data[group].unique())
    bars = list(dict.fromkeys(data[bar]))
    width = 0.8 / max(1, len(bars))
    for i, name in enumerate(bars):
        rows = data[data[bar] == name].set_index(group).reindex(groups)
        offset = (i - (len(bars) - 1) / 2) * width
        mean, low, high = (rows[c].to_numpy(dtype=float) for c in ("mean", "low", "high"))
        errors = np.abs(np.vstack([mean - low, high - mean]))
        ax.bar(np.arange(len(groups)) + offset, mean, width=width, yerr=errors, capsize=2, label=str(name),
               color=[method_style(str(g)).color for g in groups], hatch=HATCHES[i % len(HATCHES)],
               edgecolor="black", lw=0.4)
    ax.set_xticks(np.arange(len(groups)), [str(g) for g in groups], rotation=90)
    ax.set_xlabel(group)
    ax.legend(fontsize=7, title=bar)


def _save(fig: Figure, stem: Path) -> Path:
    """PNG and SVG; the PNG's path."""
    fig.tight_layout()
    return save_figure(fig, stem)[0]
