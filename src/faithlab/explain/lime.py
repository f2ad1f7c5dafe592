"""LIME: a weighted linear surrogate fitted on random removals (Ribeiro, Singh & Guestrin 2016, "Why Should I Trust
You?").

The original input comes first, then `n_samples` masks drawn by `sampling`:
- "balanced" (default): every mask is uniform on {0,1}^n (each token kept with p = 1/2, as Captum's Lime), but the
  masks come in blocks of an orthogonal design: n distinct non-constant columns of a Sylvester Hadamard matrix of
  order N ≥ n + 1, each column's sign flipped at random, each row followed by its complement (a fold-over, so main
  effects are not aliased with two-token interactions; Box, Hunter & Hunter 2005, "Statistics for Experimenters",
  ch. 6). The fit converges to the same limit as independent coin flips, with fewer samples.
- "bernoulli": independent coin flips, as Captum's Lime.
- "count": the `lime` package's text explainer: a number of features removed drawn uniformly from 1..n, then which
  ones uniformly (Ribeiro et al.'s sampling).

Each mask z is weighted by the kernel sqrt(exp(−d²/width²)) of its cosine distance d = 1 − sqrt(|z|/n) to the
original; `kernel_width=0.25` on d equals lime's default of 25 on 100·d (lime's kernel includes the square root). A
weighted ridge regression on the binary masks (`alpha=1.0` and an unpenalised intercept, as lime's sklearn Ridge)
gives one coefficient per token: the score. Unlike lime, every token keeps its coefficient (no top-10 selection).

Removed tokens are replaced by [MASK] by default (pad, then unk, where a model has none), as in KernelSHAP;
`replacement="delete"` removes them as lime's text explainer does. [MASK] keeps every other token at its position,
so the output is closer to additive in the tokens and the fit settles with fewer masks.

`n_samples="auto"` (the default: no fixed budget suits every model and text) spends only what a text needs: the
first round takes 64 masks (one Hadamard block of 2N when that is more), and each round adds half as many again
(whole blocks) until the split-half prediction of the rank correlation with the many-sample limit
(`faithlab.explain.adaptive`; the halves are random halves of the fold-over pairs) reaches `target_spearman` plus a
margin of `AUTO_MARGIN`, with at least 2n masks sampled; at most about 2n + 2048 masks. The stream comes in chunks
of 64 masks (one block when that is more), each from its own generator seeded by (seed, chunk), so a text gets the
same masks in any batch. How the margin and the defaults were chosen: benchmarks/NOTES.md, "LIME".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.linalg import hadamard

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
from faithlab.explain.settings import LimeSettings
from faithlab.models import Batch, Classifier

AUTO_MARGIN = 0.025  # added to target_spearman in auto mode's stopping rule (calibration: benchmarks/NOTES.md)
AUTO_CHUNK = 64  # masks per chunk of auto mode's stream (at least one Hadamard block)


def lime_masks(n_features: int, n_samples: int, seed: int | list[int], sampling: str = "balanced") -> np.ndarray:
    """The all-ones mask followed by `n_samples` masks drawn by `sampling` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    if sampling == "count":
        removed = rng.integers(1, n_features + 1, size=n_samples) if n_features else np.zeros(n_samples, dtype=int)
        sampled = random_coalitions(rng, n_features, n_features - removed)
    elif sampling == "bernoulli":
        sampled = rng.random((n_samples, n_features)) < 0.5
    else:
        sampled = balanced_masks(n_features, n_samples, rng)
    return np.concatenate([np.ones((1, n_features), dtype=bool), sampled])


def hadamard_order(n_features: int) -> int:
    """N: the smallest power of two above n_features (at least 2), the order of the Hadamard blocks."""
    order = 2
    while order < n_features + 1:
        order *= 2
    return order


def balanced_masks(n_features: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """`n_samples` masks, each uniform on {0,1}^n, from randomised fold-over Hadamard blocks of 2N rows: within a
    block every pair of columns is orthogonal (as ±1) and every row is followed by its complement."""
    order = hadamard_order(n_features)
    design = hadamard(order).astype(np.int8)
    blocks = []
    for _ in range(-(-n_samples // (2 * order))):
        columns = rng.choice(np.arange(1, order), size=n_features, replace=False)
        block = design[rng.permutation(order)][:, columns] * rng.choice(np.array([-1, 1], dtype=np.int8), n_features)
        kept = block > 0
        blocks.append(np.stack([kept, ~kept], axis=1).reshape(2 * order, n_features))  # row, complement, row, ...
    return np.concatenate(blocks)[:n_samples] if blocks else np.zeros((0, n_features), dtype=bool)


def lime_weights(masks: np.ndarray, kernel_width: float) -> np.ndarray:
    """sqrt(exp(−d²/width²)) with d the cosine distance between each mask and the all-ones mask."""
    distance = 1.0 - np.sqrt(masks.sum(axis=1) / max(1, masks.shape[1]))
    return np.sqrt(np.exp(-(distance**2) / kernel_width**2))


def weighted_ridge(x: np.ndarray, y: np.ndarray, weights: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Coefficients and intercept minimising Σ w (y − b − x·β)² + alpha·|β|² (intercept unpenalised, as sklearn's
    Ridge with sample weights): centre on the weighted means, then solve the normal equations."""
    total = weights.sum()
    x_mean, y_mean = weights @ x / total, weights @ y / total
    xc, yc = x - x_mean, y - y_mean
    gram = xc.T @ (weights[:, None] * xc) + alpha * np.eye(x.shape[1])
    coef = np.linalg.lstsq(gram, xc.T @ (weights * yc), rcond=None)[0]
    return coef, float(y_mean - x_mean @ coef)


def weighted_r2(y: np.ndarray, prediction: np.ndarray, weights: np.ndarray) -> float:
    """Weighted coefficient of determination of the surrogate (1 when y is constant and fitted exactly)."""
    residual = weights @ (y - prediction) ** 2
    spread = weights @ (y - weights @ y / weights.sum()) ** 2
    if spread <= 0:
        return 1.0 if np.allclose(y, prediction) else 0.0
    return float(1.0 - residual / spread)


@register
class Lime(PerturbationExplainer):
    """LIME with a ridge surrogate on `output` (default the target logit; lime itself explains probabilities).

    Ribeiro, Singh & Guestrin 2016 ("Why Should I Trust You?", KDD): remove random subsets of the tokens, weight each
    perturbed text by its closeness to the original, and fit a linear model of the output on which tokens were kept;
    a token's coefficient is its score. Sampling, kernel and the auto budget: `faithlab.explain.lime`.

    Args:
        n_samples: perturbed texts beside the original, or 'auto': grow per text until the fit is predicted stable
            (default 'auto').
        target_spearman: auto mode's target for the predicted rank correlation with the many-sample fit (default
            0.95; only with n_samples='auto').
        seed: seed of the masks; the same seed gives the same masks for a text in any batch (default 0).
        kernel_width: width of the exponential kernel on the cosine distance to the original (default 0.25).
        alpha: ridge penalty on the coefficients; 0 is plain weighted least squares, which needs at least as many
            samples as tokens (default 1.0).
        sampling: 'balanced' (fold-over Hadamard blocks), 'bernoulli' (coin flips) or 'count' (the lime
            package's) (default 'balanced').
        replacement: how a removed token is replaced: 'mask', 'pad', 'unk', or 'delete' (default 'mask').
        output: the quantity fitted: the target 'logit', 'probability', 'margin' (target logit minus `contrast`'s)
            or 'loss' (log-probability of the target) (default 'logit').
        contrast: the other class of output='margin', a label name or index (default None: each row's highest
            other class).
        unit: the features removed together: 'token', tokenizer 'word', 'whitespace'-separated word,
            'sentence' or user 'group' (`groups=` of `fl.explain`); every token of a feature carries its score
            (default 'token').

    Returns:
        Scores: signed coefficients, higher = more evidence for the target; special tokens score 0. Extras per row:
        intercept, r2 (weighted fit quality of the surrogate), local_prediction (intercept + Σ coefficients, the
        surrogate's output for the original), n_evaluations (distinct masks scored) and, in auto mode,
        predicted_spearman.

    Example:
        >>> result = fl.explain(model, "a warm and funny film", methods={"lime": {"n_samples": 64, "seed": 3}})
        >>> sorted(result["lime"][0].extras)
        ['intercept', 'local_prediction', 'n_evaluations', 'r2']
    """

    name = "lime"
    Settings = LimeSettings

    def __init__(self, classifier: Classifier, **settings: Any):
        super().__init__(classifier, **settings)
        options = self.options
        self.n_samples, self.target_spearman, self.seed = options.n_samples, options.target_spearman, options.seed
        self.sampling, self.kernel_width, self.alpha = options.sampling, options.kernel_width, options.alpha

    def perturbation_masks(self, batch: Batch) -> tuple[list[Groups], list[torch.Tensor]]:
        groups = feature_groups(batch, self.unit)
        if self.adaptive:
            plans = [self._auto_masks(len(g), 0, self._chunk(len(g))) for g in groups]
            ones = [np.ones((1, len(g)), dtype=bool) for g in groups]
            return groups, [torch.from_numpy(np.concatenate([o, p])) for o, p in zip(ones, plans, strict=True)]
        longest = max(map(len, groups), default=0)
        if self.alpha == 0 and self.n_samples < longest:  # the ridge penalty is what makes fewer samples solvable
            raise FaithlabError(f"lime: n_samples={self.n_samples} cannot fit a text of {longest} features without the "
                                f"ridge penalty (alpha=0); give n_samples >= {longest}, alpha > 0 or 'auto'")
        # a fresh generator per row: a text gets the same samples alone or in any batch
        return groups, [torch.from_numpy(lime_masks(len(g), self.n_samples, self.seed, self.sampling)) for g in groups]

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        groups, mask_tensors = self.planned_masks(batch)
        tables, _ = self.values(batch, targets, groups, mask_tensors)
        masks, values = [m.numpy() for m in mask_tensors], [v.numpy() for v in tables]
        stability: dict[int, float] = {}

        def more(row: int, row_masks: np.ndarray, v: np.ndarray) -> np.ndarray | None:
            n, count = len(groups[row]), len(row_masks) - 1
            stability[row] = self._stability(row_masks, v)
            chunk = self._chunk(n)
            grown = min(next_count(count, chunk), max(chunk, sample_cap(n) // chunk * chunk))
            if n == 0 or stability[row] >= self.target_spearman + AUTO_MARGIN or grown <= count:
                return None
            return self._auto_masks(n, count, grown)

        if self.adaptive:
            self.grow(batch, targets, groups, masks, values, more)
        scores = torch.zeros(batch.input_ids.shape, dtype=torch.float64)
        extras = []
        for row, row_groups in enumerate(groups):
            x, y = masks[row].astype(np.float64), values[row]
            weights = lime_weights(masks[row], self.kernel_width)
            coef, intercept = weighted_ridge(x, y, weights, self.alpha)
            for f, positions in enumerate(row_groups):
                scores[row, positions] = float(coef[f])
            extras.append(
                {
                    "intercept": intercept,
                    "r2": weighted_r2(y, intercept + x @ coef, weights),
                    "local_prediction": intercept + float(coef.sum()),
                    "n_evaluations": len(np.unique(masks[row], axis=0)),
                }
            )
            if self.adaptive:
                extras[-1]["predicted_spearman"] = stability[row]
        return Attributions(scores.float(), extras)

    def _chunk(self, n: int) -> int:
        """Masks per chunk of auto mode's stream: AUTO_CHUNK, or one Hadamard block when that is larger (either
        way whole blocks)."""
        return max(AUTO_CHUNK, 2 * hadamard_order(n)) if self.sampling == "balanced" else AUTO_CHUNK

    def _auto_masks(self, n: int, start: int, stop: int) -> np.ndarray:
        """Masks `start` to `stop` of auto mode's stream for n features (the all-ones mask not counted)."""
        size = self._chunk(n)
        return stream_rows(lambda c: lime_masks(n, size, [self.seed, c], self.sampling)[1:], size, start, stop)

    def _stability(self, masks: np.ndarray, v: np.ndarray) -> float:
        """The split-half prediction of the Spearman correlation of the fit with its many-sample limit, over random
        halves of the sampled units; 0 until 2n masks are sampled. The all-ones mask stays in both halves. A unit of
        balanced sampling is a fold-over pair (a mask and its complement), otherwise one mask: whole Hadamard
        blocks as units would keep each half orthogonal, but with few blocks the prediction is too noisy
        (benchmarks/NOTES.md, "LIME").
        """
        n, count = masks.shape[1], len(masks) - 1
        per_unit = 2 if self.sampling == "balanced" else 1
        if n == 0 or count < 2 * n:
            return 0.0
        x, weights = masks.astype(np.float64), lime_weights(masks, self.kernel_width)

        def fit(in_half: np.ndarray) -> np.ndarray:
            keep = np.concatenate([[True], np.repeat(in_half, per_unit)])
            return weighted_ridge(x[keep], v[keep], weights[keep], self.alpha)[0]

        return split_half_prediction(fit, count // per_unit, np.random.default_rng([self.seed, n, count]))
