"""Normalized AOPC (Edin et al. 2024, 'Normalized AOPC: Fixing Misleading Faithfulness Metrics for Feature
Attribution Explainability').

For an ordering σ of the n content tokens and y the explanation's target, with p the target probability:
- AOPC_comp(σ) = 1/(n+1) Σ_{k=0..n} [p(x) − p(x without σ_1..σ_k)]  (most important removed first);
- AOPC_suff(σ) = 1/(n+1) Σ_{k=0..n} [p(x) − p(x with only σ_1..σ_k)], which is AOPC_comp of the reversed ordering.
How large an AOPC can be depends on the model and the input, so raw values do not compare across models. NAOPC
divides out the input's own bounds, the lowest and highest AOPC_comp over all n! orderings (the same bounds serve
sufficiency, since reversal maps orderings onto orderings): NAOPC = (AOPC − lower) / (upper − lower), in [0, 1];
comprehensiveness is higher-is-better, sufficiency lower-is-better; NaN when upper = lower.

Bounds: for inputs of at most `exact_max_tokens` content tokens they are exact, from every subset's removal
(2^n inputs) and a best/worst path through the subset lattice (the same optimum as brute force over the n!
permutations, at 2^n cost); longer inputs use the paper's beam-search approximation (`beam_size` orderings kept per
step, one batched pass per step for all examples), widened to include the explanation's own two orderings so the
value stays in [0, 1]. Tokens are removed as `replacement` says (`faithlab.explain.perturbation`); all inputs of
one stage go through one deduplicated batched scorer.
"""

from __future__ import annotations

import numpy as np
import torch

from faithlab.evaluate.faithfulness import encode_examples
from faithlab.evaluate.ranking import descending_order
from faithlab.evaluate.results import Explanations, Row
from faithlab.explain.perturbation import check_choice, check_count, feature_groups, score_masks
from faithlab.explain.settings import REPLACEMENTS
from faithlab.models import Batch, Classifier

EMPTY_RANGE = 1e-12


def evaluate_normalized_aopc(
    classifier: Classifier,
    explanations: Explanations,
    *,
    replacement: str = "mask",
    exact_max_tokens: int = 10,
    beam_size: int = 5,
) -> list[Row]:
    """Rows of naopc_comprehensiveness and naopc_sufficiency per method and example.

    Args:
        classifier: the classifier that made the explanations.
        explanations: one method's list, or method → list aligned by example.
        replacement: how removed tokens are replaced ('mask', 'pad', 'unk') or 'delete'.
        exact_max_tokens: inputs with at most this many content tokens get exact bounds (2^n removals each).
        beam_size: orderings kept per step by the beam search that bounds longer inputs.

    Returns:
        Rows whose details hold the raw AOPC, the lower and upper bound and how they were found ('exact'/'beam').
    """
    check_choice("replacement", replacement, REPLACEMENTS)
    check_count("exact_max_tokens", exact_max_tokens, 0)
    check_count("beam_size", beam_size, 1)
    encoded = encode_examples(classifier, explanations)
    if encoded is None:
        return []
    methods, examples, batch = encoded.methods, encoded.examples, encoded.batch
    groups = feature_groups(batch, "token")
    sizes = [len(g) for g in groups]
    masks = []
    for row in range(len(examples)):
        n = sizes[row]
        chains = [_chains(items[row].scores[[g[0] for g in groups[row]]]) for items in methods.values()]
        subsets = [_subset_masks(n)] if n <= exact_max_tokens else []
        masks.append(torch.as_tensor(np.concatenate([m for pair in chains for m in pair] + subsets)))
    scored = score_masks(classifier, batch, groups, masks, replacement)
    base = torch.softmax(classifier.batch_logits(batch).double(), dim=-1).cpu().numpy()
    perturbed = [torch.softmax(logits.double(), dim=-1).numpy() for logits in scored.logits]
    rows = []
    long_rows = [row for row, n in enumerate(sizes) if n > exact_max_tokens]
    targets = {(row, items[row].target) for items in methods.values() for row in long_rows}
    beams = _beam_bounds(classifier, batch, groups, sorted(targets), base, replacement, beam_size)
    settings = {"replacement": replacement, "exact_max_tokens": exact_max_tokens, "beam_size": beam_size}
    for row in range(len(examples)):
        n = sizes[row]
        for m, (name, items) in enumerate(methods.items()):
            target = items[row].target
            drops = base[row, target] - perturbed[row][:, target]
            comp = drops[2 * m * (n + 1) : (2 * m + 1) * (n + 1)].mean()
            suff = drops[(2 * m + 1) * (n + 1) : (2 * m + 2) * (n + 1)].mean()
            if n <= exact_max_tokens:
                lower, upper = _exact_bounds(drops[2 * len(methods) * (n + 1) :], n)
                how = "exact"
            else:
                lower, upper = beams[(row, target)]
                lower, upper = min(lower, comp, suff), max(upper, comp, suff)
                how = "beam"
            for metric, aopc in (("naopc_comprehensiveness", comp), ("naopc_sufficiency", suff)):
                value = (aopc - lower) / (upper - lower) if upper - lower > EMPTY_RANGE else float("nan")
                details = {"aopc": float(aopc), "lower": float(lower), "upper": float(upper), "bounds": how}
                rows.append(Row(row, name, metric, float(value), dict(settings, target=target), details))
    return rows


def _chains(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep-masks of the explanation's comprehensiveness chain (top-k removed) and sufficiency chain (top-k kept),
    k = 0..n. Ranks are by signed score; ties keep the earlier token first."""
    n = len(scores)
    rank = np.empty(n, dtype=int)
    rank[descending_order(scores)] = np.arange(n)
    counts = np.arange(n + 1)[:, None]
    return rank[None, :] >= counts, rank[None, :] < counts


def _subset_masks(n: int) -> np.ndarray:
    """Keep-masks of every subset removal; row b removes token i when bit i of b is set."""
    bits = np.arange(1 << n)[:, None] >> np.arange(n)[None, :] & 1
    return bits == 0


def _exact_bounds(drops: np.ndarray, n: int) -> tuple[float, float]:
    """Lowest and highest AOPC over orderings: best and worst path from ∅ to all tokens in the subset lattice."""
    low, high = drops.copy(), drops.copy()
    for subset in range(1, 1 << n):
        below = [subset ^ (1 << i) for i in range(n) if subset >> i & 1]
        low[subset] += min(low[b] for b in below)
        high[subset] += max(high[b] for b in below)
    full = (1 << n) - 1
    return float(low[full] / (n + 1)), float(high[full] / (n + 1))


def _beam_bounds(
    classifier: Classifier,
    batch: Batch,
    groups: list[list[list[int]]],
    targets: list[tuple[int, int]],
    base: np.ndarray,
    replacement: str,
    beam_size: int,
) -> dict[tuple[int, int], tuple[float, float]]:
    """Beam-search bounds per (example, target): removal sets grown one token per step, the `beam_size` sets with
    the lowest (and highest) summed drops kept; each step scores every candidate of every example in one pass."""
    # per (row, target) and direction: removal set (bitmask) -> summed drop along the path that built it
    beams = {(key, sign): {0: 0.0} for key in targets for sign in (-1, 1)}
    sizes = {row: len(groups[row]) for row, _ in targets}
    for step in range(max(sizes.values(), default=0)):
        candidates: dict[int, list[int]] = {}
        for ((row, _), _), beam in beams.items():
            if step < sizes[row]:
                todo = {s | 1 << i for s in beam for i in range(sizes[row]) if not s >> i & 1}
                candidates.setdefault(row, []).extend(sorted(todo - set(candidates.get(row, []))))
        drops = _score_sets(classifier, batch, groups, candidates, base, replacement)
        for ((row, target), sign), beam in beams.items():
            if step >= sizes[row]:
                continue
            grown: dict[int, float] = {}
            for s, total in beam.items():
                for i in range(sizes[row]):
                    if not s >> i & 1:
                        new = s | 1 << i
                        value = total + drops[row][new][target]
                        if new not in grown or sign * value > sign * grown[new]:
                            grown[new] = value
            best = sorted(grown.items(), key=lambda kv: -sign * kv[1])[:beam_size]
            beams[((row, target), sign)] = dict(best)
    return {key: (min(beams[(key, -1)].values()) / (sizes[key[0]] + 1),
                  max(beams[(key, 1)].values()) / (sizes[key[0]] + 1)) for key in targets}


def _score_sets(
    classifier: Classifier,
    batch: Batch,
    groups: list[list[list[int]]],
    sets: dict[int, list[int]],
    base: np.ndarray,
    replacement: str,
) -> dict[int, dict[int, np.ndarray]]:
    """Per row, the drop of every class probability after removing each set (bitmask), in one batched pass."""
    rows = sorted(sets)
    part = batch.select(rows)
    masks = [torch.as_tensor(np.array([[not s >> i & 1 for i in range(len(groups[r]))] for s in sets[r]]))
             for r in rows]
    scored = score_masks(classifier, part, [groups[r] for r in rows], masks, replacement)
    out = {}
    for r, logits in zip(rows, scored.logits, strict=True):
        drops = base[r][None, :] - torch.softmax(logits.double(), dim=-1).numpy()
        out[r] = dict(zip(sets[r], drops, strict=True))
    return out
