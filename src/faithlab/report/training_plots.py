"""Plots of a training run (PNG, with an SVG twin): training curves, confusion matrix, reliability diagram,
accuracy per slice.

Figures are built with matplotlib's object API (no pyplot), so nothing depends on a display or global state.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def plot_history(history: Sequence[dict[str, Any]], path: Path) -> Path:
    """Train and dev loss (left), dev accuracy (right) per epoch."""
    epochs = [row["epoch"] for row in history]
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    loss, accuracy = fig.subplots(1, 2)
    loss.plot(epochs, [row["train_loss"] for row in history], marker="o", label="train")
    loss.plot(epochs, [row["dev_loss"] for row in history], marker="o", label="dev")
    loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    loss.legend()
    accuracy.plot(epochs, [row["dev_accuracy"] for row in history], marker="o", color="tab:green")
    accuracy.set(xlabel="epoch", ylabel="accuracy", title="Dev accuracy", ylim=(0, 1.02))
    for axis in (loss, accuracy):
        axis.set_xticks(epochs)
        axis.grid(alpha=0.3)
    return _save(fig, path)


def plot_confusion(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: Path) -> Path:
    """Counts of (true, predicted) classes; the diagonal holds the correct predictions."""
    counts = np.asarray(matrix)
    size = 2.5 + 0.6 * len(labels)
    fig = Figure(figsize=(size + 1, size), layout="constrained")
    axis = fig.subplots()
    image = axis.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=axis)
    ticks = range(len(labels))
    axis.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true", title="Confusion matrix")
    axis.set_xticklabels(labels, rotation=45, ha="right")
    axis.set_yticklabels(labels)
    threshold = counts.max() / 2 if counts.size else 0
    for (row, col), value in np.ndenumerate(counts):
        axis.text(col, row, str(value), ha="center", va="center", color="white" if value > threshold else "black")
    return _save(fig, path)


def plot_reliability(bins: Sequence[dict[str, Any]], ece: float, path: Path) -> Path:
    """Accuracy against confidence per bin (bars) and the diagonal of perfect calibration; bar shade = bin size."""
    filled = [row for row in bins if row["count"]]
    width = bins[0]["upper"] - bins[0]["lower"]
    total = sum(row["count"] for row in filled)
    fig = Figure(figsize=(4.5, 4.5), layout="constrained")
    axis = fig.subplots()
    axis.plot([0, 1], [0, 1], ls="--", color="grey", label="perfect calibration")
    axis.bar(
        [row["lower"] for row in filled],
        [row["accuracy"] for row in filled],
        width=width,
        align="edge",
        edgecolor="black",
        color=[(0.12, 0.47, 0.71, 0.25 + 0.75 * row["count"] / total) for row in filled],
        label="accuracy in bin",
    )
    axis.plot([row["confidence"] for row in filled], [row["accuracy"] for row in filled], "o", color="tab:red",
              label="(mean confidence, accuracy)")
    axis.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy",
             title=f"Reliability ({len(bins)} bins, ECE {ece:.3f})")
    axis.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def plot_slice_accuracy(table: pd.DataFrame, path: Path) -> Path:
    """Accuracy per slice as horizontal bars, labelled with the slice size."""
    fig = Figure(figsize=(6, 1.2 + 0.35 * len(table)), layout="constrained")
    axis = fig.subplots()
    names = [f"{row.slice} (n={row.n})" for row in table.itertuples()]
    colors = ["tab:grey" if name == "all" else "tab:blue" for name in table["slice"]]
    axis.barh(names, table["accuracy"], color=colors)
    axis.invert_yaxis()
    axis.set(xlim=(0, 1.02), xlabel="accuracy", title="Accuracy per slice")
    axis.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    """The figure at `path` and as SVG beside it; returns `path`."""
    fig.savefig(path, dpi=110)
    fig.savefig(Path(path).with_suffix(".svg"))
    return path


def save_run_plots(
    folder: Path, history: Sequence[dict[str, Any]], metrics: dict[str, Any], slices: pd.DataFrame
) -> list[Path]:
    """All four plots of a run into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        plot_history(history, folder / "training_curves.png"),
        plot_confusion(metrics["confusion_matrix"], metrics["labels"], folder / "confusion_matrix.png"),
        plot_reliability(metrics["reliability"], metrics["ece"], folder / "reliability.png"),
        plot_slice_accuracy(slices, folder / "slice_accuracy.png"),
    ]
