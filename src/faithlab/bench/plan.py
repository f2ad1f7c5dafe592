"""`faithlab bench CONFIG --plan`: every unit of a benchmark with its model passes and estimated seconds, without
running the benchmark or training any model.

Each model is loaded (or, when the run would train it first, built untrained with the same architecture and
tokenizer, or loaded from its base folder) only to count tokens and to calibrate the cost model
(`faithlab.bench.cost`) on the current device; nothing is written to the output folder.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from faithlab.bench.config import BenchConfig, ModelSpec
from faithlab.bench.cost import Calibration, Passes, calibrate, estimate_unit_seconds, unit_passes
from faithlab.bench.runner import load_examples, plan_units
from faithlab.bench.store import ResultStore
from faithlab.models import Classifier, load_classifier
from faithlab.models.loading import quiet_transformers
from faithlab.models.zoo import build_classifier_folder
from faithlab.train.config import TrainConfig
from faithlab.train.task_data import load_splits
from faithlab.train.zoo_train import ZOO_SETTINGS, zoo_data


@dataclass
class UnitPlan:
    """One unit of the benchmark: its passes, estimated seconds, and whether an earlier run finished it."""

    model: str
    dataset: str
    unit: str
    passes: Passes
    seconds: float
    done: bool = False


@dataclass
class ModelPlan:
    """A model of the benchmark: the calibration its estimates use, and the training the run would do first."""

    name: str
    calibration: Calibration
    training: str = ""  # what the run trains first ("" when nothing)
    training_seconds: float = 0.0


@dataclass
class BenchPlan:
    models: list[ModelPlan] = field(default_factory=list)
    units: list[UnitPlan] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Estimated seconds of everything still to do: training and the units not done."""
        return sum(m.training_seconds for m in self.models) + sum(u.seconds for u in self.units if not u.done)


def plan_benchmark(config: BenchConfig, out_dir: str | Path) -> BenchPlan:
    """The plan of a benchmark run into `out_dir` (units an earlier run there finished are marked done).

    Args:
        config: the checked benchmark config.
        out_dir: the run folder the benchmark would write (read only, when it exists).

    Returns:
        A `BenchPlan`: per model its calibration and training estimate, per unit its passes and seconds.
    """
    out = Path(out_dir)
    data = {spec.name: load_examples(spec, config).examples for spec in config.datasets}
    plan = BenchPlan()
    with tempfile.TemporaryDirectory(prefix="faithlab-plan-") as scratch:
        for spec in config.models:
            classifier, training, train_texts, epochs = _planning_classifier(spec, config, out, Path(scratch))
            lengths = [len(t) for e in data.values() for t in classifier.tokenizer([x.text for x in e])["input_ids"]]
            calibration = calibrate(classifier, width=int(statistics.median(lengths)) if lengths else 32)
            model = ModelPlan(spec.name, calibration, training)
            if training:
                model.training_seconds = _training_seconds(classifier, train_texts, epochs, calibration)
            plan.models.append(model)
            for dataset in config.datasets:
                done = _done_units(out, spec.name, dataset.name)
                model_config = config.for_model(spec)
                for unit in plan_units(config, spec, dataset, data[dataset.name]):
                    examples = data[dataset.name][unit.start : unit.stop]
                    passes = unit_passes(unit.kind, examples, model_config, classifier)
                    plan.units.append(UnitPlan(spec.name, dataset.name, unit.name, passes,
                                               estimate_unit_seconds(passes, calibration), unit.name in done))
    return plan


def _planning_classifier(
    spec: ModelSpec, config: BenchConfig, out: Path, scratch: Path
) -> tuple[Classifier, str, list[str], int]:
    """The model to count tokens and time passes with, what the run trains first, its texts and epochs."""
    load = {"device": config.device, "dtype": config.dtype}
    if spec.zoo is not None:
        trained = out / "zoo" / "runs" / f"{spec.zoo.family}-{spec.zoo.size}" / "best"
        if trained.is_dir():
            return load_classifier(trained, **load), "", [], 0
        train = TrainConfig.from_dict({**ZOO_SETTINGS, "data": zoo_data(data=spec.zoo.task_data,
                                                                        limit=spec.zoo.train_size).model_dump()})
        train = train.with_overrides({"seed": config.seed, **spec.train})
        splits = load_splits(train.data, train.seed)
        with quiet_transformers():
            folder = build_classifier_folder(spec.zoo.family, splits.train.texts, scratch / spec.name,
                                             size=spec.zoo.size, labels=splits.train.label_names, seed=config.seed)
        epochs = spec.zoo.epochs or train.epochs
        what = f"zoo {spec.zoo.family}-{spec.zoo.size}, {epochs} epochs at most (timed untrained)"
        return load_classifier(folder, **load), what, list(splits.train.texts), epochs
    if spec.train:
        trained = out / "models" / spec.name / "best"
        if trained.is_dir():
            return load_classifier(trained, **load), "", [], 0
        train = TrainConfig.from_dict({"seed": config.seed, **spec.train, "model": spec.path})
        splits = load_splits(train.data, train.seed)
        classifier = load_classifier(spec.path, labels=list(splits.train.label_names), **load)
        what = f"fine-tune {spec.path}, {train.epochs} epochs at most"
        return classifier, what, list(splits.train.texts), train.epochs
    return load_classifier(spec.path, **load), "", [], 0


def _training_seconds(classifier: Classifier, texts: list[str], epochs: int, calibration: Calibration) -> float:
    """Forward + backward over the training texts, `epochs` times (optimizer steps and dev scoring not counted)."""
    lengths = [len(ids) for ids in classifier.tokenizer(texts, truncation=True, max_length=classifier.max_length)[
        "input_ids"]]
    passes = Passes(backward_rows=len(lengths), backward_tokens=sum(lengths))
    return epochs * estimate_unit_seconds(passes, calibration)


def _done_units(out: Path, model: str, dataset: str) -> set[str]:
    database = out / "results.sqlite"
    if not database.is_file():
        return set()
    with ResultStore(database) as store:
        return set(store.done_units(model, dataset))
