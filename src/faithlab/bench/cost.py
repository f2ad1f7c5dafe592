"""The cost model of a benchmark unit: how many model passes it needs and how long they take on this device.

Passes are counted from what the unit runs (its texts' token lengths, each method's settings, the metric groups)
without running any of it: perturbation methods report the masks they would score, IG its path points, gradient
methods one backward, attention one forward. Seconds come from a short calibration of the model on the current
device (a forward and a backward pass, once with one row and once filling the token budget), so a chunk costs a
fixed overhead plus a per-token time. `faithlab bench --plan` prints these estimates and the progress bar of a run
counts estimated seconds rather than units.
"""

from __future__ import annotations

import inspect
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from faithlab.bench.config import BenchConfig
from faithlab.data import Example
from faithlab.evaluate import ATTACKABLE, evaluate_attack
from faithlab.explain import get_explainer
from faithlab.explain.base import Explainer, share_settings
from faithlab.explain.baselines import Ensemble
from faithlab.explain.integrated_gradients import IntegratedGradients
from faithlab.explain.perturbation import PerturbationExplainer
from faithlab.explain.settings import AUTO_START_STEPS
from faithlab.models import Batch, Classifier

ONE_BACKWARD = ("gradient", "gradient_abs", "grad_x_input", "lrp")  # one forward + backward per text
ONE_FORWARD = ("attention_sum", "attention_mean", "rollout")  # one forward (with attentions) per text
ADAPTIVE_NOTE = "auto: 1st round (lower bound)"
ATTACK_STEPS = inspect.signature(evaluate_attack).parameters["steps"].default  # the attack's own default
ATTACK_IG_STEPS = 16  # the runner's IG nodes in the attack when the config leaves n_steps to "auto"


@dataclass
class Passes:
    """Model work: rows run forward only and rows run forward + backward, their tokens (rows x width), and the
    calls: passes that must run one after another (an attack's steps, a method's own call), each at least a chunk."""

    forward_rows: int = 0
    forward_tokens: int = 0
    backward_rows: int = 0
    backward_tokens: int = 0
    notes: set[str] = field(default_factory=set)
    forward_calls: int = 0
    backward_calls: int = 0

    def add(self, other: Passes, times: int = 1) -> None:
        self.forward_rows += times * other.forward_rows
        self.forward_tokens += times * other.forward_tokens
        self.backward_rows += times * other.backward_rows
        self.backward_tokens += times * other.backward_tokens
        self.forward_calls += times * other.forward_calls
        self.backward_calls += times * other.backward_calls
        self.notes |= other.notes

    def batched(self) -> Passes:
        """These passes run as one batched call of each kind (rows of several texts together)."""
        self.forward_calls, self.backward_calls = int(self.forward_rows > 0), int(self.backward_rows > 0)
        return self

    @classmethod
    def rows(cls, width: int, forward: int = 0, backward: int = 0) -> Passes:
        """`forward` and `backward` rows of `width` tokens each."""
        return cls(forward, forward * width, backward, backward * width)


@dataclass(frozen=True)
class Calibration:
    """Seconds of the model's passes on one device: a fixed overhead per chunk plus a time per token."""

    device: str
    max_batch_tokens: int
    forward_overhead: float
    forward_per_token: float
    backward_overhead: float
    backward_per_token: float


def calibrate(classifier: Classifier, width: int = 32, repeats: int = 3) -> Calibration:
    """Time forward and forward + backward passes of `classifier` on its device (a second or so on a small model).

    Args:
        classifier: the model to time.
        width: tokens per row of the timed passes (a typical text length).
        repeats: timings per size; the median is kept.

    Returns:
        The `Calibration`: overhead and per-token seconds, from one row and from a chunk filling the budget.
    """
    width = max(2, min(width, classifier.max_length))
    rows_fwd = max(1, classifier.max_batch_tokens // width)
    rows_bwd = max(1, classifier.max_backward_tokens // width)
    one_f, full_f = (_median_seconds(lambda r=r: _forward(classifier, r, width), repeats) for r in (1, rows_fwd))
    one_b, full_b = (_median_seconds(lambda r=r: _backward(classifier, r, width), repeats) for r in (1, rows_bwd))
    per_f = max(0.0, (full_f - one_f) / max(1, (rows_fwd - 1) * width)) or full_f / (rows_fwd * width)
    per_b = max(0.0, (full_b - one_b) / max(1, (rows_bwd - 1) * width)) or full_b / (rows_bwd * width)
    return Calibration(str(classifier.device), classifier.max_batch_tokens, max(0.0, one_f - per_f * width), per_f,
                       max(0.0, one_b - per_b * width), per_b)


def estimate_unit_seconds(passes: Passes, calibration: Calibration) -> float:
    """Estimated seconds of the passes: chunks of at most the token budget (half of it with a backward), each
    costing the calibrated overhead plus its tokens' time."""
    forward_chunks = max(passes.forward_calls, math.ceil(passes.forward_tokens / calibration.max_batch_tokens))
    backward_chunks = max(passes.backward_calls,
                          math.ceil(passes.backward_tokens / max(1, calibration.max_batch_tokens // 2)))
    return (forward_chunks * calibration.forward_overhead + passes.forward_tokens * calibration.forward_per_token
            + backward_chunks * calibration.backward_overhead
            + passes.backward_tokens * calibration.backward_per_token)


def method_passes(explainer: Explainer, batch: Batch) -> Passes:
    """The passes one explainer runs on an encoded batch (the shared prediction pass not included)."""
    total = Passes()
    widths = batch.lengths.tolist()
    if isinstance(explainer, Ensemble):
        for member in explainer.members:
            total.add(method_passes(member, batch))
    elif isinstance(explainer, PerturbationExplainer):
        _groups, masks = explainer.perturbation_masks(batch)
        for width, row_masks in zip(widths, masks, strict=True):
            total.add(Passes.rows(width, forward=len(row_masks)))
        if explainer.adaptive:
            total.notes.add(ADAPTIVE_NOTE)
    elif isinstance(explainer, IntegratedGradients):
        steps = explainer.settings["n_steps"]
        if not isinstance(steps, int):
            steps = AUTO_START_STEPS[explainer.settings["method"]]
            total.notes.add(ADAPTIVE_NOTE)
        for width in widths:
            total.add(Passes.rows(width, backward=steps + 1))  # the path points and the baseline
    elif explainer.name in ONE_BACKWARD:
        for width in widths:
            total.add(Passes.rows(width, backward=1))
    elif explainer.name in ONE_FORWARD:
        for width in widths:
            total.add(Passes.rows(width, forward=1))
    return total if isinstance(explainer, Ensemble) else total.batched()


def explain_passes(classifier: Classifier, batch: Batch, methods: Sequence[tuple[str, dict[str, Any]]]) -> Passes:
    """Every method of a bench config on one batch, plus the prediction pass they share."""
    total = Passes()
    for width in batch.lengths.tolist():
        total.add(Passes.rows(width, forward=1))
    total.batched()
    for name, settings in share_settings(methods):
        total.add(method_passes(get_explainer(name, classifier, allow_low_precision=True, **settings), batch))
    return total


def metric_passes(batch: Batch, n_methods: int, metrics: Sequence[str], n_fractions: int) -> Passes:
    """The removal metrics' passes: per text and method, ERASER's two removals per fraction and the MORF and LERF
    curves (one point per removed token); leave-one-out's masks, the same for every method, once per text."""
    total = Passes()
    content = batch.content_mask.sum(dim=1).tolist()
    for width, n in zip(batch.lengths.tolist(), content, strict=True):
        per_method = (2 * n_fractions if "faithfulness" in metrics else 0) + (2 * (n + 1) if "curves" in metrics
                                                                              else 0)
        total.add(Passes.rows(width, forward=n_methods * per_method + (n if "loo" in metrics else 0)))
    return total.batched()


def unit_passes(kind: str, examples: Sequence[Example], config: BenchConfig, classifier: Classifier) -> Passes:
    """The passes of one bench unit (`faithlab.bench.runner.UnitSpec`'s kind and examples) under `config`.

    "examples": explain with every method, then the removal metrics. "meta_evaluation": an "examples" unit once
    plus once per noisy and per randomised repeat. "roar": not estimated (it retrains), said in its notes.
    "randomization": the explanations on the trained model and after each of its cascading block re-initialisations.
    "adversarial": per attacked method and objective, `steps` optimisation steps, each a backward through the
    method's own scores (counted as twice the method's backward passes, the attack differentiating a gradient) plus
    the prediction.
    """
    if kind == "roar":  # its cost is retraining, which this model of passes does not cover
        return Passes(notes={"retrains the model at every step: not estimated"})
    if not examples:
        return Passes()
    pairs = [e.pair for e in examples] if any(e.pair is not None for e in examples) else None
    batch = classifier.encode([e.text for e in examples], pairs)
    if kind == "examples":
        total = explain_passes(classifier, batch, config.methods)
        total.add(metric_passes(batch, len(config.methods), config.metrics, len(config.fractions)))
        return total
    if kind == "meta_evaluation":  # the unperturbed run, then `repeats` noisy and `repeats` randomised runs
        total = Passes()
        total.add(unit_passes("examples", examples, config, classifier), times=1 + 2 * config.meta_evaluation.repeats)
        return total
    if kind == "randomization":
        total = Passes()
        total.add(explain_passes(classifier, batch, config.methods),
                  times=1 + len(classifier.adapter.blocks(classifier.model)))
        return total
    return _attack_passes(batch, config, classifier)


def _attack_passes(batch: Batch, config: BenchConfig, classifier: Classifier) -> Passes:
    options = dict(config.adversarial)
    chosen, steps = options.get("methods"), int(options.get("steps", ATTACK_STEPS))
    total = Passes()
    for name, settings in share_settings(config.methods):
        if name not in ATTACKABLE or (chosen is not None and name not in chosen):
            continue
        if name == "ig" and not isinstance(settings.get("n_steps", "auto"), int):
            settings = {**settings, "n_steps": ATTACK_IG_STEPS}
        own = method_passes(get_explainer(name, classifier, allow_low_precision=True, **settings), batch)
        per_step = Passes(0, 0, 2 * own.backward_rows + len(batch), 2 * own.backward_tokens
                          + int(batch.lengths.sum()), backward_calls=1)
        total.add(per_step, times=2 * steps)  # two objectives, each step a call of its own
    total.notes.add("all steps (upper bound)")
    return total


def _forward(classifier: Classifier, rows: int, width: int) -> None:
    ids, mask = _inputs(classifier, rows, width)
    classifier.logits(ids, mask)


def _backward(classifier: Classifier, rows: int, width: int) -> None:
    ids, mask = _inputs(classifier, rows, width)
    leaf = classifier.word_embeddings(ids).detach().requires_grad_(True)
    logits = classifier.logits_from_embeddings(leaf, ids, mask)
    torch.autograd.grad(logits[:, 0].sum(), leaf)


def _inputs(classifier: Classifier, rows: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    token = classifier.replacement_id("unk")
    ids = torch.full((rows, width), token, dtype=torch.long, device=classifier.device)
    return ids, torch.ones_like(ids)


def _median_seconds(run: Any, repeats: int) -> float:
    run()  # warm-up (allocations, kernels)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        _synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
