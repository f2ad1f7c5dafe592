"""Length-bucketed batches: every example once per epoch, less padding, the same order for the same seed."""

from __future__ import annotations

import numpy as np
import torch

from faithlab.train.batching import EncodedSplit, batch_order, collate


def padded_tokens(batches: list[np.ndarray], lengths: np.ndarray) -> int:
    return sum(len(rows) * lengths[rows].max() for rows in batches)


def test_bucketed_epoch_covers_every_row_once_with_less_padding():
    lengths = np.random.default_rng(0).integers(3, 60, size=1000)
    bucketed = batch_order(lengths, 32, seed=1, bucket=True)
    shuffled = batch_order(lengths, 32, seed=1, bucket=False)
    for batches in (bucketed, shuffled):
        assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    assert padded_tokens(bucketed, lengths) < 0.6 * padded_tokens(shuffled, lengths)


def test_order_depends_only_on_the_seed():
    lengths = np.arange(100) % 17
    same = [batch_order(lengths, 8, seed=4, bucket=True) for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(*same, strict=True))
    other = batch_order(lengths, 8, seed=5, bucket=True)
    assert not all(np.array_equal(a, b) for a, b in zip(same[0], other, strict=True))


def test_collate_pads_to_the_longest_row_only():
    split = EncodedSplit([np.array([5, 6, 7]), np.array([8]), np.array([1, 2, 3, 4, 9])],
                         [np.array([0, 0, 1]), np.array([0]), np.zeros(5, dtype=np.int64)], np.array([0, 1, 0]))
    batch = collate(split, np.array([0, 1]), pad_id=0, device=torch.device("cpu"))
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["token_type_ids"].tolist() == [[0, 0, 1], [0, 0, 0]]
