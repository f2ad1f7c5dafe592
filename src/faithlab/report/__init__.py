"""Reports: a self-contained HTML token heatmap and rich terminal rendering of explanations."""

from faithlab.report.html import render_html, write_html
from faithlab.report.terminal import print_explanations, token_text, top_tokens_table

__all__ = ["print_explanations", "render_html", "token_text", "top_tokens_table", "write_html"]
