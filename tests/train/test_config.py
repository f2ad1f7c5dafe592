"""Train configs: YAML and flags in, validated settings out, errors that name the bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from faithlab.errors import FaithlabError
from faithlab.train.config import TrainConfig, load_config, parse_assignments


def test_yaml_with_overrides(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text("model: minilm\nlearning_rate: 2e-5\ndata:\n  task: planted\n  limit: 100\n")
    config = load_config(path, {"pooling": "mean", "data.position": "end"})
    assert config.learning_rate == 2e-5  # YAML 1.1 reads "2e-5" as text; it still becomes a number
    assert (config.pooling, config.data.limit, config.data.position) == ("mean", 100, "end")


def test_saved_config_reads_back_equal(tmp_path: Path):
    config = TrainConfig.from_dict({"epochs": 5, "dropout": 0.0, "data": {"label_words": ["bad", "good"]}})
    config.save(tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == config


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"pooling": "max"}, "pooling"),
        ({"monitor": "accuracy"}, "monitor"),
        ({"epochs": 0}, "epochs"),
        ({"warmup_ratio": 1.5}, "warmup_ratio"),
        ({"dropout": -0.1}, "dropout"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"lr": 0.1}, "unknown setting 'lr'"),
        ({"data": {"task": "classify"}}, "data.train"),
        ({"data": {"dev_fraction": 0}}, "dev_fraction"),
        ({"data": {"colour": 1}}, "data.colour"),
    ],
)
def test_bad_settings_name_themselves(values, message):
    with pytest.raises(FaithlabError, match=message):
        TrainConfig.from_dict(values)


def test_assignments_are_yaml_scalars():
    assert parse_assignments(["dropout=0.0", "patience=null", "bucket=false", "pooling=cls"]) == {
        "dropout": 0.0, "patience": None, "bucket": False, "pooling": "cls"}
    with pytest.raises(FaithlabError, match="key=value"):
        parse_assignments(["dropout"])
