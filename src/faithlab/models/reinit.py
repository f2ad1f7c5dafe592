"""Transformer blocks re-initialised with fresh random weights for one block of code, then restored bit for bit.

The model-parameter randomization test (`faithlab.evaluate.randomization`) needs a trained model whose top blocks are
replaced by random ones. Which modules form the blocks is each family's declaration (`Adapter.blocks`); drawing the
new weights is written out here, with no private transformers API, and seeded per call without touching the global
random state, so a block gets the same weights every time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn
from transformers import PretrainedConfig
from transformers.pytorch_utils import Conv1D

from faithlab.errors import FaithlabError

INITS = ("model", "normal")
_NORM_SUFFIXES = ("LayerNorm", "RMSNorm")  # nn.LayerNorm, T5LayerNorm, LlamaRMSNorm, Qwen2RMSNorm, ...


@contextlib.contextmanager
def reinitialized_block(block: nn.Module, config: PretrainedConfig, init: str, seed: int) -> Iterator[None]:
    """Within the block of code, `block` has new random weights (`reinitialize`); on exit, even after an exception,
    its saved state is loaded back, so `state_dict` is bit-identical to what it was."""
    saved = {name: tensor.detach().clone() for name, tensor in block.state_dict().items()}
    try:
        reinitialize(block, config, init, seed)
        yield
    finally:
        block.load_state_dict(saved)


def reinitialize(block: nn.Module, config: PretrainedConfig, init: str, seed: int) -> None:
    """Draw new weights for `block` in place, seeded by `seed`, without touching the global random state.

    'model' follows the module types, as transformers initialises these families: Linear, Conv1D and Embedding
    weights N(0, σ) with σ = `config.initializer_range` (T5 has none and scales by fan-in: σ = initializer_factor /
    √fan_in, its scheme for dense layers), biases 0, normalisation scales 1 and shifts 0. 'normal' ignores module
    types: every matrix N(0, initializer_range, or 0.02), biases 0, every other vector 1. Both are written out
    rather than calling a model's private `_init_weights`, which skips weights flagged as loaded.

    Args:
        block: the module to re-initialise (one transformer block).
        config: the model's config (initializer_range / initializer_factor).
        init: 'model' or 'normal'.
        seed: seed of the draw.
    """
    if init not in INITS:
        raise FaithlabError(f"unknown init '{init}'; choose one of {', '.join(INITS)}")
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        if init == "model":
            for module in block.modules():
                _init_module(module, config)
        else:
            std = float(getattr(config, "initializer_range", None) or 0.02)
            for name, parameter in block.named_parameters():
                if parameter.ndim >= 2:
                    parameter.normal_(0.0, std)
                elif name.endswith("bias"):
                    parameter.zero_()
                else:
                    parameter.fill_(1.0)


def _init_module(module: nn.Module, config: PretrainedConfig) -> None:
    """One module's own parameters (not its children's), by module type."""
    if isinstance(module, (nn.Linear, Conv1D, nn.Embedding)):
        fan_in = module.weight.shape[0] if isinstance(module, Conv1D) else module.weight.shape[-1]
        module.weight.normal_(0.0, _std(config, fan_in))
        if getattr(module, "bias", None) is not None:
            module.bias.zero_()
    elif isinstance(module, nn.LayerNorm) or type(module).__name__.endswith(_NORM_SUFFIXES):
        # Gemma's norms scale by (1 + weight), so their untrained weight is 0, not 1
        scale = 0.0 if type(module).__name__.startswith("Gemma") else 1.0
        for name, parameter in module.named_parameters(recurse=False):
            parameter.fill_(0.0 if name == "bias" else scale)


def _std(config: PretrainedConfig, fan_in: int) -> float:
    initializer_range = getattr(config, "initializer_range", None)
    if initializer_range is not None:
        return float(initializer_range)
    return float(getattr(config, "initializer_factor", 1.0)) * fan_in**-0.5
