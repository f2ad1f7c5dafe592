"""Integrated gradients on the word embeddings (Sundararajan et al. 2017, "Axiomatic Attribution for Deep Networks").

score_t = Σ_d (x − x')_td · ∫₀¹ ∂f(x' + α(x − x')) / ∂x_td dα, with the integral replaced by a quadrature rule. By
completeness Σ_t score_t = f(x) − f(x'); the per-row gap between the two is reported as the convergence delta.
Every node of every text runs in one batched pass of (rows × nodes) path points, chunked by `max_batch_tokens`;
the prediction and f(baseline) ride in the same pass, so IG costs its path points plus two rows per text.

With `n_steps="auto"` each row starts with a few nodes and rows still above `target_delta` move to the next level
of the rule until each meets the target or would pass `max_steps`. The default auto rule is Fejér's second rule
(Fejér 1933; Waldvogel 2006, "Fast construction of the Fejér and Clenshaw–Curtis quadrature rules"), whose levels
7, 15, 31, ... are nested: every node of a level is reused by the next, so reaching level n costs n gradient
evaluations in all, where doubling Gauss–Legendre from 4 costs 4 + 8 + ... + n. Auto starts Fejér at level 15,
because level 7 alone rarely meets the default target (benchmarks/NOTES.md, "IG: the first auto level").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import torch

from faithlab.errors import FaithlabError
from faithlab.explain.base import Attributions, Explainer, Target, register, single_targets
from faithlab.explain.gradients import target_outputs
from faithlab.explain.settings import AUTO_START_STEPS, IgSettings
from faithlab.models import Batch, Classifier


class Endpoints(NamedTuple):
    """The two ends of every row's path: input and baseline word embeddings, each (rows, width, dim)."""

    inputs: torch.Tensor
    baselines: torch.Tensor


class FirstLevel(NamedTuple):
    """The first level of path points, as `prepare` leaves it for `attribute`: per row the contribution of each
    node (nodes, width), and f(baseline) per row."""

    contributions: list[torch.Tensor]
    base_out: torch.Tensor


@dataclass(frozen=True)
class _ChunkIndex:
    """One chunk of IG's pass plan: its plan positions (`rows`), their local rows (`item`) and which are input,
    baseline and path points, as device tensors; `has_input` / `has_path` are decided on the host."""

    rows: torch.Tensor
    item: torch.Tensor
    inputs: torch.Tensor
    bases: torch.Tensor
    paths: torch.Tensor
    is_input: torch.Tensor
    width: int
    has_input: bool
    has_path: bool

    @classmethod
    def of(cls, chunk: torch.Tensor, width: int, local: torch.Tensor, kind: torch.Tensor,
           device: torch.device) -> _ChunkIndex:
        what = kind[chunk]
        positions = [(what == k).nonzero().flatten().to(device) for k in (0, 1, 2)]
        return cls(chunk.to(device), local[chunk].to(device), *positions, (what == 0).to(device), width,
                   bool((what == 0).any()), bool((what == 2).any()))


def next_level(method: str, n_steps: int) -> int:
    """The auto mode's next node count: nested for Fejér (2n + 1) and the trapezoid (2n − 1), doubled for G–L."""
    return {"gauss_legendre": 2 * n_steps, "riemann_trapezoid": 2 * n_steps - 1, "fejer": 2 * n_steps + 1}[method]


@lru_cache(maxsize=64)
def quadrature(method: str, n_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes α and weights on [0, 1], float64, for `n_steps` evaluations of the gradient (cached: do not mutate).

    'gauss_legendre' maps numpy's Legendre nodes from [−1, 1]; 'riemann_trapezoid' is the trapezoid rule on n evenly
    spaced nodes, whose weights sum to 1 (Captum's trapezoid uses 1/n instead of 1/(n − 1) and sums to (n − 1)/n);
    'fejer' is Fejér's second rule: the interior Chebyshev extrema cos(kπ/(n + 1)), with the weights that integrate
    Chebyshev polynomials up to degree n − 1 exactly (solved from their moments, a well-conditioned system).
    """
    if method == "gauss_legendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return torch.from_numpy((nodes + 1) / 2), torch.from_numpy(weights / 2)
    if method == "fejer":
        theta = np.arange(n_steps, 0, -1) * np.pi / (n_steps + 1)  # ascending nodes
        degree = np.arange(n_steps)
        moments = np.zeros(n_steps)
        even = degree[degree % 2 == 0]
        moments[even] = 2.0 / (1.0 - even.astype(float) ** 2)  # ∫ T_m over [−1, 1]; 0 for odd m
        weights = np.linalg.solve(np.cos(np.outer(degree, theta)), moments)
        return torch.from_numpy((np.cos(theta) + 1) / 2), torch.from_numpy(weights / 2)
    weights = torch.full((n_steps,), 1.0 / (n_steps - 1), dtype=torch.float64)
    weights[[0, -1]] /= 2
    return torch.linspace(0, 1, n_steps, dtype=torch.float64), weights


@register
class IntegratedGradients(Explainer):
    """Integrated gradients of the target output w.r.t. the word embeddings.

    Sundararajan et al. 2017 ("Axiomatic Attribution for Deep Networks", ICML): the gradient averaged along the
    straight path from a baseline to the input, times the difference between them. The scores add up to
    f(input) − f(baseline) (completeness) up to the quadrature error, reported per row as the convergence delta.

    Args:
        baseline: 'pad', 'mask' or 'unk' put that token at every content position, 'zero' a zero embedding; special
            tokens are kept, so they get exactly 0 (default 'pad': the usual choice for BERT-style IG, and present
            in every family, where a mask token exists only in masked-LM vocabularies). 'zero' is ill-conditioned
            for T5 (its RMS norm sees the bare word embedding), so it needs many more steps.
        n_steps: gradient evaluations per row, or 'auto': levels of the rule, up to `max_steps` nodes, until
            |delta| ≤ `target_delta` · |f(x) − f(x')| (default 'auto').
        method: the quadrature rule, 'gauss_legendre', 'fejer' (nested levels) or 'riemann_trapezoid' (default
            None: 'fejer' for n_steps='auto', 'gauss_legendre' for a fixed count).
        target_delta: auto mode's relative tolerance on the convergence delta (default None: 0.01; only with
            n_steps='auto').
        max_steps: the most nodes auto mode may reach per row (default 512).
        output: differentiate the target class's 'logit' or its softmax 'probability' (default 'logit').

    Returns:
        Scores: signed, higher = more evidence for the target; they sum to f(input) − f(baseline) up to the
        convergence delta. Special tokens score 0. Extras per row: convergence_delta (Σ scores − (f(x) − f(x'))),
        relative_delta (|delta| / |f(x) − f(x')|), n_steps (nodes of the final rule), evaluations (gradient
        evaluations spent, all levels included) and, in auto mode, converged.

    Example:
        >>> explanation = fl.explain(model, "a warm and funny film", methods={"ig": {"n_steps": 16}})["ig"][0]
        >>> explanation.extras["n_steps"], explanation.replacement
        (16, 'baseline:pad')
        >>> explanation.extras["relative_delta"] < 0.01
        True
    """

    name = "ig"
    Settings = IgSettings
    low_precision_refusal = (
        "16-bit rounding, not the number of steps, then sets its completeness gap (sum of scores vs f(input) - "
        "f(baseline)), which exceeds the 1% that n_steps='auto' converges to"
    )

    def __init__(self, classifier: Classifier, **settings: Any):
        super().__init__(classifier, **settings)
        if self.settings["baseline"] != "zero":
            classifier.replacement_id(self.settings["baseline"])  # fails early when the model has no such token
        else:
            classifier.adapter.refuse_scale_invariant("ig from the zero baseline")

    def prepare(self, batch: Batch, target: Target) -> None:
        """Prediction, f(baseline) and the first level of path points from one pass: the input rows' logits give
        the targets before the backward runs."""
        inputs, baselines = self._endpoints(batch)
        nodes = [quadrature(self.settings["method"], self._first_steps())[0]] * len(batch)
        result = self._paths(batch, inputs, baselines, torch.arange(len(batch)), nodes, target=target)
        if result is not None:
            contributions, base_out, logits, targets = result
            batch.cache.logits = logits
            batch.cache.put_prepared(self, targets, FirstLevel(contributions, base_out))

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        method, auto = self.settings["method"], self.settings["n_steps"] == "auto"
        inputs, baselines = self._endpoints(batch)
        rows = torch.arange(len(batch))
        steps = [self._first_steps()] * len(batch)
        first = batch.cache.take_prepared(self, targets, FirstLevel)
        if first is None:
            nodes = [quadrature(method, steps[0])[0]] * len(batch)
            first = FirstLevel(*self._paths(batch, inputs, baselines, rows, nodes, targets=targets)[:2])
        contributions, base_out = first
        gap = (target_outputs(self.classifier.batch_logits(batch), targets, self.settings["output"]) - base_out)
        # per row: α (rounded, as a key) -> that node's per-token contribution (diff · gradient), reused across levels
        evaluated = [
            dict(zip(_keys(quadrature(method, n)[0]), c, strict=True))
            for n, c in zip(steps, contributions, strict=True)
        ]
        scores = torch.stack([self._combine(evaluated[r], steps[r]) for r in range(len(batch))])
        while auto:
            relative = ((scores.sum(dim=1) - gap).abs() / gap.abs().clamp_min(1e-30)).tolist()  # once per level
            pending = [
                r
                for r in range(len(batch))
                if relative[r] > self.settings["target_delta"]
                and next_level(method, steps[r]) <= self.settings["max_steps"]
            ]
            if not pending:
                break
            for r in pending:
                steps[r] = next_level(method, steps[r])
            fresh = [_new_nodes(quadrature(method, steps[r])[0], evaluated[r]) for r in pending]
            found = self._paths(batch, inputs, baselines, torch.tensor(pending), fresh, targets=targets)[0]
            for r, alphas, values in zip(pending, fresh, found, strict=True):
                evaluated[r].update(zip(_keys(alphas), values, strict=True))
                scores[r] = self._combine(evaluated[r], steps[r])
        delta = scores.sum(dim=1) - gap
        evaluations = [len(e) for e in evaluated]
        return Attributions(scores.to(inputs.device), self._extras(delta, gap, steps, evaluations, auto))

    def _combine(self, evaluated: dict[float, torch.Tensor], n_steps: int) -> torch.Tensor:
        """One row's scores from its node contributions under the `n_steps`-node rule."""
        alphas, weights = quadrature(self.settings["method"], n_steps)
        return sum(w * evaluated[k] for k, w in zip(_keys(alphas), weights.tolist(), strict=True)).float()

    def _first_steps(self) -> int:
        n_steps = self.settings["n_steps"]
        return AUTO_START_STEPS[self.settings["method"]] if n_steps == "auto" else n_steps

    def _endpoints(self, batch: Batch) -> Endpoints:
        """(input, baseline) word embeddings of the batch, made once per batch: the plan of `prepare` and
        `attribute`."""
        return batch.cache.plan(self, Endpoints, lambda: self._make_endpoints(batch))

    def _make_endpoints(self, batch: Batch) -> Endpoints:
        with torch.no_grad():
            inputs = self.classifier.word_embeddings(batch.input_ids)
        return Endpoints(inputs, self._baseline(batch, inputs))

    def _baseline(self, batch: Batch, inputs: torch.Tensor) -> torch.Tensor:
        """Baseline word embeddings: the chosen token (or zeros) at content positions, special tokens kept."""
        content = batch.content_mask[..., None]
        if self.settings["baseline"] == "zero":
            return inputs.masked_fill(content, 0.0)
        ids = batch.input_ids.masked_fill(batch.content_mask, self.classifier.replacement_id(self.settings["baseline"]))
        with torch.no_grad():
            return torch.where(content, self.classifier.word_embeddings(ids), inputs)

    def _paths(
        self,
        batch: Batch,
        inputs: torch.Tensor,
        baselines: torch.Tensor,
        rows: torch.Tensor,
        nodes: list[torch.Tensor],
        *,
        targets: torch.Tensor | None = None,
        target: Target = None,
    ) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """Per-node contributions (diff · ∂f/∂x at each α of `nodes[i]`, per token) of the given rows, every
        (row, node) point in one batched pass, chunked by memory.

        Each row's baseline point rides along, so f(baseline) costs no pass of its own. Without `targets`, each
        row's input point rides along too: its logits resolve `target` before the backward (None when `target`
        asks for several classes per row). Returns (contributions: per row (nodes, batch width), f(baseline)
        (rows,), logits (rows, classes), targets (rows,)), all on the model's device.
        """
        output, device = self.settings["output"], inputs.device
        n = len(rows)
        lengths = batch.attention_mask[rows].sum(dim=1).cpu()  # trailing padding of a row is never needed
        width = int(lengths.max())
        # plan: (row, α, kind) with kind 0 = input point, 1 = baseline point, 2 = path point
        ends = [(i, 1.0, 0) for i in range(n)] if targets is None else []
        plan = ends + [(i, 0.0, 1) for i in range(n)] + [(i, a, 2) for i in range(n) for a in nodes[i].tolist()]
        local = torch.tensor([p[0] for p in plan], dtype=torch.long)
        kind = torch.tensor([p[2] for p in plan], dtype=torch.long)
        # every index a chunk needs is made on the host and moved to the device before the loop, so the loop
        # queues work without waiting for the device (results stay there until the caller needs them)
        chunks = [_ChunkIndex.of(chunk, chunk_width, local, kind, device)
                  for chunk, chunk_width in self.classifier.length_chunks(lengths[local], backward=True)]
        alpha = torch.tensor([p[1] for p in plan], dtype=inputs.dtype, device=device)
        rows_on_device = rows.to(device)
        if targets is None:
            row_targets = torch.full((n,), -1, dtype=torch.long, device=device)
        else:
            row_targets = targets.to(device)[rows_on_device]
        diff = (inputs - baselines)[rows_on_device, :width]
        contribution = torch.zeros(len(plan), batch.input_ids.shape[1], dtype=torch.float32, device=device)
        base_out = torch.zeros(n, dtype=torch.float32, device=device)
        logits = torch.zeros(n, len(self.classifier.labels), dtype=torch.float32, device=device)
        for c in chunks:
            item, source, cut = c.item, rows_on_device[c.item], slice(0, c.width)
            path = baselines[source, cut] + alpha[c.rows, None, None] * diff[item, cut]
            if c.has_input:
                path = torch.where(c.is_input[:, None, None], inputs[source, cut], path)
            tt = None if batch.token_type_ids is None else batch.token_type_ids[source, cut]
            with torch.set_grad_enabled(c.has_path):
                leaf = path.detach().requires_grad_(c.has_path)
                out = self.classifier.logits_from_embeddings(
                    leaf, batch.input_ids[source, cut], batch.attention_mask[source, cut], tt
                )
                if c.has_input:  # the targets must be known before the backward: the one wait on the device
                    chosen = single_targets(self.classifier, target, out[c.inputs])
                    if chosen is None:
                        return None
                    row_targets[item[c.inputs]] = chosen
                    logits[item[c.inputs]] = out[c.inputs].detach().float()
                values = target_outputs(out, row_targets[item], output)
                if c.has_path:
                    (grad,) = torch.autograd.grad(values[c.paths].sum(), leaf)
                    per_token = (grad * diff[item, cut]).sum(dim=-1).float()
                    contribution[c.rows[c.paths], cut] = per_token[c.paths]
            base_out[item[c.bases]] = values[c.bases].detach().float()
        per_row = list(torch.split(contribution[len(plan) - sum(len(a) for a in nodes) :], [len(a) for a in nodes]))
        return per_row, base_out, logits, row_targets

    def _extras(
        self, delta: torch.Tensor, gap: torch.Tensor, steps: list[int], evaluations: list[int], auto: bool
    ) -> list[dict[str, float | int | bool]]:
        extras = []
        for d, g, n, spent in zip(delta.tolist(), gap.tolist(), steps, evaluations, strict=True):
            relative = abs(d) / abs(g) if g != 0 else (0.0 if d == 0 else float("inf"))
            row: dict[str, float | int | bool] = {
                "convergence_delta": d,
                "relative_delta": relative,
                "n_steps": n,
                "evaluations": spent,
            }
            if auto:
                row["converged"] = abs(d) <= self.settings["target_delta"] * abs(g)
            extras.append(row)
        return extras

    def differentiable_scores(
        self,
        embeddings: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None,
        targets: torch.Tensor,
        *,
        baseline: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """IG with its fixed `n_steps` rule as a differentiable function of the word embeddings (the quantities of
        `attribute`: `quadrature` nodes and weights, path points baseline + α·(x − baseline), target outputs, with
        create_graph), for attacks on the explanation.

        Args:
            embeddings: (rows, width, dim) word embeddings x, attached to the caller's graph.
            input_ids, attention_mask, token_type_ids: the rows' inputs (positions, segments, pooling).
            targets: (rows,) target class per row.
            baseline: (rows, width, dim) baseline embeddings (`_baseline` of the unperturbed rows).

        Returns:
            (scores (rows, width), logits at x (rows, classes)), both differentiable in `embeddings`.
        """
        if not isinstance(self.settings["n_steps"], int):
            raise FaithlabError("differentiable IG needs a fixed n_steps (an integer), not n_steps='auto'")
        alphas, weights = (t.to(embeddings) for t in quadrature(self.settings["method"], self.settings["n_steps"]))
        n_rows, n_steps = embeddings.shape[0], len(alphas)
        diff = embeddings - baseline
        path = (baseline[:, None] + alphas[None, :, None, None] * diff[:, None]).flatten(0, 1)
        ids, mask, steps_targets = (t.repeat_interleave(n_steps, dim=0) for t in (input_ids, attention_mask, targets))
        segments = None if token_type_ids is None else token_type_ids.repeat_interleave(n_steps, dim=0)
        path_logits = self.classifier.logits_from_embeddings(path, ids, mask, segments)
        outputs = target_outputs(path_logits, steps_targets, self.settings["output"])
        (grads,) = torch.autograd.grad(outputs.sum(), path, create_graph=True)
        integral = (grads.view(n_rows, n_steps, *grads.shape[1:]) * weights[None, :, None, None]).sum(dim=1)
        logits = self.classifier.logits_from_embeddings(embeddings, input_ids, attention_mask, token_type_ids)
        return (diff * integral).sum(dim=-1), logits


def _keys(alphas: torch.Tensor) -> list[float]:
    """Node positions as dictionary keys: rounded, so a node shared by two nested levels matches itself."""
    return [round(a, 12) for a in alphas.tolist()]


def _new_nodes(alphas: torch.Tensor, evaluated: dict[float, torch.Tensor]) -> torch.Tensor:
    return alphas[torch.tensor([k not in evaluated for k in _keys(alphas)])]

