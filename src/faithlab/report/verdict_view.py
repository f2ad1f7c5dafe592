"""The verdict of a bench or audit run (`verdict.json`, written by `faithlab.evaluate.verdict`) as an HTML view.

The view reads the verdict as plain data (the dicts of `Verdict.to_dict`), so the report needs no model: the most
faithful method or tied set, the cheapest method within it, the plain-language summary, the evidence per metric
(weight, whether the metric passed the meta-evaluation, its top set and each method's mean with its interval) and
the sanity checks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup

VERDICT_FILE = "verdict.json"


def read_verdict_file(folder: Path) -> list[dict[str, Any]]:
    """The verdicts a run folder holds (one per model and data set); an empty list when it has none."""
    path = Path(folder) / VERDICT_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def verdict_html(verdict: dict[str, Any]) -> Markup:
    """One verdict as escaped HTML: headline, summary, evidence table per metric and the sanity checks.

    Args:
        verdict: a `Verdict.to_dict()` (one element of `verdict.json`).

    Returns:
        Escaped HTML.

    Example:
        >>> html = verdict_html({"model": "m", "dataset": "d", "best": ["ig"], "leader": "ig", "cheapest": "ig",
        ...                      "summary": "ig <wins>", "evidence": [], "sanity": [], "flagged_metrics": []})
        >>> "ig &lt;wins&gt;" in html
        True
    """
    best = verdict.get("best") or []
    tied = f" (tied: {', '.join(best[1:])})" if len(best) > 1 else ""
    parts = [
        Markup("<h3>Verdict for {} on {}</h3>").format(verdict["model"], verdict["dataset"]),
        Markup("<p><b>Most faithful: {}{}</b>; cheapest within that set: {}.</p>").format(
            verdict.get("leader") or "none", tied, verdict.get("cheapest") or "none"),
        Markup("<p>{}</p>").format(verdict.get("summary", "")),
    ]
    if verdict.get("flagged_metrics"):
        parts.append(Markup("<p>Metrics failing the meta-evaluation (weight 0): {}</p>").format(
            ", ".join(verdict["flagged_metrics"])))
    if verdict.get("evidence"):
        parts.append(_evidence_table(verdict["evidence"], best))
    if verdict.get("sanity"):
        parts.append(_sanity_table(verdict["sanity"]))
    return Markup("").join(parts)


def _evidence_table(evidence: Sequence[dict[str, Any]], best: Sequence[str]) -> Markup:
    rows = []
    for item in evidence:
        means = item.get("means", {})
        shown = [m for m in best if m in means]
        cells = "; ".join(f"{m} {means[m]['mean']:.3f} [{means[m]['low']:.3f}, {means[m]['high']:.3f}]"
                          for m in shown)
        rows.append([item["metric"], "↑" if item.get("higher_is_better") else "↓", f"{item.get('weight', 1):g}",
                     "passed" if item.get("meta_passed", True) else "failed", ", ".join(item.get("top", [])), cells])
    return _table(["metric", "better", "weight", "meta-evaluation", "top set", "verdict's methods: mean [95%]"], rows)


def _sanity_table(sanity: Sequence[dict[str, Any]]) -> Markup:
    rows = [[s.get("method", ""), s.get("check", ""), s.get("metric", ""), f"{s.get('value', float('nan')):.3f}",
             f"< {s.get('threshold', float('nan')):g}", "passed" if s.get("passed") else "failed"] for s in sanity]
    return _table(["method", "check", "metric", "value", "threshold", "result"], rows)


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Markup:
    head = Markup("").join(Markup("<th>{}</th>").format(c) for c in columns)
    body = Markup("").join(
        Markup("<tr>{}</tr>").format(Markup("").join(Markup("<td>{}</td>").format(v) for v in row)) for row in rows)
    return Markup('<table class="fl-table"><tr>{}</tr>{}</table>').format(head, body)
