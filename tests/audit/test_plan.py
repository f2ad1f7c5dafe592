"""The audit planner: estimates by hand, plans that fit, sensible degradation, and a refusal naming the minimum."""

from __future__ import annotations

import itertools
import math
import re

import pytest

from faithlab.audit.calibrate import Calibration
from faithlab.audit.plan import MARGIN, SOLID_EXAMPLES, Plan, choose_plan, estimate_seconds
from faithlab.errors import FaithlabError

SAMPLED = {"ig": {"n_steps": 8}, "lime": {"n_samples": 100}, "kernel_shap": {"n_samples": 100}}
EXPLAIN = {"random": 0.001, "gradient": 0.01, "grad_x_input": 0.01, "attention_mean": 0.005, "rollout": 0.005,
           "lrp": 0.02, "ig": 0.08, "occlusion": 0.1, "lime": 0.5, "kernel_shap": 0.5}


def _calibration(**changes) -> Calibration:
    fields = {"explain": dict(EXPLAIN), "settings": {name: SAMPLED.get(name, {}) for name in EXPLAIN},
              "metrics": {"faithfulness": 0.01, "soft": 0.01, "normalized_aopc": 0.2}, "blocks": 2, "seconds": 1.0}
    return Calibration(**(fields | changes))


def _richness(plan: Plan) -> tuple:
    samples = sum(v for settings in plan.methods.values() for v in settings.values())
    return (len(plan.methods), "normalized_aopc" in plan.metrics, samples, plan.examples)


def test_estimate_by_hand() -> None:
    plan = Plan(10, {"random": {}, "ig": {"n_steps": 16}}, ["faithfulness"], 2, False)
    # explain 0.001 + 0.08 * 16/8 = 0.161; metrics 2 methods * 0.01 = 0.02; randomization 2 examples * 3 passes
    assert estimate_seconds(plan, _calibration()) == pytest.approx(10 * (0.161 + 0.02) + 2 * 3 * 0.161)
    plan.meta_evaluation = True  # explanations and metrics on the randomization examples, 1 + 2 * 3 repeats
    assert estimate_seconds(plan, _calibration()) == pytest.approx(10 * 0.181 + 2 * 3 * 0.161 + 7 * 2 * 0.181)


@pytest.mark.parametrize("budget", [20_000, 2_000, 600, 200, 60, 20, 8])
def test_the_plan_fits_the_budget(budget: float) -> None:
    plan = choose_plan(_calibration(), budget, spent=3.0, available=500, meta_evaluation=True)
    assert 3.0 + estimate_seconds(plan, _calibration()) * (1 + MARGIN) <= budget
    assert plan.estimated_seconds == pytest.approx(estimate_seconds(plan, _calibration()), abs=0.05)
    assert "random" in plan.methods and len(plan.methods) >= 2


def test_smaller_budgets_degrade_step_by_step() -> None:
    plans = [choose_plan(_calibration(), b, spent=3.0, available=500, meta_evaluation=False)
             for b in (20_000, 2_000, 600, 200, 60, 8, 3.5)]
    richest, poorest = plans[0], plans[-1]
    assert richest.examples == 200 and len(richest.methods) == len(EXPLAIN) and "normalized_aopc" in richest.metrics
    assert richest.methods["lime"] == {"n_samples": 400} and richest.methods["ig"] == {"n_steps": 32}
    cheapest = min(EXPLAIN[m] for m in EXPLAIN if m != "random")
    assert poorest.examples < SOLID_EXAMPLES and poorest.metrics == ["faithfulness"]
    assert next(iter(poorest.methods)) == "random" and [EXPLAIN[m] for m in poorest.methods][1:] == [cheapest]
    # every step down gives up something and gains nothing: fewer methods, metrics, samples or examples
    for bigger, smaller in itertools.pairwise(plans):
        assert _richness(smaller) <= _richness(bigger)
    # sample budgets shrink before methods are dropped, methods are dropped before going below SOLID_EXAMPLES
    middle = plans[2]
    assert len(middle.methods) == len(EXPLAIN) and middle.methods["lime"]["n_samples"] < 400


def test_dearest_methods_go_first() -> None:
    plan = choose_plan(_calibration(), 60, spent=3.0, available=500, meta_evaluation=False)
    dropped = set(EXPLAIN) - set(plan.methods)
    kept = set(plan.methods) - {"random"}
    assert dropped and plan.examples >= SOLID_EXAMPLES
    assert min(EXPLAIN[m] for m in dropped) >= max(EXPLAIN[m] for m in kept)


def test_a_budget_too_small_names_a_minimum_that_suffices() -> None:
    with pytest.raises(FaithlabError, match=r"too small .* give at least --budget \d+s") as caught:
        choose_plan(_calibration(), 3.02, spent=3.0, available=500, meta_evaluation=False)
    needed = int(re.search(r"--budget (\d+)s", str(caught.value)).group(1))
    # one example of random + attention_mean with the faithfulness group, 1 randomization example over 3 passes
    minimal = 0.006 + 2 * 0.01 + 3 * 0.006
    assert needed == math.ceil(3.0 + minimal * (1 + MARGIN))
    plan = choose_plan(_calibration(), needed, spent=3.0, available=500, meta_evaluation=False)
    assert plan.examples >= 1


def test_methods_that_failed_calibration_are_not_planned() -> None:
    explain = {k: v for k, v in EXPLAIN.items() if k != "lrp"}
    calibration = _calibration(explain=explain, failed={"lrp": "no LRP rules for this family"})
    plan = choose_plan(calibration, 20_000, spent=0.0, available=12, meta_evaluation=False)
    assert "lrp" not in plan.methods and plan.examples == 12
