"""Every benchmark config shipped in benchmarks/ parses, and each of its methods builds an explainer on a model, so a
rule added to the explainers (e.g. an ensemble's one output) cannot silently break a documented command."""

from __future__ import annotations

from pathlib import Path

import pytest

from faithlab.bench.config import load_config
from faithlab.bench.runner import share_settings
from faithlab.explain import get_explainer
from faithlab.models import Classifier

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "benchmarks").rglob("*.yaml"))


def test_configs_are_found() -> None:
    assert len(CONFIGS) >= 5, CONFIGS


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_config_builds_every_method(path: Path, tiny_classifiers: dict[str, Classifier]) -> None:
    config = load_config(path)
    names = []
    for name, settings in share_settings(config.methods):
        explainer = get_explainer(name, tiny_classifiers["bert"], **settings)
        names.append(explainer.name)
    assert len(names) == len(config.methods)
