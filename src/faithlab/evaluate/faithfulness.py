"""Removal-based faithfulness: comprehensiveness, sufficiency, perturbation curves and leave-one-out agreement.

- Comprehensiveness / sufficiency (DeYoung et al. 2020, ERASER): p(y|x) − p(y|x without the top-k tokens) and
  p(y|x) − p(y|only the top-k tokens), y = the explanation's target, averaged over the fractions (default 1, 5, 10,
  20, 50 %) with k = ceil(fraction × content tokens), at least 1. Ranks are by signed score; ties keep the earlier
  token first.
- Perturbation curves (Samek et al. 2017): the confidence of the originally predicted class as content tokens are
  removed one at a time, most relevant first (MoRF) or least relevant first (LeRF, the exact reverse order); the
  area under each curve uses x = fraction removed in [0, 1] (trapezoid rule). A MoRF curve is 'sharp' when by
  x = 0.2 (linearly interpolated) it has fallen by at least half of its largest drop below the start, 'gradual'
  otherwise, and undefined ('flat', NaN) when it never drops by more than 1e-3.
- Leave-one-out agreement: Spearman and Kendall tau-b between the scores and p(y|x) − p(y|x without token t),
  computed once per example and target for all methods.

Removal replaces tokens by the mask or pad (or unk) token, or deletes them; special tokens are never removed. With
`unit` other than 'token' (`faithlab.explain.features`), the removed things are features (words, sentences, user
groups): k, the curves' steps and leave-one-out count features, and a feature's score is the explanation's own for
it (at the granularity it was made) or the sum of its tokens' scores. A text longer than the model's limit is removed
from whole and read through its windows (`faithlab.models.windows`). Every
perturbed input of an example (all fractions, curve steps, leave-one-out rows, of every method) goes through the
shared scorer of `faithlab.explain.perturbation` in one batched call (for all examples at once, unless their masks
would exceed `MAX_MASK_CELLS`) that runs each distinct input once; the unperturbed prediction is computed once per
example.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from faithlab.errors import FaithlabError
from faithlab.evaluate.ranking import descending_order, rank_correlation
from faithlab.evaluate.results import Explanations, Row, by_method
from faithlab.explain.explanation import Explanation
from faithlab.explain.features import UNITS
from faithlab.explain.groups import FeatureGrouping, as_groupings, encode_grouped
from faithlab.explain.perturbation import check_choice, feature_groups, score_masks
from faithlab.explain.settings import REPLACEMENTS
from faithlab.models import Batch, Classifier

FRACTIONS = (0.01, 0.05, 0.10, 0.20, 0.50)
PARTS = ("eraser", "curves", "loo")
SHARP_AT = 0.2
SHARP_SHARE = 0.5
FLAT_DROP = 1e-3
# Examples are scored together until their masks hold this many entries (bounds memory on long documents).
MAX_MASK_CELLS = 1 << 24


def top_k_size(fraction: float, n_tokens: int) -> int:
    """k = ceil(fraction × n), at least 1 and at most n (rounded to 9 decimals first, so 0.05 × 20 is 1, not 2)."""
    return min(n_tokens, max(1, math.ceil(round(fraction * n_tokens, 9))))


def curve_counts(n_tokens: int, steps: int | None) -> np.ndarray:
    """How many tokens are removed at each point of a curve: every count 0..n, or `steps` + 1 evenly spaced ones."""
    if steps is None or steps >= n_tokens:
        return np.arange(n_tokens + 1)
    return np.unique(np.round(np.linspace(0, n_tokens, steps + 1)).astype(int))


def curve_shape(
    x: np.ndarray, confidence: np.ndarray, *, at: float = SHARP_AT, share: float = SHARP_SHARE, flat: float = FLAT_DROP
) -> float:
    """1.0 for a sharp curve, 0.0 for a gradual one, NaN for a flat one (rule in the module docstring; the
    thresholds are arguments so that views can label MoRF and LeRF curves with their own)."""
    start = confidence[0]
    total = start - confidence.min()
    if total <= flat:
        return float("nan")
    early = start - min(confidence[x <= at].min(), np.interp(at, x, confidence))
    return float(early >= share * total)


@dataclass
class _Plan:
    """The masks of one example, (n_masks, n_tokens) keep-flags, and where each method's masks start."""

    masks: list[np.ndarray]
    offsets: dict[str, int]

    def add(self, key: str, keep: np.ndarray) -> None:
        self.offsets[key] = sum(len(m) for m in self.masks)
        self.masks.append(keep)

    @property
    def cells(self) -> int:
        return sum(m.size for m in self.masks)


def evaluate_faithfulness(
    classifier: Classifier,
    explanations: Explanations,
    *,
    fractions: Sequence[float] = FRACTIONS,
    replacement: str = "mask",
    parts: Sequence[str] = PARTS,
    curve_steps: int | None = None,
    unit: str = "token",
    groups: Sequence[FeatureGrouping | None] | None = None,
) -> list[Row]:
    """Removal-based faithfulness of every method's explanation of every example (rules in the module docstring).

    Comprehensiveness and sufficiency (DeYoung et al. 2020, ERASER), perturbation curves (Samek et al. 2017) and
    agreement with leave-one-out occlusion (as in Jain & Wallace 2019): does removing what an explanation ranks
    highest change the prediction most? All perturbed inputs of all methods run in one batched scorer call.

    Args:
        classifier: the model that produced the explanations (their tokens must match its tokenizer's).
        explanations: one method's list, or a mapping method → list aligned by example.
        fractions: the top-k fractions of content tokens ERASER's metrics average over, each in (0, 1]
            (default (0.01, 0.05, 0.1, 0.2, 0.5)).
        replacement: how removed tokens are replaced: 'mask', 'pad', 'unk', or 'delete' (default 'mask').
        parts: which metric groups to compute: 'eraser', 'curves', 'loo' (default ('eraser', 'curves', 'loo')).
        curve_steps: points of each perturbation curve: None removes one token per point, an integer coarsens to
            that many evenly spaced points (default None).
        unit: the feature removed together: 'token', 'word', 'whitespace', 'sentence' or 'group' (default
            'token'). 'group' removes user groups: `groups`, or those the explanations were made with.
        groups: one `FeatureGrouping` (or None) per example, the features of unit 'group' (default None: the
            groups each explanation recorded).

    Returns:
        `Row`s, one per example, method and metric. 'eraser': comprehensiveness (target probability drop without
        the top-k tokens, higher is better) and sufficiency (drop with only them kept, lower is better), both in
        [−1, 1] with the per-fraction drops in `details`. 'curves': auc_morf (lower is better), auc_lerf (higher),
        curve_gap = auc_lerf − auc_morf (higher) and morf_sharp (1 sharp, 0 gradual, NaN flat), with each curve in
        `details`. 'loo': loo_spearman and loo_kendall in [−1, 1] (higher is better). `settings` records how the
        value was measured. `faithlab.evaluate.METRICS` has each metric's range, direction and paper.

    Example:
        >>> result = fl.explain(model, ["a warm and funny film", "dull and slow"], methods=["grad_x_input", "random"])
        >>> rows = evaluate_faithfulness(model, result.flat(), parts=["eraser"])
        >>> sorted({(row.method, row.metric) for row in rows})
        [('grad_x_input', 'comprehensiveness'), ('grad_x_input', 'sufficiency'), ('random', 'comprehensiveness'),
         ('random', 'sufficiency')]
    """
    settings = _check(fractions, replacement, parts, curve_steps, unit)
    if groups is not None and unit != "group":
        raise FaithlabError(f"groups are the features of unit 'group'; pass unit='group' with them (got unit={unit!r})")
    encoded = encode_examples(classifier, explanations, groups)
    if encoded is None:
        return []
    methods, examples, batch = encoded.methods, encoded.examples, encoded.batch
    groups = feature_groups(batch, unit)
    rows: list[Row] = []
    pending: list[tuple[int, _Plan]] = []
    cells = 0
    for row in range(len(examples)):
        plan = _plan(row, methods, groups[row], settings)
        pending.append((row, plan))
        cells += plan.cells
        if row == len(examples) - 1 or cells >= MAX_MASK_CELLS:
            rows += _score(classifier, batch, groups, pending, methods, settings)
            pending, cells = [], 0
    return rows


def _score(
    classifier: Classifier,
    batch: Batch,
    groups: list[list[list[int]]],
    plans: list[tuple[int, _Plan]],
    methods: dict[str, list[Explanation]],
    settings: dict[str, object],
) -> list[Row]:
    """One scorer call for the masks of some examples (all of them, unless their masks would fill memory)."""
    indices = [row for row, _ in plans]
    part = batch.select(indices)
    masks = [torch.as_tensor(np.concatenate(plan.masks)) for _, plan in plans]
    scored = score_masks(classifier, part, [groups[row] for row in indices], masks, settings["replacement"])
    probabilities = torch.softmax(classifier.batch_logits(part).double(), dim=-1).cpu().numpy()
    rows = []
    for i, (row, plan) in enumerate(plans):
        perturbed = torch.softmax(scored.logits[i].double(), dim=-1).numpy()
        rows += _rows(row, methods, groups[row], plan, probabilities[i], perturbed, settings)
    return rows


def _check(
    fractions: Sequence[float], replacement: str, parts: Sequence[str], curve_steps: int | None, unit: str
) -> dict[str, object]:
    check_choice("replacement", replacement, REPLACEMENTS)
    check_choice("unit", unit, UNITS)
    fractions = [float(f) for f in fractions]
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise FaithlabError(f"fractions must be numbers in (0, 1], got {fractions}")
    if not parts:
        raise FaithlabError(f"parts is empty; choose some of {', '.join(PARTS)}")
    for part in parts:
        check_choice("faithfulness part", part, PARTS)
    if curve_steps is not None and (isinstance(curve_steps, bool) or not isinstance(curve_steps, int)
                                    or curve_steps < 1):
        raise FaithlabError(f"curve_steps must be None or an integer >= 1, got {curve_steps!r}")
    k = ("ceil(fraction * content tokens), >= 1" if unit == "token"
         else "ceil(fraction * features: groups and tokens outside them), >= 1" if unit == "group"
         else f"ceil(fraction * {unit}s), >= 1")
    return {"replacement": replacement, "fractions": fractions, "k": k, "parts": list(parts),
            "curve_steps": curve_steps, "unit": unit}


@dataclass
class Encoded:
    """Explanations aligned by example (method -> list), the explanation standing for each example, and one batch
    of the examples as the classifier encodes them."""

    methods: dict[str, list[Explanation]]
    examples: list[Explanation]
    batch: Batch


def encode_examples(
    classifier: Classifier, explanations: Explanations, groups: Sequence[FeatureGrouping | None] | None = None
) -> Encoded | None:
    """The examples of aligned explanations encoded once, after checking every method explains the same inputs with
    the classifier's own tokens; None when there is nothing to evaluate. The batch and every explanation carry the
    user groups of `groups` (one `FeatureGrouping` or None per example), else those the explanations recorded."""
    methods = by_method(explanations)
    if not methods:
        return None
    examples = _examples(methods)
    groupings = None if groups is None else as_groupings(groups, len(examples))
    batch = encode_grouped(classifier, [e.text for e in examples], [e.pair for e in examples], groupings)
    for row, example in enumerate(examples):
        _check_tokens(example, batch.tokens[row], classifier.name)
    if batch.token_groups is None and any(e.token_groups is not None for e in examples):
        batch.token_groups = [e.token_groups for e in examples]
    if batch.token_groups is not None:
        methods = {name: [_regrouped(e, batch.token_groups[row]) for row, e in enumerate(items)]
                   for name, items in methods.items()}
    return Encoded(methods, examples, batch)


def _regrouped(explanation: Explanation, token_groups: list[int | None] | None) -> Explanation:
    """The explanation read with `token_groups`; one that removed other groups than these cannot be."""
    if explanation.token_groups == token_groups:
        return explanation
    if explanation.granularity == "group":
        raise FaithlabError(f"the '{explanation.method}' explanation of {explanation.text[:40]!r} removed other "
                            "groups than the ones evaluated; evaluate it with the groups it was made with")
    return replace(explanation, token_groups=token_groups)


def _examples(methods: dict[str, list[Explanation]]) -> list[Explanation]:
    """The first method's explanation of each example, after checking every method explains the same input."""
    names = list(methods)
    first = methods[names[0]]
    for name in names[1:]:
        for i, (a, b) in enumerate(zip(first, methods[name], strict=True)):
            if (a.text, a.pair, a.tokens) != (b.text, b.pair, b.tokens):
                raise FaithlabError(f"example {i}: '{names[0]}' and '{name}' explain different inputs")
    return first


def _check_tokens(explanation: Explanation, tokens: list[str], model: str) -> None:
    if explanation.tokens != tokens:
        raise FaithlabError(
            f"the '{explanation.method}' explanation of {explanation.text[:40]!r} has other tokens than model "
            f"'{model}' produces; evaluate explanations with the classifier that made them"
        )


def _plan(
    row: int,
    methods: dict[str, list[Explanation]],
    groups: list[list[int]],
    settings: dict[str, object],
) -> _Plan:
    """Every keep-mask the example needs. Masks are written over its content tokens, in position order."""
    positions = [g[0] for g in groups]
    n = len(positions)
    plan = _Plan([], {})
    parts = settings["parts"]
    if "loo" in parts:
        plan.add("loo", ~np.eye(n, dtype=bool))
    ks = np.array([top_k_size(f, n) for f in settings["fractions"]])[:, None]
    counts = curve_counts(n, settings["curve_steps"])[:, None]
    for name, items in methods.items():
        scores = items[row].feature_scores(settings["unit"])
        rank = np.empty(n, dtype=int)
        rank[descending_order(scores)] = np.arange(n)
        if "eraser" in parts:
            plan.add(f"{name}/comprehensiveness", rank[None, :] >= ks)
            plan.add(f"{name}/sufficiency", rank[None, :] < ks)
        if "curves" in parts:
            plan.add(f"{name}/morf", rank[None, :] >= counts)
            plan.add(f"{name}/lerf", (n - 1 - rank)[None, :] >= counts)
    return plan


def _rows(
    row: int,
    methods: dict[str, list[Explanation]],
    groups: list[list[int]],
    plan: _Plan,
    base: np.ndarray,
    perturbed: np.ndarray,
    settings: dict[str, object],
) -> list[Row]:
    """Turn one example's perturbed probabilities into result rows for every method."""
    positions = [g[0] for g in groups]
    counts = curve_counts(len(positions), settings["curve_steps"])

    def block(key: str, size: int) -> np.ndarray:
        return perturbed[plan.offsets[key] : plan.offsets[key] + size]

    out = []
    for name, items in methods.items():
        explanation = items[row]
        target = explanation.target
        values: list[tuple[str, float, dict[str, object]]] = []
        if "eraser" in settings["parts"]:
            for metric in ("comprehensiveness", "sufficiency"):
                drops = base[target] - block(f"{name}/{metric}", len(settings["fractions"]))[:, target]
                values.append((metric, drops.mean(), {"per_fraction": drops.tolist()}))
        if "curves" in settings["parts"]:
            predicted = int(base.argmax())
            morf = block(f"{name}/morf", len(counts))[:, predicted]
            lerf = block(f"{name}/lerf", len(counts))[:, predicted]
            values += _curve_values(counts / max(1, len(positions)), morf, lerf, predicted)
        if "loo" in settings["parts"]:
            loo = base[target] - block("loo", len(positions))[:, target]
            scores = explanation.feature_scores(settings["unit"])
            values += [(f"loo_{kind}", rank_correlation(scores, loo, kind), {}) for kind in ("spearman", "kendall")]
        record = dict(settings, target=target)
        out += [Row(row, name, metric, float(v), dict(record), details) for metric, v, details in values]
    return out


def _curve_values(
    x: np.ndarray, morf: np.ndarray, lerf: np.ndarray, predicted: int
) -> list[tuple[str, float, dict[str, object]]]:
    morf_area, lerf_area = _area(x, morf), _area(x, lerf)
    curve = {"x": x.tolist(), "predicted": predicted}
    return [
        ("auc_morf", morf_area, {**curve, "confidence": morf.tolist()}),
        ("auc_lerf", lerf_area, {**curve, "confidence": lerf.tolist()}),
        ("curve_gap", lerf_area - morf_area, {}),
        ("morf_sharp", curve_shape(x, morf), {"rule": f"fell by >= {SHARP_SHARE} of its largest drop by x={SHARP_AT}"}),
    ]


def _area(x: np.ndarray, y: np.ndarray) -> float:
    """Trapezoid area under y(x); a single point (no content token) has no curve."""
    return float(np.trapezoid(y, x)) if len(x) > 1 else float("nan")

