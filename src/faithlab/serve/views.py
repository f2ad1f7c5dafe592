"""The views the app shows for one text's explanations: the report's explanation grid at token and word level.

Each explanation becomes JSON-ready cells the page draws; the cells come from `faithlab.report.explanation_grid`
(words merged by the tokenizer's word ids with the chosen aggregation, one shared or per-row colour scale) and the
colours from `faithlab.report.tokens`, so the app, the report and a notebook show the same numbers. Each method
carries its fixed colour and marker from `faithlab.report.METHOD_STYLES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from faithlab.explain.explanation import Explanation
from faithlab.report.explanation_views import ExplanationGrid, ExplanationRow, Unit, explanation_grid
from faithlab.report.styles import method_style
from faithlab.report.tokens import needs_light_text, score_rgb

VIEWS = {"tokens": "token", "words": "word"}  # view name in the payload → the grid's level
Aggregation = Literal["sum", "mean", "absmax"]  # faithlab.explain.explanation.WORD_AGGREGATIONS
Scale = Literal["row", "shared"]  # faithlab.report.explanation_views.SCALES


@dataclass(frozen=True)
class ViewOptions:
    """How the views are drawn: the word merge, the colour scale, and whether special tokens are shown."""

    aggregation: Aggregation = "sum"
    scale: Scale = "row"
    show_special: bool = False

def explanation_payloads(
    explanations: Sequence[Explanation], options: ViewOptions
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """What the page needs of each explanation of one text, and the legend of each view.

    Args:
        explanations: explanations of the same text, one per method.
        options: the word merge ('sum', 'mean', 'absmax'), the colour scale ('row': each method's largest |score|
            is full colour, 'shared': one scale for every method) and whether the token view shows special tokens
            (the word view never has them: they belong to no word).

    Returns:
        (one payload per explanation with its provenance and the cells of every view, {view: legend}).
    """
    grids = {
        name: explanation_grid(explanations, level=level, aggregation=options.aggregation, scale=options.scale,
                               show_special=options.show_special and level == "token")
        for name, level in VIEWS.items()
    }
    payloads = [
        _payload(e, {name: grid.rows[i] for name, grid in grids.items()}, options)
        for i, e in enumerate(explanations)
    ]
    return payloads, {name: _legend(grid) for name, grid in grids.items()}

def _payload(e: Explanation, rows: dict[str, ExplanationRow], options: ViewOptions) -> dict[str, Any]:
    first = next(iter(rows.values()))
    return {
        "method": e.method,
        "style": asdict(method_style(e.method)),
        "target": e.target,
        "target_name": e.target_name,
        "predicted": e.labels[e.predicted],
        "probabilities": dict(zip(e.labels, e.probabilities, strict=True)),
        "settings": e.to_dict()["settings"],
        "seconds": e.seconds,
        "conventions": first.conventions,
        "word_aggregation": options.aggregation,
        "scale": options.scale,
        "full_colour": {name: row.scale for name, row in rows.items()},
        "warnings": list(e.warnings),
        "views": {name: [_cell(u) for u in row.units] for name, row in rows.items()},
    }

def _legend(grid: ExplanationGrid) -> str:
    return grid.legend.replace(f"merged by {grid.aggregation}", f"merged by {grid.aggregation} of their tokens")

def _cell(unit: Unit) -> dict[str, Any]:
    r, g, b = score_rgb(unit.scaled)
    return {
        "text": unit.text,
        "score": unit.score,
        "scaled": unit.scaled,
        "color": f"rgb({r},{g},{b})",
        "light": needs_light_text(unit.scaled),
        "space": unit.space_before,
        "special": unit.special,
    }
