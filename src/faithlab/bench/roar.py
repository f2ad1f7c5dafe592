"""The benchmark's remove-and-retrain unit (`faithlab.evaluate.roar`): one method's recursive masking, each step
retrained with `faithlab.train.train` on the masked texts.

The texts come from `roar.train.data` (a train config's data section; default the built-in planted task), the
starting weights of every retrain from `roar.train.model` (default: the benchmarked model). Retrained models are
intermediate: they live in a temporary folder and only their test accuracies are kept.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from faithlab.bench.config import BenchConfig
from faithlab.evaluate import Row
from faithlab.evaluate.roar import Retrain, Split, evaluate_roar, method_importance
from faithlab.models import Classifier, load_classifier
from faithlab.train.config import TrainConfig
from faithlab.train.task_data import load_splits
from faithlab.train.trainer import train

TEXT, LABEL = "sentence", "label"


def roar_rows(config: BenchConfig, classifier: Classifier, method: str, settings: dict[str, Any]) -> list[Row]:
    """The ROAR rows of one method on `classifier`, with the config's `roar` settings and seed."""
    options = config.roar.train
    base = {"seed": config.seed, "progress": False, **options, "model": options.get("model", classifier.name)}
    source = TrainConfig.from_dict({**base, "output_dir": "roar-source"})
    splits = load_splits(source.data, config.seed)
    names = list(splits.train.label_names)
    with tempfile.TemporaryDirectory(prefix="faithlab-roar-") as work:
        retrain = retrainer(base, names, Path(work))
        return evaluate_roar(
            classifier, method, method_importance(method, settings),
            (splits.train.texts, [e.label for e in splits.train]), (splits.test.texts, [e.label for e in splits.test]),
            fractions=config.roar.fractions, retrain=retrain,
        )


def retrainer(base: dict[str, Any], label_names: list[str], work: Path) -> Retrain:
    """Train a model from `base`'s starting weights on a masked train split, with the masked test split as its test
    set (labels written by name, so the retrained model's classes keep the original order)."""

    def retrain(train_split: Split, test_split: Split, step: int) -> Classifier:
        folder = work / f"step-{step}"
        folder.mkdir(parents=True, exist_ok=True)
        files = {name: _write_jsonl(folder / f"{name}.jsonl", split, label_names)
                 for name, split in (("train", train_split), ("test", test_split))}
        settings = {key: value for key, value in base.items() if key != "data"}
        result = train(TrainConfig.from_dict({
            **settings, "output_dir": str(folder / "run"),
            "data": {"task": "classify", **files, "reader": "table", "text_column": TEXT, "label_column": LABEL,
                     "label_names": label_names},
        }))
        return load_classifier(result.best_dir)

    return retrain


def _write_jsonl(path: Path, split: Split, label_names: list[str]) -> str:
    texts, labels = split
    path.write_text("".join(json.dumps({TEXT: t, LABEL: label_names[y]}) + "\n" for t, y in zip(texts, labels,
                                                                                             strict=True)))
    return str(path)


def roar_methods(config: BenchConfig) -> list[tuple[str, dict[str, Any]]]:
    """The (method, settings) pairs ROAR runs: `roar.methods` of the config's methods (default all), then 'random'."""
    chosen = [(n, s) for n, s in config.methods if config.roar.methods is None or n in config.roar.methods]
    return chosen if any(n == "random" for n, _ in chosen) else [*chosen, ("random", {})]
