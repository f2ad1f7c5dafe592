"""The uniform explainer interface and its registry.

Every explainer is constructed as `Explainer(classifier, **settings)` and called as
`explain(texts, pairs=None, target=None) -> list[Explanation]`. Subclasses implement only `attribute`, which scores
every token of every row of an encoded `Batch` for one target class per row, batched across rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from faithlab.errors import FaithlabError
from faithlab.explain.explanation import Explanation
from faithlab.explain.settings import DEFAULT_MEMBERS, MethodSettings, NoSettings
from faithlab.models import Batch, Classifier
from faithlab.models.classifier import Target
from faithlab.schema import validate


@dataclass
class Attributions:
    """Scores for every row of a batch, (rows, width); padding positions are ignored. Extras are per row."""

    scores: torch.Tensor
    extras: list[dict[str, Any]] = field(default_factory=list)


class Explainer:
    """Base class: settings are validated in `__init__` through the `Settings` schema, work happens in `attribute`.

    `options` holds the validated settings (typed), `settings` all of them that apply as a plain dict.
    """

    name: ClassVar[str] = ""
    Settings: ClassVar[type[MethodSettings]] = NoSettings

    def __init__(self, classifier: Classifier, **settings: Any):
        self.classifier = classifier
        self.options = validate(self.Settings, settings, f"bad settings for method '{self.name}': ")
        self.settings = self.options.resolved()

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        raise NotImplementedError

    def prepare(self, batch: Batch, target: Target) -> None:
        """Called while the batch's logits are still unknown: a method may fill the batch cache (the logits
        included) from its own pass, so that the prediction costs no pass of its own. Gradient methods run the
        forward with autograd on and go straight on to the backward. The default does nothing.
        """

    def explain(
        self, texts: Sequence[str], pairs: Sequence[str | None] | None = None, target: Target = None
    ) -> list[Explanation]:
        """One Explanation per text (per text and class when target='all')."""
        return explain_batch(self, self.classifier.encode(texts, pairs), target)

    def settings_key(self) -> str:
        return json.dumps(self.settings, sort_keys=True, default=str)


EXPLAINERS: dict[str, type[Explainer]] = {}


def register(cls: type[Explainer]) -> type[Explainer]:
    """Class decorator: make an explainer available by its `name`."""
    if not cls.name or cls.name in EXPLAINERS:
        raise ValueError(f"explainer name {cls.name!r} is empty or taken")
    EXPLAINERS[cls.name] = cls
    return cls


def get_explainer(name: str, classifier: Classifier, **settings: Any) -> Explainer:
    """An explainer by registered name, its settings validated through the method's `Settings` schema (an unknown
    key or a wrong type is a `FaithlabError` naming the setting and the valid ones)."""
    return _registered(name)(classifier, **settings)


def check_settings(name: str, settings: dict[str, Any], where: str | None = None) -> MethodSettings:
    """A method's settings checked against its schema before any model is loaded (the checks that need the model,
    e.g. whether it has a mask token, wait for `get_explainer`).

    Args:
        name: a registered method name.
        settings: the method's settings.
        where: the prefix of an error message (default: "bad settings for method '<name>': ").

    Returns:
        The validated settings.
    """
    prefix = f"bad settings for method '{name}': " if where is None else where
    return validate(_registered(name).Settings, settings, prefix)


def _registered(name: str) -> type[Explainer]:
    key = name.strip().lower()
    if key not in EXPLAINERS:
        raise FaithlabError(f"unknown method '{name}'; available: {', '.join(sorted(EXPLAINERS))}")
    return EXPLAINERS[key]


def cached_attribute(explainer: Explainer, batch: Batch, targets: torch.Tensor) -> Attributions:
    """`attribute`, computed once per batch, method, settings and targets (ensembles reuse their members' work)."""
    return _timed_attribute(explainer, batch, targets)[0]


def _timed_attribute(explainer: Explainer, batch: Batch, targets: torch.Tensor) -> tuple[Attributions, float]:
    """The cached attributions and the seconds their first computation took."""
    key = ("attributions", explainer.name, explainer.settings_key(), tuple(targets.tolist()))
    if key not in batch.cache:
        start = time.perf_counter()
        result = explainer.attribute(batch, targets)
        batch.cache[key] = (result, time.perf_counter() - start)
    return batch.cache[key]


def single_targets(classifier: Classifier, target: Target, logits: torch.Tensor) -> torch.Tensor | None:
    """Each row's one target class from its logits, or None when `target` gives a row several ("all")."""
    per_row = classifier.resolve_targets(target, torch.softmax(logits.detach().float(), dim=-1))
    if any(len(t) != 1 for t in per_row):
        return None
    return torch.tensor([t[0] for t in per_row], device=logits.device)


def expand_targets(classifier: Classifier, batch: Batch, target: Target) -> tuple[Batch, torch.Tensor]:
    """The batch with one row per (text, target class) and the target of each row."""
    probabilities = classifier.probabilities(batch)
    per_row = classifier.resolve_targets(target, probabilities)
    if all(len(t) == 1 for t in per_row):
        return batch, torch.tensor([t[0] for t in per_row], device=batch.input_ids.device)
    rows = [r for r, targets in enumerate(per_row) for _ in targets]
    expanded = batch.select(rows)
    expanded.cache["logits"] = classifier.batch_logits(batch)[rows]
    flat = [t for targets in per_row for t in targets]
    return expanded, torch.tensor(flat, device=batch.input_ids.device)


def explain_batch(explainer: Explainer, batch: Batch, target: Target = None) -> list[Explanation]:
    """Run one explainer on an encoded batch and package the results."""
    classifier = explainer.classifier
    start = time.perf_counter()
    if "logits" not in batch.cache:
        explainer.prepare(batch, target)
    prepared = time.perf_counter() - start
    rows, targets = expand_targets(classifier, batch, target)
    # the cost of this method's own computation, also when an ensemble computed it earlier in the same run;
    # passes shared with another method (prediction, one backward for several gradient methods) count once
    result, seconds = _timed_attribute(explainer, rows, targets)
    seconds = (seconds + prepared) / max(1, len(rows))
    return package(explainer, rows, targets, result, seconds)


def package(
    explainer: Explainer, batch: Batch, targets: torch.Tensor, result: Attributions, seconds: float
) -> list[Explanation]:
    classifier = explainer.classifier
    probabilities = classifier.probabilities(batch).cpu()
    scores = result.scores.detach().float().cpu()
    out = []
    for row in range(len(batch)):
        n = len(batch.tokens[row])
        row_scores = scores[row, :n].clone()
        row_scores[batch.special_mask[row, :n].cpu()] = 0.0
        warnings = []
        if batch.truncated[row]:
            warnings.append(f"input longer than the model limit of {classifier.max_length} tokens was truncated")
        if not classifier.head_trained:
            warnings.append("the classification head is untrained: scores explain a random head")
        target = int(targets[row])
        out.append(
            Explanation(
                text=batch.texts[row],
                pair=batch.pairs[row],
                tokens=batch.tokens[row],
                scores=row_scores.numpy(),
                word_ids=batch.word_ids[row],
                words=batch.words[row],
                target=target,
                target_name=classifier.labels[target],
                method=explainer.name,
                settings=dict(explainer.settings),
                probabilities=probabilities[row].tolist(),
                labels=list(classifier.labels),
                model=classifier.name,
                seconds=seconds,
                warnings=warnings,
                extras=result.extras[row] if result.extras else {},
            )
        )
    return out


def share_settings(methods: Sequence[str | tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """(name, settings) per request; an ensemble's members take the settings of the same method requested alone."""
    requests = [(m, {}) if isinstance(m, str) else (m[0].strip().lower(), dict(m[1] or {})) for m in methods]
    own = {name: settings for name, settings in requests if name != "ensemble"}
    for name, settings in requests:
        members = settings.get("methods", DEFAULT_MEMBERS)
        if name == "ensemble" and not isinstance(members, str):
            inherited = {m: own[m] for m in members if own.get(m)}
            if inherited:
                settings["member_settings"] = inherited | dict(settings.get("member_settings") or {})
    return requests


def explain_many(
    classifier: Classifier,
    texts: Sequence[str],
    methods: Sequence[str | tuple[str, dict[str, Any]]],
    pairs: Sequence[str | None] | None = None,
    target: Target = None,
) -> dict[str, list[Explanation]]:
    """Several methods on the same texts, sharing one encoding and the passes the methods have in common.

    An ensemble member that is also requested on its own takes that request's settings (unless the ensemble's
    `member_settings` say otherwise), so it is computed once. Two methods with the same name are an error.
    """
    explainers = [get_explainer(name, classifier, **settings) for name, settings in share_settings(methods)]
    names = [e.name for e in explainers]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise FaithlabError(f"methods {', '.join(twice)} requested twice; give each ensemble its own label")
    batch = classifier.encode(texts, pairs)
    return {e.name: explain_batch(e, batch, target) for e in explainers}
