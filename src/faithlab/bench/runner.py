"""`faithlab bench`: models × data sets × methods × metrics, written row by row to SQLite, resumable.

Work is cut into units (a chunk of examples explained by every method and scored by the per-example metrics; the
randomization test; the adversarial attack). A unit's rows are stored in one transaction together with its "done"
mark, so a killed run loses at most the unit in flight and a re-run skips every finished unit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from faithlab.bench.config import BUILTIN, BenchConfig, DatasetSpec, ModelSpec
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
from faithlab.explain import explain_many, get_explainer
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
ATTACK_IG_STEPS = 16  # IG nodes in the attack when the config leaves n_steps to "auto"


@dataclass
class Unit:
    """One resumable piece of work for a (model, data set)."""

    name: str
    run: Callable[[], list[dict[str, Any]]]


def run_benchmark(
    config: BenchConfig, out_dir: str | Path, *, progress: bool = True, max_units: int | None = None
) -> Path:
    """Run (or resume) every unit of the config; returns the SQLite path. `max_units` stops early (for tests).

    The output folder is locked while the run lasts: a second process writing into it is refused.
    """
    with locked_out_dir(out_dir) as out:
        return _run_benchmark(config, out, progress, max_units)


def _run_benchmark(config: BenchConfig, out: Path, progress: bool, max_units: int | None) -> Path:
    (out / "config.json").write_text(json.dumps(config.model_dump(), indent=2))
    done_now = 0
    with ResultStore(out / "results.sqlite") as store, _progress(progress) as bar:
        data = {spec.name: load_examples(spec, config) for spec in config.datasets}  # before any model trains
        for loaded in data.values():
            for line in loaded.read.lines():
                bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        (out / DATASETS_NAME).write_text(json.dumps({name: d.to_dict() for name, d in data.items()}, indent=2))
        task = bar.add_task("benchmark", total=None)
        models_info = _read_json(out / "models.json")
        for model_spec in config.models:
            classifier, info = obtain_classifier(model_spec, out, config.seed, progress)
            if "test_accuracy" not in info:  # a model the run did not train: measure it on the labelled examples
                info |= examples_accuracy(classifier, [e for d in data.values() for e in d.examples])
            models_info[model_spec.name] = info
            if "test_accuracy" in info and is_near_chance(info["test_accuracy"], info["chance_accuracy"]):
                bar.console.print(f"[bold red]warning:[/] {near_chance_warning(model_spec.name, info)}")
            (out / "models.json").write_text(json.dumps(models_info, indent=2))
            for dataset_spec in config.datasets:
                examples = data[dataset_spec.name].examples
                units = plan_units(config.for_model(model_spec), classifier, dataset_spec, examples)
                done = store.done_units(model_spec.name, dataset_spec.name)
                total = (bar.tasks[task].total or 0) + len(units)
                bar.update(task, total=total, advance=sum(u.name in done for u in units))
                for unit in units:
                    if unit.name in done:
                        continue
                    if max_units is not None and done_now >= max_units:
                        return out / "results.sqlite"
                    bar.update(task, description=f"{model_spec.name} · {dataset_spec.name} · {unit.name}")
                    start = time.perf_counter()
                    rows = unit.run()
                    store.write_unit(model_spec.name, dataset_spec.name, unit.name, rows, time.perf_counter() - start)
                    done_now += 1
                    bar.advance(task)
        store.export(out)
    return out / "results.sqlite"


def plan_units(
    config: BenchConfig, classifier: Classifier, dataset: DatasetSpec, examples: list[Example]
) -> list[Unit]:
    units = []
    per_example = [m for m in config.metrics if m in PER_EXAMPLE_GROUPS]
    if per_example:
        for start in range(0, len(examples), config.chunk_size):
            chunk = examples[start : start + config.chunk_size]
            name = f"examples:{start}-{start + len(chunk)}"
            units.append(Unit(name, _bind(_example_unit, config, classifier, dataset, chunk, start)))
    if "randomization" in config.metrics:
        chunk = examples[: config.randomization_examples]
        units.append(Unit("randomization", _bind(_randomization_unit, config, classifier, chunk)))
    if "adversarial" in config.metrics:
        chunk = examples[: config.adversarial_examples]
        units.append(Unit("adversarial", _bind(_adversarial_unit, config, classifier, chunk)))
    if config.roar.enabled:
        for name, settings in roar_methods(config):
            units.append(Unit(f"roar:{name}", _bind(_roar_unit, config, classifier, name, settings)))
    return units


def _bind(function: Callable[..., list[dict[str, Any]]], *args: Any) -> Callable[[], list[dict[str, Any]]]:
    return lambda: function(*args)


def _example_unit(
    config: BenchConfig, classifier: Classifier, dataset: DatasetSpec, chunk: list[Example], offset: int
) -> list[dict[str, Any]]:
    texts, pairs = [e.text for e in chunk], _pairs(chunk)
    explanations = explain_many(classifier, texts, config.methods, pairs)
    seconds = {method: [e.seconds for e in items] for method, items in explanations.items()}
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
    return [_record(row, offset, seconds.get(row.method)) for row in rows]


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


def _roar_unit(config: BenchConfig, classifier: Classifier, method: str, settings: dict) -> list[dict[str, Any]]:
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


def obtain_classifier(spec: ModelSpec, out: Path, seed: int, progress: bool) -> tuple[Classifier, dict[str, Any]]:
    """Load a model, training it first (resumably, inside the run folder) when the spec asks for that."""
    info: dict[str, Any] = {"name": spec.name}
    if spec.zoo is not None:
        zoo = spec.zoo
        family, size = zoo.family, zoo.size
        data = zoo_data(data=zoo.task_data, limit=zoo.train_size)
        overrides = {"seed": seed, "progress": progress, **spec.train}
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
    classifier = load_classifier(folder)
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
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )
