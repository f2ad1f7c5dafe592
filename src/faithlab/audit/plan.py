"""The audit's plan: how many examples, which methods at which sample budgets, which metrics, so the run fits the
time budget.

`estimate_seconds` is the one place that turns a plan and a calibration (whose per-example figures come from
the bench cost model, `faithlab.audit.calibrate`) into seconds.
`choose_plan` walks from the richest plan to the poorest and keeps the first that fits with enough examples for
paired comparisons (more for richer sample budgets). It degrades in this order: smaller sample budgets, no
normalized AOPC (its bounds cost the most per example), the dearest methods dropped one by one, and last a minimal
plan on as few as one example.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from faithlab.audit.calibrate import CANDIDATES, METRIC_GROUPS, Calibration, Candidate
from faithlab.bench.config import MetaEvaluationSettings
from faithlab.errors import FaithlabError

MAX_EXAMPLES = 200  # beyond this, paired bootstrap intervals narrow slowly; spend the time on methods instead
SOLID_EXAMPLES = 30  # fewer examples than this leave most method pairs tied; go below only as a last resort
MAX_RANDOMIZATION_EXAMPLES = 8
MARGIN = 0.15  # share of the budget kept free for what the estimate misses (load noise, summary, report)
CORE = 2  # the minimal plan keeps the random baseline and the cheapest real method
META_REPEATS = MetaEvaluationSettings().repeats  # noisy and randomised repeats of the meta-evaluation unit


@dataclass
class Plan:
    """What the audit runs: `methods` maps a method to its settings; `metrics` are bench metric groups."""

    examples: int
    methods: dict[str, dict[str, Any]]
    metrics: list[str]
    randomization_examples: int
    meta_evaluation: bool
    estimated_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, as audit.json records it."""
        return asdict(self)


def randomization_examples(examples: int) -> int:
    """Examples of the randomization test: a quarter of the examples, at least 1, at most 8 (it re-explains each
    once per transformer block)."""
    return max(1, min(MAX_RANDOMIZATION_EXAMPLES, examples // 4))


def method_seconds(name: str, settings: dict[str, Any], calibration: Calibration) -> float:
    """Seconds per example of a method at `settings`: the calibrated time scaled by its sample budget."""
    seconds = calibration.explain[name]
    for knob, value in settings.items():
        measured = calibration.settings[name].get(knob)
        if isinstance(measured, int) and isinstance(value, int):
            seconds *= value / measured
    return seconds


def estimate_seconds(plan: Plan, calibration: Calibration) -> float:
    """Seconds the bench run of `plan` should take, from the calibration (model load excluded: it is measured).

    Per example: every method's explanation plus every metric group on every method. The randomization test
    re-explains its examples once per transformer block. The meta-evaluation runs on the randomization examples:
    explanations and metrics once on the trained model and once per noisy and per randomised repeat (as
    `faithlab.bench.cost.unit_passes` counts its unit).
    """
    explain = sum(method_seconds(name, settings, calibration) for name, settings in plan.methods.items())
    metrics = len(plan.methods) * sum(calibration.metrics[g] for g in plan.metrics)
    seconds = plan.examples * (explain + metrics)
    seconds += plan.randomization_examples * (calibration.blocks + 1) * explain
    if plan.meta_evaluation:
        seconds += (1 + 2 * META_REPEATS) * plan.randomization_examples * (explain + metrics)
    return seconds


def choose_plan(
    calibration: Calibration, budget_seconds: float, *, spent: float, available: int, meta_evaluation: bool
) -> Plan:
    """The richest plan whose estimate, with `MARGIN`, fits what is left of the budget.

    Args:
        calibration: the timings of the user's model.
        budget_seconds: the whole budget of the audit.
        spent: seconds already spent (loading and calibration).
        available: examples the data holds.
        meta_evaluation: whether the plan includes the meta-evaluation unit.

    Returns:
        The chosen `Plan`, its estimate filled in.

    Raises:
        FaithlabError: not even one example fits; the message gives the smallest budget that does.
    """
    if available < 1:
        raise FaithlabError("the data holds no examples to audit")
    left = (budget_seconds - spent) / (1 + MARGIN)
    top = min(available, MAX_EXAMPLES)
    for methods, metrics, floor in _stages(calibration):
        for n in range(top, min(floor, top) - 1, -1):
            plan = Plan(n, methods, metrics, randomization_examples(n), meta_evaluation)
            estimate = estimate_seconds(plan, calibration)
            plan.estimated_seconds = round(estimate, 1)
            if estimate <= left:
                return plan
    # the last plan tried is the minimal one on a single example
    needed = math.ceil(spent + estimate * (1 + MARGIN))
    raise FaithlabError(
        f"a budget of {budget_seconds:g} s is too small for this model: one example with the cheapest plan "
        f"({', '.join(plan.methods)}) needs about {needed} s, calibration included; give at least --budget {needed}s"
    )


def _stages(calibration: Calibration) -> Iterator[tuple[dict[str, dict[str, Any]], list[str], int]]:
    """(methods with settings, metric groups, fewest examples acceptable), richest first."""
    usable = [c for c in CANDIDATES if c.name in calibration.explain]
    if not usable:
        raise FaithlabError(f"no explanation method runs on this model: {calibration.failed}")
    rungs = max(1, *(len(c.ladder) for c in usable))
    timed = [g for g in METRIC_GROUPS if g in calibration.metrics]
    for rung in range(rungs):  # a richer sample budget is worth it only with more examples to compare on
        yield _settings(usable, rung), timed, SOLID_EXAMPLES * (rungs - rung)
    lean = [g for g in timed if g != "normalized_aopc"]
    by_cost = sorted(usable[1:], key=lambda c: method_seconds(c.name, c.settings(rungs), calibration), reverse=True)
    kept = [usable[0], *by_cost]  # the random baseline stays first
    while len(kept) > CORE:
        yield _settings(kept, rungs), lean, SOLID_EXAMPLES
        kept.pop(1)
    yield _settings(kept, rungs), ["faithfulness"], 1


def _settings(candidates: list[Candidate], rung: int) -> dict[str, dict[str, Any]]:
    return {c.name: c.settings(rung) for c in candidates}
