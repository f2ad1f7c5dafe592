"""Benchmark configuration: a YAML file checked key by key, so a typo names itself instead of being ignored."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from faithlab.errors import FaithlabError
from faithlab.models.zoo import SIZES

METRIC_GROUPS = (
    "ground_truth", "faithfulness", "curves", "loo", "plausibility", "randomization", "adversarial"
)  # fmt: skip
BUILTIN = "builtin"  # data set path: the held-out test split of the planted built-in sentences
DATASET_KINDS = ("planted", "sst2", "mnli", "esnli", "movies", "hatexplain", "table")
DEFAULT_METHODS = (
    "gradient", "grad_x_input", "ig", "lime", "kernel_shap", "attention_mean", "rollout", "occlusion", "lrp",
    "random", "ensemble",
)  # fmt: skip


@dataclass
class ModelSpec:
    """A model to evaluate: a folder, the `minilm` alias, or a zoo entry trained by the runner first."""

    name: str
    path: str | None = None
    zoo: dict[str, Any] | None = None
    train: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] | None = None  # only these of the config's metric groups (e.g. costly tests on small models)
    size: str | None = None  # the zoo size of a folder model (xs, s, m, l), for the size plots


@dataclass
class DatasetSpec:
    name: str
    kind: str
    path: str
    n: int | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class BenchConfig:
    models: list[ModelSpec]
    datasets: list[DatasetSpec]
    methods: list[tuple[str, dict[str, Any]]]
    metrics: list[str]
    seed: int = 0
    examples: int = 500
    randomization_examples: int = 50
    adversarial_examples: int = 16
    chunk_size: int = 25
    replacement: str = "mask"
    fractions: list[float] = field(default_factory=lambda: [0.01, 0.05, 0.1, 0.2, 0.5])
    bootstrap_resamples: int = 1000
    adversarial: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def for_model(self, model: ModelSpec) -> BenchConfig:
        """This config with the metric groups a model entry restricts itself to."""
        if model.metrics is None:
            return self
        return dataclasses.replace(self, metrics=[m for m in self.metrics if m in model.metrics])


TOP_KEYS = {
    "models",
    "datasets",
    "methods",
    "metrics",
    "seed",
    "samples",
    "chunk_size",
    "removal",
    "bootstrap",
    "adversarial",
}
MODEL_KEYS = {"name", "path", "zoo", "train", "metrics", "size"}
DATASET_KEYS = {"name", "kind", "path", "n", "options"}
SAMPLE_KEYS = {"examples", "randomization", "adversarial"}
REMOVAL_KEYS = {"replacement", "fractions"}
BOOTSTRAP_KEYS = {"resamples"}


def load_config(path: str | Path) -> BenchConfig:
    """Read and check a YAML benchmark config; paths inside it are relative to the file's folder."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise FaithlabError(f"cannot read benchmark config {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise FaithlabError(f"benchmark config {path} is not valid YAML: {exc}") from exc
    return parse_config(raw, base=path.parent, source=str(path))


def parse_config(raw: Any, base: Path = Path("."), source: str = "<dict>") -> BenchConfig:
    where = f"benchmark config {source}"
    top = _mapping(raw, where, TOP_KEYS)
    for key in ("models", "datasets"):
        if key not in top:
            raise FaithlabError(f"{where}: missing key '{key}'")
    models = [_model(m, f"{where}: models[{i}]", base) for i, m in enumerate(_list(top["models"], f"{where}: models"))]
    datasets = [
        _dataset(d, f"{where}: datasets[{i}]", base) for i, d in enumerate(_list(top["datasets"], f"{where}: datasets"))
    ]
    _unique([m.name for m in models], f"{where}: models")
    _unique([d.name for d in datasets], f"{where}: datasets")
    methods = [_method(m, f"{where}: methods[{i}]") for i, m in enumerate(top.get("methods", list(DEFAULT_METHODS)))]
    metrics = _list(top.get("metrics", list(METRIC_GROUPS)), f"{where}: metrics")
    for i, metric in enumerate(metrics):
        if metric not in METRIC_GROUPS:
            choices = ", ".join(METRIC_GROUPS)
            raise FaithlabError(f"{where}: metrics[{i}] = {metric!r} is unknown; choose from {choices}")
    samples = _mapping(top.get("samples", {}), f"{where}: samples", SAMPLE_KEYS)
    removal = _mapping(top.get("removal", {}), f"{where}: removal", REMOVAL_KEYS)
    bootstrap = _mapping(top.get("bootstrap", {}), f"{where}: bootstrap", BOOTSTRAP_KEYS)
    config = BenchConfig(
        models=models,
        datasets=datasets,
        methods=methods,
        metrics=list(metrics),
        seed=_int(top.get("seed", 0), f"{where}: seed", minimum=0),
        examples=_int(samples.get("examples", 500), f"{where}: samples.examples"),
        randomization_examples=_int(samples.get("randomization", 50), f"{where}: samples.randomization"),
        adversarial_examples=_int(samples.get("adversarial", 16), f"{where}: samples.adversarial"),
        chunk_size=_int(top.get("chunk_size", 25), f"{where}: chunk_size"),
        replacement=str(removal.get("replacement", "mask")),
        fractions=[float(f) for f in removal.get("fractions", [0.01, 0.05, 0.1, 0.2, 0.5])],
        bootstrap_resamples=_int(bootstrap.get("resamples", 1000), f"{where}: bootstrap.resamples"),
        adversarial=dict(top.get("adversarial", {}) or {}),
        source=source,
    )
    if config.replacement not in ("mask", "pad", "delete"):
        raise FaithlabError(f"{where}: removal.replacement = {config.replacement!r}; choose mask, pad or delete")
    if not config.fractions or not all(0 < f <= 1 for f in config.fractions):
        raise FaithlabError(f"{where}: removal.fractions must be numbers in (0, 1], got {config.fractions}")
    return config


def _model(raw: Any, where: str, base: Path) -> ModelSpec:
    entry = _mapping(raw, where, MODEL_KEYS)
    if "name" not in entry:
        raise FaithlabError(f"{where}: missing key 'name'")
    if ("path" in entry) == ("zoo" in entry):
        raise FaithlabError(f"{where}: give exactly one of 'path' (a folder or 'minilm') or 'zoo'")
    path = entry.get("path")
    if path is not None and path != "minilm":
        path = str((base / path).resolve()) if not Path(path).is_absolute() else path
    zoo = entry.get("zoo")
    if zoo is not None:
        zoo = _mapping(zoo, f"{where}.zoo", {"family", "size", "task_data", "epochs", "train_size"})
        if "family" not in zoo:
            raise FaithlabError(f"{where}.zoo: missing key 'family'")
        if zoo.get("task_data"):
            zoo["task_data"] = str((base / zoo["task_data"]).resolve())
    train = _mapping(entry.get("train", {}), f"{where}.train", None)
    if isinstance(train.get("data"), dict):
        data = dict(train["data"])
        for key in ("train", "test"):
            if data.get(key) and not Path(data[key]).is_absolute():
                data[key] = str((base / data[key]).resolve())
        train["data"] = data
    metrics = entry.get("metrics")
    if metrics is not None:
        metrics = [str(m) for m in _list(metrics, f"{where}.metrics")]
        for metric in metrics:
            if metric not in METRIC_GROUPS:
                raise FaithlabError(f"{where}.metrics: {metric!r} is unknown; choose from {', '.join(METRIC_GROUPS)}")
    size = entry.get("size")
    if size is not None and size not in SIZES:
        raise FaithlabError(f"{where}.size = {size!r}; choose one of {', '.join(SIZES)}")
    return ModelSpec(name=str(entry["name"]), path=path, zoo=zoo, train=train, metrics=metrics, size=size)


def _dataset(raw: Any, where: str, base: Path) -> DatasetSpec:
    entry = _mapping(raw, where, DATASET_KEYS)
    for key in ("name", "kind", "path"):
        if key not in entry:
            raise FaithlabError(f"{where}: missing key '{key}'")
    if entry["kind"] not in DATASET_KINDS:
        raise FaithlabError(f"{where}.kind = {entry['kind']!r} is unknown; choose from {', '.join(DATASET_KINDS)}")
    path = Path(entry["path"])
    if entry["path"] != BUILTIN:
        path = path if path.is_absolute() else (base / path).resolve()
    n = entry.get("n")
    return DatasetSpec(
        name=str(entry["name"]),
        kind=entry["kind"],
        path=str(path),
        n=None if n is None else _int(n, f"{where}.n"),
        options=_mapping(entry.get("options", {}), f"{where}.options", None),
    )


def _method(raw: Any, where: str) -> tuple[str, dict[str, Any]]:
    if isinstance(raw, str):
        return raw, {}
    if isinstance(raw, dict) and len(raw) == 1:
        name, settings = next(iter(raw.items()))
        return str(name), _mapping(settings or {}, f"{where}.{name}", None)
    raise FaithlabError(f"{where}: write a method as a name or as {{name: {{setting: value}}}}, got {raw!r}")


def _mapping(raw: Any, where: str, allowed: set[str] | None) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FaithlabError(f"{where}: expected a mapping, got {type(raw).__name__}")
    if allowed is not None:
        for key in raw:
            if key not in allowed:
                raise FaithlabError(f"{where}: unknown key '{key}'; allowed: {', '.join(sorted(allowed))}")
    return dict(raw)


def _list(raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise FaithlabError(f"{where}: expected a non-empty list")
    return raw


def _int(raw: Any, where: str, minimum: int = 1) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
        raise FaithlabError(f"{where}: expected an integer >= {minimum}, got {raw!r}")
    return raw


def _unique(names: list[str], where: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise FaithlabError(f"{where}: name {name!r} is used twice")
        seen.add(name)
