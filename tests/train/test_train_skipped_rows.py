"""Training reads its files through the skipped-rows guard: too many malformed rows stop it before any step, and
an accepted run records what each reader kept and skipped in its run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faithlab.data import builtin_sentences
from faithlab.errors import FaithlabError
from faithlab.train import TrainConfig, train
from faithlab.train.config import DataConfig
from faithlab.train.task_data import load_splits


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """60 labelled sentences and 4 rows with a field too many (lines 62-65): 6.2% malformed."""
    rows = [f'"{text}",{i % 2}' for i, text in enumerate(builtin_sentences()[:60])]
    path = tmp_path / "train.csv"
    path.write_text("sentence,label\n" + "\n".join(rows + ["a,b,c"] * 4) + "\n", encoding="utf-8")
    return path


def test_too_many_malformed_rows_stop_training_naming_the_reader(table: Path):
    data = {"task": "classify", "train": str(table)}
    with pytest.raises(FaithlabError, match=r"the table reader skipped 4 of 64 rows of .*train.csv as malformed "
                                            r"\(6.2%, above max_skipped 0.05\): 4 x wrong number of fields "
                                            r"\(lines 62, 63, 64, 65\)"):
        load_splits(DataConfig(**data))
    (read,) = load_splits(DataConfig(**data, max_skipped=0.1)).reads
    assert (read.kept, read.malformed, read.accepted) == (60, 4, False)


def test_an_accepted_run_records_the_rows_read_and_resumes_under_another_limit(table: Path, tiny_folders, tmp_path):
    settings = {"model": str(tiny_folders["bert"]), "output_dir": str(tmp_path / "run"), "epochs": 1,
                "batch_size": 16, "progress": False,
                "data": {"task": "classify", "train": str(table), "accept_skipped": True}}
    result = train(TrainConfig.from_dict(settings))
    (read,) = result.reads
    assert read.accepted and read.kept == 60
    for name in ("splits.json", "summary.json"):
        (record,) = json.loads((result.run_dir / name).read_text())["data"]
        assert (record["reader"], record["rows_read"], record["kept"], record["malformed"]) == ("table", 64, 60, 4)
    stricter = settings | {"data": settings["data"] | {"accept_skipped": False, "max_skipped": 0.1}}
    assert train(TrainConfig.from_dict(stricter)).reads[0].max_skipped == 0.1  # a check, not a changed setting
