"""Train configs: YAML and flags in, validated settings out, errors that name the bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from faithlab.errors import FaithlabError
from faithlab.schema import parse_assignments
from faithlab.train.config import TrainConfig, load_config


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
        ({"data": {"task": "classify"}}, "data: train is required"),
        ({"data": {"dev_fraction": 0}}, "dev_fraction"),
        ({"data": {"colour": 1}}, "data.colour"),
        ({"epochs": "three"}, "epochs must be an integer, got 'three'"),
        ({"data": {"reader": "csv"}}, "unknown data.reader 'csv'; choose one of table, sst2, mnli, emotion"),
    ],
)
def test_bad_settings_name_themselves(values, message):
    with pytest.raises(FaithlabError, match=message):
        TrainConfig.from_dict(values)


def test_assignments_are_yaml_scalars():
    assert parse_assignments(["dropout=0.0", "patience=null", "bucket=false", "pooling=cls"]) == {
        "dropout": 0.0, "patience": None, "bucket": False, "pooling": "cls"}
    assert parse_assignments(["learning_rate=2e-5", "data.label_words=[bad, good]"]) == {
        "learning_rate": 2e-5, "data.label_words": ["bad", "good"]}  # YAML 1.2 floats: 2e-5 is a number
    with pytest.raises(FaithlabError, match="key=value"):
        parse_assignments(["dropout"])


def test_unknown_keys_list_the_valid_settings():
    with pytest.raises(FaithlabError, match=r"unknown setting 'data\.colour'; valid settings of data: task, train"):
        TrainConfig.from_dict({"data": {"colour": 1}})
    with pytest.raises(FaithlabError, match="unknown setting 'lr'; valid settings: model, output_dir, data"):
        load_config(None, {"lr": 0.1})


def test_wrong_type_in_a_yaml_file_names_the_file_and_the_setting(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text("epochs: three\n")
    with pytest.raises(FaithlabError, match=r"run\.yaml': epochs must be an integer, got 'three'"):
        load_config(path)


def test_malformed_yaml_names_the_file_line_and_column(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text("epochs: 3\ndata: {task: planted\n")
    with pytest.raises(FaithlabError, match=r"run\.yaml': invalid YAML at line 3, column 1"):
        load_config(path)
    with pytest.raises(FaithlabError, match=r"setting 'data\.label_words': invalid YAML at line 1, column 5"):
        parse_assignments(["data.label_words=[bad"])
