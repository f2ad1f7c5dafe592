"""KernelSHAP: Shapley values of tokens, exact when every coalition fits the budget (Lundberg & Lee 2017, "A Unified
Approach to Interpreting Model Predictions").

The value of a coalition S of content tokens is the model output with the other tokens removed (the baseline,
f(∅), removes them all). With n tokens and 2^n ≤ `n_samples`, all coalitions are evaluated and the Shapley formula
φ_i = Σ_{S∌i} |S|!(n−|S|−1)!/n! · (v(S∪{i}) − v(S)) is applied to the full table. Otherwise, as in shap's
KernelExplainer: coalition sizes whose every subset (and complement) fits the remaining budget are enumerated with
their exact Shapley-kernel weight, the rest of the budget samples sizes by kernel weight and subsets uniformly, in
complementary (antithetic) pairs, and the kernel-weighted least squares is solved with the efficiency constraint
Σφ = f(all) − f(∅) imposed exactly by eliminating one variable. Unlike shap, no L1 feature selection is applied.

`n_samples="auto"` (the default) spends only what a text needs, up to shap's "auto" budget 2n + 2048: texts whose 2^n
coalitions fit that budget are exact; the others start with sizes 1 and n − 1 enumerated plus 64 paired samples (128
coalitions), and grow the paired samples by half in each round until the estimate is stable, with at least 4n
coalitions sampled and never at the first round (too small to trust). Stability (`faithlab.explain.adaptive`): the
split-half prediction of the rank correlation with the true values, over random halves of the pairs, reaches
`target_spearman` plus a margin of `AUTO_MARGIN`. Both halves share the enumerated sizes, so they agree a little more
than they are right, hence the margin (its calibration: benchmarks/NOTES.md, "KernelSHAP"). An integer
`n_samples` is a fixed budget; `None` is the fixed 2n + 2048.

Defaults: `replacement="mask"` as shap's text masker; `output="logit"` (additive explanations of the target logit).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import torch

from faithlab.errors import FaithlabError
from faithlab.explain.adaptive import (
    next_count,
    sample_cap,
    split_half_prediction,
    stream_rows,
)
from faithlab.explain.base import Attributions, register
from faithlab.explain.perturbation import (
    Groups,
    PerturbationExplainer,
    feature_groups,
    random_coalitions,
)
from faithlab.explain.settings import KernelShapSettings
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


def kernel_sizes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sizes s ≤ n/2 (each standing for s and n − s) and their share of the Shapley kernel's total weight."""
    sizes = np.arange(1, n // 2 + 1)
    mass = (n - 1) / (sizes * (n - sizes)) * np.where(sizes != n - sizes, 2.0, 1.0)
    return sizes, mass / mass.sum()


def enumerated_sizes(n: int, budget: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Every coalition of the smallest sizes (with complements) that fit `budget` given their kernel share, their
    weights, and how many sizes of `kernel_sizes(n)` they cover."""
    sizes, mass = kernel_sizes(n)
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
    if not masks:
        return np.zeros((0, n), dtype=bool), np.zeros(0), 0
    return np.concatenate(masks), np.concatenate(weights), done


def kernel_samples(n: int, budget: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Coalitions of sizes 1..n−1 and their kernel weights (summing to 1) for at most `budget` evaluations."""
    masks, weights, done = enumerated_sizes(n, budget)
    sizes, mass = kernel_sizes(n)
    left = budget - len(masks)
    if done < len(sizes) and left > 0:
        sampled, counts = _sample_pairs(n, sizes[done:], mass[done:], left, rng)
        masks = np.concatenate([masks, sampled])
        weights = np.concatenate([weights, mass[done:].sum() * counts / counts.sum()])
    return masks, weights


def paired_draws(n: int, sizes: np.ndarray, mass: np.ndarray, pairs: int, rng: np.random.Generator) -> np.ndarray:
    """`pairs` coalitions drawn with sizes by kernel share and members uniformly, each followed by its complement."""
    drawn = random_coalitions(rng, n, rng.choice(sizes, size=pairs, p=mass / mass.sum()))
    return np.stack([drawn, ~drawn], axis=1).reshape(2 * pairs, n)


def _sample_pairs(
    n: int, sizes: np.ndarray, mass: np.ndarray, budget: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Up to `budget` distinct coalitions drawn in complementary pairs, each with how often it was drawn."""
    # like shap, stop drawing after a fixed number of tries
    candidates = paired_draws(n, sizes, mass, 4 * budget, rng).reshape(-1, 2, n)
    counts: dict[bytes, int] = {}
    found: list[np.ndarray] = []
    for pair in candidates:
        for coalition in pair:
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


AUTO_MARGIN = 0.02  # added to target_spearman in auto mode's stopping rule (calibration: benchmarks/NOTES.md)
AUTO_FIRST_PAIRS = 64  # paired samples (128 coalitions) in the first round of n_samples="auto"
AUTO_PAIR_CHUNK = 32  # auto mode draws its pairs in chunks of this many, one generator per chunk


@register
class KernelShap(PerturbationExplainer):
    """KernelSHAP of `output` (default the target logit); extras say whether the values are exact.

    Lundberg & Lee 2017 ("A Unified Approach to Interpreting Model Predictions", NeurIPS): each token's Shapley value
    for the output, with removed tokens standing for absent players; exact when all 2^n coalitions fit the budget,
    else the Shapley-kernel weighted regression on sampled coalitions (details: `faithlab.explain.kernel_shap`).

    Args:
        n_samples: coalitions to evaluate: an integer budget (exact when 2^n fits it), 'auto' (grow per text until
            the estimate is predicted stable, at most 2n + 2048), or None (2n + 2048 at once) (default 'auto').
        target_spearman: auto mode's target for the predicted rank correlation with the true Shapley values
            (default 0.95; only with n_samples='auto').
        seed: seed of the sampled coalitions; the same seed gives the same values for a text in any batch
            (default 0).
        replacement: how a removed token is replaced: 'mask', 'pad', 'unk', or 'delete' (default 'mask').
        output: the quantity shared out: the target 'logit', 'probability', 'margin' (target logit minus
            `contrast`'s) or 'loss' (log-probability of the target) (default 'logit').
        contrast: the other class of output='margin', a label name or index (default None: each row's highest
            other class).
        unit: the features removed together: 'token', tokenizer 'word', 'whitespace'-separated word,
            'sentence' or user 'group' (`groups=` of `fl.explain`); every token of a feature carries its score
            (default 'token').

    Returns:
        Scores: signed Shapley values, higher = more evidence for the target; they sum exactly to full_value −
        base_value (efficiency). Special tokens score 0. Extras per row: exact (all coalitions evaluated),
        n_evaluations, base_value (output with every content token removed), full_value (output of the text) and,
        when sampled in auto mode, predicted_spearman.

    Example:
        >>> explanation = fl.explain(model, "a warm and funny film", methods="kernel_shap")["kernel_shap"][0]
        >>> explanation.extras["exact"], explanation.extras["n_evaluations"]  # 5 tokens: all 2^5 coalitions
        (True, 32)
        >>> gap = explanation.extras["full_value"] - explanation.extras["base_value"]
        >>> abs(float(explanation.scores.sum()) - gap) < 1e-5
        True
    """

    name = "kernel_shap"
    Settings = KernelShapSettings

    def __init__(self, classifier: Classifier, **settings: Any):
        super().__init__(classifier, **settings)
        self.n_samples, self.target_spearman, self.seed = (
            self.options.n_samples, self.options.target_spearman, self.options.seed
        )
        self._plans: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}  # by feature count; settings are fixed
        self._chunks: dict[tuple[int, int], np.ndarray] = {}  # auto mode: (feature count, chunk) -> its pairs

    def budget(self, n: int) -> int:
        return self.n_samples if isinstance(self.n_samples, int) else sample_cap(n)

    def perturbation_masks(self, batch: Batch) -> tuple[list[Groups], list[torch.Tensor]]:
        groups = feature_groups(batch, self.unit)
        return groups, [torch.from_numpy(self._plan(len(g))[0]) for g in groups]

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        groups, masks = self.planned_masks(batch)
        plans = [self._plan(len(g)) for g in groups]
        values, _ = self.values(batch, targets, groups, masks)
        if self.adaptive:
            phis, extras = self._adaptive(batch, targets, groups, plans, values)
        else:
            phis, extras = [], []
            for (row_masks, weights), v in zip(plans, values, strict=True):
                v = v.numpy()
                phis.append(self._solve(row_masks, weights, v))
                extras.append({"exact": weights is None, "n_evaluations": len(row_masks)})
        scores = torch.zeros(batch.input_ids.shape, dtype=torch.float64)
        for row, row_groups in enumerate(groups):
            for f, positions in enumerate(row_groups):
                scores[row, positions] = float(phis[row][f])
            v = values[row]
            full = v[-1] if extras[row]["exact"] else v[1]
            extras[row].update({"base_value": float(v[0]), "full_value": float(full)})
        return Attributions(scores.float(), extras)

    def _solve(self, masks: np.ndarray, weights: np.ndarray | None, v: np.ndarray) -> np.ndarray:
        """Exact Shapley values (weights None: all 2^n coalitions, from the empty one to the full one) or the
        constrained kernel regression (masks: the empty coalition, the full one, then the weighted ones)."""
        if weights is None:
            return exact_shapley(masks, v)
        return constrained_least_squares(masks[2:], v[2:], weights, v[0], v[1])

    def _adaptive(
        self,
        batch: Batch,
        targets: torch.Tensor,
        groups: list[Groups],
        plans: list[tuple[np.ndarray, np.ndarray | None]],
        values: list[torch.Tensor],
    ) -> tuple[list[np.ndarray], list[dict]]:
        """n_samples="auto": rows whose estimate is not yet stable get half as many paired samples again, all rows
        still growing scored in one batched pass per round, until stable or at the 2n + 2048 budget."""
        masks = [plan[0] for plan in plans]
        vals = [v.numpy() for v in values]
        stability: dict[int, float] = {}  # of each sampled row's latest estimate

        def more(row: int, row_masks: np.ndarray, v: np.ndarray) -> np.ndarray | None:
            if plans[row][1] is None:
                return None
            n = len(groups[row])
            stability[row] = self._stability(n, row_masks, v)
            pairs = (len(row_masks) - 2 - 2 * n) // 2
            grown = min(next_count(pairs, AUTO_PAIR_CHUNK), (self.budget(n) - 2 - 2 * n) // 2)
            if stability[row] >= self.target_spearman + AUTO_MARGIN or grown <= pairs:
                return None
            return self._auto_pairs(n, pairs, grown)

        self.grow(batch, targets, groups, masks, vals, more)
        phis, extras = [], []
        for row, (row_masks, v) in enumerate(zip(masks, vals, strict=True)):
            exact = plans[row][1] is None
            weights = None if exact else self._auto_weights(len(groups[row]), row_masks)
            phis.append(self._solve(row_masks, weights, v))
            extras.append({"exact": exact, "n_evaluations": len(row_masks)})
            if not exact:
                extras[-1]["predicted_spearman"] = stability[row]
        return phis, extras

    def _plan(self, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Masks to evaluate and their kernel weights: all 2^n coalitions with weights None (exact values), or the
        empty coalition, the full one, then the weighted ones. Made once per n. In auto mode this is the first
        round: sizes 1 and n − 1 enumerated, then the first paired samples."""
        if n not in self._plans:
            self._plans[n] = self._new_plan(n)
        return self._plans[n]

    def _new_plan(self, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        empty, full = np.zeros((1, n), dtype=bool), np.ones((1, n), dtype=bool)
        if 2**n <= self.budget(n):
            return all_coalitions(n), None
        if self.budget(n) < n + 1:  # the empty and full coalitions, and n - 1 more to determine n values
            raise FaithlabError(f"kernel_shap: n_samples={self.n_samples} cannot fit a text of {n} features; give "
                                f"n_samples >= {n + 1}, 'auto' or null")
        if self.adaptive:
            enumerated, _, _ = self._auto_enumeration(n)
            masks = np.concatenate([empty, full, enumerated, self._auto_pairs(n, 0, AUTO_FIRST_PAIRS)])
            return masks, self._auto_weights(n, masks)
        # a fresh generator per row: a text gets the same samples alone or in any batch
        masks, weights = kernel_samples(n, self.budget(n) - 2, np.random.default_rng(self.seed))
        return np.concatenate([empty, full, masks]), weights

    @staticmethod
    def _auto_enumeration(n: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Auto mode always enumerates sizes 1 and n − 1 (the heaviest kernel weights): masks, weights, sizes done."""
        _, mass = kernel_sizes(n)
        singles = np.eye(n, dtype=bool)
        return np.concatenate([singles, ~singles]), np.full(2 * n, mass[0] / (2 * n)), 1

    def _auto_pairs(self, n: int, start: int, stop: int) -> np.ndarray:
        """Paired samples `start` to `stop` (each a coalition and its complement) of auto mode's stream for n
        features: chunks of AUTO_PAIR_CHUNK pairs, each from its own generator seeded by (seed, n, chunk), so a
        text gets the same samples in any batch whatever its rounds."""
        _, _, done = self._auto_enumeration(n)
        sizes, mass = kernel_sizes(n)

        def draw(chunk: int) -> np.ndarray:
            if (n, chunk) not in self._chunks:
                rng = np.random.default_rng([self.seed, n, chunk])
                self._chunks[(n, chunk)] = paired_draws(n, sizes[done:], mass[done:], AUTO_PAIR_CHUNK, rng)
            return self._chunks[(n, chunk)]

        return stream_rows(draw, 2 * AUTO_PAIR_CHUNK, 2 * start, 2 * stop)

    def _auto_weights(self, n: int, masks: np.ndarray, sampled: slice | np.ndarray | None = None) -> np.ndarray:
        """Kernel weights of the inner masks of auto mode: the enumerated sizes their exact share, the sampled
        pairs (all, or the `sampled` subset of them) equal parts of the rest."""
        enumerated, enum_weights, done = self._auto_enumeration(n)
        count = len(masks) - 2 - len(enumerated)
        _, mass = kernel_sizes(n)
        picked = np.arange(count) if sampled is None else np.arange(count)[sampled]
        sample_weights = np.zeros(count)
        sample_weights[picked] = mass[done:].sum() / max(1, len(picked))
        return np.concatenate([enum_weights, sample_weights])

    def _stability(self, n: int, masks: np.ndarray, v: np.ndarray) -> float:
        """The split-half prediction of the Spearman correlation of the current estimate with the true Shapley
        values (`faithlab.explain.adaptive`), over random halves of the pairs; 0 (not fitted) until 4n coalitions
        are sampled and at the first round, which is too small to trust (module docstring)."""
        count = len(masks) - 2 - 2 * n
        if count < 4 * n or count <= 2 * AUTO_FIRST_PAIRS:
            return 0.0

        def fit(in_half: np.ndarray) -> np.ndarray:
            return self._solve(masks, self._auto_weights(n, masks, np.repeat(in_half, 2)), v)

        return split_half_prediction(fit, count // 2, np.random.default_rng([self.seed, n, count]))
