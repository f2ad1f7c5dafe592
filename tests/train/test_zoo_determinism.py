"""Training a zoo model is reproducible: the same seed gives the same weights, byte for byte, on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from faithlab.train import train_zoo
from faithlab.train.zoo_train import zoo_data

SETTINGS = {"epochs": 1, "batch_size": 8, "progress": False}


def _train(root: Path, seed: int) -> dict[str, bytes]:
    train_zoo(zoo_data(limit=60), root, families=["bert"], sizes=["xs"], overrides=SETTINGS | {"seed": seed})
    best = root / "runs" / "bert-xs" / "best"
    return {name: (best / name).read_bytes() for name in ("model.safetensors", "tokenizer.json")}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return _train(tmp_path_factory.mktemp("zoo-seed-5"), 5)


def test_same_seed_gives_the_same_weights(trained: dict[str, bytes], tmp_path: Path) -> None:
    assert _train(tmp_path, 5) == trained


def test_another_seed_gives_other_weights(trained: dict[str, bytes], tmp_path: Path) -> None:
    assert _train(tmp_path, 6)["model.safetensors"] != trained["model.safetensors"]
