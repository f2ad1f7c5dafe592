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


@pytest.mark.parametrize("family", ["distilbert", "gpt2", "t5"])
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
