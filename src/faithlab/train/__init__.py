"""Fine-tuning, calibration metrics, slice and error analysis, ablations, and training the model zoo.

Imports only `faithlab.models` and `faithlab.data`.
"""

from faithlab.train.config import DataConfig, TrainConfig, load_config
from faithlab.train.metrics import (
    brier_score,
    classification_metrics,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_bins,
)
from faithlab.train.trainer import RunResult, train

__all__ = [
    "DataConfig",
    "RunResult",
    "TrainConfig",
    "brier_score",
    "classification_metrics",
    "expected_calibration_error",
    "load_config",
    "negative_log_likelihood",
    "reliability_bins",
    "train",
]
