"""Bootstrap confidence intervals for means (Efron & Tibshirani 1993, percentile method), vectorised with numpy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from faithlab.errors import FaithlabError

# Resampled index matrices are drawn in blocks of at most this many entries, so memory stays bounded for large n.
_BLOCK_ENTRIES = 1 << 22


@dataclass(frozen=True)
class Summary:
    """Mean of the finite values with its bootstrap interval; `missing` counts NaN values left out (undefined cases)."""

    mean: float
    low: float
    high: float
    n: int
    missing: int


def bootstrap_means(values: np.ndarray, resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Means of `resamples` samples drawn with replacement from `values`, (resamples,).

    The draws depend only on (seed, n, resamples): two metrics over the same examples are resampled in the same
    way, so their intervals are paired.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_ENTRIES // max(1, n))
    means = np.empty(resamples)
    for start in range(0, resamples, block):
        stop = min(resamples, start + block)
        means[start:stop] = values[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    return means


def summarize(
    values: Sequence[float] | np.ndarray, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> Summary:
    """Mean and percentile bootstrap interval at `level`; NaN values (undefined metric cases) are left out."""
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 1:
        raise FaithlabError(f"resamples must be an integer >= 1, got {resamples!r}")
    if not 0 < level < 1:
        raise FaithlabError(f"level must lie strictly between 0 and 1, got {level!r}")
    values = np.asarray(values, dtype=np.float64).ravel()
    finite = values[~np.isnan(values)]
    missing = len(values) - len(finite)
    if len(finite) == 0:
        return Summary(float("nan"), float("nan"), float("nan"), 0, missing)
    means = bootstrap_means(finite, int(resamples), seed)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Summary(float(finite.mean()), float(low), float(high), len(finite), missing)
