"""The cost model and `faithlab bench --plan`: pass counts worked out by hand, seconds from a calibration, and a
plan that runs nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from faithlab.bench.config import parse_config
from faithlab.bench.cost import (
    Calibration,
    Passes,
    calibrate,
    estimate_unit_seconds,
    explain_passes,
    method_passes,
    metric_passes,
)
from faithlab.bench.plan import plan_benchmark
from faithlab.cli import app
from faithlab.explain import get_explainer
from faithlab.explain.settings import AUTO_START_STEPS

TEXTS = ["the food was warm and the staff were kind", "a slow film"]


@pytest.fixture(scope="module")
def bert(tiny_classifiers):
    return tiny_classifiers["bert"]


def _shape(classifier, texts=TEXTS):
    batch = classifier.encode(texts)
    return batch, batch.content_mask.sum(dim=1).tolist(), batch.lengths.tolist()


def test_occlusion_is_one_pass_per_token_plus_the_shared_prediction(bert) -> None:
    batch, n, width = _shape(bert)
    own = method_passes(get_explainer("occlusion", bert), batch)
    assert own.forward_rows == n[0] + n[1] and own.backward_rows == 0
    assert own.forward_tokens == n[0] * width[0] + n[1] * width[1]
    assert explain_passes(bert, batch, [("occlusion", {})]).forward_rows == n[0] + n[1] + 2


def test_ig_is_n_steps_plus_the_baseline_per_text_all_with_a_backward(bert) -> None:
    batch, _n, width = _shape(bert)
    own = method_passes(get_explainer("ig", bert, n_steps=8), batch)
    assert (own.forward_rows, own.backward_rows, own.backward_tokens) == (0, 18, 9 * (width[0] + width[1]))
    explainer = get_explainer("ig", bert)  # n_steps="auto": its first level of nodes; more may follow
    auto = method_passes(explainer, batch)
    assert auto.backward_rows == 2 * (AUTO_START_STEPS[explainer.settings["method"]] + 1) and auto.notes


def test_kernel_shap_is_its_sample_budget_or_every_coalition(bert) -> None:
    long_batch, (n_long,), _ = _shape(bert, [TEXTS[0]])
    short_batch, (n_short,), _ = _shape(bert, [TEXTS[1]])
    assert n_long > 6 and n_short == 3
    explainer = get_explainer("kernel_shap", bert, n_samples=64)
    assert method_passes(explainer, long_batch).forward_rows == 64
    assert method_passes(explainer, short_batch).forward_rows == 2**3  # exact: all 8 coalitions fit the budget


def test_one_pass_methods_and_ensembles_add_up(bert) -> None:
    batch, _n, width = _shape(bert)
    assert method_passes(get_explainer("grad_x_input", bert), batch).backward_rows == 2
    assert method_passes(get_explainer("attention_mean", bert), batch).forward_tokens == sum(width)
    assert method_passes(get_explainer("random", bert), batch).forward_rows == 0
    ensemble = method_passes(get_explainer("ensemble", bert, methods=["grad_x_input", "occlusion"]), batch)
    occlusion = method_passes(get_explainer("occlusion", bert), batch)
    assert (ensemble.forward_rows, ensemble.backward_rows) == (occlusion.forward_rows, 2)


def test_removal_metrics_by_hand(bert) -> None:
    batch, n, width = _shape(bert)
    passes = metric_passes(batch, n_methods=2, metrics=["faithfulness", "curves", "loo"], n_fractions=3)
    # per text: 2 methods x (2 removals x 3 fractions + MORF and LERF curves of n + 1 points), + n LOO masks
    rows = [2 * (6 + 2 * (k + 1)) + k for k in n]
    assert passes.forward_rows == sum(rows)
    assert passes.forward_tokens == rows[0] * width[0] + rows[1] * width[1]


def test_seconds_are_chunks_times_overhead_plus_tokens_times_rate() -> None:
    calibration = Calibration("cpu", 1000, forward_overhead=0.01, forward_per_token=1e-5, backward_overhead=0.02,
                              backward_per_token=2e-5)
    passes = Passes(forward_rows=25, forward_tokens=2500, backward_rows=12, backward_tokens=1200)
    # 3 forward chunks of <= 1000 tokens, 3 backward chunks of <= 500
    assert estimate_unit_seconds(passes, calibration) == pytest.approx(3 * 0.01 + 0.025 + 3 * 0.02 + 0.024)


def test_passes_that_run_one_after_another_cost_a_chunk_each() -> None:
    calibration = Calibration("cpu", 1000, forward_overhead=0.01, forward_per_token=1e-5, backward_overhead=0.02,
                              backward_per_token=2e-5)
    steps = Passes(backward_rows=80, backward_tokens=800, backward_calls=80)  # 80 attack steps of one 10-token row
    assert estimate_unit_seconds(steps, calibration) == pytest.approx(80 * 0.02 + 800 * 2e-5)


def test_calibration_measures_this_device(bert) -> None:
    calibration = calibrate(bert, width=12, repeats=1)
    assert calibration.device == "cpu" and calibration.max_batch_tokens == bert.max_batch_tokens
    assert calibration.forward_per_token > 0 and calibration.backward_per_token > 0


def _config_file(tmp_path: Path, folder: Path) -> Path:
    data = tmp_path / "sentences.tsv"
    data.write_text("sentence\tlabel\n" + "".join(f"{s}\t0\n" for s in [*TEXTS, "the shares fell", "late again"]))
    raw = {
        "models": [{"name": "tiny", "path": str(folder)}],
        "datasets": [{"name": "planted", "kind": "planted", "path": str(data), "n": 4}],
        "methods": ["grad_x_input", {"ig": {"n_steps": 8}}, "occlusion"],
        "metrics": ["ground_truth", "faithfulness", "randomization", "adversarial"],
        "samples": {"examples": 4, "randomization": 2, "adversarial": 1},
        "adversarial": {"steps": 5},
        "chunk_size": 2,
    }
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_plan_lists_every_unit_and_runs_nothing(tmp_path: Path, tiny_folders) -> None:
    path = _config_file(tmp_path, tiny_folders["bert"])
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["bench", str(path), "--plan", "--out", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    for unit in ("examples:0-2", "examples:2-4", "randomization", "adversarial"):
        assert unit in result.output
    assert "nothing was run" in result.output and "estimated total" in result.output
    assert not out.exists()  # no store, no config copy, no models


def test_plan_units_match_the_runner_and_take_the_config_device(tmp_path: Path, tiny_folders) -> None:
    config = parse_config(yaml.safe_load(_config_file(tmp_path, tiny_folders["bert"]).read_text()) | {"device": "cpu"})
    plan = plan_benchmark(config, tmp_path / "run")
    assert [u.unit for u in plan.units] == ["examples:0-2", "examples:2-4", "randomization", "adversarial"]
    assert all(u.seconds > 0 and not u.done for u in plan.units)
    assert plan.models[0].calibration.device == "cpu" and plan.models[0].training == ""
    adversarial = plan.units[-1].passes
    assert adversarial.forward_rows == 0 and adversarial.backward_rows > 0
    assert adversarial.backward_calls == 2 * 2 * 5  # grad_x_input and ig attacked, two objectives, five steps
