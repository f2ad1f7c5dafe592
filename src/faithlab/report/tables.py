"""Markdown tables of result frames (ablations, the zoo, benchmark summaries), as GitHub renders them."""

from __future__ import annotations

from typing import Any

import pandas as pd


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub-style table; floats with 4 decimals, deltas signed."""
    def cell(column: str, value: Any) -> str:
        if isinstance(value, float):
            return f"{value:+.4f}" if column.startswith("delta") else f"{value:.4f}"
        return str(value)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(cell(c, v) for c, v in zip(table.columns, row, strict=True)) + " |")
    return "\n".join(lines) + "\n"
