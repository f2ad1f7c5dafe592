"""Fine-tuning, calibration metrics, slice and error analysis, ablations, and training the model zoo.

Imports only `faithlab.models` and `faithlab.data`.
"""

from faithlab.train.ablate import ablate, load_ablation
from faithlab.train.config import DataConfig, TrainConfig, load_config
from faithlab.train.demo import demo_heldout, train_demo_model
from faithlab.train.metrics import (
    brier_score,
    classification_metrics,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_bins,
)
from faithlab.train.trainer import RunResult, train
from faithlab.train.zoo_train import build_zoo, train_zoo

__all__ = [
    "DataConfig",
    "RunResult",
    "TrainConfig",
    "ablate",
    "brier_score",
    "build_zoo",
    "classification_metrics",
    "demo_heldout",
    "expected_calibration_error",
    "load_ablation",
    "load_config",
    "negative_log_likelihood",
    "reliability_bins",
    "train",
    "train_demo_model",
    "train_zoo",
]
