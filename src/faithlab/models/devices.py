"""Where and in what precision a model runs: device and dtype names resolved once, and the GPU token budget.

`auto` picks CUDA when it is available, then Apple's MPS, else the CPU; asking for a device that is not there is a
`FaithlabError`, never a silent fall-back. On a CUDA device without an explicit `max_batch_tokens`, the budget
comes from the free GPU memory and the model's shape, so the same chunking that bounds CPU memory bounds GPU memory.
"""

from __future__ import annotations

import re

import torch
from transformers import PretrainedConfig

from faithlab.errors import FaithlabError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
CPU_BATCH_TOKENS = 4096  # the token budget everywhere but on a CUDA device without an explicit one
GPU_MEMORY_SHARE = 0.5  # of the free memory a backward pass may fill (the rest: allocator slack, other processes)
GPU_BATCH_TOKENS_LIMITS = (1024, 1 << 20)  # an estimate outside these is a sign of a misread config
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda)(:(\d+))?$")


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """The torch device a name stands for, checked to be available here.

    Args:
        spec: "auto", "cpu", "cuda", "cuda:N" or "mps" (or a `torch.device`).

    Returns:
        The device; "auto" is the first GPU (CUDA, then MPS) that is available, else the CPU.
    """
    text = str(spec).strip().lower()
    match = check_device_name(text)
    kind = match.group(1)
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if kind == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(match.group(3) or 0)
        if index >= count:
            found = f"{count} CUDA device(s) (cuda:0 to cuda:{count - 1})" if count else "no CUDA device"
            raise FaithlabError(f"device {text!r} is not available: this machine has {found}; use --device auto or cpu")
        return torch.device("cuda", index)
    if kind == "mps" and not _mps_available():
        raise FaithlabError("device 'mps' is not available (it needs Apple silicon and a torch built with MPS); "
                            "use --device auto or cpu")
    return torch.device(kind)


def check_device_name(spec: str | torch.device) -> re.Match[str]:
    """The parts of a device name (kind, ":N", N); an unknown name is a `FaithlabError` listing the valid ones."""
    match = _DEVICE.match(str(spec).strip().lower())
    if match is None or (match.group(2) and match.group(1) != "cuda"):
        raise FaithlabError(f"unknown device {str(spec)!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    return match


def resolve_dtype(name: str | torch.dtype) -> torch.dtype:
    """The torch dtype of a name: "float32", "bfloat16" or "float16" (or one of those dtypes)."""
    if isinstance(name, torch.dtype) and name in DTYPES.values():
        return name
    key = str(name).strip().lower()
    if key not in DTYPES:
        raise FaithlabError(f"unknown dtype {str(name)!r}; choose one of {', '.join(DTYPES)}")
    return DTYPES[key]


def dtype_name(dtype: torch.dtype) -> str:
    """The name `resolve_dtype` takes for a dtype ("bfloat16" for torch.bfloat16)."""
    return next((name for name, value in DTYPES.items() if value == dtype), str(dtype).removeprefix("torch."))


def batch_tokens_for(device: torch.device, config: PretrainedConfig, dtype: torch.dtype, width: int) -> int:
    """The default `max_batch_tokens`: `CPU_BATCH_TOKENS` unless on CUDA, where free memory sets it.

    Args:
        device: where the model runs.
        config: the model's config (layers, hidden size, heads).
        dtype: the model's dtype.
        width: the longest row expected (the model's length limit); attention memory grows with it.

    Returns:
        A budget of tokens (rows x width) per forward pass; passes with a backward use half of it.
    """
    if device.type != "cuda":
        return CPU_BATCH_TOKENS
    free, _total = torch.cuda.mem_get_info(device)
    return budget_from_free_memory(free, config, dtype, width)


def budget_from_free_memory(free_bytes: int, config: PretrainedConfig, dtype: torch.dtype, width: int) -> int:
    """Tokens per forward pass such that a backward pass (half of them) keeps its saved activations within
    `GPU_MEMORY_SHARE` of `free_bytes`.

    A backward keeps, per token and layer, about a dozen hidden-size vectors (inputs of the projections, the
    feed-forward's 4x-wide activation, norms) and two rows of attention probabilities per head (probabilities and
    the dropout/softmax input); the estimate is rounded down and clamped to `GPU_BATCH_TOKENS_LIMITS`.
    """
    hidden = _config_int(config, ("hidden_size", "n_embd", "d_model", "dim"), 768)
    layers = _config_int(config, ("num_hidden_layers", "n_layer", "num_layers", "n_layers"), 12)
    heads = _config_int(config, ("num_attention_heads", "n_head", "num_heads", "n_heads"), 12)
    element = torch.empty((), dtype=dtype).element_size()
    per_token = element * layers * (12 * hidden + 2 * heads * width)
    backward_tokens = int(GPU_MEMORY_SHARE * free_bytes) // max(1, per_token)
    low, high = GPU_BATCH_TOKENS_LIMITS
    return int(min(high, max(low, 2 * backward_tokens)))


def _config_int(config: PretrainedConfig, keys: tuple[str, ...], default: int) -> int:
    for key in keys:
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return default


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
