"""Benchmark configuration: one schema for the YAML file, so a typo or a wrong type names itself with its path.

Method entries are checked by each method's own settings schema (`faithlab.explain.settings`), the same one
`get_explainer` uses, and the removal settings use the same choices as the explainers. Relative paths inside the
file are relative to the file's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from faithlab.data.named import READERS
from faithlab.explain.base import check_settings
from faithlab.explain.settings import Replacement
from faithlab.models.devices import DTYPES, check_device_name
from faithlab.models.zoo import SIZES, ZOO_FAMILIES
from faithlab.schema import AtLeastOne, Positive, Schema, UnitFraction, read_yaml, validate
from faithlab.train.config import SkipLimits, TrainConfig

DEFAULT_METRIC_GROUPS = (
    "ground_truth", "faithfulness", "curves", "loo", "plausibility", "randomization", "adversarial"
)  # fmt: skip
OPT_IN_METRIC_GROUPS = ("soft", "normalized_aopc")  # soft removal, normalized AOPC: run only when the config names them
METRIC_GROUPS = (*DEFAULT_METRIC_GROUPS, *OPT_IN_METRIC_GROUPS)
BUILTIN = "builtin"  # data set path: the held-out test split of the planted built-in sentences
DATASET_KINDS = ("planted", *READERS, "esnli", "movies", "hatexplain")  # the named readers and the rationale sets
DEFAULT_METHODS = (
    "gradient", "grad_x_input", "ig", "lime", "kernel_shap", "attention_mean", "rollout", "occlusion", "lrp",
    "random", "ensemble",
)  # fmt: skip

MetricGroup = Literal[METRIC_GROUPS]  # type: ignore[valid-type]
DatasetKind = Literal[DATASET_KINDS]  # type: ignore[valid-type]
ZooSize = Literal[tuple(SIZES)]  # type: ignore[valid-type]
ZooFamily = Literal[ZOO_FAMILIES]  # type: ignore[valid-type]


def _resolve(path: str | None, info: ValidationInfo) -> str | None:
    """A path relative to the config file's folder (`base` in the validation context) made absolute."""
    base = (info.context or {}).get("base")
    if path is None or base is None or Path(path).is_absolute():
        return path
    return str((Path(base) / path).resolve())


class ZooSpec(Schema):
    """A zoo model the runner trains first on the planted task (`task_data`: its texts; default built-in)."""

    family: ZooFamily
    size: ZooSize = "xs"
    task_data: str | None = None
    epochs: AtLeastOne | None = None  # None: the zoo's own
    train_size: AtLeastOne = 4000

    @field_validator("task_data")
    @classmethod
    def _task_data(cls, path: str | None, info: ValidationInfo) -> str | None:
        return _resolve(path, info)


class ModelSpec(Schema):
    """A model to evaluate: a folder, the `minilm` alias, or a zoo entry trained by the runner first. `train`
    (train config settings, dotted keys allowed) fine-tunes a folder model first; `metrics` restricts the metric
    groups run on it (e.g. costly tests on small models only); `size` is a folder model's zoo size for the plots."""

    name: str
    path: str | None = None
    zoo: ZooSpec | None = None
    train: dict[str, Any] = Field(default_factory=dict)
    metrics: list[MetricGroup] | None = None
    size: ZooSize | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, path: str | None, info: ValidationInfo) -> str | None:
        return path if path == "minilm" else _resolve(path, info)

    @field_validator("train")
    @classmethod
    def _train(cls, train: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        TrainConfig().with_overrides(train)  # fail now, not after other models ran for an hour
        data = train.get("data")
        if not isinstance(data, dict):
            return train
        return {**train, "data": {**data, **{k: _resolve(data[k], info) for k in ("train", "test") if data.get(k)}}}

    @model_validator(mode="after")
    def _one_source(self) -> ModelSpec:
        if (self.path is None) == (self.zoo is None):
            raise ValueError("give exactly one of 'path' (a folder or 'minilm') or 'zoo'")
        return self


class DatasetSpec(Schema):
    """A data set: `kind` picks the reader, `options` go to it (e.g. `encoding: latin-1`, and for kind label_sep its
    `delimiter: "@"`); `n` caps its examples."""

    name: str
    kind: DatasetKind
    path: str
    n: AtLeastOne | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("path")
    @classmethod
    def _path(cls, path: str, info: ValidationInfo) -> str:
        return path if path == BUILTIN else str(_resolve(path, info))

    @model_validator(mode="after")
    def _delimiter(self) -> DatasetSpec:
        if self.kind == "label_sep" and not self.options.get("delimiter"):
            raise ValueError(f"data set '{self.name}': kind label_sep needs options.delimiter (e.g. '@' or ';')")
        return self


class Samples(Schema):
    examples: AtLeastOne = 500
    randomization: AtLeastOne = 50
    adversarial: AtLeastOne = 16


class Removal(Schema):
    """How the faithfulness metrics remove tokens (the explainers' choices) and which top fractions they remove."""

    replacement: Replacement = "mask"
    fractions: Annotated[list[UnitFraction], Field(min_length=1)] = [0.01, 0.05, 0.1, 0.2, 0.5]


class Roar(Schema):
    """Recursive remove-and-retrain (`faithlab.evaluate.roar`), opt-in: it retrains a model per step and method.
    `fractions`: the share of each text's words masked after each step; `methods`: those it runs (default: every
    method of the config; 'random' always, as the baseline); `train`: train settings of each retrain, with `data`
    the texts (default: the built-in planted task) and `model` the starting weights (default: the model itself)."""

    enabled: bool = False
    fractions: Annotated[list[UnitFraction], Field(min_length=1)] = [0.1, 0.2, 0.3]
    methods: list[str] | None = None
    train: dict[str, Any] = Field(default_factory=dict)

    @field_validator("train")
    @classmethod
    def _train(cls, train: dict[str, Any]) -> dict[str, Any]:
        TrainConfig().with_overrides(train)  # fail now, not after the other units ran
        return train


class Bootstrap(Schema):
    resamples: AtLeastOne = 1000


class MetaEvaluationSettings(Schema):
    """Opt-in meta-evaluation of the per-example metrics (`faithlab.evaluate.meta_evaluation`) on the first
    `examples` examples: `repeats` draws of embedding noise (σ = `noise` × the embedding std) and of a randomised
    model."""

    enabled: bool = False
    examples: AtLeastOne = 16
    repeats: AtLeastOne = 3
    noise: Positive = 0.05


class BenchConfig(Schema):
    """A benchmark: every model × data set × method, scored by the metric groups. A method is a name or
    {name: {setting: value}}; `adversarial` holds the attack's settings; `data` how many malformed rows a data
    set's reader may skip (`max_skipped`, `accept_skipped`). `device` and `dtype` are where and in what precision
    the models run (`faithlab.models.load_classifier`; training stays in float32)."""

    models: Annotated[list[ModelSpec], Field(min_length=1)]
    datasets: Annotated[list[DatasetSpec], Field(min_length=1)]
    methods: Annotated[list[tuple[str, dict[str, Any]]], Field(min_length=1)] = [(m, {}) for m in DEFAULT_METHODS]
    metrics: Annotated[list[MetricGroup], Field(min_length=1)] = list(DEFAULT_METRIC_GROUPS)
    seed: Annotated[int, Field(ge=0)] = 0
    samples: Samples = Field(default_factory=Samples)
    chunk_size: AtLeastOne = 25
    removal: Removal = Field(default_factory=Removal)
    bootstrap: Bootstrap = Field(default_factory=Bootstrap)
    meta_evaluation: MetaEvaluationSettings = Field(default_factory=MetaEvaluationSettings)
    adversarial: dict[str, Any] = Field(default_factory=dict)
    roar: Roar = Field(default_factory=Roar)
    data: SkipLimits = Field(default_factory=SkipLimits)
    device: str = "auto"
    dtype: Literal[tuple(DTYPES)] = "float32"  # type: ignore[valid-type]
    _source: str = PrivateAttr(default="<dict>")

    @field_validator("device")
    @classmethod
    def _device(cls, device: str) -> str:
        check_device_name(device)
        return device

    @field_validator("methods", mode="before")
    @classmethod
    def _entries(cls, raw: Any) -> Any:
        """Each entry a (name, settings) pair: a bare name, or a mapping of one name to its settings."""
        if not isinstance(raw, list):
            return raw
        out = []
        for entry in raw:
            if isinstance(entry, dict) and len(entry) == 1:
                name, settings = next(iter(entry.items()))
                out.append((str(name), settings if settings is not None else {}))
            elif isinstance(entry, str):
                out.append((entry, {}))
            else:
                raise ValueError(f"write a method as a name or as {{name: {{setting: value}}}}, got {entry!r}")
        return out

    @model_validator(mode="after")
    def _unique_names(self) -> BenchConfig:
        for what, names in (("models", [m.name for m in self.models]), ("datasets", [d.name for d in self.datasets])):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{what}: name {twice[0]!r} is used twice")
        return self

    # the names the runner reads
    examples = property(lambda self: self.samples.examples)
    randomization_examples = property(lambda self: self.samples.randomization)
    adversarial_examples = property(lambda self: self.samples.adversarial)
    replacement = property(lambda self: self.removal.replacement)
    fractions = property(lambda self: self.removal.fractions)
    bootstrap_resamples = property(lambda self: self.bootstrap.resamples)
    source = property(lambda self: self._source)

    def for_model(self, model: ModelSpec) -> BenchConfig:
        """This config with the metric groups a model entry restricts itself to."""
        if model.metrics is None:
            return self
        return self.model_copy(update={"metrics": [m for m in self.metrics if m in model.metrics]})


def load_config(path: str | Path) -> BenchConfig:
    """Read and check a YAML benchmark config; paths inside it are relative to the file's folder."""
    path = Path(path)
    return parse_config(read_yaml(path, "benchmark config"), base=path.parent, source=str(path))


def parse_config(raw: Any, base: Path = Path("."), source: str = "<dict>") -> BenchConfig:
    """A checked `BenchConfig` from a mapping; every method's settings are checked by that method's schema."""
    where = f"benchmark config {source}: "
    config = validate(BenchConfig, raw, where, context={"base": base})
    for i, (name, settings) in enumerate(config.methods):
        _check_method(name, settings, f"{where}methods[{i}].{name}: ")
    config._source = source
    return config


def _check_method(name: str, settings: Any, where: str) -> None:
    options = check_settings(name, settings, where)
    for member, member_settings in getattr(options, "member_settings", {}).items():
        _check_method(member, member_settings, f"{where}member_settings.{member}: ")
