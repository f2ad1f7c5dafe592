"""Model-parameter randomization test (Adebayo et al. 2018, "Sanity Checks for Saliency Maps", NeurIPS).

An explanation that depends on what the model learned must change when the learned weights are replaced by random
ones. Whole transformer blocks (attention + MLP + their norms) are re-initialised:
- 'cascading': the top block, then the top two, ... down to all blocks (the classification head and embeddings
  are kept, so the change isolates the encoder blocks);
- 'independent': one block at a time, the others as trained.
After each step the explanations are recomputed for the same target classes, and the Spearman correlation of the
content-token scores (signed, and of |scores|) with the original explanation is recorded: low is better.
Each family declares its blocks (`Adapter.blocks`); re-initialisation ('model': by module type, as transformers
initialises these families; 'normal': N(0, initializer_range) for every matrix; `faithlab.models.reinit`) is seeded
per block (seed + block index), so a block gets the same random weights in both modes, and every block is restored
bit for bit when its step is over, even after an error. A text longer than the model's limit is explained through its
sliding windows (`faithlab.models.windows`) before and after each step, so both explanations score the same
whole-text tokens.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from faithlab.errors import FaithlabError
from faithlab.evaluate.ranking import rank_correlation
from faithlab.evaluate.results import Row
from faithlab.explain.base import Explainer, cached_attribute, expand_targets
from faithlab.models import Batch, Classifier, adapter_for
from faithlab.models.classifier import Target
from faithlab.models.pass_cache import PassCache
from faithlab.models.reinit import INITS, reinitialized_block
from faithlab.models.windows import encode_windowed

MODES = ("cascading", "independent")


def transformer_blocks(model: nn.Module) -> nn.ModuleList:
    """The model's stack of transformer blocks, as its family's adapter declares it (bert.encoder.layer,
    distilbert.transformer.layer, transformer.h, encoder.block, ...)."""
    return adapter_for(model).blocks(model)


def randomization_steps(n_blocks: int, mode: str) -> list[list[int]]:
    """The blocks randomised at each step: [[L-1], [L-1, L-2], ...] (cascading) or [[L-1], [L-2], ...]."""
    if mode not in MODES:
        raise FaithlabError(f"unknown randomization mode '{mode}'; choose one of {', '.join(MODES)}")
    top_down = list(range(n_blocks - 1, -1, -1))
    if mode == "cascading":
        return [top_down[: i + 1] for i in range(n_blocks)]
    return [[i] for i in top_down]


def shared_classifier(explainers: Sequence[Explainer], init: str) -> Classifier:
    """The one classifier of the explainers a randomization check runs, after checking `init` and that they share it."""
    if not explainers:
        raise FaithlabError("give at least one explainer")
    if init not in INITS:
        raise FaithlabError(f"unknown init '{init}'; choose one of {', '.join(INITS)}")
    classifier = explainers[0].classifier
    if any(e.classifier is not classifier for e in explainers):
        raise FaithlabError("all explainers must share one classifier")
    return classifier


def evaluate_randomization(
    explainers: Sequence[Explainer],
    texts: Sequence[str],
    pairs: Sequence[str | None] | None = None,
    target: Target = None,
    *,
    mode: str = "cascading",
    init: str = "model",
    seed: int = 0,
) -> list[Row]:
    """The model-parameter randomization test (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"): how much do
    the explanations change when transformer blocks are re-initialised?

    An explanation that depends on what the model learned must change; one that barely changes explains the input
    or the architecture, not the model. Targets are resolved once on the trained model and kept; every block is
    restored afterwards, also after an error.

    Args:
        explainers: the explainers to test, sharing one classifier.
        texts: the texts to explain.
        pairs: the second text of each pair, aligned with `texts` (default None).
        target: the class explained: None (predicted), a label name or index, one per text, or 'all' (default None).
        mode: 'cascading' (the top block, then the top two, ... down to all) or 'independent' (one block at a
            time) (default 'cascading').
        init: how a block is re-initialised: 'model' (as transformers initialises the family) or 'normal'
            (N(0, initializer_range) for every matrix) (default 'model').
        seed: seed of the random weights; block i uses seed + i (default 0).

    Returns:
        `Row`s per example, method and step: randomization_spearman (Spearman correlation of the content-token
        scores with the original explanation) and randomization_spearman_abs (the same on |scores|), both in
        [−1, 1], lower is better (the explanation follows the weights). Settings 'layer' = the block randomised
        last, 'randomized' = every block random at that step.

    Example:
        >>> from faithlab.explain import get_explainer
        >>> rows = evaluate_randomization([get_explainer("gradient", model)], ["a warm and funny film"])
        >>> [(row.settings["randomized"], row.metric) for row in rows]  # 2 blocks, top first
        [([1], 'randomization_spearman'), ([1], 'randomization_spearman_abs'), ([1, 0], 'randomization_spearman'),
         ([1, 0], 'randomization_spearman_abs')]
    """
    classifier = shared_classifier(explainers, init)
    blocks = transformer_blocks(classifier.model)
    steps = randomization_steps(len(blocks), mode)
    batch, targets = expand_targets(classifier, encode_windowed(classifier, texts, pairs), target)
    content = batch.content_mask.cpu()
    original = [current_scores(e, batch, targets) for e in explainers]
    rows = []
    config = classifier.model.config
    with contextlib.ExitStack() as randomized:  # every block is restored on exit, even after an error
        for step in steps:
            if mode == "independent":
                randomized.close()  # put the previous step's block back; cascading keeps it random
            randomized.enter_context(reinitialized_block(blocks[step[-1]], config, init, seed + step[-1]))
            settings = {"mode": mode, "init": init, "seed": seed, "layer": step[-1], "randomized": list(step)}
            for explainer, before in zip(explainers, original, strict=True):
                rows += _rows(explainer.name, before, current_scores(explainer, batch, targets), content, settings)
    return rows


def current_scores(explainer: Explainer, batch: Batch, targets: torch.Tensor) -> np.ndarray:
    """Token scores of a batch under the model's current weights (a cache-free copy, so nothing stale is reused)."""
    fresh = dataclasses.replace(batch, cache=PassCache())
    return cached_attribute(explainer, fresh, targets).scores.detach().float().cpu().numpy()


def _rows(
    method: str, original: np.ndarray, randomized: np.ndarray, content: torch.Tensor, settings: dict[str, object]
) -> list[Row]:
    rows = []
    for i in range(len(original)):
        keep = content[i, : original.shape[1]].numpy()
        a, b = original[i][keep], randomized[i][keep]
        for metric, value in (("spearman", rank_correlation(a, b)), ("spearman_abs", rank_correlation(abs(a), abs(b)))):
            rows.append(Row(i, method, f"randomization_{metric}", value, dict(settings)))
    return rows

