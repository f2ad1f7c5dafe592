"""Random draws of the evaluators, seeded by the evaluator's seed and the example's own text (never its position),
so an example gets the same draws alone, in any batch and in any order."""

from __future__ import annotations

import hashlib

import numpy as np

from faithlab.explain.explanation import Explanation


def example_rng(seed: int, explanation: Explanation, *keys: str) -> np.random.Generator:
    """A generator for one example (its text and pair) and purpose (`keys`, e.g. the method and the draw's kind)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (explanation.text, explanation.pair or "", *keys):
        digest.update(part.encode() + b"\x00")
    words = np.frombuffer(digest.digest(), dtype=np.uint32).tolist()
    return np.random.default_rng([int(seed), *words])
