"""`TrainConfig`: every fine-tuning setting, read from YAML or flags, validated before any work starts.

A YAML config holds any of the `TrainConfig` fields, with the data settings under `data`:

    model: minilm
    output_dir: runs/sst2
    epochs: 3
    pooling: mean
    data: {task: classify, train: ../shared/data/sst2/train.tsv, test: ../shared/data/sst2/dev.tsv, reader: sst2}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from faithlab.errors import FaithlabError

TASKS = ("planted", "classify")
READERS = ("table", "sst2", "mnli", "emotion")
POOLINGS = ("auto", "cls", "mean")
MONITORS = ("dev_loss", "dev_accuracy")


@dataclass
class DataConfig:
    """Where the examples come from and how they are split.

    task "planted": texts (from `train`, or the built-in sentences when `train` is None) get random labels, each
    announced by its label word (`faithlab.data.plant_feature`); texts already containing a label word are left
    out, so the planted word alone decides the label. task "classify": the labelled file `train` is read with
    `reader`; for GLUE sets pass the official dev file as `test` (their test labels are hidden). Without `test`, a
    stratified `test_fraction` of train is held out. Dev is always a stratified `dev_fraction` carved from train.
    """

    task: str = "planted"
    train: str | None = None
    test: str | None = None
    reader: str = "table"
    text_column: str = "sentence"
    pair_column: str | None = None
    label_column: str = "label"
    label_names: list[str] | None = None
    limit: int | None = None
    dev_fraction: float = 0.1
    test_fraction: float = 0.2
    label_words: list[str] = field(default_factory=lambda: ["negative", "positive"])
    position: str | int = "random"

    def validate(self) -> None:
        _choice("data.task", self.task, TASKS)
        _choice("data.reader", self.reader, READERS)
        if self.task == "classify" and self.train is None:
            raise FaithlabError("data.train is required for task 'classify' (a labelled CSV/TSV/JSONL file)")
        for name in ("dev_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise FaithlabError(f"data.{name} must be between 0 and 1 (exclusive), got {value}")
        if self.limit is not None and self.limit < 10:
            raise FaithlabError(f"data.limit must be at least 10 examples (or null for all), got {self.limit}")
        if len(self.label_words) < 2 or len(set(self.label_words)) != len(self.label_words):
            raise FaithlabError(f"data.label_words needs at least two distinct words, got {self.label_words}")


@dataclass
class TrainConfig:
    """Fine-tuning settings. Learning rate warms up linearly over `warmup_ratio` of the steps, then decays to 0.

    `pooling`: "auto" keeps the model's own; "cls" the first token (GPT-2: the last real token, the only one that
    sees the whole text); "mean" the average over real tokens (BERT, RoBERTa, DistilBERT; T5 always mean-pools).
    `dropout` (None keeps the model's) sets every dropout probability of the model. `monitor` picks the best
    checkpoint; with `patience`, training stops after that many epochs without improvement. `save_steps` also
    writes `last/` every that many steps (0: at epoch ends only), so a crash loses at most those steps.
    """

    model: str = "minilm"
    output_dir: str = "runs/train"
    data: DataConfig = field(default_factory=DataConfig)
    new_head: bool = False
    epochs: int = 3
    batch_size: int = 32
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float | None = 1.0
    label_smoothing: float = 0.0
    dropout: float | None = None
    pooling: str = "auto"
    max_length: int = 128
    seed: int = 0
    monitor: str = "dev_loss"
    patience: int | None = None
    bucket: bool = True
    save_steps: int = 0
    progress: bool = True

    def validate(self) -> TrainConfig:
        self.data.validate()
        _choice("pooling", self.pooling, POOLINGS)
        _choice("monitor", self.monitor, MONITORS)
        for name in ("epochs", "batch_size", "eval_batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise FaithlabError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise FaithlabError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.weight_decay < 0:
            raise FaithlabError(f"weight_decay must be >= 0, got {self.weight_decay}")
        for name in ("warmup_ratio", "label_smoothing"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise FaithlabError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise FaithlabError(f"dropout must be in [0, 1) (or null to keep the model's), got {self.dropout}")
        if self.max_grad_norm is not None and self.max_grad_norm <= 0:
            raise FaithlabError(f"max_grad_norm must be positive (or null for no clipping), got {self.max_grad_norm}")
        if self.patience is not None and self.patience < 1:
            raise FaithlabError(f"patience must be at least 1 (or null for no early stopping), got {self.patience}")
        if self.save_steps < 0:
            raise FaithlabError(f"save_steps must be >= 0, got {self.save_steps}")
        return self

    # ----- (de)serialisation -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """A validated config from a (possibly nested) mapping; unknown keys are an error naming them."""
        values = dict(values or {})
        data = values.pop("data", None) or {}
        if not isinstance(data, dict):
            raise FaithlabError(f"'data' must be a mapping of data settings, got {data!r}")
        _check_keys(values, cls, "")
        _check_keys(data, DataConfig, "data.")
        return cls(**_numbers(values, cls), data=DataConfig(**_numbers(data, DataConfig))).validate()

    def with_overrides(self, overrides: dict[str, Any]) -> TrainConfig:
        """A copy with dotted keys replaced, e.g. {"pooling": "mean", "data.limit": 500}."""
        values = self.to_dict()
        for key, value in overrides.items():
            target = values
            *parents, leaf = key.split(".")
            for parent in parents:
                if not isinstance(target.get(parent), dict):
                    raise FaithlabError(f"unknown setting '{key}'")
                target = target[parent]
            target[leaf] = value
        return TrainConfig.from_dict(values)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False), encoding="utf-8")


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """A config from a YAML file (or the defaults), with dotted-key overrides applied."""
    values: dict[str, Any] = {}
    if path is not None:
        values = read_yaml(path)
    return TrainConfig.from_dict(values).with_overrides(overrides or {})


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FaithlabError(f"config file '{path}' not found")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise FaithlabError(f"config file '{path}' is not valid YAML: {exc}") from exc
    if not isinstance(values, dict):
        raise FaithlabError(f"config file '{path}' must hold a mapping of settings, got {type(values).__name__}")
    return values


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """`key=value` strings (values read as YAML scalars: 0.1, null, true, cls) into a dict."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise FaithlabError(f"expected key=value, got {item!r}")
        out[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
    return out


def _check_keys(values: dict[str, Any], cls: type, prefix: str) -> None:
    known = {f.name for f in dataclasses.fields(cls)} - {"data"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise FaithlabError(
            f"unknown setting '{prefix}{unknown[0]}'; known {prefix or 'top-level '}settings: "
            f"{', '.join(sorted(known))}"
        )


def _numbers(values: dict[str, Any], cls: type) -> dict[str, Any]:
    """Floats written as YAML 1.1 leaves them ("5e-5" is a string there) become numbers."""
    floats = {f.name for f in dataclasses.fields(cls) if str(f.type).startswith("float")}
    out = dict(values)
    for name in floats & set(out):
        if isinstance(out[name], str):
            try:
                out[name] = float(out[name])
            except ValueError as exc:
                raise FaithlabError(f"{name} must be a number, got {out[name]!r}") from exc
    return out


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise FaithlabError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
