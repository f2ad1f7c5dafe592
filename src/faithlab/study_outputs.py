"""What `faithlab explain --out` writes beside its explanations, so a study needs no glue code: the flat per-word
deletion table of occlusion with the most influential words per class (and the loss extremes on a loss table),
per-text bar plots, the evaluation asked for with --evaluate (per-text metrics and MoRF / LeRF curves), raw
attention matrices with their totals and figures, and the rows a selection kept.

Every file is a table (CSV) or array file the report and the web app read back; each is written whole once the
explanations are complete, so a resumed job rewrites it from everything in `explanations.jsonl`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from rich.console import Console

from faithlab.api import evaluate
from faithlab.attention_export import attention_maps, write_attention
from faithlab.errors import FaithlabError
from faithlab.evaluate import evaluate_faithfulness
from faithlab.explain.io import from_record, iter_records
from faithlab.jobs import HTML_NAME, JSONL_NAME, Inputs
from faithlab.models import Classifier
from faithlab.report.attention_views import (
    AttentionMaps,
    attention_totals,
    chosen_layers_figure,
    head_grid_figure,
    layer_average,
    matrix_figure,
    rollout_matrix,
)
from faithlab.report.explanation_views import explanation_bars, explanation_grid
from faithlab.report.perturbation_views import (
    CurveRule,
    DeletionTable,
    curve_table,
    deletion_table,
    loss_extremes,
    top_words,
)
from faithlab.report.run_report import write_report
from faithlab.report.styles import save_figure, save_table
from faithlab.selection import Selected

DELETIONS = "deletions.csv"
EVALUATION = "evaluation.csv"
CURVES = "curves.json"
ATTENTION_TOTALS = "attention_totals.csv"
SELECTION = "selection.csv"
TOP_WORDS = "top_words.csv"
LOSS_EXTREMES = "loss_extremes.csv"
FIGURES = "figures"
ATTENTION_CHUNK = 16
MAX_FIGURE_TEXTS = 50  # per-text figures take ~1 s each: a 500-text run draws the first 50 (stated on the console)


def _load(out: Path) -> tuple[list[dict], dict[str, list]]:
    """The job's records and its explanations per method, aligned by (input row, target)."""
    records = sorted(iter_records(out / JSONL_NAME), key=lambda r: (r["meta"]["row"], r["target"]))
    methods: dict[str, list] = {}
    for record in records:
        methods.setdefault(record["method"], []).append(from_record(record))
    return records, methods


def write_deletions(out: Path, rows: Sequence[int]) -> tuple[Path, DeletionTable]:
    """deletions.csv from the job's occlusion explanations; `rows[i]` is input i's row in the file (its text id).

    Returns:
        The path and the table (its `quantity` states what `difference` measures; also in deletions.json).
    """
    records, _ = _load(out)
    occlusion = [r for r in records if r["method"] == "occlusion"]
    table = deletion_table([from_record(r) for r in occlusion], ids=[rows[r["meta"]["row"]] for r in occlusion])
    (out / "deletions.json").write_text(json.dumps({"quantity": table.quantity}) + "\n", encoding="utf-8")
    return save_table(table.frame, out / DELETIONS), table


def write_influential_words(out: Path, table: DeletionTable, n: int) -> dict[str, Path]:
    """top_words.csv: the n words whose deletion moves the output most, per predicted class, across texts; on a
    loss table also loss_extremes.csv: the n largest and n smallest loss differences (`end` = top / bottom)."""
    files = {"top_words": save_table(top_words(table.frame, n), out / TOP_WORDS)}
    if table.quantity.startswith("difference = loss"):
        top, bottom = loss_extremes(table, n)
        ends = [part.assign(end=end, rank=range(1, len(part) + 1)) for end, part in (("top", top), ("bottom", bottom))]
        files["loss_extremes"] = save_table(pd.concat(ends, ignore_index=True), out / LOSS_EXTREMES)
    return files


def write_bar_plots(out: Path, rows: Sequence[int], console: Console) -> Path:
    """figures/bars-<text id>.png/.svg: each text's methods as word-level bar plots (sub-words merged by sum)."""
    records, _ = _load(out)
    by_text: dict[int, list] = {}
    for record in records:
        by_text.setdefault(record["meta"]["row"], []).append(from_record(record))
    _note_cap(len(by_text), "bar plots", console)
    for row in sorted(by_text)[:MAX_FIGURE_TEXTS]:
        grid = explanation_grid(by_text[row], level="word", aggregation="sum")
        save_figure(explanation_bars(grid), out / FIGURES / f"bars-{rows[row]}")
    return out / FIGURES


def _note_cap(texts: int, what: str, console: Console) -> None:
    if texts > MAX_FIGURE_TEXTS:
        console.print(f"{what}: the first {MAX_FIGURE_TEXTS} of {texts} texts (the report shows every text)",
                      markup=False, highlight=False)


def write_evaluation(
    classifier: Classifier, out: Path, metrics: Sequence[str], rule: CurveRule | None = None
) -> dict[str, Path]:
    """Evaluate the job's explanations: per-text values in evaluation.csv (`fl.evaluate`), and, for 'curves',
    each MoRF / LeRF curve with its area and sharp / gradual label in curves.json.

    Args:
        classifier: the model that made the explanations.
        out: the job folder.
        metrics: metric names or groups, as `fl.evaluate` takes them ('curves' included).
        rule: the thresholds of the curve labels.

    Returns:
        The files written by name.
    """
    _, methods = _load(out)
    if not methods:
        raise FaithlabError(f"{out / JSONL_NAME} holds no explanations to evaluate")
    wanted = [m.strip().lower() for m in metrics if m.strip()]
    others = [m for m in wanted if m != "curves"]
    frames, files = [], {}
    if others:
        frames.append(evaluate(classifier, methods, others))
    if "curves" in wanted:
        rows = [r.to_dict() for r in evaluate_faithfulness(classifier, methods, parts=["curves"])]
        curves = curve_table(rows, rule)
        files["curves"] = out / CURVES
        files["curves"].write_text(curves.to_json(orient="records") + "\n", encoding="utf-8")
        frames.append(pd.DataFrame.from_records([
            {k: r[k] for k in ("example", "method", "metric", "value")} for r in rows
        ]))
    files["evaluation"] = save_table(pd.concat(frames, ignore_index=True), out / EVALUATION)
    return files


def write_attention_outputs(classifier: Classifier, inputs: Inputs, rows: Sequence[int], path: Path, out: Path,
                            console: Console) -> dict[str, Path]:
    """Raw attention of every input to `path` (NPZ or safetensors), its per-token totals to attention_totals.csv
    (text_id = the row in the file) and its figures to figures/attention-*-<text id>.png/.svg."""
    maps = []
    for start in range(0, len(inputs.texts), ATTENTION_CHUNK):
        pairs = None if inputs.pairs is None else inputs.pairs[start:start + ATTENTION_CHUNK]
        maps += attention_maps(classifier, inputs.texts[start:start + ATTENTION_CHUNK], pairs)
    totals = pd.concat([attention_totals(m).assign(text_id=rows[i]) for i, m in enumerate(maps)],
                       ignore_index=True)
    _note_cap(len(maps), "attention figures", console)
    for i, m in enumerate(maps[:MAX_FIGURE_TEXTS]):
        write_attention_figures(m, out / FIGURES, rows[i])
    return {"attention": write_attention(maps, path), "attention_totals": save_table(totals, out / ATTENTION_TOTALS),
            "figures": out / FIGURES}


def write_attention_figures(maps: AttentionMaps, folder: Path, text_id: int) -> list[Path]:
    """One text's attention figures: every layer and head (`attention-heads-`), the mean over layers and heads
    (`attention-mean-`), rollout (`attention-rollout-`) and three chosen layers (`attention-layers-`)."""
    figures = {
        "heads": head_grid_figure(maps),
        "mean": matrix_figure(layer_average(maps).mean(axis=0), maps.tokens, "mean over layers and heads"),
        "rollout": matrix_figure(rollout_matrix(maps), maps.tokens, "attention rollout"),
        "layers": chosen_layers_figure(maps),
    }
    return [path for name, fig in figures.items() for path in save_figure(fig, folder / f"attention-{name}-{text_id}")]


def write_selection(out: Path, rows: Sequence[int], inputs: Inputs, predicted: Sequence[str] | None) -> Path:
    """selection.csv: per explained input, its row in the file, text, gold label and predicted class."""
    frame = pd.DataFrame({"input": range(len(rows)), "row": rows, "text": inputs.texts})
    if inputs.labels is not None:
        frame["label"] = inputs.labels
    if predicted is not None:
        frame["predicted"] = predicted
    return save_table(frame, out / SELECTION)


def write_all(
    classifier: Classifier,
    out: Path,
    selected: Selected,
    methods: Sequence[str],
    *,
    evaluate: str | None = None,
    attention_out: Path | None = None,
    top_n: int = 20,
    console: Console | None = None,
) -> dict[str, str]:
    """Every study output the job's options ask for (see the module docstring); returns the files by name.

    When any of them is written, report.html becomes the full run report (`faithlab report`) that shows them.
    A deletion table that cannot be one table (margins against different contrasts) is skipped with a warning
    that names the settings that fix it: the explanations themselves are complete and kept. `top_n` is the number
    of words per class in top_words.csv (and at each end of loss_extremes.csv).
    """
    console = console or Console(stderr=True)
    files: dict[str, Path] = {}
    if selected.predicted is not None or selected.rows != list(range(len(selected.rows))):
        files["selection"] = write_selection(out, selected.rows, selected.inputs, selected.predicted)
    if "occlusion" in methods:
        try:
            files["deletions"], table = write_deletions(out, selected.rows)
            console.print(f"deletions.csv: {table.quantity}", markup=False, highlight=False)
            files |= write_influential_words(out, table, top_n)
        except FaithlabError as exc:
            console.print(f"warning: no deletions.csv: {exc}", style="yellow", markup=False, highlight=False)
    if evaluate:
        files |= write_evaluation(classifier, out, evaluate.split(","))
    if attention_out is not None:
        files |= write_attention_outputs(classifier, selected.inputs, selected.rows, attention_out, out, console)
    files["figures"] = write_bar_plots(out, selected.rows, console)
    if files.keys() - {"figures"}:  # the run's report shows the tables beside the explanations
        files["report"] = write_report([out], out / HTML_NAME, title=f"faithlab explanations: {classifier.name}")
    return {name: str(path) for name, path in files.items()}
