"""Perturbation views: occlusion's per-word deletion table, the most influential words per class, loss extremes,
and MoRF / LeRF curves with their areas and a sharp / gradual label.

A deletion table holds one quantity against one fixed contrast: rows that explain a margin against different
classes (occlusion's default contrast is each text's runner-up, which flips with the prediction) are refused with
the setting that fixes it, because their differences would not be comparable. For output='loss' the table shows
the loss itself (−log p(target)), so `difference` = loss after − loss before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from faithlab.errors import FaithlabError
from faithlab.evaluate.faithfulness import curve_shape
from faithlab.explain.explanation import OUTPUTS, Explanation
from faithlab.explain.settings import UNITS
from faithlab.report.styles import method_style

MARGINS = ("margin", "probability_margin")


@dataclass
class DeletionTable:
    """One row per deleted word (or token) of each text, and the sentence that states what `difference` measures."""

    frame: pd.DataFrame
    quantity: str


def deletion_table(explanations: Sequence[Explanation], ids: Sequence[Any] | None = None) -> DeletionTable:
    """The flat per-word deletion table of occlusion explanations (one quantity, one fixed contrast).

    Args:
        explanations: occlusion explanations (any unit), all on the same output.
        ids: a text id per explanation (default its position).

    Returns:
        Columns text_id, text, target, contrast, word, positions, output_before, output_after, predicted_before,
        predicted_after, p_before:<label> and p_after:<label> per label, difference.

    Raises:
        FaithlabError: a non-occlusion explanation, mixed outputs, or margins against different (target, contrast)
            pairs (set occlusion.contrast and target to fix them).
    """
    if not explanations:
        raise FaithlabError("no explanations for a deletion table")
    ids = list(range(len(explanations))) if ids is None else list(ids)
    if len(ids) != len(explanations):
        raise FaithlabError(f"{len(ids)} text ids for {len(explanations)} explanations")
    quantity = _quantity(explanations)
    records = []
    for text_id, e in zip(ids, explanations, strict=True):
        sign = -1.0 if e.output == "loss" else 1.0  # the loss itself, not log p
        before = {f"p_before:{label}": p for label, p in zip(e.labels, e.probabilities, strict=True)}
        for row in e.extras["table"]:
            unit = next(k for k in UNITS if k in row)
            records.append({
                "text_id": text_id, "text": e.text, "target": e.target_name, "contrast": e.extras.get("contrast", ""),
                "word": row[unit], "positions": " ".join(map(str, row["positions"])),
                "output_before": sign * e.extras["output_before"], "output_after": sign * row["output_after"],
                "predicted_before": e.labels[e.predicted], "predicted_after": row["predicted_after"],
                **before, **{f"p_after:{label}": p for label, p in zip(e.labels, row["probabilities_after"],
                                                                     strict=True)},
                "difference": row["difference"],
            })
    return DeletionTable(pd.DataFrame.from_records(records), quantity)


def _quantity(explanations: Sequence[Explanation]) -> str:
    """The sentence stating the table's quantity; refuses mixed outputs and mixed margin contrasts."""
    if any(e.method != "occlusion" or "table" not in e.extras for e in explanations):
        odd = next(e.method for e in explanations if e.method != "occlusion" or "table" not in e.extras)
        raise FaithlabError(f"a deletion table needs occlusion explanations (with their table), got '{odd}'")
    outputs = sorted({e.output for e in explanations})
    if len(outputs) > 1:
        raise FaithlabError(f"explanations on different outputs ({', '.join(outputs)}) in one deletion table")
    output = outputs[0]
    if output == "loss":
        return "difference = loss after deletion − loss before (loss = −log p(target)); > 0: the word helped"
    if output in MARGINS:
        pairs = sorted({(e.target_name, e.extras.get("contrast", "")) for e in explanations})
        if len(pairs) > 1:
            shown = ", ".join(f"{t} − {c}" for t, c in pairs)
            raise FaithlabError(
                f"the rows explain margins against different classes ({shown}); fix them with --target LABEL and "
                "--set occlusion.contrast=LABEL so one table has one contrast"
            )
        target, contrast = pairs[0]
        kind = "logit" if output == "margin" else "probability"
        return (f"output = {kind} of {target} − {kind} of {contrast} (fixed contrast); "
                "difference = output before − output after deletion")
    return f"output = {OUTPUTS[output]}; difference = output before − output after deletion"


def top_words(table: pd.DataFrame, n: int = 20, *, by: str = "predicted_before") -> pd.DataFrame:
    """The n most influential words across texts per class: highest `difference` first within each class.

    Args:
        table: a deletion table's frame.
        n: rows per class.
        by: the column that names the class ('predicted_before', the default, or 'target').

    Returns:
        The rows kept, grouped by class, with a `rank` column from 1.
    """
    _check_n(n)
    if by not in ("predicted_before", "target"):
        raise FaithlabError(f"unknown class column '{by}'; choose predicted_before or target")
    ranked = table.sort_values([by, "difference"], ascending=[True, False], kind="stable")
    top = ranked.groupby(by, sort=True).head(n).copy()
    top["rank"] = top.groupby(by).cumcount() + 1
    return top.reset_index(drop=True)


def loss_extremes(table: DeletionTable, n: int = 20) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The n words whose deletion raises the loss most (top) and lowers it most (bottom), on a loss table.

    Args:
        table: a `DeletionTable` of occlusion on output='loss'.
        n: rows in each.

    Returns:
        (top, bottom), each sorted from the extreme inwards.
    """
    _check_n(n)
    if not table.quantity.startswith("difference = loss"):
        raise FaithlabError("loss extremes need a deletion table on the loss (occlusion output='loss')")
    frame = table.frame.sort_values("difference", ascending=False, kind="stable")
    return frame.head(n).reset_index(drop=True), frame.tail(n).iloc[::-1].reset_index(drop=True)


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise FaithlabError(f"n must be an integer >= 1, got {n!r}")


@dataclass(frozen=True)
class CurveRule:
    """When a curve is 'sharp': by x = `at` it has fallen by at least `share` of its largest drop below its start;
    'flat' when it never drops by more than `flat`; 'gradual' otherwise. The same rule labels MoRF and LeRF."""

    at: float = 0.2
    share: float = 0.5
    flat: float = 1e-3

    def __post_init__(self) -> None:
        if not (0 < self.at < 1 and 0 < self.share <= 1 and self.flat >= 0):
            raise FaithlabError(f"curve rule needs 0 < at < 1, 0 < share <= 1, flat >= 0; got {self}")

    def label(self, x: Sequence[float], y: Sequence[float]) -> str:
        """'sharp', 'gradual' or 'flat' for one curve (x ascending from 0)."""
        shape = curve_shape(np.asarray(x, dtype=float), np.asarray(y, dtype=float), at=self.at, share=self.share,
                            flat=self.flat)
        return "flat" if np.isnan(shape) else "sharp" if shape == 1.0 else "gradual"

    def __str__(self) -> str:
        return (f"sharp: fell by >= {self.share:g} of its largest drop by x = {self.at:g}; flat: never drops by "
                f"more than {self.flat:g}; gradual otherwise")


def curve_table(rows: Iterable[Mapping[str, Any]], rule: CurveRule | None = None) -> pd.DataFrame:
    """MoRF and LeRF curves of each example and method, with area and label.

    Args:
        rows: evaluation rows as dicts (`Row.to_dict()`: example, method, metric, value, details) holding
            'auc_morf' / 'auc_lerf' with the curve points in `details`; other metrics are skipped.
        rule: the sharp / gradual thresholds (default `CurveRule()`).

    Returns:
        One row per example, method and curve ('morf', 'lerf'): x, confidence (lists), area, label, rule.
    """
    rule = rule or CurveRule()
    records = []
    for row in rows:
        if row["metric"] not in ("auc_morf", "auc_lerf") or "x" not in row["details"]:
            continue
        x, y = row["details"]["x"], row["details"]["confidence"]
        records.append({"example": row["example"], "method": row["method"], "curve": row["metric"][4:],
                        "x": list(x), "confidence": list(y), "area": row["value"],
                        "label": rule.label(x, y) if len(x) > 1 else "flat", "rule": str(rule)})
    return pd.DataFrame.from_records(records, columns=["example", "method", "curve", "x", "confidence", "area",
                                                      "label", "rule"])


def curves_figure(curves: pd.DataFrame, example: int) -> Figure:
    """MoRF (solid) and LeRF (dashed) curves of one example, one fixed colour per method; the legend gives each
    curve's area and label."""
    data = curves[curves["example"] == example]
    if data.empty:
        raise FaithlabError(f"no curves for example {example}")
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for row in data.itertuples():
        style = method_style(row.method)
        ax.plot(row.x, row.confidence, color=style.color, marker=style.marker, markersize=4,
                linestyle="-" if row.curve == "morf" else "--",
                label=f"{row.method} {row.curve.upper()} (area {row.area:.3f}, {row.label})")
    ax.set(xlabel="fraction of tokens removed", ylabel="confidence of the predicted class", ylim=(0, 1.02),
           title=f"MoRF (solid) and LeRF (dashed), example {example}")
    ax.legend(fontsize=7)
    return fig
