"""`TrainConfig`: every fine-tuning setting in one schema, read from YAML, `--set` or flags, validated up front.

A YAML config holds any of the `TrainConfig` fields, with the data settings under `data`:

    model: minilm
    output_dir: runs/sst2
    epochs: 3
    pooling: mean
    data: {task: classify, train: ../shared/data/sst2/train.tsv, test: ../shared/data/sst2/dev.tsv, reader: sst2}

An unknown key or a wrong type is a `FaithlabError` naming the setting's path (`data.limit`) and what is valid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from faithlab.data.named import READERS
from faithlab.data.skips import MAX_SKIPPED
from faithlab.data.text_file import DEFAULT_ENCODING
from faithlab.errors import FaithlabError
from faithlab.models.devices import check_device_name
from faithlab.schema import AtLeastOne, NonNegative, OpenFraction, Positive, Ratio, Schema, validate
from faithlab.schema import read_yaml as _read_yaml

Task = Literal["planted", "classify"]
Reader = Literal[READERS]  # type: ignore[valid-type]  (the choices live with the readers)
Pooling = Literal["auto", "cls", "mean"]
Monitor = Literal["dev_loss", "dev_accuracy"]
Share = Annotated[float, Field(ge=0, le=1)]


class SkipLimits(Schema):
    """How many malformed rows a reader may skip: above `max_skipped` (a share of the rows read) the job stops,
    unless `accept_skipped` (`faithlab.data.check_skipped`). The bench config's `data` section; `DataConfig` ends
    with the same two settings."""

    max_skipped: Share = MAX_SKIPPED
    accept_skipped: bool = False


class DataConfig(Schema):
    """Where the examples come from and how they are split.

    task "planted": texts (from `train`, or the built-in sentences when `train` is None) get random labels, each
    announced by its label word (`faithlab.data.plant_feature`); texts already containing a label word are left
    out, so the planted word alone decides the label. task "classify": the labelled file `train` is read with
    `reader`; for GLUE sets pass the official dev file as `test` (their test labels are hidden). Without `test`, a
    stratified `test_fraction` of train is held out. Dev is always a stratified `dev_fraction` carved from train.
    Files are read in `encoding`; `delimiter` is a table's (None: its format's) or label_sep's text/label
    separator. Each file read is checked against `max_skipped` / `accept_skipped` (`SkipLimits`).
    """

    task: Task = "planted"
    train: str | None = None
    test: str | None = None
    reader: Reader = "table"
    text_column: str = "sentence"
    pair_column: str | None = None
    label_column: str = "label"
    label_names: list[str] | None = None
    encoding: str = DEFAULT_ENCODING
    delimiter: str | None = None
    limit: Annotated[int, Field(ge=10)] | None = None
    dev_fraction: OpenFraction = 0.1
    test_fraction: OpenFraction = 0.2
    label_words: list[str] = Field(default_factory=lambda: ["negative", "positive"])
    position: str | int = "random"
    max_skipped: Share = MAX_SKIPPED  # as in SkipLimits, after the settings users set most
    accept_skipped: bool = False

    @model_validator(mode="after")
    def _check(self) -> DataConfig:
        if self.task == "classify" and self.train is None:
            raise ValueError("train is required for task 'classify' (a labelled CSV/TSV/JSONL file)")
        if len(self.label_words) < 2 or len(set(self.label_words)) != len(self.label_words):
            raise ValueError(f"label_words needs at least two distinct words, got {self.label_words}")
        return self


class TrainConfig(Schema):
    """Fine-tuning settings. Learning rate warms up linearly over `warmup_ratio` of the steps, then decays to 0.

    `device`: where to train ("auto": CUDA, then MPS, else CPU; see `faithlab.models.devices`).
    `pooling`: "auto" keeps the model's own, except that a sentence-transformers encoder getting a new head pools
    as its Pooling module did (mean for all-MiniLM-L6-v2: 0.778 ± 0.005 against [CLS]'s 0.696 ± 0.083 test
    accuracy over 3 seeds, benchmarks/RESULTS-train.md); "cls" the first token (GPT-2: the last real token, the
    only one that sees the whole text); "mean" the average over real tokens (BERT, RoBERTa, DistilBERT; T5 always
    mean-pools).
    `dropout` (None keeps the model's) sets every dropout probability of the model. `monitor` picks the best
    checkpoint; with `patience`, training stops after that many epochs without improvement. `save_steps` also
    writes `last/` every that many steps (0: at epoch ends only), so a crash loses at most those steps.
    """

    model: str = "minilm"
    output_dir: str = "runs/train"
    data: DataConfig = Field(default_factory=DataConfig)
    new_head: bool = False
    epochs: AtLeastOne = 3
    batch_size: AtLeastOne = 32
    eval_batch_size: AtLeastOne = 64
    learning_rate: Positive = 5e-5
    weight_decay: NonNegative = 0.01
    warmup_ratio: Ratio = 0.1
    max_grad_norm: Positive | None = 1.0
    label_smoothing: Ratio = 0.0
    dropout: Ratio | None = None
    pooling: Pooling = "auto"
    max_length: AtLeastOne = 128
    seed: int = 0
    monitor: Monitor = "dev_loss"
    patience: AtLeastOne | None = None
    bucket: bool = True
    save_steps: Annotated[int, Field(ge=0)] = 0
    progress: bool = True
    device: str = "auto"

    @field_validator("device")
    @classmethod
    def _device(cls, device: str) -> str:
        check_device_name(device)  # the name now; whether the device is there, when the model loads
        return device

    def validate(self) -> TrainConfig:  # type: ignore[override]  (an instance check, not pydantic's old classmethod)
        """This config checked again (after attributes were set by hand)."""
        return TrainConfig.from_dict(self.to_dict())

    # ----- (de)serialisation -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None, where: str = "") -> TrainConfig:
        """A validated config from a (possibly nested) mapping; `where` prefixes error messages (e.g. the file)."""
        return validate(cls, dict(values or {}), where)

    def with_overrides(self, overrides: dict[str, Any], where: str = "") -> TrainConfig:
        """A copy with dotted keys replaced, e.g. {"pooling": "mean", "data.limit": 500}."""
        values = self.to_dict()
        for key, value in overrides.items():
            target = values
            *parents, leaf = key.split(".")
            for parent in parents:
                if not isinstance(target.get(parent), dict):
                    raise FaithlabError(f"{where}unknown setting '{key}'; '{parent}' holds no settings")
                target = target[parent]
            target[leaf] = value
        return TrainConfig.from_dict(values, where)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False), encoding="utf-8")


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """A config from a YAML file (or the defaults), with dotted-key overrides applied."""
    where = f"config file '{path}': " if path is not None else ""
    values = read_yaml(path) if path is not None else {}
    return TrainConfig.from_dict(values, where).with_overrides(overrides or {}, where)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A train (or ablation) config file as a mapping; a missing file or bad YAML is a one-line `FaithlabError`."""
    if not Path(path).is_file():
        raise FaithlabError(f"config file '{path}' not found")
    return _read_yaml(path)
