"""Adversarial attack on explanations: the top-k attack of Ghorbani et al. 2019 ("Interpretation of Neural Networks
Is Fragile", AAAI), on the word embeddings of a text classifier.

A perturbation δ of the content tokens' word embeddings, ‖δ‖∞ ≤ ε, is optimised by signed-gradient steps (the L∞
steepest ascent) to move the explanation while the predicted class stays the same:
- 'unconstrained': maximise D = M(x) − M(x + δ), the drop of the original top-k tokens' share of |score| mass;
- 'constrained': maximise α·D − β·(p(x) − p(x + δ))², p = the target probability.
In both, a step that changes the predicted class is rejected (δ goes back and that text's step size halves), so every
reported δ keeps the prediction. The step size halves every `halve_every` steps; a text stops once δ moved less than
`tolerance` (max-abs) for `patience` steps in a row. The best accepted δ (highest objective) is reported.
Importance is |score| (Ghorbani et al.'s saliency maps are non-negative); top-k: k = floor(k_fraction × content
tokens), at least 1. The gradient of the explanation comes from double back-propagation (create_graph) through the
explainer's own `differentiable_scores`: gradient, gradient_abs, grad_x_input, ig (fixed n_steps) and lrp. LRP's
rules freeze every non-linear step, so its relevance is linear in its input between rule changes and the attack sees
only the first-order term.
A text longer than the model's limit (`faithlab.models.windows`) is attacked whole: δ lives on its whole-text
tokens, each window reads the perturbed embeddings at its positions, and the explanation and the prediction of the
perturbed text are its windows' combined scores and mean logits. Its gradient comes in two passes over the windows
(chunked within the token budget): the combined outputs first, then each chunk's share of the objective's gradient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from faithlab.errors import FaithlabError
from faithlab.evaluate.ranking import rank_correlation
from faithlab.evaluate.results import Row
from faithlab.explain.base import Explainer, expand_targets
from faithlab.explain.perturbation import check_count
from faithlab.models import Batch
from faithlab.models.classifier import Target
from faithlab.models.windows import encode_windowed, shared_window_rows

OBJECTIVES = ("unconstrained", "constrained")
GRADIENT_METHODS = ("gradient", "gradient_abs", "grad_x_input")
ATTACKABLE = (*GRADIENT_METHODS, "ig", "lrp")


class RowInputs:
    """The model inputs of some rows of a batch (ids, mask, segments) and, for IG, their baseline embeddings."""

    def __init__(self, batch: Batch, rows: torch.Tensor, baseline: torch.Tensor | None):
        self.ids = batch.input_ids[rows]
        self.mask = batch.attention_mask[rows]
        self.segments = None if batch.token_type_ids is None else batch.token_type_ids[rows]
        self.baseline = None if baseline is None else baseline[rows]


def top_k_count(n_tokens: int, k_fraction: float) -> int:
    """k = floor(k_fraction × n), at least 1 (and at most n)."""
    return min(n_tokens, max(1, math.floor(round(k_fraction * n_tokens, 9))))


def differentiable_scores(
    explainer: Explainer, embeddings: torch.Tensor, rows: RowInputs, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The explainer's scores as a differentiable function of the word embeddings, and the logits there: the
    explainer's own `differentiable_scores` (IG also takes the rows' baseline)."""
    if rows.baseline is None:
        return explainer.differentiable_scores(embeddings, rows.ids, rows.mask, rows.segments, targets)
    return explainer.differentiable_scores(embeddings, rows.ids, rows.mask, rows.segments, targets,
                                           baseline=rows.baseline)


def topk_mass(scores: torch.Tensor, top: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Share of each row's |score| mass (content tokens) held by its `top` tokens, (rows,)."""
    magnitude = scores.abs() * content
    return (magnitude * top).sum(dim=-1) / magnitude.sum(dim=-1).clamp_min(1e-12)


def evaluate_attack(
    explainer: Explainer,
    texts: Sequence[str],
    pairs: Sequence[str | None] | None = None,
    target: Target = None,
    *,
    objective: str = "unconstrained",
    epsilon: float = 2.0,
    k_fraction: float = 0.15,
    steps: int = 500,
    lr: float = 0.1,
    halve_every: int = 200,
    tolerance: float = 1e-5,
    patience: int = 20,
    alpha: float = 1.0,
    beta: float = 10.0,
) -> list[Row]:
    """The top-k attack of Ghorbani et al. 2019 ("Interpretation of Neural Networks Is Fragile"): how far can a small
    perturbation of the word embeddings move the explanation while the prediction stays the same?

    Signed-gradient steps on δ (‖δ‖∞ ≤ `epsilon`, content tokens only) through the explainer's own differentiable
    scores; a step that changes the predicted class is rejected (rules in the module docstring). Attackable
    methods: `ATTACKABLE` (ig with a fixed n_steps).

    Args:
        explainer: the explainer to attack.
        texts: the texts to explain.
        pairs: the second text of each pair, aligned with `texts` (default None).
        target: the class explained: None (predicted), a label name or index, one per text, or 'all' (default None).
        objective: 'unconstrained' (maximise the drop of the original top-k tokens' share of |score| mass) or
            'constrained' (that drop · alpha − beta · (target probability change)²) (default 'unconstrained').
        epsilon: the L∞ bound of δ, in word-embedding units (default 2.0).
        k_fraction: top-k = floor(k_fraction × content tokens), at least 1 (default 0.15).
        steps: the most optimisation steps (default 500).
        lr: the first step size (default 0.1).
        halve_every: the step size halves every this many steps (default 200).
        tolerance: a text stops once δ moves less than this (max-abs) for `patience` steps in a row (default 1e-05).
        patience: see `tolerance` (default 20).
        alpha: weight of the mass drop, 'constrained' only (default 1.0).
        beta: weight of the squared probability change, 'constrained' only; 10 makes a probability change of 0.1
            cost as much as a 0.1 drop of top-k mass gains (default 10.0).

    Returns:
        `Row`s per text: attack_rank_change (share of the original top-k pushed out of the top-k; in [0, 1], lower
        is better = more robust), attack_spearman (of |scores| before and after; higher is better),
        attack_topk_mass_change (drop of the top-k's |score| share; lower is better) and attack_probability_change
        (|target probability change|; lower is better). Details: k, linf (‖δ‖∞), steps run, label_kept.

    Example:
        >>> from faithlab.explain import get_explainer
        >>> rows = evaluate_attack(get_explainer("gradient", model), ["a warm and funny film"], steps=10)
        >>> [row.metric for row in rows]
        ['attack_rank_change', 'attack_spearman', 'attack_topk_mass_change', 'attack_probability_change']
        >>> all(row.details["label_kept"] for row in rows)
        True
    """
    settings = _check(explainer, objective, epsilon, k_fraction, steps, lr, halve_every, tolerance, patience)
    if objective == "constrained":
        settings.update(alpha=float(alpha), beta=float(beta))
    classifier = explainer.classifier
    batch, targets = expand_targets(classifier, encode_windowed(classifier, texts, pairs), target)
    state = _Attack(explainer, batch, targets, settings)
    for step in range(steps):
        if step and step % halve_every == 0:
            state.step_size /= 2
        active = state.active.nonzero().flatten()  # the step's one wait on the device: which texts go on
        if not len(active):
            break
        state.advance(active)
    return state.rows()


def _check(
    explainer: Explainer,
    objective: str,
    epsilon: float,
    k_fraction: float,
    steps: int,
    lr: float,
    halve_every: int,
    tolerance: float,
    patience: int,
) -> dict[str, object]:
    if explainer.name not in ATTACKABLE:
        raise FaithlabError(
            f"method '{explainer.name}' cannot be attacked: the attack differentiates the explanation; "
            f"attackable methods: {', '.join(ATTACKABLE)}"
        )
    if explainer.name == "ig" and not isinstance(explainer.settings["n_steps"], int):
        raise FaithlabError("the attack needs IG with a fixed n_steps (an integer), not n_steps='auto'")
    if objective not in OBJECTIVES:
        raise FaithlabError(f"unknown attack objective '{objective}'; choose one of {', '.join(OBJECTIVES)}")
    for name, value, low in (("epsilon", epsilon, 0.0), ("lr", lr, 0.0)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > low:
            raise FaithlabError(f"{name} must be a number > {low}, got {value!r}")
    if not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise FaithlabError(f"tolerance must be a number >= 0, got {tolerance!r}")
    if not isinstance(k_fraction, (int, float)) or not 0 < k_fraction <= 1:
        raise FaithlabError(f"k_fraction must lie in (0, 1], got {k_fraction!r}")
    for name, value in (("steps", steps), ("halve_every", halve_every), ("patience", patience)):
        check_count(name, value, 1)
    return {
        "objective": objective,
        "epsilon": float(epsilon),
        "k_fraction": float(k_fraction),
        "steps": steps,
        "lr": float(lr),
        "halve_every": halve_every,
        "tolerance": float(tolerance),
        "patience": patience,
    }


class AttackWindows:
    """The windows of a batch with texts longer than the limit, as the attack reads them: window k is the text
    `owner[k]`'s tokens at `index[k]` (real where `real[k]`), its word embeddings `words[k]` and, for IG, its
    baseline; `counts` = windows per text."""

    def __init__(self, explainer: Explainer, batch: Batch, targets: torch.Tensor):
        self.explainer = explainer
        rows = shared_window_rows(explainer.classifier, batch)
        self.batch = rows.batch
        device = targets.device
        self.owner = torch.as_tensor(rows.owner, device=device)
        self.real = self.batch.attention_mask.bool().to(device)
        self.index = torch.zeros_like(self.batch.input_ids, device=device)
        for k, positions in enumerate(rows.positions):
            self.index[k, : len(positions)] = torch.as_tensor(positions, device=device)
        self.counts = rows.counts(len(batch)).to(device=device, dtype=torch.float32)
        self.targets = targets[self.owner]
        with torch.no_grad():
            self.words = explainer.classifier.word_embeddings(self.batch.input_ids).detach()
        self.baseline = explainer._baseline(self.batch, self.words) if explainer.name == "ig" else None

    def _chunks(self, texts: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The windows of the given text rows in chunks within the backward budget, and each window's text as an
        index into `texts`."""
        local = torch.full((len(self.counts),), -1, dtype=torch.long, device=texts.device)
        local[texts] = torch.arange(len(texts), device=texts.device)
        windows = (local[self.owner] >= 0).nonzero().flatten()
        path = self.explainer.settings["n_steps"] if self.explainer.name == "ig" else 1
        chunks = self.explainer.classifier.chunks(len(windows), self.index.shape[1] * path, backward=True)
        return [windows[c] for c in chunks], local[self.owner]

    def _outputs(self, windows: torch.Tensor, delta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores and logits of some windows when the text's word embeddings move by `delta` (text rows indexed
        like `self.owner`); differentiable in `delta`."""
        shift = delta[self.owner[windows, None], self.index[windows]] * self.real[windows, :, None]
        inputs = RowInputs(self.batch, windows, self.baseline)
        return differentiable_scores(self.explainer, self.words[windows] + shift, inputs, self.targets[windows])

    def outputs(self, texts: torch.Tensor, delta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Combined scores (texts, width) and mean logits (texts, classes) of the given texts at words + δ, no graph
        kept (the combination rule of `faithlab.models.windows`)."""
        chunks, local = self._chunks(texts)
        scores = torch.zeros(len(texts), delta.shape[1], device=delta.device)
        logits = torch.zeros(len(texts), len(self.explainer.classifier.labels), device=delta.device)
        for windows in chunks:
            with torch.enable_grad():
                part, part_logits = self._outputs(windows, delta.detach().requires_grad_(True))
            owner = local[windows]
            scores.index_put_((owner[:, None].expand_as(self.index[windows]), self.index[windows]),
                              part.detach().float() * self.real[windows], accumulate=True)
            logits.index_add_(0, owner, part_logits.detach().float())
        counts = self.counts[texts, None]
        return scores / counts, logits / counts

    def gradient(self, texts: torch.Tensor, delta: torch.Tensor, d_scores: torch.Tensor,
                 d_logits: torch.Tensor) -> torch.Tensor:
        """The gradient in δ of the given texts of an objective whose gradients in their combined scores and mean
        logits are `d_scores` and `d_logits`: each chunk of windows back-propagates its share in turn."""
        chunks, local = self._chunks(texts)
        grad = torch.zeros_like(delta[texts])
        for windows in chunks:
            owner = local[windows]
            with torch.enable_grad():
                d = delta.detach().requires_grad_(True)
                part, part_logits = self._outputs(windows, d)
                counts = self.counts[texts][owner, None]
                weight = d_scores[owner[:, None], self.index[windows]] * self.real[windows] / counts
                share = (part * weight).sum() + (part_logits * d_logits[owner] / counts).sum()
                (step,) = torch.autograd.grad(share, d)
            grad += step[texts]
        return grad


class _Attack:
    """The optimisation state of every text: δ, the last accepted and the best δ, step size, convergence count."""

    def __init__(self, explainer: Explainer, batch: Batch, targets: torch.Tensor, settings: dict[str, object]):
        self.explainer, self.batch, self.targets, self.settings = explainer, batch, targets, settings
        classifier = explainer.classifier
        with torch.no_grad():
            self.words = classifier.word_embeddings(batch.input_ids).detach()
        self.content = batch.content_mask
        # IG's baseline comes from the explainer itself, so the attacked scores are the explainer's own
        # (a long text's windows have theirs, `AttackWindows`)
        short_ig = explainer.name == "ig" and batch.window is None
        self.baseline = explainer._baseline(batch, self.words) if short_ig else None
        self.windows = None if batch.window is None else AttackWindows(explainer, batch, targets)
        n, device = len(batch), self.words.device  # the attack's state lives where the model runs
        everything = torch.arange(n, device=device)
        self.original, logits = self._scores(everything, torch.zeros_like(self.words))
        self.predicted = logits.argmax(dim=-1)
        self.p0 = self._probability(everything, logits)
        counts = self.content.sum(dim=1).tolist()
        self.k = [top_k_count(c, settings["k_fraction"]) for c in counts]
        self.top = torch.zeros_like(self.content)
        for row, k in enumerate(self.k):
            magnitude = (self.original[row].abs() * self.content[row]).masked_fill(~self.content[row], -1.0)
            self.top[row, magnitude.argsort(descending=True, stable=True)[:k]] = True
        self.mass0 = topk_mass(self.original, self.top, self.content)
        self.delta = torch.zeros_like(self.words)
        self.accepted, self.best, self.direction = (torch.zeros_like(self.words) for _ in range(3))
        self.best_value = torch.zeros(n, device=device)  # the objective of δ = 0 is 0 under both objectives
        self.step_size = torch.full((n,), settings["lr"], device=device)
        self.still = torch.zeros(n, dtype=torch.long, device=device)
        self.steps_run = torch.zeros(n, dtype=torch.long, device=device)
        self.active = torch.ones(n, dtype=torch.bool, device=device)

    def _inputs(self, rows: torch.Tensor) -> RowInputs:
        return RowInputs(self.batch, rows, self.baseline)

    def _chunks(self, rows: torch.Tensor) -> list[torch.Tensor]:
        path = self.explainer.settings["n_steps"] if self.explainer.name == "ig" else 1
        width = self.batch.input_ids.shape[1] * path
        return [rows[c] for c in self.explainer.classifier.chunks(len(rows), width, backward=True)]

    def _scores(self, rows: torch.Tensor, delta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores and logits at words + δ of the given rows, without keeping any graph."""
        if self.windows is not None:
            return self.windows.outputs(rows, delta)
        parts = []
        for chunk in self._chunks(rows):
            with torch.enable_grad():
                d = delta[chunk].clone().requires_grad_(True)
                scores, logits = differentiable_scores(
                    self.explainer, self.words[chunk] + d, self._inputs(chunk), self.targets[chunk]
                )
            parts.append((scores.detach().float(), logits.detach().float()))
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def _probability(self, rows: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits.float(), dim=-1).gather(1, self.targets[rows, None]).squeeze(1)

    def _objective(self, rows: torch.Tensor, scores: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        drop = self.mass0[rows] - topk_mass(scores, self.top[rows], self.content[rows])
        if self.settings["objective"] == "unconstrained":
            return drop
        change = self.p0[rows] - self._probability(rows, logits)
        return self.settings["alpha"] * drop - self.settings["beta"] * change**2

    def advance(self, active: torch.Tensor) -> None:
        """One signed-gradient step for every active text (`active`: their row numbers)."""
        if self.windows is not None:
            self._advance_windowed(active)
            return
        for rows in self._chunks(active):
            with torch.enable_grad():
                d = self.delta[rows].clone().requires_grad_(True)
                scores, logits = differentiable_scores(
                    self.explainer, self.words[rows] + d, self._inputs(rows), self.targets[rows]
                )
                value = self._objective(rows, scores, logits)
                (grad,) = torch.autograd.grad(value.sum(), d)
            self._update(rows, value.detach(), logits.detach().argmax(dim=-1) == self.predicted[rows], grad)

    def _advance_windowed(self, rows: torch.Tensor) -> None:
        """`advance` for texts read through windows: the objective's gradient in their combined scores and mean
        logits, then back through the windows (`AttackWindows.gradient`)."""
        scores, logits = self.windows.outputs(rows, self.delta)
        with torch.enable_grad():
            scores, logits = scores.requires_grad_(True), logits.requires_grad_(True)
            value = self._objective(rows, scores, logits)
            d_scores, d_logits = torch.autograd.grad(value.sum(), (scores, logits), allow_unused=True,
                                                     materialize_grads=True)
        grad = self.windows.gradient(rows, self.delta, d_scores, d_logits)
        self._update(rows, value.detach(), logits.detach().argmax(dim=-1) == self.predicted[rows], grad)

    def _update(self, rows: torch.Tensor, value: torch.Tensor, kept: torch.Tensor, grad: torch.Tensor) -> None:
        """Accept δ where the prediction held (and keep the best), else go back and halve the step; then step."""
        current = self.delta[rows]
        accepted = rows[kept]
        self.accepted[accepted] = current[kept]
        self.direction[accepted] = grad[kept].sign()
        better = kept & (value > self.best_value[rows])
        self.best[rows[better]] = current[better]
        self.best_value[rows[better]] = value[better]
        self.step_size[rows[~kept]] /= 2
        epsilon = self.settings["epsilon"]
        step = self.step_size[rows, None, None] * self.direction[rows]
        new = (self.accepted[rows] + step).clamp(-epsilon, epsilon) * self.content[rows, :, None]
        moved = (new - current).abs().flatten(1).amax(dim=1)
        self.still[rows] = torch.where(moved < self.settings["tolerance"], self.still[rows] + 1, 0)
        self.delta[rows] = new
        self.steps_run[rows] += 1
        self.active[rows] = self.still[rows] < self.settings["patience"]

    def rows(self) -> list[Row]:
        everything = torch.arange(len(self.batch), device=self.words.device)
        attacked, logits = self._scores(everything, self.best)
        mass = topk_mass(attacked, self.top, self.content)
        probability = self._probability(everything, logits)
        # the results, moved to the host once
        attacked, logits, mass, probability, original, contents, linf, steps, predicted, mass0, p0, targets = (
            t.cpu() for t in (attacked, logits, mass, probability, self.original, self.content,
                              self.best.abs().flatten(1).amax(dim=1), self.steps_run, self.predicted, self.mass0,
                              self.p0, self.targets)
        )
        out = []
        for row, k in enumerate(self.k):
            content = contents[row]
            before, after = original[row][content].abs().numpy(), attacked[row][content].abs().numpy()
            still_top = np.intersect1d(np.argsort(-before, kind="stable")[:k], np.argsort(-after, kind="stable")[:k])
            details = {
                "k": k,
                "linf": float(linf[row]),
                "steps": int(steps[row]),
                "label_kept": bool(logits[row].argmax() == predicted[row]),
            }
            values = {
                "attack_rank_change": 1 - len(still_top) / k,
                "attack_spearman": rank_correlation(before, after),
                "attack_topk_mass_change": float(mass0[row] - mass[row]),
                "attack_probability_change": float(abs(p0[row] - probability[row])),
            }
            settings = dict(self.settings, method_settings=dict(self.explainer.settings), target=int(targets[row]))
            name = self.explainer.name
            out += [Row(row, name, metric, float(v), dict(settings), details) for metric, v in values.items()]
        return out
