"""Attention views of one text: every layer and head, one head in full, layer averages, rollout, chosen layers, and
the tokens that receive the most attention.

The views read `AttentionMaps`, plain data (the real tokens and a float16 array of every layer's and head's
attention probabilities), so they need no model: `faithlab.attention_export` computes the maps and writes them,
and the report and the web app load them per layer (`attention_payload`). Top tokens leave out special tokens and
tokens made only of punctuation or symbols (Unicode categories P* and S*), and keep repeated tokens apart (each
occurrence is its own row, with its position).
"""

from __future__ import annotations

import base64
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from faithlab.errors import FaithlabError
from faithlab.report.tokens import strip_marks


@dataclass
class AttentionMaps:
    """Attention probabilities of one text: `matrices[layer, head, query, key]` over its real tokens (float16 keeps
    the payload small), `special[t]` True for special tokens."""

    text: str
    pair: str | None
    tokens: list[str]
    special: list[bool]
    matrices: np.ndarray
    model: str = ""

    def __post_init__(self) -> None:
        self.matrices = np.asarray(self.matrices, dtype=np.float16)
        n = len(self.tokens)
        if self.matrices.ndim != 4 or self.matrices.shape[2:] != (n, n) or len(self.special) != n:
            raise FaithlabError(f"attention of shape {self.matrices.shape} does not fit {n} tokens; "
                                "expected (layers, heads, tokens, tokens)")

    @property
    def layers(self) -> int:
        return self.matrices.shape[0]

    @property
    def heads(self) -> int:
        return self.matrices.shape[1]

    def layer(self, layer: int) -> np.ndarray:
        """One layer's (heads, tokens, tokens) matrices as float32; an unknown layer is a `FaithlabError`."""
        _check_index(layer, self.layers, "layer")
        return self.matrices[layer].astype(np.float32)


def _check_index(value: int, size: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < size:
        raise FaithlabError(f"{what} {value!r} does not exist; choose 0 to {size - 1}")


def layer_average(maps: AttentionMaps) -> np.ndarray:
    """Mean over heads per layer: (layers, tokens, tokens), each row a distribution over keys."""
    return maps.matrices.astype(np.float32).mean(axis=1)


def rollout_matrix(maps: AttentionMaps) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): per layer 0.5·mean over heads + 0.5·I, rows renormalised, layers
    multiplied from the first; row q says how much each token flows into position q (rows sum to 1)."""
    n = len(maps.tokens)
    rollout = np.eye(n)
    for layer in layer_average(maps).astype(np.float64):
        mixed = 0.5 * layer + 0.5 * np.eye(n)
        mixed /= mixed.sum(axis=-1, keepdims=True)
        rollout = mixed @ rollout
    return rollout


def is_punctuation_or_symbol(token: str) -> bool:
    """True when a token (subword marks stripped) is made only of Unicode punctuation (P*) and symbols (S*)."""
    text = strip_marks(token).strip()
    return bool(text) and all(unicodedata.category(ch)[0] in "PS" for ch in text)


def attention_totals(maps: AttentionMaps, layers: Sequence[int] | None = None) -> pd.DataFrame:
    """Attention each token receives, summed over the chosen layers (default all), every head and every query.

    Args:
        maps: one text's attention.
        layers: the layers to sum (default every layer).

    Returns:
        One row per token position: position, token, special, punctuation (P*/S* only), received.
    """
    chosen = list(range(maps.layers)) if layers is None else list(layers)
    for layer in chosen:
        _check_index(layer, maps.layers, "layer")
    received = maps.matrices[chosen].astype(np.float64).sum(axis=(0, 1, 2))
    return pd.DataFrame({
        "position": range(len(maps.tokens)),
        "token": maps.tokens,
        "special": maps.special,
        "punctuation": [is_punctuation_or_symbol(t) for t in maps.tokens],
        "received": received,
    })


def top_attention(totals: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The k token occurrences that receive the most attention, without special tokens and punctuation/symbols.

    A token that occurs twice stays two rows (their positions differ): totals are never merged by string.

    Args:
        totals: from `attention_totals` (several texts may be concatenated; a `text` column is kept).
        k: how many rows.

    Returns:
        The top rows, highest first.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise FaithlabError(f"k must be an integer >= 1, got {k!r}")
    kept = totals[~totals["special"] & ~totals["punctuation"]]
    return kept.sort_values("received", ascending=False, kind="stable").head(k).reset_index(drop=True)


def _matrix(ax: Axes, matrix: np.ndarray, tokens: Sequence[str] | None, title: str) -> None:
    ax.imshow(matrix, cmap="viridis", vmin=0.0, vmax=max(float(matrix.max()), 1e-9))
    ax.set_title(title, fontsize=8)
    if tokens is None:
        ax.set_xticks([])
        ax.set_yticks([])
        return
    ticks = range(len(tokens))
    ax.set_xticks(ticks, list(tokens), rotation=90, fontsize=7)
    ax.set_yticks(ticks, list(tokens), fontsize=7)
    ax.set_xlabel("key (attended to)", fontsize=8)
    ax.set_ylabel("query", fontsize=8)


def head_grid_figure(maps: AttentionMaps) -> Figure:
    """A layers × heads grid of small attention matrices (row = layer from the first, column = head)."""
    fig = Figure(figsize=(1.3 * maps.heads + 1, 1.3 * maps.layers + 0.6), layout="constrained")
    axes = fig.subplots(maps.layers, maps.heads, squeeze=False)
    for (layer, head), ax in np.ndenumerate(axes):
        _matrix(ax, maps.matrices[layer, head].astype(np.float32), None, f"L{layer} H{head}")
    fig.suptitle(f"attention, every layer (rows) and head (columns): {maps.text[:60]}", fontsize=9)
    return fig


def head_matrix_figure(maps: AttentionMaps, layer: int, head: int) -> Figure:
    """One head's full matrix with the tokens on both axes (queries down, keys across)."""
    _check_index(head, maps.heads, "head")
    matrix = maps.layer(layer)[head]
    size = 2.5 + 0.28 * len(maps.tokens)
    fig = Figure(figsize=(size, size), layout="constrained")
    _matrix(fig.subplots(), matrix, maps.tokens, f"layer {layer}, head {head}")
    return fig


def matrix_figure(matrix: np.ndarray, tokens: Sequence[str], title: str) -> Figure:
    """Any token × token matrix (a layer average, the rollout) with the tokens on both axes."""
    size = 2.5 + 0.28 * len(tokens)
    fig = Figure(figsize=(size, size), layout="constrained")
    _matrix(fig.subplots(), np.asarray(matrix, dtype=np.float32), tokens, title)
    return fig


def chosen_layers_figure(maps: AttentionMaps, layers: Sequence[int] | None = None) -> Figure:
    """Head-averaged matrices of a few layers side by side (default the first, middle and last: the study's "three
    chosen layers for one text")."""
    chosen = list(layers) if layers is not None else sorted({0, maps.layers // 2, maps.layers - 1})
    for layer in chosen:
        _check_index(layer, maps.layers, "layer")
    averaged = layer_average(maps)
    size = 2.5 + 0.28 * len(maps.tokens)
    fig = Figure(figsize=(size * len(chosen), size), layout="constrained")
    for ax, layer in zip(fig.subplots(1, len(chosen), squeeze=False)[0], chosen, strict=True):
        _matrix(ax, averaged[layer], maps.tokens, f"layer {layer} (mean over heads)")
    return fig


def attention_payload(maps: AttentionMaps, layers: Sequence[int] | None = None) -> dict[str, Any]:
    """JSON-ready data for a browser: tokens, special flags, shape, and each requested layer (default all) as
    base64 of little-endian float16 (heads × tokens × tokens), so a page can fetch or decode one layer at a time."""
    chosen = list(range(maps.layers)) if layers is None else list(layers)
    for layer in chosen:
        _check_index(layer, maps.layers, "layer")
    return {
        "text": maps.text, "pair": maps.pair, "model": maps.model, "tokens": maps.tokens, "special": maps.special,
        "layers": maps.layers, "heads": maps.heads,
        "matrices": {str(layer): base64.b64encode(maps.matrices[layer].astype("<f2").tobytes()).decode("ascii")
                     for layer in chosen},
    }
