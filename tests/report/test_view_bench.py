"""Benchmark figures: one fixed, unique style per method in every figure, interval bands, a randomization curve
that starts from the unrandomised model and reads forwards, PNG and SVG; nothing to plot writes nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from matplotlib.colors import to_hex

from faithlab.bench.summary import write_summary
from faithlab.explain import EXPLAINERS
from faithlab.report import bench_plots
from faithlab.report.styles import METHOD_STYLES, method_style

METHODS = ["attention_mean", "random", "rollout", "ensemble"]


def test_every_registered_method_has_its_own_colour_and_marker() -> None:
    assert set(EXPLAINERS) <= set(METHOD_STYLES)
    styles = [method_style(m) for m in EXPLAINERS]
    assert len({s.color for s in styles}) == len(styles)
    assert len({s.marker for s in styles}) == len(styles)
    registered = {s.color for s in METHOD_STYLES.values()}
    assert method_style("ensemble_all").color not in registered
    assert method_style("ensemble_all") == method_style("ensemble_all")


def _row(model: str, metric: str, method: str, mean: float, variant: str = "") -> dict:
    return {"model": model, "dataset": "d", "metric": metric, "variant": variant, "method": method, "mean": mean,
            "low": mean - 0.1, "high": mean + 0.1, "higher_is_better": True}


def test_sizes_use_fixed_colours_with_bands_and_write_png_and_svg(tmp_path: Path, monkeypatch) -> None:
    drawn = []
    monkeypatch.setattr(bench_plots, "_save", lambda fig, stem: drawn.append(fig) or bench_plots.save_figure(
        fig, stem)[0])
    table = pd.DataFrame([_row(m, "comprehensiveness", method, 0.1 * i)
                          for m in ("a", "b") for i, method in enumerate(METHODS)])
    models = {"a": {"family": "bert", "size": "xs"}, "b": {"family": "bert", "size": "s"}}
    paths = bench_plots.plot_sizes(table, models, tmp_path / "plots")
    png = paths["size_bert_comprehensiveness"]
    assert png.exists() and png.with_suffix(".svg").exists()
    ax = drawn[0].get_axes()[0]
    colours = {line.get_label(): to_hex(line.get_color()) for line in ax.get_lines()}
    assert colours == {m: method_style(m).color for m in METHODS}
    assert len(ax.collections) == len(METHODS)  # one interval band per method


def test_randomization_starts_unrandomized_and_reads_forwards(tmp_path: Path) -> None:
    rows = [_row("m", "randomization_spearman", "rollout", v, f"cascading:{b}") for b, v in ((0, 0.1), (2, 0.7),
                                                                                            (1, 0.4))]
    steps = bench_plots.randomization_steps(pd.DataFrame(rows))
    assert steps["label"].tolist() == ["none", "to block 2", "to block 1", "to block 0"]
    assert steps["mean"].tolist() == pytest.approx([1.0, 0.7, 0.4, 0.1])
    assert steps["step"].tolist() == [0, 1, 2, 3]
    assert bench_plots.plot_randomization(pd.DataFrame(rows), tmp_path)["randomization_m"].exists()


def test_a_run_with_only_curves_writes_no_empty_plots_folder_or_empty_recommendation(tmp_path: Path) -> None:
    results = pd.DataFrame([
        {"model": "m", "dataset": "d", "metric": metric, "variant": "", "method": method, "example": e,
         "value": 0.1 * e, "seconds": 0.01}
        for metric in ("auc_morf", "auc_lerf") for method in METHODS for e in range(3)
    ])
    paths = write_summary(results, tmp_path)
    assert not (tmp_path / "plots").exists()
    assert not (tmp_path / "recommendation.json").exists() and "recommendation" not in paths
    assert "No recommendation" in (tmp_path / "summary.md").read_text()
