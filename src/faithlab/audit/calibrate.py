"""A short calibration on the user's own model: seconds per example of each method and each faithfulness metric.

The planner (`faithlab.audit.plan`) turns these timings into a plan that fits the time budget. Each method runs at
the cheapest value of its sample budget; the planner scales that time in proportion to a larger budget, which
over- rather than under-estimates (a fixed part of the cost does not grow with the samples).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faithlab.data import Example
from faithlab.errors import FaithlabError
from faithlab.evaluate import evaluate_faithfulness, evaluate_normalized_aopc, evaluate_soft_removal, transformer_blocks
from faithlab.explain import Explanation, explain_many
from faithlab.models import Classifier


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
CALIBRATION_EXAMPLES = 3
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
    """Time the chosen candidate methods and every metric group on the first `CALIBRATION_EXAMPLES` examples.

    Args:
        classifier: the user's model.
        examples: the user's examples (at least one).
        chosen: the candidate methods (default all), timed in order.
        seed: seed of the sampled methods and the soft metrics.
        limit_seconds: once the calibration has run this long, the candidates not timed yet are left out (a small
            budget is not spent on calibrating methods it cannot afford); None: no limit.

    Returns:
        The `Calibration`; a method that raises `FaithlabError` on this model, or is left out by `limit_seconds`, is
        listed in `failed` with the reason.

    Raises:
        FaithlabError: no method runs on this model.
    """
    start = time.perf_counter()
    chunk = examples[:CALIBRATION_EXAMPLES]
    texts = [e.text for e in chunk]
    pairs = [e.pair for e in chunk] if any(e.pair is not None for e in chunk) else None
    classifier.predict(texts, pairs)  # the first pass pays one-off costs (allocations, lazy init) the run won't
    explain, settings, failed, explanations = {}, {}, {}, {}
    for candidate in chosen:
        if len(explain) >= MINIMAL and limit_seconds is not None and time.perf_counter() - start > limit_seconds:
            failed[candidate.name] = LEFT_OUT
            continue
        options = candidate.settings(len(candidate.ladder) - 1)
        try:
            seconds, result = _timed(explain_many, classifier, texts, [(candidate.name, options)], pairs)
        except FaithlabError as exc:
            failed[candidate.name] = str(exc)
            continue
        explain[candidate.name] = seconds / len(chunk)
        settings[candidate.name] = options
        explanations.update(result)
    if not explanations:
        raise FaithlabError(f"no explanation method runs on this model: {failed}")
    # a metric's cost per explanation hardly depends on the method: one explanation is timed per group, the
    # cheapest group always (the minimal plan needs it), the others while the limit allows
    first = next(iter(explanations))
    one = {first: explanations[first][:1]}
    metrics = {}
    for group in METRIC_GROUPS:
        if metrics and limit_seconds is not None and time.perf_counter() - start > limit_seconds:
            failed[f"metric group {group}"] = LEFT_OUT
            continue
        metrics[group] = _timed(_score, group, classifier, one, seed)[0]
    blocks = len(transformer_blocks(classifier.model))
    return Calibration(explain, settings, metrics, blocks, time.perf_counter() - start, failed)


def _score(group: str, classifier: Classifier, explanations: dict[str, list[Explanation]], seed: int) -> list:
    """The rows of one metric group, as the bench runner computes them (default fractions and replacement)."""
    if group == "faithfulness":
        return evaluate_faithfulness(classifier, explanations, parts=["eraser"])
    if group == "soft":
        return evaluate_soft_removal(classifier, explanations, seed=seed)
    return evaluate_normalized_aopc(classifier, explanations)


def _timed(work: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work(*args)
    return time.perf_counter() - start, result
