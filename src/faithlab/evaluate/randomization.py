"""Model-parameter randomization test (Adebayo et al. 2018, "Sanity Checks for Saliency Maps", NeurIPS).

An explanation that depends on what the model learned must change when the learned weights are replaced by random
ones. Whole transformer blocks (attention + MLP + their norms) are re-initialised:
- 'cascading': the top block, then the top two, ... down to all blocks (the classification head and embeddings
  are kept, so the change isolates the encoder blocks);
- 'independent': one block at a time, the others as trained.
After each step the explanations are recomputed for the same target classes, and the Spearman correlation of the
content-token scores (signed, and of |scores|) with the original explanation is recorded: low is better.
Re-initialisation uses the model's own `_init_weights` ('model') or N(0, initializer_range) for weight matrices,
zeros for biases and ones for other vectors ('normal'), seeded per block (seed + block index), so a block gets the
same random weights in both modes. The touched blocks' state_dicts are copied first and loaded back afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from faithlab.errors import FaithlabError
from faithlab.evaluate.ranking import rank_correlation
from faithlab.evaluate.results import Row
from faithlab.explain.base import Explainer, cached_attribute, expand_targets
from faithlab.models import Batch
from faithlab.models.classifier import Target
from faithlab.models.pass_cache import PassCache

MODES = ("cascading", "independent")
INITS = ("model", "normal")


def transformer_blocks(model: nn.Module) -> nn.ModuleList:
    """The model's stack of transformer blocks, found generically: the first ModuleList (in module order) of
    `config.num_hidden_layers` modules of one class (bert.encoder.layer, distilbert.transformer.layer,
    transformer.h, encoder.block, ...)."""
    n_layers = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    for module in model.modules():
        if isinstance(module, nn.ModuleList) and len(module) == n_layers and len({type(m) for m in module}) == 1:
            return module
    raise FaithlabError(
        f"could not find the {n_layers} transformer blocks of {type(model).__name__}: no ModuleList of that many "
        "blocks of one class"
    )


def randomization_steps(n_blocks: int, mode: str) -> list[list[int]]:
    """The blocks randomised at each step: [[L-1], [L-1, L-2], ...] (cascading) or [[L-1], [L-2], ...]."""
    if mode not in MODES:
        raise FaithlabError(f"unknown randomization mode '{mode}'; choose one of {', '.join(MODES)}")
    top_down = list(range(n_blocks - 1, -1, -1))
    if mode == "cascading":
        return [top_down[: i + 1] for i in range(n_blocks)]
    return [[i] for i in top_down]


@contextlib.contextmanager
def saved_blocks(blocks: nn.ModuleList, indices: Sequence[int]) -> Iterator[None]:
    """Copy the state_dicts of the given blocks and load them back on exit, whatever happened in between."""
    saved = {i: {k: v.detach().clone() for k, v in blocks[i].state_dict().items()} for i in indices}
    try:
        yield
    finally:
        for i, state in saved.items():
            blocks[i].load_state_dict(state)


def reinitialize(model: nn.Module, block: nn.Module, init: str, seed: int) -> None:
    """Draw new weights for one block in place, seeded, without touching the global random state."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        if init == "model":
            _model_init(model, block)
        else:
            std = float(getattr(model.config, "initializer_range", None) or 0.02)
            for name, parameter in block.named_parameters():
                if parameter.ndim >= 2:
                    parameter.normal_(0.0, std)
                elif name.endswith("bias"):
                    parameter.zero_()
                else:
                    parameter.fill_(1.0)


def _model_init(model: nn.Module, block: nn.Module) -> None:
    """The model's own `_init_weights` on every submodule. transformers skips parameters flagged as already
    initialised (every loaded weight is), so the flags are lifted for the call and put back after."""
    if not hasattr(model, "_init_weights"):
        raise FaithlabError(f"{type(model).__name__} has no _init_weights; use init='normal'")
    flagged = [p for p in block.parameters() if getattr(p, "_is_hf_initialized", False)]
    for parameter in flagged:
        parameter._is_hf_initialized = False
    try:
        for module in block.modules():
            model._init_weights(module)
    finally:
        for parameter in flagged:
            parameter._is_hf_initialized = True


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
    """Rows of randomization_spearman(_abs) per example, method and step (settings 'layer' = the block randomised
    last, 'randomized' = all randomised blocks). Targets are resolved once on the trained model and kept."""
    if not explainers:
        raise FaithlabError("give at least one explainer")
    if init not in INITS:
        raise FaithlabError(f"unknown init '{init}'; choose one of {', '.join(INITS)}")
    classifier = explainers[0].classifier
    if any(e.classifier is not classifier for e in explainers):
        raise FaithlabError("all explainers must share one classifier")
    blocks = transformer_blocks(classifier.model)
    steps = randomization_steps(len(blocks), mode)
    batch, targets = expand_targets(classifier, classifier.encode(texts, pairs), target)
    content = batch.content_mask.cpu()
    original = [_scores(e, batch, targets) for e in explainers]
    rows = []
    with saved_blocks(blocks, range(len(blocks))):
        for step in steps:
            # cascading keeps earlier steps' random blocks; independent puts each block back before the next
            restore = saved_blocks(blocks, step) if mode == "independent" else contextlib.nullcontext()
            with restore:
                reinitialize(classifier.model, blocks[step[-1]], init, seed + step[-1])
                settings = {"mode": mode, "init": init, "seed": seed, "layer": step[-1], "randomized": list(step)}
                for explainer, before in zip(explainers, original, strict=True):
                    rows += _rows(explainer.name, before, _scores(explainer, batch, targets), content, settings)
    return rows


def _scores(explainer: Explainer, batch: Batch, targets: torch.Tensor) -> np.ndarray:
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

