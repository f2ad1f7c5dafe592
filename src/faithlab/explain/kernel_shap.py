"""KernelSHAP: Shapley values of tokens, exact when every coalition fits the budget (Lundberg & Lee 2017, "A Unified
Approach to Interpreting Model Predictions").

The value of a coalition S of content tokens is the model output with the other tokens removed (the baseline,
f(∅), removes them all). With n tokens and 2^n ≤ `n_samples`, all coalitions are evaluated and the Shapley formula
φ_i = Σ_{S∌i} |S|!(n−|S|−1)!/n! · (v(S∪{i}) − v(S)) is applied to the full table. Otherwise, as in shap's
KernelExplainer: coalition sizes whose every subset (and complement) fits the remaining budget are enumerated with
their exact Shapley-kernel weight, the rest of the budget samples sizes by kernel weight and subsets uniformly, in
complementary (antithetic) pairs, and the kernel-weighted least squares is solved with the efficiency constraint
Σφ = f(all) − f(∅) imposed exactly by eliminating one variable. Unlike shap, no L1 feature selection is applied.
Defaults: `n_samples=None` is shap's "auto" budget 2n + 2048; `replacement="mask"` as shap's text masker;
`output="logit"` (additive explanations of the target logit).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from faithlab.explain.base import Attributions, register
from faithlab.explain.perturbation import (
    Groups,
    PerturbationExplainer,
    check_int,
    feature_groups,
    random_coalitions,
)
from faithlab.models import Batch, Classifier


def all_coalitions(n: int) -> np.ndarray:
    """Every mask over n features, (2^n, n); row k keeps feature i when bit i of k is set."""
    return (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1 == 1


def exact_shapley(masks: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Shapley values from the values of all 2^n coalitions: φ = Σ_S v(S) c(S, i) with c = (|S|−1)!(n−|S|)!/n! when
    i ∈ S and −|S|!(n−|S|−1)!/n! when i ∉ S."""
    n = masks.shape[1]
    size = masks.sum(axis=1)
    inside = np.array([math.factorial(k - 1) * math.factorial(n - k) if k else 0 for k in range(n + 1)], dtype=float)
    outside = np.array([math.factorial(k) * math.factorial(n - k - 1) if k < n else 0 for k in range(n + 1)], float)
    coefficients = np.where(masks, inside[size][:, None], -outside[size][:, None]) / math.factorial(n)
    return coefficients.T @ values


def kernel_samples(n: int, budget: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Coalitions of sizes 1..n−1 and their kernel weights (summing to 1) for at most `budget` evaluations."""
    sizes = np.arange(1, n // 2 + 1)  # sizes s ≤ n/2, each paired with n − s
    mass = (n - 1) / (sizes * (n - sizes)) * np.where(sizes != n - sizes, 2.0, 1.0)
    mass /= mass.sum()
    masks, weights, left, done = [], [], budget, 0
    for s, group_mass in zip(sizes, mass, strict=True):
        count = math.comb(n, s) * (2 if s != n - s else 1)
        if left * group_mass / mass[done:].sum() < count - 1e-8:
            break
        subsets = np.zeros((math.comb(n, s), n), dtype=bool)
        for k, kept in enumerate(itertools.combinations(range(n), s)):
            subsets[k, list(kept)] = True
        group = np.concatenate([subsets, ~subsets]) if s != n - s else subsets
        masks.append(group)
        weights.append(np.full(len(group), group_mass / len(group)))
        left -= len(group)
        done += 1
    if done < len(sizes) and left > 0:
        sampled, counts = _sample_pairs(n, sizes[done:], mass[done:], left, rng)
        masks.append(sampled)
        weights.append(mass[done:].sum() * counts / counts.sum())
    if not masks:
        return np.zeros((0, n), dtype=bool), np.zeros(0)
    return np.concatenate(masks), np.concatenate(weights)


def _sample_pairs(
    n: int, sizes: np.ndarray, mass: np.ndarray, budget: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Up to `budget` distinct coalitions drawn in complementary pairs, each with how often it was drawn."""
    draws = 4 * budget  # like shap, stop drawing after a fixed number of tries
    kept = rng.choice(sizes, size=draws, p=mass / mass.sum())
    candidates = random_coalitions(rng, n, kept)
    counts: dict[bytes, int] = {}
    found: list[np.ndarray] = []
    for mask in candidates:
        for coalition in (mask, ~mask):
            key = coalition.tobytes()
            if key not in counts:
                if len(found) == budget:
                    continue
                found.append(coalition)
                counts[key] = 0
            counts[key] += 1
        if len(found) == budget:
            break
    return np.array(found), np.array([counts[m.tobytes()] for m in found], dtype=float)


def constrained_least_squares(
    masks: np.ndarray, values: np.ndarray, weights: np.ndarray, empty: float, full: float
) -> np.ndarray:
    """φ minimising Σ w (v − f(∅) − z·φ)² subject to Σφ = f(all) − f(∅): substitute φ_n = total − Σ_{i<n} φ_i."""
    total = full - empty
    z = masks.astype(np.float64)
    design = z[:, :-1] - z[:, -1:]
    target = values - empty - z[:, -1] * total
    root = np.sqrt(weights)[:, None]
    rest = np.linalg.lstsq(design * root, target * root[:, 0], rcond=None)[0]
    return np.append(rest, total - rest.sum())


@register
class KernelShap(PerturbationExplainer):
    """KernelSHAP of `output` (default the target logit); extras say whether the values are exact."""

    name = "kernel_shap"

    def __init__(
        self,
        classifier: Classifier,
        *,
        n_samples: int | None = None,
        replacement: str = "mask",
        output: str = "logit",
        contrast: int | str | None = None,
        seed: int = 0,
    ):
        self.n_samples = None if n_samples is None else check_int("n_samples", n_samples, 2)
        self.seed = check_int("seed", seed, 0)
        self._plans: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}  # by feature count; settings are fixed
        super().__init__(
            classifier, replacement=replacement, output=output, contrast=contrast, n_samples=n_samples, seed=seed
        )

    def budget(self, n: int) -> int:
        return 2 * n + 2048 if self.n_samples is None else self.n_samples

    def perturbation_masks(self, batch: Batch) -> tuple[list[Groups], list[torch.Tensor]]:
        groups = feature_groups(batch)
        return groups, [torch.from_numpy(self._plan(len(g))[0]) for g in groups]

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        groups, masks = self.planned_masks(batch)
        plans = [self._plan(len(g)) for g in groups]
        values, _ = self.values(batch, targets, groups, masks)
        scores = torch.zeros(batch.input_ids.shape, dtype=torch.float64)
        extras = []
        for row, row_groups in enumerate(groups):
            (masks, weights), v = plans[row], values[row].numpy()
            empty, full = v[0], v[-1]
            if weights is None:
                phi = exact_shapley(masks, v)
            else:
                phi = constrained_least_squares(masks[1:-1], v[1:-1], weights, empty, full)
            for f, positions in enumerate(row_groups):
                scores[row, positions] = float(phi[f])
            extras.append(
                {
                    "exact": weights is None,
                    "n_evaluations": len(masks),
                    "base_value": float(empty),
                    "full_value": float(full),
                }
            )
        return Attributions(scores.float(), extras)

    def _plan(self, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Masks to evaluate, from the empty coalition (first) to the full one (last), and the kernel weights of the
        ones in between, or None when the masks are all 2^n coalitions and the values are exact. Made once per n."""
        if n not in self._plans:
            self._plans[n] = self._new_plan(n)
        return self._plans[n]

    def _new_plan(self, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        if 2**n <= self.budget(n):
            return all_coalitions(n), None
        # a fresh generator per row: a text gets the same samples alone or in any batch
        masks, weights = kernel_samples(n, self.budget(n) - 2, np.random.default_rng(self.seed))
        return np.concatenate([np.zeros((1, n), dtype=bool), masks, np.ones((1, n), dtype=bool)]), weights
