"""The local rules of LRP by conservative propagation (Ali et al. 2022, ICML), installed on a model for one block.

With these rules LRP's relevance equals gradient × input of a model whose non-linear steps are frozen into linear
ones for the backward pass. Each rule keeps the forward value and changes only the gradient:

- attention (AH rule): the probabilities are constants; that rule is the forward argument `constant_attention=True`
  (`faithlab.models.attention`), not installed here;
- LayerNorm (LN rule): the normaliser (standard deviation; root mean square for T5's and the decoders' RMSNorm) is
  a constant;
- element-wise activations (GELU, tanh, ReLU, ...): identity rule, act(x) = x · (act(x)/x) with the ratio constant;
- gates (gated feed-forwards: T5, Llama-style decoders, ModernBERT): the gate is a constant, relevance flows through
  the linear branch (the AttnLRP treatment of multiplicative gates, Achtibat et al. 2024, ICML).

Rotary positions need no rule: they act on queries and keys, which only shape the attention probabilities, and those
are constants under the attention rule.

Each rule is a small autograd function that applies the frozen Jacobian in the backward pass, with no surrogate
graph. Most are forward hooks; LayerNorm's replaces the module's forward for the block (an instance attribute, removed
on exit) because it reuses the 1/std that torch.native_layer_norm returns, which a hook cannot see without computing
the norm a second time.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.activations import ACT2CLS
from transformers.models.gemma2.modeling_gemma2 import Gemma2RMSNorm
from transformers.models.gemma3.modeling_gemma3 import Gemma3RMSNorm
from transformers.models.llama.modeling_llama import LlamaRMSNorm
from transformers.models.mistral.modeling_mistral import MistralRMSNorm
from transformers.models.phi3.modeling_phi3 import Phi3RMSNorm
from transformers.models.qwen2.modeling_qwen2 import Qwen2RMSNorm
from transformers.models.qwen3.modeling_qwen3 import Qwen3RMSNorm
from transformers.models.t5.modeling_t5 import T5LayerNorm

from faithlab.models.adapters import Adapter

ACTIVATIONS = tuple({c[0] if isinstance(c, tuple) else c for c in ACT2CLS.values()} | {nn.GELU, nn.Tanh, nn.ReLU})
# RMSNorm modules, y = scale · x / rms(x): most store the scale in `weight` and eps in `variance_epsilon`;
# Gemma's store scale − 1 in `weight` and eps in `eps`
RMS_NORMS = (T5LayerNorm, LlamaRMSNorm, MistralRMSNorm, Phi3RMSNorm, Qwen2RMSNorm, Qwen3RMSNorm)
GEMMA_RMS_NORMS = (Gemma2RMSNorm, Gemma3RMSNorm)

# Below this magnitude act(x)/x is numerically meaningless; x itself is then too small to carry relevance.
_SMALL = 1e-9


class _FrozenRatio(torch.autograd.Function):
    """y = act(x) forward; backward multiplies by the constant y/x (the identity rule)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        safe = torch.where(x.abs() < _SMALL, torch.copysign(torch.full_like(x, _SMALL), x), x)
        ctx.save_for_backward(y / safe)
        return y.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (ratio,) = ctx.saved_tensors
        return grad * ratio, None


class _FrozenLayerNorm(torch.autograd.Function):
    """LayerNorm's forward; backward treats the standard deviation as a constant: ∂/∂x of w · (x − mean(x)) / std.
    torch.native_layer_norm returns 1/std with the output, so the rule costs no extra pass over x."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
                shape: tuple[int, ...], eps: float) -> torch.Tensor:
        output, _, inverse_std = torch.native_layer_norm(x, shape, weight, bias, eps)
        ctx.save_for_backward(inverse_std, weight if weight is not None else torch.ones(()))
        ctx.dims = tuple(range(-len(shape), 0))
        return output

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        inverse_std, weight = ctx.saved_tensors
        g = grad * weight * inverse_std
        return g - g.mean(dim=ctx.dims, keepdim=True), None, None, None, None


class _FrozenRms(torch.autograd.Function):
    """RMSNorm's forward value; backward treats the root mean square as a constant: ∂/∂x of w · x / rms."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
        ctx.save_for_backward((x.float().pow(2).mean(dim=-1, keepdim=True) + eps).sqrt(), weight)
        ctx.dtype = x.dtype
        return y.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        rms, weight = ctx.saved_tensors
        return (grad.float() * weight.float() / rms).to(ctx.dtype), None, None, None


def _identity_rule(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """y = act(x), with the backward pass of x · (y/x) where the ratio is a constant."""
    return _FrozenRatio.apply(x, y)


def _layer_norm_rule(module: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    """The forward of a LayerNorm module inside the block (not a hook: the rule needs the normaliser the forward
    computes)."""
    return _FrozenLayerNorm.apply(x, module.weight, module.bias, tuple(module.normalized_shape), module.eps)


def _rms_norm_rule(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
    if isinstance(module, GEMMA_RMS_NORMS):
        return _FrozenRms.apply(args[0], output, 1.0 + module.weight.float(), module.eps)
    return _FrozenRms.apply(args[0], output, module.weight, module.variance_epsilon)


def _activation_rule(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
    return _identity_rule(args[0], output)


def _gate_rule(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
    return output.detach()


class InputCapture:
    """Forward pre-hook on the module that receives the summed input embedding; `embeddings` is that input as
    relevance is measured on it. Only the first call counts (T5's encoder runs the same dropout module again at the
    end).

    By default the input becomes a detached leaf requiring grad, so the backward stops there. With `keep_graph`, it
    stays attached to what produced it (the word embeddings), so relevance can itself be differentiated.
    """

    def __init__(self, keep_graph: bool = False) -> None:
        self.keep_graph = keep_graph
        self.embeddings: torch.Tensor | None = None

    def __call__(self, module: nn.Module, args: tuple) -> tuple | None:
        if self.embeddings is not None:
            return None
        self.embeddings = args[0] if self.keep_graph else args[0].detach().requires_grad_(True)
        return (self.embeddings, *args[1:])


def _functional_hooks(producer: nn.Module, consumer: nn.Module) -> list[torch.utils.hooks.RemovableHandle]:
    """Identity rule for an activation applied between two modules without a module of its own."""
    seen: dict[str, torch.Tensor] = {}

    def keep(_module: nn.Module, _args: tuple, output: torch.Tensor) -> None:
        seen["x"] = output

    def replace(_module: nn.Module, args: tuple) -> tuple:
        return (_identity_rule(seen.pop("x"), args[0]), *args[1:])

    return [producer.register_forward_hook(keep), consumer.register_forward_pre_hook(replace)]


@contextlib.contextmanager
def conservative_propagation(
    model: PreTrainedModel, adapter: Adapter, *, keep_graph: bool = False
) -> Iterator[InputCapture]:
    """Install the LRP rules (all but attention's: pass `constant_attention=True` to the forward) on `model` for
    the block; yields the capture of the summed input embedding (see `InputCapture` for `keep_graph`).

    On exit, even after an exception, every hook is removed and every replaced forward is deleted again, so the
    model is as it was: the weights are never touched.
    """
    capture = InputCapture(keep_graph)
    handles: list[torch.utils.hooks.RemovableHandle] = []
    norms: list[nn.Module] = []
    try:
        handles.append(adapter.embedding_sum(model).register_forward_pre_hook(capture))
        gates = set(adapter.gates(model))
        for module in model.modules():
            if isinstance(module, nn.LayerNorm) and "forward" not in vars(module):
                norms.append(module)
                module.forward = functools.partial(_layer_norm_rule, module)
            elif isinstance(module, RMS_NORMS + GEMMA_RMS_NORMS):
                handles.append(module.register_forward_hook(_rms_norm_rule))
            elif module in gates:
                handles.append(module.register_forward_hook(_gate_rule))
            elif isinstance(module, ACTIVATIONS):
                handles.append(module.register_forward_hook(_activation_rule))
        for producer, consumer in adapter.functional_activations(model):
            handles.extend(_functional_hooks(producer, consumer))
        yield capture
    finally:
        for handle in handles:
            handle.remove()
        for module in norms:
            del module.forward  # back to the class's forward
