"""The model zoo, built and trained: every family at every size, from scratch, offline, with the same trainer.

Each model gets a tokenizer trained on the training texts only (WordPiece, byte-level BPE or Unigram, as its
family does) and random weights (`faithlab.models.zoo`), then is fine-tuned on the task by `train`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import transformers

from faithlab.errors import FaithlabError
from faithlab.models import load_classifier
from faithlab.models.zoo import SIZES, ZOO_FAMILIES, build_classifier_folder, count_parameters, tokenizer_scheme
from faithlab.report.tables import markdown_table
from faithlab.train.chance import chance_accuracy
from faithlab.train.config import DataConfig, TrainConfig
from faithlab.train.task_data import load_splits
from faithlab.train.trainer import train

# From-scratch training wants larger learning rates than fine-tuning, the smaller the model the larger. With these,
# every model settles the planted task within 4 epochs; patience 2 (dev accuracy ties are common near 100%) stops
# those that get there sooner.
ZOO_SETTINGS: dict[str, Any] = {
    "epochs": 4,
    "batch_size": 32,
    "warmup_ratio": 0.1,
    "max_length": 128,  # SST-2's longest sentences exceed 64 tokens: a planted word past the cut is lost
    "monitor": "dev_accuracy",
    "patience": 2,
}
ZOO_LEARNING_RATES = {"xs": 2e-3, "s": 1e-3, "m": 5e-4, "l": 3e-4}
ZOO_LIMIT = 3000


def zoo_data(
    task: str = "planted", data: str | None = None, limit: int | None = ZOO_LIMIT, **settings: Any
) -> DataConfig:
    """The data settings of a zoo run: a file (e.g. SST-2 train.tsv) or, without one, the built-in sentences."""
    return DataConfig(task=task, train=data, limit=limit, **settings)


def build_zoo(
    texts: Sequence[str],
    output_dir: str | Path,
    *,
    families: Sequence[str] = ZOO_FAMILIES,
    sizes: Sequence[str] = tuple(SIZES),
    labels: Sequence[str] = ("negative", "positive"),
    seed: int = 0,
) -> pd.DataFrame:
    """Untrained models (tokenizer trained on `texts`) in `<output_dir>/<family>-<size>/`, and a table of them."""
    _check_names(families, sizes)
    transformers.utils.logging.disable_progress_bar()
    rows = []
    for family in families:
        for size in sizes:
            folder = build_classifier_folder(family, texts, Path(output_dir) / f"{family}-{size}", size=size,
                                             labels=labels, seed=seed)
            rows.append(_describe(family, size, folder))
    table = pd.DataFrame(rows)
    table.to_csv(Path(output_dir) / "zoo.csv", index=False)
    return table


def train_zoo(
    data: DataConfig,
    output_dir: str | Path,
    *,
    families: Sequence[str] = ZOO_FAMILIES,
    sizes: Sequence[str] = tuple(SIZES),
    overrides: dict[str, Any] | None = None,
    resume: bool = True,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Build and train every (family, size); runs go to `<output_dir>/runs/<family>-<size>/`.

    `overrides` (dotted keys, as in a train config) change `ZOO_SETTINGS` and the per-size
    `ZOO_LEARNING_RATES`. The table (also `zoo.csv` and `zoo.md`, rewritten after each model) has parameters,
    tokenizer, test accuracy (and chance: the test set's majority-class rate), macro F1, ECE and time.
    """
    _check_names(families, sizes)
    transformers.utils.logging.disable_progress_bar()
    root = Path(output_dir)
    base = TrainConfig.from_dict({**ZOO_SETTINGS, "data": data.model_dump()}).with_overrides(overrides or {})
    splits = load_splits(base.data, base.seed)
    texts = splits.train.texts + [pair for pair in splits.train.pairs if pair is not None]
    rows = []
    for family in families:
        for size in sizes:
            name = f"{family}-{size}"
            init = root / "init" / name
            if overwrite or not (init / "config.json").is_file():
                build_classifier_folder(family, texts, init, size=size, labels=splits.train.label_names,
                                        seed=base.seed)
            run = {"model": str(init), "output_dir": str(root / "runs" / name)}
            if "learning_rate" not in (overrides or {}):
                run["learning_rate"] = ZOO_LEARNING_RATES[size]
            config = base.with_overrides(run)
            result = train(config, resume=resume, overwrite=overwrite)
            rows.append(_describe(family, size, init) | {
                "test_accuracy": result.metrics["accuracy"],
                "chance_accuracy": chance_accuracy(result.metrics["confusion_matrix"]),
                "f1_macro": result.metrics["f1_macro"],
                "ece": result.metrics["ece"],
                "epochs_run": len(result.history),
                "train_seconds": round(result.train_seconds, 1),
                "tokens_per_second": round(result.tokens_per_second),
            })
            _write(pd.DataFrame(rows), root)
    return pd.DataFrame(rows)


def _describe(family: str, size: str, folder: Path) -> dict[str, Any]:
    spec = SIZES[size]
    classifier = load_classifier(folder, device="cpu")  # only counted, never run
    return {
        "family": family,
        "size": size,
        "parameters": count_parameters(classifier.model),
        "layers": spec.layers,
        "hidden": spec.hidden,
        "heads": spec.heads,
        "vocab": len(classifier.tokenizer),
        "tokenizer": tokenizer_scheme(family),
    }


def _write(table: pd.DataFrame, root: Path) -> None:
    table.to_csv(root / "zoo.csv", index=False)
    (root / "zoo.md").write_text(markdown_table(table), encoding="utf-8")


def _check_names(families: Sequence[str], sizes: Sequence[str]) -> None:
    for family in families:
        if family not in ZOO_FAMILIES:
            raise FaithlabError(f"unknown zoo family '{family}'; choose from {', '.join(ZOO_FAMILIES)}")
    for size in sizes:
        if size not in SIZES:
            raise FaithlabError(f"unknown zoo size '{size}'; choose from {', '.join(SIZES)}")
