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
from faithlab.explain.groups import FeatureGrouping, encode_grouped
from faithlab.explain.settings import DEFAULT_MEMBERS, MethodSettings, NoSettings
from faithlab.models import Batch, Classifier
from faithlab.models.classifier import Target
from faithlab.models.windows import COMBINATION_RULE, shared_window_rows
from faithlab.schema import validate


@dataclass
class Attributions:
    """Scores for every row of a batch, (rows, width); padding positions are ignored. Extras are per row, and so are
    `warnings`: what a user must know about a row's scores (empty, or one list per row)."""

    scores: torch.Tensor
    extras: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[list[str]] = field(default_factory=list)


class Explainer:
    """Base class of every explainer, and the contract each one keeps (checked for all of them by
    tests/explain/test_contract.py).

    `__init__(classifier, **settings)` validates every setting through the class's `Settings` schema (a bad one
    raises one `FaithlabError` naming the value and the valid choices); `options` holds the typed values and
    `settings` all resolved settings as a plain dict, which `settings_key()` turns into the cache key.

    `attribute(batch, targets)` returns `Attributions`: `scores` (rows, width), one score per token position of
    every row for that row's target class (padding ignored; special tokens are shown as `package` decides), higher
    meaning more evidence for the target; `extras`, empty or one dict per row of JSON-ready per-row diagnostics
    (convergence delta, evaluations spent...). A row's scores depend on that row alone, never on what else is in the
    batch (equal up to float32 rounding when the widths differ).

    `prepare(batch, target)` is an optional fast path: `explain_batch` calls it only while `batch.cache.logits` is
    None, before the targets are known. A method whose own first pass runs the unperturbed input may run that pass
    here, set `batch.cache.logits` from it (so the prediction costs no pass of its own) and leave the rest for
    `attribute` with `batch.cache.put_prepared(self, targets, ...)`; `attribute` claims it with `take_prepared`
    (single use) and runs the pass itself when it is absent. A pass that needs the targets is skipped when `target`
    gives a row several classes ("all"). Invariant: `attribute` after `prepare` gives the same scores and extras
    as `attribute` on a batch with an empty cache, and leaves no prepared pass unclaimed. The cache holds
    references, never copies.

    Texts longer than the model's limit (`faithlab.models.windows`): `explain` encodes texts whole, and a batch
    holding a long text has `batch.window` set. An explainer with `reads_whole_text` False (the default: gradients,
    IG, LRP, attention) is then given the batch of the windows, with each window's text's target, and its scores
    are combined by `COMBINATION_RULE`; one with `reads_whole_text` True gets the whole batch and must run the
    model only through `Classifier.batch_logits` and the perturbation scorer (removal-based methods: features are
    removed from the whole text and its windows are run). `prepare` is skipped for such batches.

    Seeds: every random choice comes from a `seed` setting, through generators derived from the seed and what the
    row itself holds (its text, its number of features; never its position in the batch), so the same seed gives
    the same scores in any batch.

    Adding an explainer:
    1. Subclass `Explainer`, set `name`, decorate with `@register`, import its module in `faithlab/explain/__init__`.
    2. Declare its settings as a pydantic `Settings` schema in explain/settings.py (each default and set of choices
       once; cross-field rules as validators) and set it as the class's `Settings`: `Explainer.__init__` validates
       through it (a bad setting is one `FaithlabError` naming the value and the valid choices), keeps the typed
       values in `options` and all resolved settings as a plain dict in `settings`.
    3. Follow the shared conventions: the quantity explained is an `output` setting ('logit' by default) and
       removed tokens follow a `replacement` setting; the `output` and `replacement` properties state them (keys of
       `OUTPUTS` and `REPLACEMENTS` in explain/explanation.py) and every Explanation records them; override the
       properties where the method has no such setting. Scores are signed where the method is signed.
    4. Batch everything: all rows in one pass, cut by `Classifier.chunks` / `length_chunks`; no per-row model loop.
    5. Run passes that need no gradient under `torch.inference_mode()`; change the model only through a context
       manager of `faithlab.models` that restores it, also on error.
    6. Share passes through `batch.cache` (its named accessors); add `prepare` only if it saves a pass.
    7. Add cheap settings for it to SETTINGS in tests/explain/test_contract.py (the test fails without them), plus
       tests of its own numbers (a reference implementation, an axiom it satisfies).
    8. Give the class a docstring with what it computes and the paper, Args (each setting with its default, as
       "(default <repr>)"), Returns (scores and extras) and an Example on the doctest `model` (see the root
       conftest.py); tests/test_docstrings.py checks them and `faithlab methods NAME` prints them.

    Example:
        >>> explanation = get_explainer("occlusion", model, replacement="mask").explain(["a fine film"])[0]
        >>> explanation.scores.shape == (len(explanation.tokens),)
        True
    """

    name: ClassVar[str] = ""
    Settings: ClassVar[type[MethodSettings]] = NoSettings
    reads_whole_text: ClassVar[bool] = False  # see "Texts longer than the model's limit" above
    # why the method cannot explain a bfloat16/float16 model ("": it can); docs/devices.md has the measurements
    low_precision_refusal: ClassVar[str] = ""

    def __init__(self, classifier: Classifier, *, allow_low_precision: bool = False, **settings: Any):
        """`allow_low_precision` skips the refusal of a low-precision model (for measuring the error it causes)."""
        self.classifier = classifier
        self.options = validate(self.Settings, settings, f"bad settings for method '{self.name}': ")
        self.settings = self.options.resolved()
        if self.low_precision_refusal and not allow_low_precision:
            check_precision(self.name, self.low_precision_refusal, classifier.dtype)

    @property
    def output(self) -> str:
        """The quantity the scores explain: the `output` setting (methods without one override this)."""
        return self.settings["output"]

    @property
    def replacement(self) -> str:
        """How a feature is removed: the `replacement` setting, 'baseline:<b>' for a `baseline` setting, else
        'none' (nothing is removed)."""
        if "replacement" in self.settings:
            return self.settings["replacement"]
        if "baseline" in self.settings:
            return f"baseline:{self.settings['baseline']}"
        return "none"

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        raise NotImplementedError

    def prepare(self, batch: Batch, target: Target) -> None:
        """Optional fast path run while the batch's logits are unknown (see the class docstring); the default
        does nothing.
        """

    def explain(
        self,
        texts: str | Sequence[str],
        pairs: str | Sequence[str | None] | None = None,
        target: Target = None,
        groups: Sequence[FeatureGrouping | None] | None = None,
    ) -> list[Explanation]:
        """One Explanation per text (a single string is one text), per text and class when target='all'; `groups`
        (one `FeatureGrouping` or None per text) are the features of unit 'group'."""
        return explain_batch(self, encode_grouped(self.classifier, texts, pairs, groups), target)

    def settings_key(self) -> str:
        return json.dumps(self.settings, sort_keys=True, default=str)


def check_precision(method: str, reason: str, dtype: torch.dtype) -> None:
    """Refuse a model in a precision lower than float32 for a method whose guarantees it breaks (`reason`)."""
    if dtype in (torch.float32, torch.float64):
        return
    name = str(dtype).removeprefix("torch.")
    raise FaithlabError(
        f"method '{method}' refuses a {name} model: {reason}; load the model with dtype='float32' (CLI: --dtype "
        "float32) for this method, or explain the low-precision model with another method"
    )


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


@dataclass
class _Timed:
    """Attributions as kept in the batch cache, with the seconds their first computation took."""

    attributions: Attributions
    seconds: float


def _timed_attribute(explainer: Explainer, batch: Batch, targets: torch.Tensor) -> tuple[Attributions, float]:
    """The cached attributions and the seconds their first computation took."""
    timed = batch.cache.attributions(explainer, targets, _Timed)
    if timed is None:
        start = time.perf_counter()
        result = _attribute(explainer, batch, targets)
        timed = _Timed(result, time.perf_counter() - start)
        batch.cache.store_attributions(explainer, targets, timed)
    return timed.attributions, timed.seconds


def _attribute(explainer: Explainer, batch: Batch, targets: torch.Tensor) -> Attributions:
    """`explainer.attribute`, through the windows of a long batch unless the explainer reads whole texts (the
    class docstring); a long row's extras list its windows' extras, its warnings theirs without repeats."""
    if batch.window is None or explainer.reads_whole_text:
        return explainer.attribute(batch, targets)
    rows = shared_window_rows(explainer.classifier, batch)
    owner = torch.as_tensor(rows.owner, device=targets.device)
    result = cached_attribute(explainer, rows.batch, targets[owner])
    scores = rows.combine(result.scores, (len(batch), batch.input_ids.shape[1])).float()
    extras = [{"windows": [result.extras[k] for k in range(len(rows.owner)) if rows.owner[k] == row]}
              for row in range(len(batch))] if result.extras else []
    warnings = [list(dict.fromkeys(w for k, row_warnings in enumerate(result.warnings) if rows.owner[k] == row
                                   for w in row_warnings)) for row in range(len(batch))] if result.warnings else []
    return Attributions(scores, extras, warnings)


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
    expanded.cache.logits = classifier.batch_logits(batch)[rows]
    flat = [t for targets in per_row for t in targets]
    return expanded, torch.tensor(flat, device=batch.input_ids.device)


def explain_batch(explainer: Explainer, batch: Batch, target: Target = None) -> list[Explanation]:
    """Run one explainer on an encoded batch and package the results."""
    classifier = explainer.classifier
    start = time.perf_counter()
    if batch.cache.logits is None and batch.window is None:
        explainer.prepare(batch, target)
    prepared = time.perf_counter() - start
    check_finite_logits(classifier, batch)
    rows, targets = expand_targets(classifier, batch, target)
    # the cost of this method's own computation, also when an ensemble computed it earlier in the same run;
    # passes shared with another method (prediction, one backward for several gradient methods) count once
    result, seconds = _timed_attribute(explainer, rows, targets)
    seconds = (seconds + prepared) / max(1, len(rows))
    return package(explainer, rows, targets, result, seconds)


def check_finite_logits(classifier: Classifier, batch: Batch) -> None:
    """Stop before anything is explained when the model's logits hold NaN or inf: every method would explain them
    (attention, rollout and random without noticing)."""
    logits = classifier.batch_logits(batch).detach()
    bad = ~torch.isfinite(logits).all(dim=-1)
    if bool(bad.any()):
        row = int(bad.nonzero()[0])
        values = ", ".join(str(float(v)) for v in logits[row].flatten().tolist())
        raise FaithlabError(
            f"model '{classifier.name}' produced non-finite logits ({values}) for text {row} {batch.texts[row][:40]!r}"
            f" ({int(bad.sum())} of {len(batch)} texts); check the model's weights and inputs"
        )


def package(
    explainer: Explainer, batch: Batch, targets: torch.Tensor, result: Attributions, seconds: float
) -> list[Explanation]:
    """One Explanation per row, with the explainer's conventions; special tokens keep their scores."""
    classifier = explainer.classifier
    probabilities = classifier.probabilities(batch).cpu()
    scores = result.scores.detach().float().cpu()
    out = []
    for row in range(len(batch)):
        n = len(batch.tokens[row])
        row_scores = scores[row, :n]
        warnings = []
        if batch.truncated[row]:
            warnings.append(f"input longer than the model limit of {classifier.max_length} tokens was truncated")
        if not classifier.head_trained:
            warnings.append("the classification head is untrained: scores explain a random head")
        if result.warnings:
            warnings.extend(result.warnings[row])
        target = int(targets[row])
        windows = batch.window.spans(n) if batch.window is not None and n > batch.window.limit else []
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
                output=explainer.output,
                replacement=explainer.replacement,
                warnings=warnings,
                extras=result.extras[row] if result.extras else {},
                windows=windows,
                window_rule=COMBINATION_RULE if windows else None,
                granularity=explainer.settings.get("unit", "token"),
                token_groups=None if batch.token_groups is None else batch.token_groups[row],
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
    groups: Sequence[FeatureGrouping | None] | None = None,
) -> dict[str, list[Explanation]]:
    """Several methods on the same texts, sharing one encoding and the passes the methods have in common.

    An ensemble member that is also requested on its own takes that request's settings (unless the ensemble's
    `member_settings` say otherwise), so it is computed once. Two methods with the same name are an error. With
    `groups` (one `FeatureGrouping` or None per text), every removal-based method without a `unit` setting of its
    own removes the groups (unit 'group'), and every explanation records its text's groups.
    """
    requests = share_settings(methods if groups is None else [group_unit(m) for m in methods])
    if groups is not None:  # after sharing, so that a member requested alone keeps that request's settings
        requests = [group_members(name, settings) for name, settings in requests]
    explainers = [get_explainer(name, classifier, **settings) for name, settings in requests]
    names = [e.name for e in explainers]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise FaithlabError(f"methods {', '.join(twice)} requested twice; give each ensemble its own label")
    batch = encode_grouped(classifier, texts, pairs, groups)
    return {e.name: explain_batch(e, batch, target) for e in explainers}


def group_unit(method: str | tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """A request with unit 'group' where the method has a `unit` setting left unset."""
    name, settings = (method, {}) if isinstance(method, str) else (method[0].strip().lower(), dict(method[1] or {}))
    if "unit" in _registered(name).Settings.model_fields and "unit" not in settings:
        settings["unit"] = "group"
    return name, settings


def group_members(name: str, settings: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An ensemble request whose members with an unset `unit` setting get unit 'group'; other requests as they are."""
    if name != "ensemble":
        return name, settings
    own = {k.strip().lower(): dict(v) for k, v in (settings.get("member_settings") or {}).items()}
    grouped = dict(group_unit((m, own.get(m.strip().lower(), {}))) for m in settings.get("methods", DEFAULT_MEMBERS))
    return name, settings | {"member_settings": {m: s for m, s in grouped.items() if s}}
