"""The `train`, `ablate` and `zoo` commands, run through typer on tiny models."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from faithlab.cli import app
from faithlab.data import builtin_sentences
from faithlab.models.zoo import Size, build_classifier_folder
from faithlab.report.run_report import render_report
from faithlab.train.cli import register

TINY = Size(layers=1, hidden=32, heads=2, vocab=300)
runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_classifier_folder("roberta", [*builtin_sentences(), "positive negative"],
                                   tmp_path_factory.mktemp("tiny") / "roberta", size=TINY, vocab_size=TINY.vocab)


def test_register_mounts_the_commands():
    main = typer.Typer()
    register(main)
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert all(name in result.output for name in ("train", "ablate", "zoo"))


def test_train_command_from_flags(tiny_roberta: Path, tmp_path: Path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "-m", str(tiny_roberta), "-o", str(out), "--epochs", "1",
                                 "--set", "data.limit=60", "--lr", "1e-3", "--set", "batch_size=16", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and (out / "best" / "model.safetensors").is_file()
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert (saved["batch_size"], saved["learning_rate"], saved["data"]["limit"]) == (16, 1e-3, 60)


def test_bad_setting_is_one_line_naming_it_and_the_choices(tmp_path: Path):
    result = runner.invoke(app, ["train", "--set", "pooling=max", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert result.stderr == "error: unknown pooling 'max'; choose one of auto, cls, mean\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "epochs=three"], "error: epochs must be an integer, got 'three'"),
        (["--set", "data.colour=red"], "error: unknown setting 'data.colour'; valid settings of data: task, train"),
        (["--set", "data.label_words=[bad"], "error: setting 'data.label_words': invalid YAML at line 1, column 5"),
        (["--reader", "csv"], "error: unknown data.reader 'csv'; choose one of table, sst2, mnli, emotion"),
    ],
)
def test_bad_train_settings_are_one_line_without_a_traceback(tmp_path: Path, args: list[str], message: str):
    result = runner.invoke(app, ["train", *args, "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message)


def test_malformed_yaml_config_is_one_line(tmp_path: Path):
    config = tmp_path / "run.yaml"
    config.write_text("epochs: [1\n")
    result = runner.invoke(app, ["train", str(config), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: config file '{config}': invalid YAML at line 2, column 1")


def test_ablate_writes_accuracy_deltas(tiny_roberta: Path, tmp_path: Path):
    spec = tmp_path / "ablation.yaml"
    spec.write_text(yaml.safe_dump({
        "base": {"model": str(tiny_roberta), "output_dir": str(tmp_path / "abl"), "epochs": 1, "batch_size": 16,
                 "learning_rate": 1e-3, "progress": False, "data": {"limit": 60}},
        "variations": {"no-dropout": {"dropout": 0.0}},
    }))
    result = runner.invoke(app, ["ablate", str(spec), "--vary", "mean:pooling=mean"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "abl" / "ablation.csv")
    assert table["variation"].tolist() == ["base", "no-dropout", "mean"]
    expected = table["test_accuracy"] - table["test_accuracy"][0]
    assert table["delta_accuracy"].tolist() == pytest.approx(expected.tolist())
    assert (tmp_path / "abl" / "mean" / "best" / "config.json").is_file()
    assert "| variation |" in (tmp_path / "abl" / "ablation.md").read_text()
    page = render_report([tmp_path / "abl"])  # the report shows the ablation table
    assert "Ablation: abl" in page and all(f"<td>{name}</td>" in page for name in ("base", "no-dropout", "mean"))


def test_train_command_on_labelled_pairs(tiny_roberta: Path, tmp_path: Path):
    sentences = builtin_sentences()[:60]
    rows = [f"{a}\t{b}\t{['yes', 'no', 'maybe'][i % 3]}" for i, (a, b) in enumerate(itertools.pairwise(sentences))]
    table = tmp_path / "pairs.tsv"
    table.write_text("premise\thypothesis\tgold\n" + "\n".join(rows) + "\n")
    out = tmp_path / "pairs"
    result = runner.invoke(app, ["train", "-m", str(tiny_roberta), "-o", str(out), "--set", "data.task=classify",
                                 "--input", str(table), "--text-col", "premise", "--pair-col", "hypothesis",
                                 "--label-col", "gold", "--epochs", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(out / "predictions.csv")
    assert {"pair", "p_maybe", "p_no", "p_yes"} <= set(predictions.columns)
    assert "f1_binary" not in result.output  # three classes: no binary F1
