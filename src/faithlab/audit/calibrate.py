"""A short calibration on the user's own model: seconds per example of each method and each faithfulness metric.

The planner (`faithlab.audit.plan`) turns these figures into a plan that fits the time budget. Each method runs
once, at the cheapest value of its sample budget, to check that it works on this model; its seconds per example
come from the bench cost model (`faithlab.bench.cost`: its passes on a chunk of examples as the bench runner
batches them, priced by a pass calibration of the model), because timing a method alone on a few examples counts
per-call overhead that the runner amortises. The metric groups the cost model does not price (soft, normalized
AOPC) are timed on the explanations of every method at once. The planner scales a method's time in proportion to a
larger sample budget.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faithlab.bench import cost
from faithlab.bench.config import Removal
from faithlab.data import Example
from faithlab.errors import FaithlabError
from faithlab.evaluate import evaluate_normalized_aopc, evaluate_soft_removal, transformer_blocks
from faithlab.explain import Explanation, explain_many, get_explainer
from faithlab.models import Batch, Classifier


@dataclass(frozen=True)
class Candidate:
    """A method the audit may run; `knob` is the setting that buys precision with time, `ladder` its values (best
    first)."""

    name: str
    knob: str | None = None
    ladder: tuple[int, ...] = ()

    def settings(self, rung: int) -> dict[str, Any]:
        """The method's settings at a rung of its ladder (the last rung when the ladder is shorter)."""
        return {self.knob: self.ladder[min(rung, len(self.ladder) - 1)]} if self.knob else {}


# 'random' is the baseline every verdict compares against; the rest run from cheapest to dearest on most models
CANDIDATES = (
    Candidate("random"),
    Candidate("gradient"),
    Candidate("grad_x_input"),
    Candidate("attention_mean"),
    Candidate("rollout"),
    Candidate("lrp"),
    Candidate("ig", "n_steps", (32, 16, 8)),
    Candidate("occlusion"),
    Candidate("lime", "n_samples", (400, 200, 100)),
    Candidate("kernel_shap", "n_samples", (400, 200, 100)),
)
CANDIDATE_NAMES = tuple(c.name for c in CANDIDATES)
METRIC_GROUPS = ("faithfulness", "soft", "normalized_aopc")  # the bench metric groups scoring every method
CALIBRATION_EXAMPLES = 1  # each method runs on this many examples, to check it works (its cost is modelled)
COST_CHUNK = 10  # examples the cost model prices together: the bench runner's chunk of the audit
PRICED = "faithfulness"  # the metric group the cost model prices; the others are timed
MINIMAL = 2  # methods timed whatever the limit: the random baseline and one real method make the minimal plan
LEFT_OUT = "left out: the calibration used its share of the budget before reaching it"


@dataclass
class Calibration:
    """Seconds measured on a few of the user's examples.

    `explain`: per example, at the calibration settings (`settings`); `metrics`: per example and method, per metric
    group (only the groups timed); `blocks`: transformer blocks (steps of the randomization test); `failed`:
    methods (and metric groups) left out, with the reason; `seconds`: what the calibration itself took.
    """

    explain: dict[str, float]
    settings: dict[str, dict[str, Any]]
    metrics: dict[str, float]
    blocks: int
    seconds: float
    failed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, as audit.json records it."""
        return {"explain": self.explain, "settings": self.settings, "metrics": self.metrics, "blocks": self.blocks,
                "seconds": self.seconds, "failed": self.failed}


def candidates(names: tuple[str, ...] | None) -> tuple[Candidate, ...]:
    """The candidates among `names` (None: all), always with the 'random' baseline.

    Raises:
        FaithlabError: a name is not a candidate (the message lists them).
    """
    if names is None:
        return CANDIDATES
    unknown = [n for n in names if n not in CANDIDATE_NAMES]
    if unknown:
        raise FaithlabError(f"--methods: '{unknown[0]}' is not a method the audit runs; choose from "
                            f"{', '.join(CANDIDATE_NAMES)}")
    return tuple(c for c in CANDIDATES if c.name in names or c.name == "random")


def calibrate(
    classifier: Classifier,
    examples: list[Example],
    chosen: tuple[Candidate, ...] = CANDIDATES,
    *,
    seed: int = 0,
    limit_seconds: float | None = None,
) -> Calibration:
    """Price the chosen candidate methods and every metric group per example on the user's model.

    Args:
        classifier: the user's model.
        examples: the user's examples (at least one).
        chosen: the candidate methods (default all), timed in order.
        seed: seed of the sampled methods and the soft metrics.
        limit_seconds: once the calibration has run this long, the candidates not timed yet are left out (a small
            budget is not spent on calibrating methods it cannot afford); None: no limit.

    Returns:
        The `Calibration` (seconds per example of a method: the cost model's price of a `COST_CHUNK` chunk, divided
        by its examples); a method that raises `FaithlabError` on this model, or is left out by `limit_seconds`, is
        listed in `failed` with the reason.

    Raises:
        FaithlabError: no method runs on this model.
    """
    start = time.perf_counter()
    chunk = examples[:CALIBRATION_EXAMPLES]
    texts = [e.text for e in chunk]
    pairs = [e.pair for e in chunk] if any(e.pair is not None for e in chunk) else None
    classifier.predict(texts, pairs)  # the first pass pays one-off costs (allocations, lazy init) the run won't
    batch = _encode(classifier, examples[:COST_CHUNK])
    passes = cost.calibrate(classifier, width=int(statistics.median(batch.lengths.tolist())))
    explain, settings, failed, explanations = {}, {}, {}, {}
    for candidate in chosen:
        if len(explain) >= MINIMAL and limit_seconds is not None and time.perf_counter() - start > limit_seconds:
            failed[candidate.name] = LEFT_OUT
            continue
        options = candidate.settings(len(candidate.ladder) - 1)
        try:
            result = explain_many(classifier, texts, [(candidate.name, options)], pairs)
        except FaithlabError as exc:
            failed[candidate.name] = str(exc)
            continue
        explainer = get_explainer(candidate.name, classifier, allow_low_precision=True, **options)
        explain[candidate.name] = cost.estimate_unit_seconds(cost.method_passes(explainer, batch), passes) / len(batch)
        settings[candidate.name] = options
        explanations.update(result)
    if not explanations:
        raise FaithlabError(f"no explanation method runs on this model: {failed}")
    # the cost model prices the removal group (the minimal plan needs it); the other groups are timed while the
    # limit allows, on every method's explanations at once (the runner scores them together, so per-call overhead
    # and normalized AOPC's bounds, shared by the methods of an example, are amortised as in the run)
    count = sum(len(items) for items in explanations.values())
    removals = cost.metric_passes(batch, 1, [PRICED], len(Removal().fractions))
    metrics = {PRICED: cost.estimate_unit_seconds(removals, passes) / len(batch)}
    for group in METRIC_GROUPS:
        if group == PRICED:
            continue
        if limit_seconds is not None and time.perf_counter() - start > limit_seconds:
            failed[f"metric group {group}"] = LEFT_OUT
            continue
        metrics[group] = _timed(_score, group, classifier, explanations, seed)[0] / count
    blocks = len(transformer_blocks(classifier.model))
    return Calibration(explain, settings, metrics, blocks, time.perf_counter() - start, failed)


def _encode(classifier: Classifier, examples: list[Example]) -> Batch:
    pairs = [e.pair for e in examples] if any(e.pair is not None for e in examples) else None
    return classifier.encode([e.text for e in examples], pairs)


def _score(group: str, classifier: Classifier, explanations: dict[str, list[Explanation]], seed: int) -> list:
    """The rows of one timed metric group, as the bench runner computes them (default settings)."""
    if group == "soft":
        return evaluate_soft_removal(classifier, explanations, seed=seed)
    return evaluate_normalized_aopc(classifier, explanations)


def _timed(work: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work(*args)
    return time.perf_counter() - start, result
