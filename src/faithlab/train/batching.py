"""Pre-tokenised splits, length-bucketed batch order and dynamic padding.

Each split is tokenised once. An epoch's order is a seeded shuffle; with bucketing, windows of 50 batches are
sorted by length before being cut into batches, and the batches are shuffled again, so a batch pads to a length
close to its longest member while the epoch stays random (the "bucket iterator" of torchtext, in spirit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

BUCKET_WINDOW = 50


@dataclass
class EncodedSplit:
    """Token ids (and segment ids where the family uses them) per example, unpadded, with the labels."""

    ids: list[np.ndarray]
    segments: list[np.ndarray] | None
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(ids) for ids in self.ids])


def encode_split(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    pairs: Sequence[str | None],
    labels: Sequence[int],
    max_length: int,
    with_segments: bool,
) -> EncodedSplit:
    pair_arg = list(pairs) if pairs and pairs[0] is not None else None
    enc = tokenizer(list(texts), pair_arg, truncation=True, max_length=max_length)
    segments = None
    if with_segments and "token_type_ids" in enc:
        segments = [np.asarray(s, dtype=np.int64) for s in enc["token_type_ids"]]
    return EncodedSplit(
        [np.asarray(ids, dtype=np.int64) for ids in enc["input_ids"]], segments, np.asarray(labels, dtype=np.int64)
    )


def batch_order(lengths: np.ndarray, batch_size: int, seed: int, bucket: bool) -> list[np.ndarray]:
    """The rows of each batch of one epoch, fixed by `seed` (so a resumed epoch replays the same batches)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    if bucket:
        window = batch_size * BUCKET_WINDOW
        parts = [order[start : start + window] for start in range(0, len(order), window)]
        order = np.concatenate([part[np.argsort(lengths[part], kind="stable")] for part in parts])
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    if bucket:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def length_sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Batches for inference: rows sorted by length, so padding is minimal (callers restore the order)."""
    order = np.argsort(lengths, kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def collate(split: EncodedSplit, rows: np.ndarray, pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-padded tensors for `rows`, as wide as their longest member (dynamic padding)."""
    width = max(len(split.ids[r]) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    segments = torch.zeros((len(rows), width), dtype=torch.long) if split.segments is not None else None
    for i, r in enumerate(rows):
        n = len(split.ids[r])
        ids[i, :n] = torch.from_numpy(split.ids[r])
        mask[i, :n] = 1
        if segments is not None:
            segments[i, :n] = torch.from_numpy(split.segments[r])
    batch = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
    if segments is not None:
        batch["token_type_ids"] = segments.to(device)
    return batch
