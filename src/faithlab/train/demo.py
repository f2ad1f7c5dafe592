"""The demo model: `minilm` fine-tuned on the planted-feature task over the built-in sentences (CPU, minutes).

The held-out test split keeps its planted word positions (`Example.planted`), the ground truth explanations of
the demo are checked against.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faithlab.data import Dataset
from faithlab.train.config import TrainConfig
from faithlab.train.task_data import load_splits
from faithlab.train.trainer import train

DEMO_SETTINGS = {
    "model": "minilm",
    "epochs": 3,
    "batch_size": 16,
    "learning_rate": 1e-4,
    "warmup_ratio": 0.1,
    "max_length": 64,
    "monitor": "dev_loss",  # dev accuracy saturates at 1.0 in epoch 1; the loss keeps choosing the surer model
    "data": {"task": "planted", "train": None, "position": "random", "test_fraction": 0.2},
}


def demo_config(output_dir: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The demo's train config, writing to `output_dir`, with dotted-key `overrides`."""
    return TrainConfig.from_dict({**DEMO_SETTINGS, "output_dir": str(output_dir)}).with_overrides(overrides or {})


def train_demo_model(
    output_dir: str | Path, *, progress: bool = False, overwrite: bool = False, device: str = "auto"
) -> Path:
    """Train (or resume, or reuse a finished run in `output_dir`) on `device` and return the best checkpoint
    folder."""
    return train(demo_config(output_dir, {"progress": progress, "device": device}), overwrite=overwrite).best_dir


def demo_heldout() -> Dataset:
    """The demo's test split: texts the model never saw, with labels and planted word positions."""
    config = demo_config("unused")
    return load_splits(config.data, config.seed).test
