"""Adaptive sample budgets for the sampling explainers (KernelSHAP and LIME with `n_samples="auto"`).

A sampled estimate is grown in rounds until its ranking of the tokens is predicted to be stable. The prediction is
split-half reliability: split the sampled units (complementary pairs) into two random halves, fit each half, and step
the mean Spearman ρ of the two fits (16 random splits) up to the full sample by the Spearman–Brown formula 2ρ / (1 + ρ)
(each half has twice the variance of the whole; Spearman 1910, Brown 1910). Its square root predicts the rank
correlation of the full estimate with the estimate's limit (infinitely many samples). A row stops once the prediction
reaches the target plus the explainer's margin (the prediction can run above the truth); otherwise its sample grows
by `AUTO_GROWTH` (rounds of ×1.5 overshoot the sample a text needs by less than doubling). How the margins, the
number of splits and the growth were chosen: benchmarks/NOTES.md, "Adaptive sample budgets".
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.stats import spearmanr

AUTO_SPLITS = 16  # random halvings whose Spearman ρ is averaged (4 made the prediction noisier; see the margins)
AUTO_GROWTH = 1.5  # each round multiplies a row's sampled units by this much


def split_half_prediction(fit: Callable[[np.ndarray], np.ndarray], units: int, rng: np.random.Generator) -> float:
    """Predicted Spearman correlation of the full estimate with its limit. `fit(in_half)` refits the estimate on
    the sampled units where `in_half` (bool, one per unit) is True; every other part of the design is kept."""
    rhos = []
    for _ in range(AUTO_SPLITS):
        first = rng.permutation(units) % 2 == 0
        halves = fit(first), fit(~first)
        if np.ptp(halves[0]) == 0 or np.ptp(halves[1]) == 0:
            rhos.append(1.0 if np.allclose(*halves) else 0.0)
        else:
            rhos.append(float(spearmanr(*halves).statistic))
    rho = float(np.mean(rhos))
    return float(np.sqrt(2 * rho / (1 + rho))) if rho > 0 else 0.0


def sample_cap(n_features: int) -> int:
    """The most evaluations auto mode spends on a text of n features: shap's "auto" budget 2n + 2048."""
    return 2 * n_features + 2048


def next_count(count: int, step: int) -> int:
    """The sample size of the next round: `AUTO_GROWTH` × `count`, rounded up to a multiple of `step`."""
    return math.ceil(max(count + 1, count * AUTO_GROWTH) / step) * step


def stream_rows(draw: Callable[[int], np.ndarray], chunk: int, start: int, stop: int) -> np.ndarray:
    """Rows `start` to `stop` of a sample stream made of chunks of `chunk` rows, chunk c being `draw(c)` (each from
    its own generator, so a row's samples never depend on how far other rounds or rows went)."""
    first = start // chunk
    rows = np.concatenate([draw(c) for c in range(first, -(-stop // chunk))])
    return rows[start - first * chunk : stop - first * chunk]
