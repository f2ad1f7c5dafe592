"""Integrated gradients on the word embeddings (Sundararajan et al. 2017, "Axiomatic Attribution for Deep Networks").

score_t = Σ_d (x − x')_td · ∫₀¹ ∂f(x' + α(x − x')) / ∂x_td dα, with the integral replaced by a quadrature rule. By
completeness Σ_t score_t = f(x) − f(x'); the per-row gap between the two is reported as the convergence delta.
Every step of every text runs in one batched pass of (rows × steps) paths, chunked by `max_batch_tokens`.

With `n_steps="auto"` the number of Gauss–Legendre nodes starts small and doubles, for the rows still above
`target_delta` only, until each row's relative delta meets the target or `max_steps` is reached.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from faithlab.errors import FaithlabError
from faithlab.explain.base import Attributions, Explainer, register
from faithlab.explain.gradients import check_output, gradient_at, target_outputs
from faithlab.models import Batch, Classifier

BASELINES = ("pad", "mask", "unk", "zero")
METHODS = ("gauss_legendre", "riemann_trapezoid")
AUTO_START_STEPS = 4
DEFAULT_TARGET_DELTA = 0.01


@lru_cache(maxsize=32)
def quadrature(method: str, n_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes α and weights on [0, 1], float64, for `n_steps` evaluations of the gradient (cached: do not mutate).

    'gauss_legendre' maps numpy's Legendre nodes from [−1, 1]; 'riemann_trapezoid' is the trapezoid rule on n evenly
    spaced nodes, whose weights sum to 1 (Captum's trapezoid uses 1/n instead of 1/(n − 1) and sums to (n − 1)/n).
    """
    if method == "gauss_legendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return torch.from_numpy((nodes + 1) / 2), torch.from_numpy(weights / 2)
    weights = torch.full((n_steps,), 1.0 / (n_steps - 1), dtype=torch.float64)
    weights[[0, -1]] /= 2
    return torch.linspace(0, 1, n_steps, dtype=torch.float64), weights


@register
class IntegratedGradients(Explainer):
    """Integrated gradients of the target output w.r.t. the word embeddings.

    baseline: 'pad' (default), 'mask' or 'unk' put that token at every content position, 'zero' puts a zero
    embedding there; special tokens are kept, so they get exactly 0. 'pad' is the usual choice for BERT-style IG
    (Captum's tutorials) and exists in every family, while a mask token exists only in masked-LM vocabularies.
    'zero' is ill-conditioned for T5: its RMS norm sees the bare word embedding, so f changes sharply near α = 0
    and needs many more steps (use n_steps='auto', or watch `relative_delta`).
    n_steps: gradient evaluations per row, or 'auto' (doubling Gauss–Legendre nodes from 4 up to `max_steps` until
    |delta| ≤ `target_delta` · |f(x) − f(x')|, default target 0.01). method: 'gauss_legendre' or 'riemann_trapezoid'.
    output: differentiate the target 'logit' (default) or 'probability'.
    Extras per row: convergence_delta, relative_delta, n_steps (and converged, in auto mode).
    """

    name = "ig"

    def __init__(
        self,
        classifier: Classifier,
        *,
        baseline: str = "pad",
        n_steps: int | str = 50,
        method: str = "gauss_legendre",
        target_delta: float | None = None,
        max_steps: int = 512,
        output: str = "logit",
    ):
        if baseline not in BASELINES:
            raise FaithlabError(f"unknown IG baseline '{baseline}'; choose one of {', '.join(BASELINES)}")
        if baseline != "zero":
            classifier.replacement_id(baseline)
        if method not in METHODS:
            raise FaithlabError(f"unknown IG method '{method}'; choose one of {', '.join(METHODS)}")
        auto = n_steps == "auto"
        if not auto:
            n_steps = _check_int("n_steps", n_steps, 2 if method == "riemann_trapezoid" else 1, " or 'auto'")
            if target_delta is not None:
                raise FaithlabError(f"target_delta={target_delta} needs n_steps='auto' (got n_steps={n_steps})")
        else:
            target_delta = DEFAULT_TARGET_DELTA if target_delta is None else target_delta
            if isinstance(target_delta, bool) or not isinstance(target_delta, (int, float)) or not target_delta > 0:
                raise FaithlabError(f"target_delta must be a number > 0, got {target_delta!r}")
            target_delta = float(target_delta)
        max_steps = _check_int("max_steps", max_steps, AUTO_START_STEPS, "")
        super().__init__(
            classifier,
            baseline=baseline,
            n_steps=n_steps,
            method=method,
            target_delta=target_delta,
            max_steps=max_steps,
            output=check_output(output),
        )

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        with torch.no_grad():
            inputs = self.classifier.word_embeddings(batch.input_ids)
        baselines = self._baseline(batch, inputs)
        output = self.settings["output"]
        gap = target_outputs(self.classifier.batch_logits(batch), targets, output) - self._outputs(
            batch, baselines, targets
        )
        auto = self.settings["n_steps"] == "auto"
        n_steps = AUTO_START_STEPS if auto else self.settings["n_steps"]
        scores = torch.zeros(batch.input_ids.shape, dtype=torch.float32, device=inputs.device)
        steps_used = torch.zeros(len(batch), dtype=torch.long)
        pending = torch.arange(len(batch), device=inputs.device)
        while True:
            scores[pending] = self._path_integral(batch, inputs, baselines, targets, pending, n_steps)
            steps_used[pending.cpu()] = n_steps
            if not auto:
                break
            delta = scores[pending].sum(dim=1) - gap[pending]
            pending = pending[delta.abs() > self.settings["target_delta"] * gap[pending].abs()]
            if len(pending) == 0 or n_steps >= self.settings["max_steps"]:
                break
            n_steps = min(2 * n_steps, self.settings["max_steps"])
        delta = (scores.sum(dim=1) - gap).cpu()
        return Attributions(scores, self._extras(delta, gap.cpu(), steps_used, auto))

    def _baseline(self, batch: Batch, inputs: torch.Tensor) -> torch.Tensor:
        """Baseline word embeddings: the chosen token (or zeros) at content positions, special tokens kept."""
        content = batch.content_mask[..., None]
        if self.settings["baseline"] == "zero":
            return inputs.masked_fill(content, 0.0)
        ids = batch.input_ids.masked_fill(batch.content_mask, self.classifier.replacement_id(self.settings["baseline"]))
        with torch.no_grad():
            return torch.where(content, self.classifier.word_embeddings(ids), inputs)

    def _outputs(self, batch: Batch, embeddings: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The target output at given word embeddings, (rows,), without gradients."""
        parts = []
        with torch.inference_mode():
            for rows in self.classifier.chunks(len(batch), batch.input_ids.shape[1]):
                tt = None if batch.token_type_ids is None else batch.token_type_ids[rows]
                logits = self.classifier.logits_from_embeddings(
                    embeddings[rows], batch.input_ids[rows], batch.attention_mask[rows], tt
                )
                parts.append(target_outputs(logits, targets[rows], self.settings["output"]))
        return torch.cat(parts)

    def _path_integral(
        self,
        batch: Batch,
        inputs: torch.Tensor,
        baselines: torch.Tensor,
        targets: torch.Tensor,
        rows: torch.Tensor,
        n_steps: int,
    ) -> torch.Tensor:
        """IG scores of the given rows with `n_steps` nodes: all (row, step) paths batched, chunked by memory."""
        width = int(batch.attention_mask[rows].sum(dim=1).max())  # trailing padding of these rows is never needed
        alphas, weights = (t.to(inputs) for t in quadrature(self.settings["method"], n_steps))
        diff = (inputs - baselines)[rows, :width]
        integral = torch.zeros_like(diff)
        for chunk in self.classifier.chunks(len(rows) * n_steps, width):
            flat = torch.arange(chunk.start, chunk.stop, device=inputs.device)
            local, step = flat // n_steps, flat % n_steps
            source = rows[local]
            path = baselines[source, :width] + alphas[step, None, None] * diff[local]
            tt = None if batch.token_type_ids is None else batch.token_type_ids[source, :width]
            grad = gradient_at(
                self.classifier,
                path,
                batch.input_ids[source, :width],
                batch.attention_mask[source, :width],
                tt,
                targets[source],
                self.settings["output"],
            )
            integral.index_add_(0, local, grad * weights[step, None, None])
        scores = torch.zeros(len(rows), batch.input_ids.shape[1], dtype=torch.float32, device=inputs.device)
        scores[:, :width] = (diff * integral).sum(dim=-1).float()
        return scores

    def _extras(
        self, delta: torch.Tensor, gap: torch.Tensor, steps_used: torch.Tensor, auto: bool
    ) -> list[dict[str, float | int | bool]]:
        extras = []
        for d, g, n in zip(delta.tolist(), gap.tolist(), steps_used.tolist(), strict=True):
            relative = abs(d) / abs(g) if g != 0 else (0.0 if d == 0 else float("inf"))
            row: dict[str, float | int | bool] = {"convergence_delta": d, "relative_delta": relative, "n_steps": n}
            if auto:
                row["converged"] = abs(d) <= self.settings["target_delta"] * abs(g)
            extras.append(row)
        return extras


def _check_int(name: str, value: object, minimum: int, alternative: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise FaithlabError(f"{name} must be an integer >= {minimum}{alternative}, got {value!r}")
    return int(value)
