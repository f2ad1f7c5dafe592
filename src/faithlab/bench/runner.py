"""`faithlab bench`: models × data sets × methods × metrics, written row by row to SQLite, resumable.

Work is cut into units (a chunk of examples explained by every method and scored by the per-example metrics; the
opt-in meta-evaluation of those metrics; the randomization test; the adversarial attack). A unit is described by
data (`UnitSpec`) and computed by `execute`, so a backend can run it here (`InProcess`) or on a Ray worker
(`faithlab.bench.ray_backend`); the driver alone writes the store. A unit's rows are stored in one transaction
together with its "done" mark, so a killed run loses at most the units in flight and a re-run skips every finished
unit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from faithlab.bench.config import BUILTIN, BenchConfig, DatasetSpec, ModelSpec
from faithlab.bench.cost import ATTACK_IG_STEPS, Calibration, calibrate, estimate_unit_seconds, unit_passes
from faithlab.bench.roar import roar_methods, roar_rows
from faithlab.bench.store import ResultStore
from faithlab.data import (
    Dataset,
    Example,
    ReadSummary,
    check_skipped,
    plant_feature,
    read_emotion,
    read_eraser,
    read_esnli_csv,
    read_esnli_jsonl,
    read_hatexplain,
    read_label_sep,
    read_mnli,
    read_sst2,
    read_table,
)
from faithlab.errors import FaithlabError
from faithlab.evaluate import (
    ATTACKABLE,
    Row,
    SpanMask,
    evaluate_attack,
    evaluate_faithfulness,
    evaluate_ground_truth,
    evaluate_normalized_aopc,
    evaluate_plausibility,
    evaluate_randomization,
    evaluate_soft_removal,
)
from faithlab.evaluate.meta_evaluation import meta_evaluation_rows, meta_variant
from faithlab.explain import Explanation, explain_many, get_explainer
from faithlab.explain.base import share_settings
from faithlab.models import Classifier, load_classifier
from faithlab.runs import locked_out_dir
from faithlab.train.chance import chance_accuracy, is_near_chance, near_chance_warning
from faithlab.train.config import TrainConfig
from faithlab.train.task_data import load_splits
from faithlab.train.trainer import train
from faithlab.train.zoo_train import train_zoo, zoo_data

RATIONALE_KINDS = ("esnli", "movies", "hatexplain")
DATASETS_NAME = "datasets.json"  # per data set: examples used, rows read, kept and skipped by reason
PER_EXAMPLE_GROUPS = ("ground_truth", "plausibility", "faithfulness", "curves", "loo", "soft", "normalized_aopc")


UnitKind = Literal["examples", "meta_evaluation", "randomization", "adversarial", "roar"]


@dataclass(frozen=True)
class UnitSpec:
    """One resumable piece of work, as plain data: the model and data set (names in the config), the unit's name
    (its key in the store), what it computes, and which examples (`start:stop` of the data set's example list)."""

    model: str
    dataset: str
    name: str
    kind: UnitKind
    start: int
    stop: int


@dataclass(frozen=True)
class UnitResult:
    """A finished unit: its rows for the store and the seconds `execute` took where it ran."""

    spec: UnitSpec
    rows: list[dict[str, Any]]
    seconds: float


@dataclass(frozen=True)
class LoadedModel:
    """A model the driver obtained (trained first if asked): its config entry, the folder or alias a worker loads
    it from, the classifier the driver loaded, and what models.json records of it."""

    spec: ModelSpec
    path: str
    classifier: Classifier
    info: dict[str, Any]


class Backend(Protocol):
    """Where units run. `run` yields each unit's result as it finishes (in any order); the caller stores them."""

    def run(
        self, config: BenchConfig, model: LoadedModel, units: list[UnitSpec], data: dict[str, list[Example]]
    ) -> Iterator[UnitResult]: ...


class InProcess:
    """The default backend: every unit here, one after another in plan order, on the driver's classifier."""

    def run(
        self, config: BenchConfig, model: LoadedModel, units: list[UnitSpec], data: dict[str, list[Example]]
    ) -> Iterator[UnitResult]:
        """Yield each unit's result in plan order (a unit runs only when the caller asks for the next result)."""
        for spec in units:
            yield timed_execute(spec, config, model.classifier, data[spec.dataset])


def run_benchmark(
    config: BenchConfig,
    out_dir: str | Path,
    *,
    progress: bool = True,
    max_units: int | None = None,
    backend: Backend | None = None,
) -> Path:
    """Run (or resume) every unit of the config; returns the SQLite path. `max_units` stops early (for tests).

    Args:
        config: the checked benchmark config.
        out_dir: the run folder (results.sqlite, config.json, models.json, ...).
        progress: show a progress bar.
        max_units: stop after this many units ran (for tests of resuming).
        backend: where units run (default `InProcess()`; `faithlab.bench.ray_backend.RayBackend` on a Ray cluster).

    Returns:
        The path of results.sqlite. The output folder is locked while the run lasts: a second process writing into
        it is refused.
    """
    with locked_out_dir(out_dir) as out:
        return _run_benchmark(config, out, progress, max_units, backend or InProcess())


def _run_benchmark(config: BenchConfig, out: Path, progress: bool, max_units: int | None, backend: Backend) -> Path:
    (out / "config.json").write_text(json.dumps(config.model_dump(), indent=2))
    done_now = 0
    with ResultStore(out / "results.sqlite") as store, _progress(progress) as bar:
        data = {spec.name: load_examples(spec, config) for spec in config.datasets}  # before any model trains
        for loaded in data.values():
            for line in loaded.read.lines():
                bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        (out / DATASETS_NAME).write_text(json.dumps({name: d.to_dict() for name, d in data.items()}, indent=2))
        examples = {name: d.examples for name, d in data.items()}
        task = bar.add_task("benchmark", total=None)
        models_info = _read_json(out / "models.json")
        for model_spec in config.models:
            model = _obtain_model(model_spec, config, out, data, progress, bar)
            models_info[model_spec.name] = model.info
            (out / "models.json").write_text(json.dumps(models_info, indent=2))
            calibration = calibrate(model.classifier) if progress else None  # the bar counts estimated seconds
            pending, cost = [], {}
            for dataset_spec in config.datasets:
                units = plan_units(config, model_spec, dataset_spec, examples[dataset_spec.name])
                cost |= unit_estimates(units, config, model.classifier, examples[dataset_spec.name], calibration)
                done = store.done_units(model_spec.name, dataset_spec.name)
                total = (bar.tasks[task].total or 0) + sum(cost[u] for u in units)
                bar.update(task, total=total, advance=sum(cost[u] for u in units if u.name in done))
                pending += [u for u in units if u.name not in done]
            budget_left = None if max_units is None else max_units - done_now
            stop_early = budget_left is not None and len(pending) > budget_left
            bar.update(task, description=model_spec.name)
            for result in backend.run(config, model, pending[:budget_left], examples):
                unit = result.spec
                store.write_unit(unit.model, unit.dataset, unit.name, result.rows, result.seconds)
                done_now += 1
                bar.update(task, advance=cost[unit], description=f"{unit.model} · {unit.dataset} · {unit.name} done")
            if stop_early:
                return out / "results.sqlite"
        store.export(out)
    return out / "results.sqlite"


def _obtain_model(
    spec: ModelSpec, config: BenchConfig, out: Path, data: dict[str, LoadedData], progress: bool, bar: Progress
) -> LoadedModel:
    """Obtain (train if asked) and load a model; a model the run did not train is measured on the labelled examples."""
    classifier, info = obtain_classifier(spec, out, config.seed, progress, device=config.device, dtype=config.dtype)
    if "test_accuracy" not in info:
        info |= examples_accuracy(classifier, [e for d in data.values() for e in d.examples])
    if "test_accuracy" in info and is_near_chance(info["test_accuracy"], info["chance_accuracy"]):
        bar.console.print(f"[bold red]warning:[/] {near_chance_warning(spec.name, info)}")
    return LoadedModel(spec, info["path"], classifier, info)


def plan_units(
    config: BenchConfig, model: ModelSpec, dataset: DatasetSpec, examples: list[Example]
) -> list[UnitSpec]:
    """The units of one (model, data set), in the order the in-process backend runs them.

    Args:
        config: the benchmark config (the model's own metric restriction is applied here).
        model: the model entry.
        dataset: the data set entry.
        examples: the data set's examples the benchmark uses.

    Returns:
        Per-example chunks of `chunk_size`, then the opt-in meta-evaluation, then the randomization and adversarial
        units when their metric groups are on, then the opt-in remove-and-retrain units (one per method).
    """
    config = config.for_model(model)
    units = []

    def unit(name: str, kind: UnitKind, start: int, stop: int) -> UnitSpec:
        return UnitSpec(model.name, dataset.name, name, kind, start, stop)

    per_example = [m for m in config.metrics if m in PER_EXAMPLE_GROUPS]
    if per_example:
        for start in range(0, len(examples), config.chunk_size):
            stop = min(start + config.chunk_size, len(examples))
            units.append(unit(f"examples:{start}-{stop}", "examples", start, stop))
    if per_example and config.meta_evaluation.enabled:
        stop = min(config.meta_evaluation.examples, len(examples))
        units.append(unit("meta_evaluation", "meta_evaluation", 0, stop))
    if "randomization" in config.metrics:
        units.append(unit("randomization", "randomization", 0, min(config.randomization_examples, len(examples))))
    if "adversarial" in config.metrics:
        units.append(unit("adversarial", "adversarial", 0, min(config.adversarial_examples, len(examples))))
    if config.roar.enabled:  # opt-in and expensive: each step retrains the model
        for name, _settings in roar_methods(config):
            units.append(unit(f"roar:{name}", "roar", 0, 0))
    return units


def execute(
    spec: UnitSpec, config: BenchConfig, classifier: Classifier, examples: list[Example]
) -> list[dict[str, Any]]:
    """Compute one unit's result rows; the same function on every backend.

    Args:
        spec: the unit.
        config: the whole benchmark config (the unit's model and data set entries are found by name).
        classifier: the unit's model, loaded.
        examples: every example the benchmark uses of the unit's data set (the unit takes `start:stop`).

    Returns:
        The rows, as `ResultStore.write_unit` takes them.
    """
    model = next(m for m in config.models if m.name == spec.model)
    dataset = next(d for d in config.datasets if d.name == spec.dataset)
    config = config.for_model(model)
    chunk = examples[spec.start : spec.stop]
    if spec.kind == "examples":
        return _example_unit(config, classifier, dataset, chunk, spec.start)
    if spec.kind == "meta_evaluation":
        return _meta_unit(config, classifier, dataset, chunk)
    if spec.kind == "randomization":
        return _randomization_unit(config, classifier, chunk)
    if spec.kind == "roar":
        return _roar_unit(config, classifier, spec.name.removeprefix("roar:"))
    return _adversarial_unit(config, classifier, chunk)


def timed_execute(spec: UnitSpec, config: BenchConfig, classifier: Classifier, examples: list[Example]) -> UnitResult:
    """`execute`, with the seconds it took."""
    start = time.perf_counter()
    rows = execute(spec, config, classifier, examples)
    return UnitResult(spec, rows, time.perf_counter() - start)


def unit_estimates(
    units: list[UnitSpec], config: BenchConfig, classifier: Classifier, examples: list[Example],
    calibration: Calibration | None,
) -> dict[UnitSpec, float]:
    """Estimated seconds per unit (`faithlab.bench.cost`); 1 per unit without a calibration (a count of units).

    Args:
        units: units of one (model, data set), as `plan_units` gives them.
        config: the benchmark config.
        classifier: the units' model.
        examples: the data set's examples (each unit takes `start:stop`).
        calibration: the device's measured pass costs, or None.

    Returns:
        Each unit's estimated seconds.
    """
    if calibration is None:
        return {unit: 1.0 for unit in units}
    estimates = {}
    for unit in units:
        model_config = config.for_model(next(m for m in config.models if m.name == unit.model))
        passes = unit_passes(unit.kind, examples[unit.start : unit.stop], model_config, classifier)
        estimates[unit] = estimate_unit_seconds(passes, calibration)
    return estimates


def _example_unit(
    config: BenchConfig, classifier: Classifier, dataset: DatasetSpec, chunk: list[Example], offset: int
) -> list[dict[str, Any]]:
    explanations = explain_many(classifier, [e.text for e in chunk], config.methods, _pairs(chunk))
    seconds = {method: [e.seconds for e in items] for method, items in explanations.items()}
    rows = _score(config, classifier, dataset, chunk, explanations)
    return [_record(row, offset, seconds.get(row.method)) for row in rows]


def _score(
    config: BenchConfig, classifier: Classifier, dataset: DatasetSpec, chunk: list[Example],
    explanations: dict[str, list[Explanation]],
) -> list[Row]:
    """The per-example metric rows of a chunk's explanations."""
    pairs = _pairs(chunk)
    rows: list[Row] = []
    if "ground_truth" in config.metrics and dataset.kind == "planted":
        rows += evaluate_ground_truth(explanations, [e.rationale for e in chunk])
    if "plausibility" in config.metrics and dataset.kind in RATIONALE_KINDS:
        pair_masks = [rationale_mask(e.pair_rationale, e.pair_spans) for e in chunk] if pairs is not None else None
        rows += evaluate_plausibility(explanations, [rationale_mask(e.rationale, e.spans) for e in chunk], pair_masks)
    parts = [
        p for p, group in (("eraser", "faithfulness"), ("curves", "curves"), ("loo", "loo")) if group in config.metrics
    ]
    if parts:
        rows += evaluate_faithfulness(
            classifier, explanations, fractions=config.fractions, replacement=config.replacement, parts=parts
        )
    if "soft" in config.metrics:
        rows += evaluate_soft_removal(classifier, explanations, seed=config.seed)
    if "normalized_aopc" in config.metrics:
        rows += evaluate_normalized_aopc(classifier, explanations, replacement=config.replacement)
    return rows


def _meta_unit(
    config: BenchConfig, classifier: Classifier, dataset: DatasetSpec, chunk: list[Example]
) -> list[dict[str, Any]]:
    """The per-example metrics under embedding noise and a randomised model; the target stays the trained model's
    prediction, so every condition explains the same class."""
    texts, pairs = [e.text for e in chunk], _pairs(chunk)
    targets = classifier.predict(texts, pairs).argmax(axis=1).tolist()
    settings = config.meta_evaluation
    rows = meta_evaluation_rows(
        classifier,
        lambda: explain_many(classifier, texts, config.methods, pairs, target=targets),
        lambda explanations: _score(config, classifier, dataset, chunk, explanations),
        repeats=settings.repeats, noise=settings.noise, seed=config.seed,
    )
    return [_record(row, 0, None, variant=meta_variant(row)) for row in rows]


def _randomization_unit(config: BenchConfig, classifier: Classifier, chunk: list[Example]) -> list[dict[str, Any]]:
    explainers = [get_explainer(name, classifier, **settings) for name, settings in share_settings(config.methods)]
    rows = evaluate_randomization(explainers, [e.text for e in chunk], _pairs(chunk), seed=config.seed)
    return [_record(row, 0, None, variant=f"{row.settings['mode']}:{row.settings['layer']}") for row in rows]


def _adversarial_unit(config: BenchConfig, classifier: Classifier, chunk: list[Example]) -> list[dict[str, Any]]:
    records = []
    options = dict(config.adversarial)
    chosen = options.pop("methods", None)
    for name, settings in share_settings(config.methods):
        if name not in ATTACKABLE or (chosen is not None and name not in chosen):
            continue
        if name == "ig" and settings.get("n_steps", "auto") == "auto":
            settings = {**settings, "n_steps": ATTACK_IG_STEPS}  # the attack differentiates a fixed path
        explainer = get_explainer(name, classifier, **settings)
        for objective in ("unconstrained", "constrained"):
            rows = evaluate_attack(explainer, [e.text for e in chunk], _pairs(chunk), objective=objective, **options)
            records += [_record(row, 0, None, variant=objective) for row in rows]
    return records


def _roar_unit(config: BenchConfig, classifier: Classifier, method: str) -> list[dict[str, Any]]:
    settings = dict(roar_methods(config))[method]
    rows = roar_rows(config, classifier, method, settings)
    return [_record(row, 0, None, variant=f"fraction:{row.settings['fraction']:g}") for row in rows]


def _record(row: Row, offset: int, seconds: list[float] | None, variant: str = "") -> dict[str, Any]:
    return {
        "method": row.method,
        "metric": row.metric,
        "variant": variant,
        "example": offset + row.example,
        "value": row.value,
        "settings": row.settings,
        "details": row.details,
        "seconds": seconds[row.example] if seconds and row.example < len(seconds) else 0.0,
    }


def rationale_mask(mask: list[int] | None, spans: list[tuple[int, int]] | None) -> list[int] | SpanMask | None:
    """An example's word mask as the metrics take it: over whitespace words, or over the reader's aligned words."""
    return mask if mask is None or spans is None else SpanMask(mask, spans)


def _pairs(chunk: list[Example]) -> list[str | None] | None:
    return [e.pair for e in chunk] if any(e.pair is not None for e in chunk) else None


# ----- inputs ------------------------------------------------------------------------------------------------------
@dataclass
class LoadedData:
    """The examples a benchmark uses of one data set, and what its reader kept and skipped of the file."""

    examples: list[Example]
    read: ReadSummary

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: examples used, then the reader's summary (rows read, kept, skipped by reason)."""
        return {"used": len(self.examples), **self.read.to_dict()}


def load_examples(spec: DatasetSpec, config: BenchConfig) -> LoadedData:
    """The first `spec.n` (or `config.examples`) examples of a data set; planted data get their label word here.

    The reader's skipped rows are checked against the config's `data.max_skipped` (`faithlab.data.check_skipped`).
    """
    n = min(spec.n or config.examples, config.examples)
    if spec.kind == "planted" and spec.path == BUILTIN:
        # the same held-out split a zoo model trained on the built-in sentences never saw
        examples = load_splits(zoo_data(), config.seed).test.examples
        read = ReadSummary("builtin", "built-in sentences (held-out test split)", len(examples))
        return LoadedData(list(examples[:n]), read)
    path = Path(spec.path)
    if not path.exists():
        raise FaithlabError(f"data set '{spec.name}': {path} does not exist")
    dataset = _read_dataset(spec, path)
    read = check_skipped(dataset, spec.kind, max_skipped=config.data.max_skipped, accept=config.data.accept_skipped)
    if spec.kind == "planted":
        dataset = plant_feature(dataset.texts, seed=config.seed, **{k: v for k, v in spec.options.items()
                                                                   if k != "text_column"})
    return LoadedData(list(dataset.examples[:n]), read)


def _read_dataset(spec: DatasetSpec, path: Path) -> Dataset:
    """The data set's file read by the reader its kind names (planted data: the texts to plant into)."""
    options = dict(spec.options)
    kind = spec.kind
    if kind == "planted":
        return read_sst2(path) if path.suffix == ".tsv" else read_table(path, options.pop("text_column"))
    if kind == "sst2":
        return read_sst2(path, **options)
    if kind == "mnli":
        return read_mnli(path, **options)
    if kind == "emotion":
        return read_emotion(path, **options)
    if kind == "label_sep":
        return read_label_sep(path, **options)
    if kind == "esnli":
        return read_esnli_jsonl(path) if path.suffix in (".jsonl", ".json") else read_esnli_csv(path, **options)
    if kind == "movies":
        return read_eraser(path, **options)
    if kind == "hatexplain":
        return read_hatexplain(path, **options)
    return read_table(path, **options)


def examples_accuracy(classifier: Classifier, examples: list[Example]) -> dict[str, Any]:
    """Accuracy and majority-class rate of the model on the benchmark's labelled examples, for a model the run did
    not train (its own test accuracy is unknown); empty when no example's label can be matched to the model's.

    Labels are matched by name (case-insensitive) when every example's label name is one of the model's, else by
    index when every index is within the model's classes; `accuracy_source` says which.
    """
    labelled = [e for e in examples if e.label is not None]
    names = [name.lower() for name in classifier.labels]
    if labelled and all(e.label_name is not None and e.label_name.lower() in names for e in labelled):
        truth, how = [names.index(e.label_name.lower()) for e in labelled], "name"
    elif labelled and all(0 <= e.label < len(names) for e in labelled):
        truth, how = [e.label for e in labelled], "index"
    else:
        return {}
    predicted = classifier.predict([e.text for e in labelled], _pairs(labelled)).argmax(axis=1)
    counts = [truth.count(c) for c in set(truth)]
    return {
        "test_accuracy": float(np.mean(predicted == np.asarray(truth))),
        "chance_accuracy": max(counts) / len(truth),
        "accuracy_source": f"the benchmark's {len(truth)} labelled examples (labels matched by {how})",
    }


def obtain_classifier(
    spec: ModelSpec, out: Path, seed: int, progress: bool, *, device: str = "auto", dtype: str = "float32"
) -> tuple[Classifier, dict[str, Any]]:
    """Load a model on `device` in `dtype`, training it first (resumably, inside the run folder, in float32) when
    the spec asks for that."""
    info: dict[str, Any] = {"name": spec.name}
    if spec.zoo is not None:
        zoo = spec.zoo
        family, size = zoo.family, zoo.size
        data = zoo_data(data=zoo.task_data, limit=zoo.train_size)
        overrides = {"seed": seed, "progress": progress, "device": device, **spec.train}
        if zoo.epochs is not None:
            overrides["epochs"] = zoo.epochs
        table = train_zoo(data, out / "zoo", families=[family], sizes=[size], overrides=overrides)
        folder = out / "zoo" / "runs" / f"{family}-{size}" / "best"
        info |= {"family": family, "size": size, **table.iloc[-1].to_dict()}
    elif spec.train:
        config = TrainConfig.from_dict(
            {
                "seed": seed,
                "progress": progress,
                "device": device,
                **spec.train,
                "model": spec.path,
                "output_dir": str(out / "models" / spec.name),
            }
        )
        result = train(config, resume=True)
        folder = result.best_dir
        info |= {"test_accuracy": result.metrics["accuracy"], "train_seconds": round(result.train_seconds, 1),
                 "chance_accuracy": chance_accuracy(result.metrics["confusion_matrix"])}
    else:
        folder = spec.path
    if spec.size is not None:
        info["size"] = spec.size
    classifier = load_classifier(folder, device=device, dtype=dtype)
    info |= {
        "path": str(folder),
        "family": info.get("family", classifier.adapter.family),
        "parameters": sum(p.numel() for p in classifier.model.parameters()),
        "head_trained": classifier.head_trained,
    }
    return classifier, _plain(info)


def _plain(info: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(info, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )
