"""One fixed colour and marker per explanation method, the same in every figure; and figure/table export.

Every registered method has its own entry (no two share a colour or a marker), so a method reads the same across
the thesis' size, architecture, randomization and adversarial plots. A method registered later (or an ensemble
named after its members) gets a stable fallback from a second palette, keyed by its name.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from faithlab.errors import FaithlabError


@dataclass(frozen=True)
class MethodStyle:
    """How a method is drawn: a colour (hex) and a matplotlib marker."""

    color: str
    marker: str


# Distinct hues chosen by hand (Okabe-Ito and Tableau picks): no two registered methods look alike.
METHOD_STYLES: dict[str, MethodStyle] = {
    "attention_sum": MethodStyle("#1f77b4", "o"),
    "attention_mean": MethodStyle("#17becf", "s"),
    "rollout": MethodStyle("#9467bd", "^"),
    "random": MethodStyle("#7f7f7f", "x"),
    "ensemble": MethodStyle("#000000", "*"),
    "gradient": MethodStyle("#bcbd22", "v"),
    "gradient_abs": MethodStyle("#8c564b", "<"),
    "grad_x_input": MethodStyle("#2ca02c", ">"),
    "ig": MethodStyle("#d62728", "D"),
    "kernel_shap": MethodStyle("#ff7f0e", "P"),
    "lime": MethodStyle("#e377c2", "h"),
    "lrp": MethodStyle("#004d40", "p"),
    "occlusion": MethodStyle("#f0c000", "X"),
}
_FALLBACK_COLORS = ("#6a3d9a", "#b15928", "#a6cee3", "#fb9a99", "#33a02c", "#cab2d6", "#fdbf6f", "#1b9e77")
_FALLBACK_MARKERS = ("d", "H", "8", "1", "2", "3", "4", "+")
FIGURE_FORMATS = ("png", "svg")


def method_style(method: str) -> MethodStyle:
    """The fixed style of `method`; a name outside the registry (an ensemble variant such as 'ensemble_all') gets a
    stable fallback picked by its name's hash from colours and markers no registered method uses.

    Args:
        method: a method name as results record it.

    Returns:
        Its `MethodStyle`.
    """
    if method in METHOD_STYLES:
        return METHOD_STYLES[method]
    digest = int(hashlib.sha256(method.encode()).hexdigest(), 16)
    return MethodStyle(_FALLBACK_COLORS[digest % len(_FALLBACK_COLORS)],
                       _FALLBACK_MARKERS[(digest // len(_FALLBACK_COLORS)) % len(_FALLBACK_MARKERS)])


def save_figure(fig: Figure, stem: str | os.PathLike, formats: tuple[str, ...] = FIGURE_FORMATS) -> list[Path]:
    """Write a figure once per format next to each other (`stem.png`, `stem.svg`).

    Args:
        fig: a matplotlib Figure built with the object API.
        stem: the path without suffix.
        formats: any of 'png' and 'svg'.

    Returns:
        The written paths, in the order of `formats`.
    """
    unknown = [f for f in formats if f not in FIGURE_FORMATS]
    if unknown:
        raise FaithlabError(f"unknown figure format '{unknown[0]}'; choose from {', '.join(FIGURE_FORMATS)}")
    FigureCanvasAgg(fig)
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(path, dpi=110, bbox_inches="tight")
        paths.append(path)
    return paths


def save_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a view's table as CSV (UTF-8, no index) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path
