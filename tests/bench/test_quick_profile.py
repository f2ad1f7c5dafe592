"""The `faithlab bench --quick` profile evaluates models that learned their task, not models at chance.

Each zoo model of the profile is trained exactly as the benchmark runner trains it (same function, same settings)
and must reach 0.9 test accuracy on the planted task; the built-in data make chance about 0.5.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from faithlab.bench.cli import QUICK
from faithlab.bench.config import ModelSpec, load_config
from faithlab.bench.runner import obtain_classifier

PROFILE = load_config(Path(str(resources.files("faithlab.bench") / QUICK)))
ZOO_MODELS = [model for model in PROFILE.models if model.zoo is not None]


def test_profile_trains_zoo_models() -> None:
    assert any(model.zoo.family == "bert" for model in ZOO_MODELS)  # BERT was the model left at chance


@pytest.mark.parametrize("model", ZOO_MODELS, ids=[m.name for m in ZOO_MODELS])
def test_quick_model_learns_the_planted_task(model: ModelSpec, tmp_path: Path) -> None:
    _, info = obtain_classifier(model, tmp_path, PROFILE.seed, progress=False)
    assert info["test_accuracy"] >= 0.9
