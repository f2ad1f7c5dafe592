"""Attention matrices of texts, read from the model and written as NPZ or safetensors.

This is the one place the attention views' data (`faithlab.report.attention_views.AttentionMaps`) is computed from
a classifier: the pass that predicts also returns every layer's attention (`Classifier.attentions`), and only the
real tokens of each text are kept, in float16. `write_attention` stores one array per text and layer, heads ×
tokens × tokens, so a reader can load a single layer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from faithlab.errors import FaithlabError
from faithlab.models import Classifier
from faithlab.report.attention_views import AttentionMaps

FORMATS = {".npz": "npz", ".safetensors": "safetensors"}


def attention_maps(
    classifier: Classifier, texts: Sequence[str], pairs: Sequence[str | None] | None = None
) -> list[AttentionMaps]:
    """Every layer's and head's attention over each text's real tokens.

    Args:
        classifier: the model.
        texts: the texts (and `pairs`, the pair texts, or None).

    Returns:
        One `AttentionMaps` per text, in order.
    """
    batch = classifier.encode(list(texts), None if pairs is None else list(pairs))
    layers = classifier.attentions(batch)
    stacked = np.stack([layer.float().cpu().numpy() for layer in layers], axis=1)  # rows, layers, heads, q, k
    out = []
    for row, length in enumerate(batch.lengths.tolist()):
        out.append(AttentionMaps(
            text=batch.texts[row], pair=batch.pairs[row], tokens=list(batch.tokens[row][:length]),
            special=[w is None for w in batch.word_ids[row][:length]],
            matrices=stacked[row, :, :, :length, :length], model=classifier.name,
        ))
    return out


def write_attention(maps: Sequence[AttentionMaps], path: str | os.PathLike) -> Path:
    """Write attention maps to `path` (.npz or .safetensors, by suffix).

    Keys are `text{i}/layer{l}` (float16, heads × tokens × tokens); in NPZ `text{i}/text`, `text{i}/tokens` and
    `text{i}/special` hold the text and its tokens, in safetensors the file's metadata holds them (JSON under 'texts').

    Args:
        maps: from `attention_maps`.
        path: the file to write.

    Returns:
        The path written.
    """
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise FaithlabError(f"cannot write attention to '{path}': use a file ending in {' or '.join(FORMATS)}")
    arrays = {f"text{i}/layer{layer}": np.ascontiguousarray(m.matrices[layer])
              for i, m in enumerate(maps) for layer in range(m.layers)}
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "npz":
        for i, m in enumerate(maps):
            arrays[f"text{i}/text"] = np.array(m.text)
            arrays[f"text{i}/tokens"] = np.array(m.tokens, dtype=str)
            arrays[f"text{i}/special"] = np.array(m.special, dtype=bool)
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)
    else:
        from safetensors.numpy import save_file

        texts = [{"text": m.text, "pair": m.pair, "tokens": m.tokens, "special": m.special} for m in maps]
        save_file(arrays, str(path), metadata={"texts": json.dumps(texts), "model": maps[0].model if maps else ""})
    return path


def read_attention(path: str | os.PathLike) -> list[AttentionMaps]:
    """The maps `write_attention` wrote to an NPZ file (pair texts are not stored there)."""
    with np.load(Path(path), allow_pickle=False) as data:
        count = sum(1 for key in data.files if key.endswith("/tokens"))
        out = []
        for i in range(count):
            prefix = f"text{i}/layer"
            layers = sorted((k for k in data.files if k.startswith(prefix)), key=lambda k: int(k[len(prefix):]))
            out.append(AttentionMaps(str(data[f"text{i}/text"]), None, data[f"text{i}/tokens"].tolist(),
                                     data[f"text{i}/special"].tolist(), np.stack([data[k] for k in layers])))
    return out
