"""`faithlab explain` writes a study's tables without glue code: selection by prediction or label, the flat
deletion CSV, --evaluate's per-text values and labelled curves, raw attention matrices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from faithlab.cli import app
from faithlab.models import load_classifier

SENTENCES = ["profit rose 0.8 % pre-tax", "the market fell sharply", "shares were flat", "sales beat the forecast",
             "losses widened again", "the outlook improved"]


@pytest.fixture
def finance(tmp_path) -> Path:
    """The finance study's layout: latin-1, one `sentence@label` per line."""
    path = tmp_path / "finance.txt"
    labels = ["positive", "negative", "negative", "positive", "negative", "positive"]
    path.write_bytes("\n".join(f"{s} é@{y}" for s, y in zip(SENTENCES, labels, strict=True)).encode("latin-1"))
    return path


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_selected_texts_get_a_fixed_contrast_deletion_csv_curves_and_attention(tiny_folders, finance, tmp_path):
    model = load_classifier(tiny_folders["bert"])
    predicted = [model.labels[i] for i in model.predict([f"{s} é" for s in SENTENCES]).argmax(axis=1)]
    chosen = predicted[0]
    out = tmp_path / "run"
    result = invoke(
        "explain", "-m", tiny_folders["bert"], "-i", finance, "--reader", "label_sep", "--delimiter", "@",
        "--encoding", "latin-1", "--methods", "occlusion,grad_x_input", "--target", "positive",
        "--set", "occlusion.unit=whitespace", "--set", "occlusion.output=probability_margin",
        "--set", "occlusion.contrast=negative", "--select-predicted", chosen, "--first", "2",
        "--evaluate", "curves,comprehensiveness", "--attention-out", out / "attention.npz", "-o", out, "-q",
    )
    assert result.exit_code == 0, result.output
    rows = [i for i, p in enumerate(predicted) if p == chosen][:2]
    selection = pd.read_csv(out / "selection.csv")
    assert selection["row"].tolist() == rows and set(selection["predicted"]) == {chosen}
    deletions = pd.read_csv(out / "deletions.csv")
    assert sorted(set(deletions["text_id"])) == rows
    assert deletions[deletions["text_id"] == rows[0]]["word"].tolist() == f"{SENTENCES[rows[0]]} é".split()
    assert set(deletions["contrast"]) == {"negative"} and set(deletions["target"]) == {"positive"}
    for column in ("output_before", "output_after", "predicted_after", "p_after:positive", "difference"):
        assert column in deletions
    evaluation = pd.read_csv(out / "evaluation.csv")
    assert {"comprehensiveness", "auc_morf", "auc_lerf"} <= set(evaluation["metric"])
    curves = json.loads((out / "curves.json").read_text())
    assert {(c["method"], c["curve"]) for c in curves} >= {("occlusion", "morf"), ("grad_x_input", "lerf")}
    assert all(c["label"] in ("sharp", "gradual", "flat") for c in curves)
    with np.load(out / "attention.npz") as data:
        assert data["text0/layer0"].dtype == np.float16 and str(data["text1/text"]) == f"{SENTENCES[rows[1]]} é"
    assert set(pd.read_csv(out / "attention_totals.csv")["text_id"]) == set(rows)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Faithfulness per method" in report and '"curves":[' in report and '"deletions":[' in report


def test_select_by_gold_label_and_a_seeded_sample(tiny_folders, finance, tmp_path):
    args = ["explain", "-m", tiny_folders["bert"], "-i", finance, "--reader", "label_sep", "--delimiter", "@",
            "--encoding", "latin-1", "--methods", "random", "--select-label", "negative", "--sample", "2", "-q"]
    first = invoke(*args, "--seed", "3", "-o", tmp_path / "a")
    again = invoke(*args, "--seed", "3", "-o", tmp_path / "b")
    assert first.exit_code == 0 and again.exit_code == 0, first.output
    chosen = pd.read_csv(tmp_path / "a" / "selection.csv")
    assert chosen["row"].tolist() == pd.read_csv(tmp_path / "b" / "selection.csv")["row"].tolist()
    assert set(chosen["label"]) == {"negative"} and len(chosen) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--select-label", "bullish"], "unknown label 'bullish'"),
        (["--select-predicted", "bullish"], "bullish"),
        (["--first", "1", "--sample", "1"], "not both"),
    ],
)
def test_bad_selections_are_one_clear_error(tiny_folders, finance, tmp_path, extra, message):
    result = invoke("explain", "-m", tiny_folders["bert"], "-i", finance, "--reader", "label_sep", "--delimiter",
                    "@", "--encoding", "latin-1", "--methods", "random", "-o", tmp_path / "x", *extra)
    assert result.exit_code == 2 and message in result.output


def test_top_words_loss_extremes_bars_and_attention_figures_follow_the_run(tiny_folders, finance, tmp_path):
    out = tmp_path / "run"
    result = invoke(
        "explain", "-m", tiny_folders["bert"], "-i", finance, "--reader", "label_sep", "--delimiter", "@",
        "--encoding", "latin-1", "--methods", "occlusion,grad_x_input", "--set", "occlusion.unit=whitespace",
        "--set", "occlusion.output=loss", "--first", "4", "--top-n", "2", "--attention-out", out / "att.npz",
        "-o", out, "-q",
    )
    assert result.exit_code == 0, result.output
    deletions = pd.read_csv(out / "deletions.csv")
    top = pd.read_csv(out / "top_words.csv")
    for cls, words in deletions.groupby("predicted_before"):
        kept = top[top["predicted_before"] == cls]
        assert kept["rank"].tolist() == list(range(1, min(2, len(words)) + 1))
        assert kept["difference"].tolist() == sorted(words["difference"], reverse=True)[:2]
    assert set(top["predicted_before"]) == set(deletions["predicted_before"])
    extremes = pd.read_csv(out / "loss_extremes.csv")
    ordered = sorted(deletions["difference"])
    assert extremes[extremes["end"] == "top"]["difference"].tolist() == ordered[::-1][:2]
    assert extremes[extremes["end"] == "bottom"]["difference"].tolist() == ordered[:2]
    assert {"text_id", "word", "output_before", "output_after", "predicted_after"} <= set(extremes.columns)
    figures = out / "figures"
    with np.load(out / "att.npz") as data:
        texts = {k.split("/")[0] for k in data.files}
    assert len(texts) == 4
    for i in range(4):  # one bar plot and four attention figures per text, each as PNG and SVG
        for stem in ("bars", "attention-heads", "attention-mean", "attention-rollout", "attention-layers"):
            assert (figures / f"{stem}-{i}.png").stat().st_size > 0 and (figures / f"{stem}-{i}.svg").exists()
    assert not (figures / "bars-4.png").exists()


def test_margin_tables_have_no_loss_extremes_and_bad_top_n_is_one_error(tiny_folders, finance, tmp_path):
    args = ["explain", "-m", tiny_folders["bert"], "-i", finance, "--reader", "label_sep", "--delimiter", "@",
            "--encoding", "latin-1", "--methods", "occlusion", "--first", "2", "-q"]
    assert invoke(*args, "-o", tmp_path / "a").exit_code == 0
    assert (tmp_path / "a" / "top_words.csv").exists() and not (tmp_path / "a" / "loss_extremes.csv").exists()
    bad = invoke(*args, "--top-n", "0", "-o", tmp_path / "b")
    assert bad.exit_code == 2 and "--top-n must be at least 1, got 0" in bad.output
