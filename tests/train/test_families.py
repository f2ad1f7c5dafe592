"""Every zoo family trains through the same loop, and pooling choices a family cannot honour are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from faithlab.errors import FaithlabError
from faithlab.models import load_classifier
from faithlab.train import TrainConfig, train


def one_epoch(model: Path, out: Path, **changes) -> TrainConfig:
    settings = {"model": str(model), "output_dir": str(out), "epochs": 1, "batch_size": 8, "learning_rate": 1e-3,
                "progress": False, "data": {"limit": 40}}
    return TrainConfig.from_dict(settings | changes)


@pytest.mark.parametrize("family", ["distilbert", "gpt2", "t5", "llama", "modernbert"])
def test_family_trains_and_reloads(tiny_folders: dict[str, Path], family: str, tmp_path: Path):
    result = train(one_epoch(tiny_folders[family], tmp_path / family, dropout=0.0))
    assert result.history[0]["train_loss"] > 0 and 0.0 <= result.metrics["accuracy"] <= 1.0
    reloaded = load_classifier(result.best_dir)
    assert reloaded.adapter.family == family
    assert all(m.p == 0.0 for m in reloaded.model.modules() if m.__class__.__name__ == "Dropout")


@pytest.mark.parametrize(("family", "pooling"), [("gpt2", "mean"), ("t5", "cls")])
def test_unavailable_pooling_is_refused(tiny_folders: dict[str, Path], family: str, pooling: str, tmp_path: Path):
    with pytest.raises(FaithlabError, match="pooling"):
        train(one_epoch(tiny_folders[family], tmp_path / family, pooling=pooling))


@pytest.mark.parametrize(("family", "tokenizer"), [("t5", "Unigram"), ("llama", "byte-level BPE"),
                                                   ("modernbert", "WordPiece")])
def test_zoo_trains_and_tabulates(tmp_path: Path, family: str, tokenizer: str):
    from faithlab.train import train_zoo
    from faithlab.train.zoo_train import zoo_data

    table = train_zoo(zoo_data(limit=60), tmp_path, families=[family], sizes=["xs"],
                      overrides={"epochs": 1, "progress": False, "data.position": "start"})
    row = table.iloc[0]
    assert (row["family"], row["size"], row["tokenizer"], row["layers"]) == (family, "xs", tokenizer, 2)
    assert 0.0 <= row["test_accuracy"] <= 1.0 and row["parameters"] > 0
    assert (tmp_path / "zoo.csv").is_file() and (tmp_path / "runs" / f"{family}-xs" / "best" / "config.json").is_file()
    assert load_classifier(tmp_path / "runs" / f"{family}-xs" / "best").adapter.family == family
    with pytest.raises(FaithlabError, match="unknown zoo size"):
        train_zoo(zoo_data(limit=60), tmp_path, sizes=["xxl"])
