"""`faithlab report`: any run folders (explain, train, bench, or several) as one self-contained HTML file.

The page holds everything it shows: CSS and the small drawing script are vendored in this package and inlined,
figures are embedded PNGs, and a Content-Security-Policy allows nothing else (no network, only the page's own
script and style by hash). Each explain run's texts are embedded as compact JSON (`text_payload`) and drawn by
the script only when they scroll into view, so a run of hundreds of texts and a dozen methods opens at once.
User text reaches the page only as JSON data (with '<' escaped) or through escaped templates.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

import faithlab
from faithlab.errors import FaithlabError
from faithlab.evaluate.metrics import METRICS
from faithlab.explain.io import from_record, iter_records
from faithlab.report.attention_views import top_attention
from faithlab.report.explanation_views import text_payload
from faithlab.report.styles import method_style
from faithlab.report.verdict_view import read_verdict_file, verdict_html

MAX_TEXTS = 1000
DELETION_COLUMNS = ["word", "output_before", "output_after", "predicted_after", "difference"]


@dataclass
class Section:
    """One part of the page: a title, server-rendered (escaped) HTML, and data the script draws lazily."""

    title: str
    html: Markup = field(default_factory=lambda: Markup(""))
    data: dict[str, Any] = field(default_factory=lambda: {"kind": "static"})


def run_kind(folder: Path) -> str:
    """'explain', 'bench', 'train' or 'ablate', from the files a run writes; anything else is a `FaithlabError`."""
    if (folder / "ablation.csv").is_file():  # before 'train': the base run may share the ablation's folder
        return "ablate"
    if (folder / "explanations.jsonl").is_file():
        return "explain"
    if (folder / "summary.csv").is_file():
        return "bench"
    if (folder / "test_metrics.json").is_file() or (folder / "history.json").is_file():
        return "train"
    raise FaithlabError(f"'{folder}' is not a faithlab run folder: it holds no explanations.jsonl (explain), "
                        "summary.csv (bench), test_metrics.json / history.json (train) or ablation.csv (ablate)")


def render_report(folders: Sequence[str | os.PathLike], *, title: str = "faithlab report",
                  max_texts: int = MAX_TEXTS, aggregation: str = "sum") -> str:
    """The self-contained HTML page of one or more run folders.

    Args:
        folders: run folders, each shown as its own section(s) in the order given.
        title: the page title.
        max_texts: the most texts shown per explain run (the rest are counted).
        aggregation: how the word level merges token scores ('sum', 'mean', 'absmax'), stated on the page.

    Returns:
        The HTML text.
    """
    if not folders:
        raise FaithlabError("give at least one run folder")
    sections: list[Section] = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise FaithlabError(f"run folder '{folder}' does not exist")
        kind = run_kind(folder)
        if kind == "explain":
            sections += explain_sections(folder, max_texts=max_texts, aggregation=aggregation)
        elif kind == "bench":
            sections.append(bench_section(folder))
        elif kind == "ablate":
            sections.append(ablation_section(folder))
            if (folder / "test_metrics.json").is_file():  # the base run, trained into the same folder
                sections.append(train_section(folder))
        else:
            sections.append(train_section(folder))
    return _page(title, sections, aggregation)


def write_report(folders: Sequence[str | os.PathLike], path: str | os.PathLike, **options: Any) -> Path:
    """Render (options as `render_report`) and write the page; returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(folders, **options), encoding="utf-8")
    return path


# ----- explain runs -------------------------------------------------------------------------------------------------
def explain_sections(folder: Path, *, max_texts: int = MAX_TEXTS, aggregation: str = "sum") -> list[Section]:
    """An explain run: every text's explanations (drawn lazily), with its deletion table, attention top tokens,
    curves and per-text metrics where the run holds them; and the run's mean metrics per method."""
    records = sorted(iter_records(folder / "explanations.jsonl"), key=lambda r: (r["meta"]["row"], r["target"]))
    by_row: dict[int, list[dict]] = {}
    for record in records:
        by_row.setdefault(record["meta"]["row"], []).append(record)
    examples = _example_rows(records)
    file_rows = _file_rows(folder, len(by_row))
    extras = _per_text_extras(folder, examples, file_rows)
    texts = []
    for row in sorted(by_row)[:max_texts]:
        payload = text_payload([from_record(r) for r in by_row[row]], aggregation=aggregation)
        texts.append(payload | {k: v[row] for k, v in extras.items() if row in v})
    model = records[0]["model"] if records else "?"
    deletions = folder / "deletions.json"
    quantity = json.loads(deletions.read_text(encoding="utf-8"))["quantity"] if deletions.is_file() else ""
    shown = f"{len(texts)} of {len(by_row)} texts" if len(texts) < len(by_row) else f"{len(texts)} texts"
    section = Section(
        f"Explanations: {folder.name} ({model}, {shown})",
        data={"kind": "texts", "texts": texts, "deletion_quantity": quantity, "deletion_columns": DELETION_COLUMNS},
    )
    out = [section]
    evaluation = folder / "evaluation.csv"
    if evaluation.is_file():
        out.append(Section(f"Faithfulness per method: {folder.name}", _mean_table(pd.read_csv(evaluation))))
    return out


def _example_rows(records: list[dict]) -> list[int]:
    """The input row of each evaluation example: the order `faithlab.study_outputs` evaluates them in."""
    first = records[0]["method"] if records else ""
    return [r["meta"]["row"] for r in records if r["method"] == first]


def _file_rows(folder: Path, n: int) -> list[int]:
    """Each input's row in the data file (selection.csv where a selection chose them, else the input order)."""
    selection = folder / "selection.csv"
    return pd.read_csv(selection)["row"].tolist() if selection.is_file() else list(range(n))


def _per_text_extras(folder: Path, examples: list[int], file_rows: list[int]) -> dict[str, dict[int, Any]]:
    """Per input row: deletion rows, attention top tokens, curves and metric values, from the run's files."""
    input_of = {row: i for i, row in enumerate(file_rows)}
    extras: dict[str, dict[int, Any]] = {}
    path = folder / "deletions.csv"
    if path.is_file():
        table = pd.read_csv(path, keep_default_na=False)
        for text_id, rows in table.groupby("text_id"):
            extras.setdefault("deletions", {})[input_of[int(text_id)]] = rows[DELETION_COLUMNS].values.tolist()
    path = folder / "attention_totals.csv"
    if path.is_file():
        totals = pd.read_csv(path, keep_default_na=False)
        for text_id, rows in totals.groupby("text_id"):
            top = top_attention(rows, k=10)
            extras.setdefault("attention", {})[input_of[int(text_id)]] = top[
                ["position", "token", "received"]].values.tolist()
    path = folder / "curves.json"
    if path.is_file():
        for curve in json.loads(path.read_text(encoding="utf-8")):
            item = {k: curve[k] for k in ("method", "curve", "x", "confidence", "area", "label", "rule")}
            item["color"] = method_style(curve["method"]).color
            extras.setdefault("curves", {}).setdefault(examples[curve["example"]], []).append(item)
    path = folder / "evaluation.csv"
    if path.is_file():
        for row in pd.read_csv(path).itertuples():
            if row.metric in ("auc_morf", "auc_lerf"):
                continue  # drawn with the curves
            extras.setdefault("metrics", {}).setdefault(examples[int(row.example)], []).append(
                [row.method, row.metric, row.value])
    return extras


def _mean_table(frame: pd.DataFrame) -> Markup:
    """Mean per method × metric over texts, each metric's better direction in its header."""
    pivot = frame.pivot_table(index="method", columns="metric", values="value", aggfunc="mean")
    headers = [f"{m} {'↑' if METRICS[m].higher_is_better else '↓'}" if m in METRICS else m for m in pivot.columns]
    cells = [[f"{v:.3f}" for v in values] for values in pivot.to_numpy()]
    return _html_table(["method", *headers], [[m, *c] for m, c in zip(pivot.index, cells, strict=True)])


# ----- bench and train runs -----------------------------------------------------------------------------------------
def bench_section(folder: Path) -> Section:
    """A bench (or audit) run: the verdicts, the recommendation, one method × metric table per model and data set
    (mean [95% interval], the better cells shaded by each metric's direction) and the run's figures."""
    table = pd.read_csv(folder / "summary.csv", keep_default_na=False, na_values=[""])
    parts = [Markup("<p class='fl-sub'>mean [95% interval]; ↑ higher is better, ↓ lower is better; the greener a "
                    "cell, the better it ranks in its column</p>")]
    parts += [verdict_html(verdict) for verdict in read_verdict_file(folder)]
    recommendation = folder / "recommendation.json"
    if recommendation.is_file():
        for model, rec in json.loads(recommendation.read_text(encoding="utf-8")).items():
            parts.append(Markup("<p>Recommended for <b>{}</b>: {} (average rank {})</p>").format(
                model, rec["best"]["method"], f"{rec['best']['average_rank']:.2f}"))
    plain = table[table["variant"].fillna("") == ""]
    for (model, dataset), group in plain.groupby(["model", "dataset"], sort=False):
        parts.append(Markup("<h3>{} on {}</h3>").format(model, dataset))
        parts.append(method_metric_table(group))
    parts += _figures(folder / "plots")
    return Section(f"Benchmark: {folder.name}", Markup("").join(parts))


def method_metric_table(group: pd.DataFrame) -> Markup:
    """Methods × metrics, 'mean [low, high]' per cell, the top three cells of each column shaded by the metric's
    better direction (a column of one method is not shaded).

    Args:
        group: summary rows of one model and data set (method, metric, mean, low, high, higher_is_better).

    Returns:
        Escaped HTML.
    """
    methods = sorted(group["method"].unique())
    metrics = list(dict.fromkeys(group["metric"]))
    cells: dict[tuple[str, str], tuple[str, str]] = {}
    for metric in metrics:
        rows = group[group["metric"] == metric].set_index("method")
        higher = bool(rows["higher_is_better"].iloc[0])
        order = rows["mean"].dropna().sort_values(ascending=not higher).index.tolist()
        for method, row in rows.iterrows():
            rank = order.index(method) if method in order and len(order) > 1 else None
            shade = f"better-{3 - rank}" if rank is not None and rank < 3 else ""
            text = "n/a" if pd.isna(row["mean"]) else f"{row['mean']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"
            cells[(method, metric)] = (text, shade)
    arrows = {m: "↑" if bool(group[group["metric"] == m]["higher_is_better"].iloc[0]) else "↓" for m in metrics}
    header = Markup("").join(Markup("<th>{} {}</th>").format(m, arrows[m]) for m in metrics)
    rows = []
    for method in methods:
        row = [Markup('<td class="{}">{}</td>').format(shade, text)
               for text, shade in (cells.get((method, m), ("", "")) for m in metrics)]
        rows.append(Markup("<tr><td>{}</td>{}</tr>").format(method, Markup("").join(row)))
    body = Markup("").join(rows)
    return Markup('<table class="fl-table"><tr><th>method</th>{}</tr>{}</table>').format(header, body)


def train_section(folder: Path) -> Section:
    """A training run: test metrics, accuracy per slice, the highest-confidence errors and the run's figures."""
    parts: list[Markup] = []
    metrics_path = folder / "test_metrics.json"
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        simple = [[k, f"{v:.4f}" if isinstance(v, float) else v] for k, v in metrics.items()
                  if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
        parts += [Markup("<h3>Test metrics</h3>"), _html_table(["metric", "value"], simple)]
    for name, heading, limit in (("slice_metrics.csv", "Accuracy per slice", 50),
                                 ("misclassified.csv", "Highest-confidence errors", 20)):
        path = folder / name
        if path.is_file():
            frame = pd.read_csv(path, keep_default_na=False).head(limit)
            parts += [Markup("<h3>{}</h3>").format(heading),
                      _html_table(list(frame.columns), frame.astype(str).values.tolist())]
    parts += _figures(folder / "plots")
    return Section(f"Training: {folder.name}", Markup("").join(parts))


def ablation_section(folder: Path) -> Section:
    """An ablation run (`faithlab ablate`): its table of variations with their metrics and deltas to the base."""
    frame = pd.read_csv(folder / "ablation.csv", keep_default_na=False)
    frame = frame.drop(columns=[c for c in ("run_dir",) if c in frame.columns])
    cells = [[f"{v:.4f}" if isinstance(v, float) else v for v in row] for row in frame.itertuples(index=False)]
    return Section(f"Ablation: {folder.name}", Markup("<h3>Variations</h3>") + _html_table(list(frame.columns), cells))


def _html_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Markup:
    head = Markup("").join(Markup("<th>{}</th>").format(c) for c in columns)
    body = Markup("").join(
        Markup("<tr>{}</tr>").format(Markup("").join(Markup("<td>{}</td>").format(v) for v in row)) for row in rows
    )
    return Markup('<table class="fl-table"><tr>{}</tr>{}</table>').format(head, body)


def _figures(plots: Path) -> list[Markup]:
    """Every PNG of a plots folder, embedded (an SVG twin stays beside it in the run folder)."""
    out = []
    for png in sorted(plots.glob("*.png")) if plots.is_dir() else []:
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        out.append(Markup('<figure><img class="fl-figure" alt="{}" src="data:image/png;base64,{}">'
                          "<figcaption class='fl-sub'>{}</figcaption></figure>").format(png.stem, data, png.name))
    return out


# ----- the page -----------------------------------------------------------------------------------------------------
def _asset(name: str) -> str:
    return resources.files("faithlab.report").joinpath("static", name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _finite(value: Any) -> Any:
    """NaN and infinities (an undefined metric) as None: JSON has no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _page(title: str, sections: list[Section], aggregation: str) -> str:
    script, style = _asset("report.js"), _asset("report.css")
    data = {"aggregation": aggregation, "sections": [s.data for s in sections]}
    # '<' as \u003c: no text can close the data block or open a tag inside it
    payload = json.dumps(_finite(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    payload = payload.replace("<", "\\u003c")
    csp = f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(style)}; img-src data:"
    has_texts = any(s.data["kind"] == "texts" for s in sections)
    nav = Markup("").join(Markup('<a href="#s{}">{}</a>').format(i, s.title) for i, s in enumerate(sections))
    body = Markup("").join(
        Markup('<h2 id="s{}">{}</h2>{}{}').format(
            i, s.title, s.html, Markup('<div id="fl-texts-{}"></div>').format(i) if s.data["kind"] == "texts" else "")
        for i, s in enumerate(sections)
    )
    controls = Markup(
        '<div class="fl-controls">level <select id="fl-level"><option value="token">tokens</option>'
        '<option value="word">words</option></select> colour scale <select id="fl-scale"><option value="row">'
        'per row</option><option value="shared">shared per text</option></select> <label><input type="checkbox" '
        'id="fl-special"> special tokens</label><br><span class="fl-legend">against the target <span '
        'class="fl-scale"></span> for the target</span> <span id="fl-state" class="fl-sub"></span></div>'
    ) if has_texts else Markup("")
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return str(Markup(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="{}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>{}</title><style>{}</style>'
        '</head><body><h1>{}</h1><nav>{}</nav>{}{}'
        '<footer>faithlab {} · {} · scores are signed: higher means more evidence for the target class</footer>'
        '<script type="application/json" id="fl-data">{}</script><script>{}</script></body></html>'
    ).format(csp, title, Markup(style), title, nav, controls, body, faithlab.__version__, created,
             Markup(payload), Markup(script)))

