"""A self-contained HTML token heatmap: per text, one row per method, tokens on a diverging colour scale.

Each row states what its scores explain and how its method removes features; special tokens are hidden unless
asked for, and the page says which. The page has inline CSS only (no scripts, fonts or external URLs, and a
Content-Security-Policy that forbids them) and is rendered with autoescaping, because texts are user input.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2

import faithlab
from faithlab.explain.explanation import Explanation
from faithlab.report.grouping import MAX_TEXTS, TextGroup, group_by_text, is_head_warning, is_truncation
from faithlab.report.tokens import conventions, needs_light_text, score_rgb, shown_tokens

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("faithlab.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(
    explanations: Iterable[Explanation],
    *,
    title: str = "faithlab explanations",
    max_texts: int = MAX_TEXTS,
    show_special: bool = False,
    note: str | None = None,
) -> str:
    """The report page for (at most the first `max_texts` texts of) a stream of explanations.

    Args:
        explanations: any iterable, read once.
        title: the page title.
        max_texts: how many texts to show; the rest are counted.
        show_special: show special tokens ([CLS], [SEP], ...) with their scores; hidden by default, as the page says.
        note: a plain-text note shown under the title, line breaks kept (e.g. the rows a reader kept and skipped).

    Returns:
        The HTML page.
    """
    groups, n_texts = group_by_text(explanations, max_texts)
    all_rows = [e for g in groups for e in g.rows]
    models = sorted({e.model for e in all_rows})
    untrained = sorted({e.model for e in all_rows if any(is_head_warning(w) for w in e.warnings)})
    return _ENV.get_template("explanations.html.j2").render(
        title=title,
        version=faithlab.__version__,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        models=models,
        untrained=untrained,
        n_truncated=sum(any(is_truncation(w) for e in g.rows for w in e.warnings) for g in groups),
        n_shown=len(groups),
        n_texts=n_texts,
        show_special=show_special,
        note=note,
        texts=[_text_view(g, show_special) for g in groups],
    )


def write_html(
    explanations: Iterable[Explanation],
    path: str | os.PathLike,
    *,
    title: str = "faithlab explanations",
    max_texts: int = MAX_TEXTS,
    show_special: bool = False,
    note: str | None = None,
) -> Path:
    """Render and write the report (arguments as `render_html`); returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = render_html(explanations, title=title, max_texts=max_texts, show_special=show_special, note=note)
    path.write_text(html, encoding="utf-8")
    return path


def _text_view(group: TextGroup, show_special: bool) -> dict[str, Any]:
    first = group.rows[0]
    # a warning every method of the text carries (truncation) stands above them; one method's own stays on its row
    shared = [w for w in first.warnings if not is_head_warning(w) and all(w in e.warnings for e in group.rows)]
    return {
        "text": group.text,
        "pair": group.pair,
        "model": first.model,
        "predicted": first.labels[first.predicted],
        "probabilities": [(label, p, i == first.predicted) for i, (label, p) in enumerate(
            zip(first.labels, first.probabilities, strict=True))],
        "warnings": shared,
        "rows": [_row_view(e, show_special, shared) for e in group.rows],
    }


def _row_view(e: Explanation, show_special: bool, shown_above: list[str]) -> dict[str, Any]:
    tokens = []
    for token in shown_tokens(e, show_special=show_special):
        r, g, b = score_rgb(token.scaled)
        style = f"background:rgb({r},{g},{b})" + (";color:#fff" if needs_light_text(token.scaled) else "")
        tokens.append({
            "text": token.text,
            "style": style,
            "title": f"{token.text}: {token.score:+.6g}" + (" (special token)" if token.special else ""),
            "space": token.space_before,
            "special": token.special,
        })
    extras = {k: v for k, v in e.extras.items() if isinstance(v, (int, float, str, bool))}
    return {
        "method": e.method,
        "target": e.target_name,
        "target_probability": e.probabilities[e.target],
        "settings": json.dumps(e.settings, sort_keys=True, default=str) if e.settings else "defaults",
        "seconds": e.seconds,
        "conventions": conventions(e, show_special=show_special),
        "extras": ", ".join(f"{k}={_short(v)}" for k, v in extras.items()),
        "tokens": tokens,
        "warnings": [w for w in e.warnings if not is_head_warning(w) and w not in shown_above],
    }


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)

