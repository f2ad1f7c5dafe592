"""Efficient model-parameter randomization test, eMPRT (Hedström et al. 2023, 'Sanity Checks Revisited: An
Exploration to Repair the Model Parameter Randomisation Test').

Instead of a similarity between explanations before and after randomisation, which depends on the similarity
measure chosen, eMPRT asks whether an explanation becomes more complex, i.e. less structured, once every block of
the model is randomised at once: eMPRT = H(Φ(f_random, x)) / H(Φ(f, x)), with H the discrete entropy of the
histogram of the explanation's content-token scores (`bins` equal-width bins between their minimum and maximum;
the paper uses 100 bins for images of far more features than a sentence has tokens, so faithlab defaults to 10).
Higher is better (above 1: randomisation made the explanation more disordered); NaN when the original explanation
has zero entropy (all scores equal). Blocks are re-initialised by `faithlab.models.reinit` (block i seeded with
seed + i) and restored bit for bit afterwards. A text longer than the model's limit is explained through its sliding
windows (`faithlab.models.windows`), over its whole-text tokens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np

from faithlab.evaluate.randomization import current_scores, shared_classifier, transformer_blocks
from faithlab.evaluate.results import Row
from faithlab.explain.base import Explainer, expand_targets
from faithlab.explain.perturbation import check_count
from faithlab.models.classifier import Target
from faithlab.models.reinit import reinitialized_block
from faithlab.models.windows import encode_windowed


def histogram_entropy(scores: np.ndarray, bins: int) -> float:
    """Discrete (natural-log) entropy of the histogram of `scores` in `bins` equal-width bins over their range."""
    counts, _ = np.histogram(scores, bins=bins)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def evaluate_efficient_randomization(
    explainers: Sequence[Explainer],
    texts: Sequence[str],
    pairs: Sequence[str | None] | None = None,
    target: Target = None,
    *,
    bins: int = 10,
    init: str = "model",
    seed: int = 0,
) -> list[Row]:
    """Rows of efficient_randomization_ratio per example and method.

    Args:
        explainers: explainers sharing one classifier.
        texts, pairs: the inputs; target: as in `explain` (resolved once on the trained model and kept).
        bins: histogram bins of the entropy.
        init: how blocks are re-initialised ('model' or 'normal').
        seed: seed of the re-initialisation.

    Returns:
        One row per example and method; details hold both entropies.
    """
    check_count("bins", bins, 2)
    classifier = shared_classifier(explainers, init)
    batch, targets = expand_targets(classifier, encode_windowed(classifier, texts, pairs), target)
    content = batch.content_mask.cpu().numpy()
    original = [current_scores(e, batch, targets) for e in explainers]
    with contextlib.ExitStack() as randomized:  # every block is restored on exit, even after an error
        for index, block in enumerate(transformer_blocks(classifier.model)):
            randomized.enter_context(reinitialized_block(block, classifier.model.config, init, seed + index))
        after = [current_scores(e, batch, targets) for e in explainers]
    settings = {"bins": bins, "init": init, "seed": seed}
    rows = []
    for explainer, before, random in zip(explainers, original, after, strict=True):
        for i in range(len(before)):
            keep = content[i, : before.shape[1]]
            h_before, h_after = histogram_entropy(before[i][keep], bins), histogram_entropy(random[i][keep], bins)
            value = h_after / h_before if h_before > 0 else float("nan")
            details = {"entropy_original": h_before, "entropy_randomized": h_after}
            rows.append(Row(i, explainer.name, "efficient_randomization_ratio", value, dict(settings), details))
    return rows
