"""The benchmark runner: config checking, resumable storage, and a killed run that resumes to the same table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from faithlab.bench.config import load_config, parse_config
from faithlab.bench.runner import run_benchmark
from faithlab.bench.store import ResultStore
from faithlab.bench.summary import recommend, summary_table, write_summary
from faithlab.errors import FaithlabError

SENTENCES = [
    "the food was warm and the staff were kind",
    "a slow film with a clever script",
    "the shares fell after the report",
    "my order arrived two days late",
    "the battery lasts all day",
    "this hotel is close to the station",
]


def _config(tmp_path: Path, folder: Path, **extra) -> dict:
    data = tmp_path / "sentences.tsv"
    data.write_text("sentence\tlabel\n" + "".join(f"{s}\t0\n" for s in SENTENCES))
    return {
        "models": [{"name": "tiny", "path": str(folder)}],
        "datasets": [{"name": "planted", "kind": "planted", "path": str(data), "n": 6}],
        "methods": ["grad_x_input", {"ig": {"n_steps": 8}}, "occlusion", "random"],
        "metrics": ["ground_truth", "faithfulness", "loo", "randomization", "adversarial"],
        "samples": {"examples": 6, "randomization": 2, "adversarial": 2},
        "adversarial": {"steps": 5},
        "chunk_size": 2,
        "bootstrap": {"resamples": 50},
        **extra,
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"modles": []}, "unknown setting 'modles'; valid settings: models, datasets"),
        ({"metrics": ["faithfulness", "vibes"]}, r"unknown metrics\[1\] 'vibes'; choose one of ground_truth"),
        ({"samples": {"example": 3}}, r"unknown setting 'samples\.example'; valid settings of samples: examples"),
        ({"removal": {"replacement": "blank"}}, r"unknown removal\.replacement 'blank'; choose one of mask, pad, unk"),
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
        ({"chunk_size": "two"}, "chunk_size must be an integer, got 'two'"),
        ({"methods": [{"lime": {"n_samples": 1}}]}, r"methods\[0\]\.lime: n_samples: 1 is too small to fit"),
        ({"methods": ["ig", {"ig": {"steps": 3}}]}, r"methods\[1\]\.ig: unknown setting 'steps'; valid settings: base"),
        ({"methods": [{"kernel_shap": {"output": "odds"}}]}, "unknown output 'odds'; choose one of logit, probability"),
    ],
)
def test_bad_config_names_the_bad_key(tmp_path: Path, tiny_folders, change, message) -> None:
    raw = _config(tmp_path, tiny_folders["bert"]) | change
    with pytest.raises(FaithlabError, match=message):
        parse_config(raw)


def test_removal_takes_every_replacement_the_explainers_take(tmp_path: Path, tiny_folders) -> None:
    config = parse_config(_config(tmp_path, tiny_folders["bert"]) | {"removal": {"replacement": "unk"}})
    assert config.replacement == "unk" and config.fractions == [0.01, 0.05, 0.1, 0.2, 0.5]


def test_malformed_yaml_is_one_line_naming_the_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bench.yaml"
    path.write_text("seed: 0\nmodels: [{name: m, path: x}\n")
    with pytest.raises(FaithlabError, match=r"bench\.yaml': invalid YAML at line 3, column 1") as caught:
        load_config(path)
    assert "\n" not in str(caught.value)


def test_bad_model_and_dataset_entries(tmp_path: Path, tiny_folders) -> None:
    raw = _config(tmp_path, tiny_folders["bert"])
    raw["models"] = [{"name": "m", "path": "x", "zoo": {"family": "bert"}}]
    with pytest.raises(FaithlabError, match="exactly one of 'path'"):
        parse_config(raw)
    raw = _config(tmp_path, tiny_folders["bert"])
    raw["datasets"][0]["kind"] = "imdb"
    with pytest.raises(FaithlabError, match=r"datasets\[0\]\.kind"):
        parse_config(raw)


def test_a_model_can_restrict_the_metric_groups(tmp_path: Path, tiny_folders) -> None:
    raw = _config(tmp_path, tiny_folders["bert"], methods=["grad_x_input", "random"])
    raw["models"].append({"name": "cheap", "path": str(tiny_folders["bert"]), "metrics": ["ground_truth"]})
    config = parse_config(raw)
    assert config.for_model(config.models[0]).metrics == config.metrics
    assert config.for_model(config.models[1]).metrics == ["ground_truth"]
    database = run_benchmark(config, tmp_path / "run", progress=False)
    with ResultStore(database) as store:
        frame = store.frame()
    cheap = frame[frame.model == "cheap"]
    assert set(cheap.metric) == {"gt_overlap", "gt_mean_rank"}
    assert "randomization_spearman" in set(frame[frame.model == "tiny"].metric)
    raw["models"][1]["metrics"] = ["ground_truth", "vibes"]
    with pytest.raises(FaithlabError, match=r"unknown models\[1\]\.metrics\[1\] 'vibes'; choose one of ground_truth"):
        parse_config(raw)
    raw["models"][1] |= {"metrics": ["ground_truth"], "size": "xxl"}
    with pytest.raises(FaithlabError, match=r"unknown models\[1\]\.size 'xxl'; choose one of xs, s, m, l"):
        parse_config(raw)


def test_two_labelled_ensembles_sit_side_by_side(tmp_path: Path, tiny_folders) -> None:
    methods = [{"ig": {"n_steps": 4}}, {"occlusion": {"output": "logit"}}, "grad_x_input",
               {"ensemble": {"label": "ensemble_a", "methods": ["ig", "occlusion"]}},
               {"ensemble": {"label": "ensemble_b", "methods": ["ig", "grad_x_input"]}}]
    config = parse_config(_config(tmp_path, tiny_folders["bert"], methods=methods, metrics=["ground_truth"]))
    with ResultStore(run_benchmark(config, tmp_path / "run", progress=False)) as store:
        frame = store.frame()
    assert {"ensemble_a", "ensemble_b"} <= set(frame.method)
    same = parse_config(_config(tmp_path, tiny_folders["bert"], methods=[{"ensemble": {"methods": ["ig"]}}] * 2,
                                metrics=["ground_truth"]))
    with pytest.raises(FaithlabError, match="requested twice"):
        run_benchmark(same, tmp_path / "twice", progress=False)


def _table(database: Path) -> pd.DataFrame:
    with ResultStore(database) as store:
        frame = store.frame()
    return frame.drop(columns=["seconds"]).sort_values(["method", "metric", "variant", "example"]).reset_index(
        drop=True)


def test_killed_run_resumes_to_the_same_table(tmp_path: Path, tiny_folders) -> None:
    config = parse_config(_config(tmp_path, tiny_folders["bert"]))
    whole = run_benchmark(config, tmp_path / "whole", progress=False)
    first = run_benchmark(config, tmp_path / "killed", progress=False, max_units=2)
    partial = _table(first)
    assert 0 < len(partial) < len(_table(whole))
    resumed = run_benchmark(config, tmp_path / "killed", progress=False)
    pd.testing.assert_frame_equal(_table(resumed), _table(whole), check_exact=False, atol=1e-6)
    again = run_benchmark(config, tmp_path / "killed", progress=False)  # nothing left: no duplicates
    assert len(_table(again)) == len(_table(whole))
    frame = _table(whole)
    assert {"gt_overlap", "comprehensiveness", "sufficiency", "loo_spearman", "randomization_spearman",
            "attack_rank_change"} <= set(frame["metric"])
    assert not frame.duplicated(["method", "metric", "variant", "example"]).any()
    assert (tmp_path / "whole" / "results.csv").is_file()


def test_summary_and_recommendation(tmp_path: Path, tiny_folders) -> None:
    config = parse_config(_config(tmp_path, tiny_folders["bert"], metrics=["ground_truth", "faithfulness"]))
    database = run_benchmark(config, tmp_path / "run", progress=False)
    with ResultStore(database) as store:
        frame = store.frame()
    table = summary_table(frame, resamples=50)
    assert ((table["low"] <= table["mean"] + 1e-12) & (table["mean"] <= table["high"] + 1e-12)).all()
    paths = write_summary(frame, tmp_path / "run", {"tiny": {"family": "bert", "size": "xs"}}, resamples=50)
    assert "Recommendation rule" in paths["markdown"].read_text()
    rec = recommend(table)["tiny"]
    assert rec["best"]["method"] != "random"
    assert not any(key.startswith("size_") for key in paths)  # one size of one family: no size curve to draw
    two_sizes = pd.concat([frame, frame.assign(model="tiny-s")])
    models = {"tiny": {"family": "bert", "size": "xs"}, "tiny-s": {"family": "bert", "size": "s"}}
    paths = write_summary(two_sizes, tmp_path / "run2", models, resamples=20)
    assert paths["size_bert_gt_overlap"].is_file()


def test_recommendation_rule_on_a_hand_made_table() -> None:
    rows = []
    means = {"good": (0.9, 0.5, 0.1), "cheap_tie": (0.9, 0.5, 0.1), "bad": (0.2, 0.1, 0.4), "random": (0.3, 0.2, 0.3)}
    seconds = {"good": 2.0, "cheap_tie": 1.0, "bad": 0.1, "random": 0.0}
    for method, values in means.items():
        for metric, value in zip(("gt_overlap", "comprehensiveness", "sufficiency"), values, strict=True):
            rows.append({"model": "m", "dataset": "d", "metric": metric, "variant": "", "method": method,
                         "mean": value, "low": value, "high": value, "n": 1, "seconds": seconds[method],
                         "higher_is_better": metric != "sufficiency"})
    rec = recommend(pd.DataFrame(rows))["m"]
    assert rec["best"]["method"] == "cheap_tie"  # same ranks as 'good', cheaper
    assert rec["runner_up"]["method"] == "good"  # 'bad' never beats random, so it is not eligible


def _results(models: list[str]) -> pd.DataFrame:
    """Hand-made result rows: two methods, one faithfulness metric, three examples per model."""
    rows = [
        {"model": model, "dataset": "d", "method": method, "metric": "gt_overlap", "variant": "", "example": i,
         "value": value + 0.01 * i, "seconds": 0.1}
        for model in models
        for method, value in (("grad_x_input", 0.8), ("random", 0.2))
        for i in range(3)
    ]
    return pd.DataFrame(rows)


def test_summary_states_accuracy_and_warns_about_a_model_near_chance(tmp_path: Path) -> None:
    from faithlab.train.chance import CHANCE_RULE

    models = {
        "learned": {"family": "bert", "test_accuracy": 0.97, "chance_accuracy": 0.5},
        "at-chance": {"family": "gpt2", "test_accuracy": 0.55, "chance_accuracy": 0.5},
        "folder": {"family": "bert"},  # neither trained nor evaluated by the run: no accuracy to state
    }
    paths = write_summary(_results(list(models)), tmp_path, models, resamples=20)
    lines = paths["markdown"].read_text().splitlines()
    assert lines[0] == "# Benchmark summary" and "WARNING" in lines[2] and "at-chance" in lines[2]
    assert sum("WARNING" in line for line in lines) == 1
    assert "| learned | 0.9700 | 0.5000 | False | its own test set |" in lines
    assert "| folder | n/a | n/a | n/a | n/a |" in lines
    summary = json.loads(paths["json"].read_text())
    assert summary["accuracy"]["learned"] == {"test_accuracy": 0.97, "chance_accuracy": 0.5, "near_chance": False,
                                              "measured_on": "its own test set"}
    assert summary["accuracy"]["at-chance"]["near_chance"] is True
    assert summary["accuracy"]["folder"]["test_accuracy"] is None
    assert len(summary["warnings"]) == 1 and "at-chance" in summary["warnings"][0]
    assert summary["chance_rule"] == CHANCE_RULE and set(summary["recommendation"]) == set(models)


def test_no_warning_when_every_model_learned(tmp_path: Path) -> None:
    models = {"learned": {"test_accuracy": 0.95, "chance_accuracy": 0.6}}
    paths = write_summary(_results(list(models)), tmp_path, models, resamples=20)
    assert "WARNING" not in paths["markdown"].read_text()
    assert json.loads(paths["json"].read_text())["warnings"] == []


@pytest.mark.parametrize(
    ("confusion", "accuracy", "chance", "near"),
    [([[30, 0], [10, 0]], 0.75, 0.75, True), ([[20, 0], [0, 20]], 1.0, 0.5, False), ([[5, 5, 0], [0, 5, 5],
      [5, 0, 5]], 0.5, 1 / 3, False), ([[12, 8], [9, 11]], 0.575, 0.5, True)],
)
def test_chance_is_the_majority_class_rate(confusion, accuracy: float, chance: float, near: bool) -> None:
    from faithlab.train.chance import chance_accuracy, is_near_chance

    assert chance_accuracy(confusion) == pytest.approx(chance)
    assert is_near_chance(accuracy, chance_accuracy(confusion)) is near


def test_importing_the_summary_switches_no_matplotlib_backend() -> None:
    # the raw rcParams entry: matplotlib.get_backend() would itself import pyplot to resolve it
    code = (
        "import sys, matplotlib; backend = lambda: dict.__getitem__(matplotlib.rcParams, 'backend'); "
        "before = backend(); import faithlab.bench.summary, faithlab.train.trainer; "
        "assert 'matplotlib.pyplot' not in sys.modules; assert backend() == before, backend()"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ | {"PYTHONPATH": str(src)}, timeout=120)


def test_a_model_the_run_did_not_train_is_measured_on_the_labelled_examples(tiny_classifiers):
    from faithlab.bench.runner import examples_accuracy
    from faithlab.data import Example

    bert = tiny_classifiers["bert"]
    texts = ["the movie was great and fun to watch", "a dull , boring film", "i loved every minute of it !"]
    predicted = bert.predict(texts).argmax(axis=1).tolist()
    right = [Example(t, label=p, label_name=bert.labels[p].upper()) for t, p in zip(texts, predicted, strict=True)]
    found = examples_accuracy(bert, right)
    assert found["test_accuracy"] == 1.0 and "matched by name" in found["accuracy_source"]
    assert found["chance_accuracy"] == max(predicted.count(c) for c in set(predicted)) / 3
    wrong = [Example(t, label=1 - p, label_name=f"class {1 - p}") for t, p in zip(texts, predicted, strict=True)]
    found = examples_accuracy(bert, wrong)
    assert found["test_accuracy"] == 0.0 and "matched by index" in found["accuracy_source"]
    assert examples_accuracy(bert, [Example(texts[0], label=5, label_name="neutral")]) == {}
    assert examples_accuracy(bert, [Example(texts[0])]) == {}
