"""Reports and views: each view is a plain function over results data (explanations, tables, attention maps) that
returns data, an HTML fragment or a matplotlib Figure, shared by the terminal, `faithlab report` and the web app."""

from faithlab.report.attention_views import (
    AttentionMaps,
    attention_payload,
    attention_totals,
    chosen_layers_figure,
    head_grid_figure,
    head_matrix_figure,
    layer_average,
    matrix_figure,
    rollout_matrix,
    top_attention,
)
from faithlab.report.explanation_views import (
    ExplanationGrid,
    explanation_bars,
    explanation_grid,
    grid_html,
    text_payload,
)
from faithlab.report.html import render_html, write_html
from faithlab.report.perturbation_views import (
    CurveRule,
    DeletionTable,
    curve_table,
    curves_figure,
    deletion_table,
    loss_extremes,
    top_words,
)
from faithlab.report.run_report import render_report, write_report
from faithlab.report.styles import METHOD_STYLES, method_style, save_figure, save_table
from faithlab.report.terminal import print_explanations, token_text, top_tokens_table

__all__ = [
    "METHOD_STYLES",
    "AttentionMaps",
    "CurveRule",
    "DeletionTable",
    "ExplanationGrid",
    "attention_payload",
    "attention_totals",
    "chosen_layers_figure",
    "curve_table",
    "curves_figure",
    "deletion_table",
    "explanation_bars",
    "explanation_grid",
    "grid_html",
    "head_grid_figure",
    "head_matrix_figure",
    "layer_average",
    "loss_extremes",
    "matrix_figure",
    "method_style",
    "print_explanations",
    "render_html",
    "render_report",
    "rollout_matrix",
    "save_figure",
    "save_table",
    "text_payload",
    "token_text",
    "top_attention",
    "top_tokens_table",
    "top_words",
    "write_html",
    "write_report",
]
