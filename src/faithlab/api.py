"""The public API: `load` a classifier, `explain` texts with one or more methods, `evaluate` the explanations.

Everything here is a thin, typed layer over `faithlab.models`, `faithlab.explain` and `faithlab.evaluate`: it adds
one call shape, single-string inputs and an explicit result structure, never a second implementation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from faithlab.errors import FaithlabError
from faithlab.evaluate import (
    evaluate_attack,
    evaluate_efficient_randomization,
    evaluate_faithfulness,
    evaluate_ffidelity,
    evaluate_ground_truth,
    evaluate_normalized_aopc,
    evaluate_plausibility,
    evaluate_randomization,
    evaluate_road,
    evaluate_smooth_randomization,
    evaluate_soft_removal,
)
from faithlab.evaluate.metrics import GROUPS, METRICS
from faithlab.evaluate.results import Row
from faithlab.explain import EXPLAINERS, Explanation, explain_many, get_explainer
from faithlab.explain.groups import GroupingSpec, as_groupings
from faithlab.models import Classifier, load_classifier
from faithlab.models.classifier import Target
from faithlab.models.prompt import PromptSpec
from faithlab.models.prompted import load_prompted
from faithlab.prompting import prompt_spec

MethodSpec = str | Sequence[str | tuple[str, Mapping[str, Any]]] | Mapping[str, Mapping[str, Any]]
FAITHFULNESS_PARTS = ("eraser", "curves", "loo")
# groups whose evaluator takes (classifier, explanations, **settings)
REMOVAL_EVALUATORS = {
    "soft": evaluate_soft_removal,
    "normalized_aopc": evaluate_normalized_aopc,
    "road": evaluate_road,
    "ffidelity": evaluate_ffidelity,
}
# groups whose evaluator recomputes explanations: (explainers, texts, pairs, targets, **settings)
EXPLAINER_EVALUATORS = {
    "randomization": evaluate_randomization,
    "smooth_randomization": evaluate_smooth_randomization,
    "efficient_randomization": evaluate_efficient_randomization,
}


def load(name_or_path: str | os.PathLike, *, prompt: str | PromptSpec | None = None, **options: Any) -> Classifier:
    """Load a sequence classifier and its tokenizer from a local folder, the local Hugging Face cache or an alias;
    with `prompt`, a causal language model used as a zero- or few-shot classifier.

    Args:
        name_or_path: a saved `AutoModelForSequenceClassification` folder, a cached Hub id, or `"minilm"`; with
            `prompt`, an `AutoModelForCausalLM` folder or id.
        prompt: a template with a `{text}` slot (and `{text_pair}` for pairs); `labels` then maps each class name to
            its label word (`{"negative": " bad", "positive": " good"}`), and `examples` and `score` may follow
            (`faithlab.models.prompt.PromptSpec`, which may also be given whole).
        **options: passed to `faithlab.models.load_classifier` (`labels`, `new_head`, `max_length`,
            `max_batch_tokens`, `device` ("auto": CUDA, then MPS, else CPU), `dtype` ("float32", "bfloat16",
            "float16"), `use_safetensors`); with a prompt, `max_length`, `max_batch_tokens` and `device`.

    Returns:
        The `Classifier` every other call takes.

    Example:
        >>> model = fl.load(tiny_model_folder)
        >>> model.labels
        ['negative', 'positive']
    """
    if prompt is not None:
        spec_fields = {key: options.pop(key) for key in ("labels", "examples", "score", "separator") if key in options}
        if isinstance(prompt, str):
            prompt = prompt_spec(template=prompt, label_words=spec_fields.pop("labels", None), **spec_fields)
        elif spec_fields:
            raise FaithlabError(f"give {', '.join(spec_fields)} inside the PromptSpec, not beside it")
        return load_prompted(name_or_path, prompt, **options)
    return load_classifier(name_or_path, **options)


@dataclass(frozen=True)
class ExplanationSet:
    """The explanations of one `explain` call: per method, per text, per target class.

    `targets[i]` lists the classes text i was explained for (one class unless `target="all"`). Use `[method]` for the
    list aligned with the texts when each text has one target, `get(method, text, target)` for any single one, and
    `for_class(label)` for every method's explanations of one class.
    """

    texts: list[str]
    pairs: list[str | None]
    labels: list[str]
    targets: list[list[int]]
    by_text: dict[str, list[dict[int, Explanation]]]

    @property
    def methods(self) -> list[str]:
        return list(self.by_text)

    def __getitem__(self, method: str) -> list[Explanation]:
        """The method's explanations aligned with the texts (each text must have exactly one target)."""
        per_text = self._method(method)
        if any(len(classes) != 1 for classes in per_text):
            raise FaithlabError(
                f"texts were explained for several classes (target='all'); use .get('{method}', text, target) "
                f"or .for_class(label) with one of {self.labels}"
            )
        return [next(iter(classes.values())) for classes in per_text]

    def get(self, method: str, text: int = 0, target: int | str | None = None) -> Explanation:
        """One explanation: the method's for text number `text` and class `target` (its only class if None)."""
        per_text = self._method(method)
        if not 0 <= text < len(per_text):
            raise FaithlabError(f"text {text} is out of range; {len(per_text)} texts were explained")
        classes = per_text[text]
        if target is None:
            if len(classes) != 1:
                raise FaithlabError(f"text {text} was explained for {len(classes)} classes; name the target")
            return next(iter(classes.values()))
        index = self._label_index(target)
        if index not in classes:
            names = [self.labels[c] for c in classes]
            raise FaithlabError(f"text {text} was not explained for class {target!r}; it was for {names}")
        return classes[index]

    def for_class(self, target: int | str) -> dict[str, list[Explanation]]:
        """Every method's explanations of class `target`, aligned with the texts that were explained for it."""
        index = self._label_index(target)
        return {m: [c[index] for c in per_text if index in c] for m, per_text in self.by_text.items()}

    def flat(self) -> dict[str, list[Explanation]]:
        """Method → every explanation in (text, class) order: the example order `evaluate` reports."""
        return {m: [e for classes in per_text for e in classes.values()] for m, per_text in self.by_text.items()}

    def __iter__(self) -> Iterator[Explanation]:
        for explanations in self.flat().values():
            yield from explanations

    def __len__(self) -> int:
        return sum(len(v) for v in self.flat().values())

    def _method(self, method: str) -> list[dict[int, Explanation]]:
        if method not in self.by_text:
            raise FaithlabError(f"no explanations of method '{method}'; this set holds {self.methods}")
        return self.by_text[method]

    def _label_index(self, target: int | str) -> int:
        if isinstance(target, int) and 0 <= target < len(self.labels):
            return target
        lowered = [name.lower() for name in self.labels]
        if isinstance(target, str) and target.lower() in lowered:
            return lowered.index(target.lower())
        raise FaithlabError(f"unknown label {target!r}; the labels are {self.labels}")


def explain(
    model: Classifier | str | os.PathLike,
    texts: str | Sequence[str],
    methods: MethodSpec = "all",
    *,
    pairs: str | Sequence[str] | None = None,
    target: Target = None,
    groups: Sequence[GroupingSpec] | None = None,
) -> ExplanationSet:
    """Explain one text or many with one method or many; methods share one encoding and their common passes.

    Args:
        model: a `Classifier` from `load`, or a folder/alias to load.
        texts: one string or a list of strings.
        methods: `"all"`, a name (`"ig"`), comma-separated names, a list of names or (name, settings) pairs, or a
            mapping name → settings (`{"ig": {"n_steps": 64}, "lime": {"seed": 3}}`); see `faithlab methods`.
        pairs: the second text of each pair (NLI hypotheses), one string or a list aligned with `texts`.
        target: None or "predicted" (the predicted class), a label name or index, one target per text, or "all".
        groups: user features, one entry per text: a `FeatureGrouping`, a list of (start, end) character spans of
            the text (a phrase, an entity, a clause: each one feature), or None. Occlusion, LIME and KernelSHAP then
            remove the groups (unit 'group', unless a method's settings name another unit); a token outside every
            group is a feature of its own; every explanation records its groups (`faithlab.explain.groups`).

    Returns:
        An `ExplanationSet`: `result["ig"][0]` is text 0's IG explanation; with `target="all"`,
        `result.get("ig", 0, "positive")` or `result.for_class("positive")`.

    Example:
        >>> result = fl.explain(model, "a warm and funny film", methods=["grad_x_input", "occlusion"])
        >>> [e.method for e in result]
        ['grad_x_input', 'occlusion']
        >>> len(result["occlusion"][0].scores) == len(result["occlusion"][0].tokens)
        True
    """
    classifier = model if isinstance(model, Classifier) else load(model)
    text_list = [texts] if isinstance(texts, str) else list(texts)
    pair_list = None if pairs is None else ([pairs] if isinstance(pairs, str) else list(pairs))
    requests = _method_requests(methods)
    groupings = None if groups is None else as_groupings(groups, len(text_list))
    results = explain_many(classifier, text_list, requests, pair_list, target, groupings)
    # explain_many lists each text's classes together (all of them for target="all", else one), texts in order
    per_text = len(classifier.labels) if isinstance(target, str) and target.lower() == "all" else 1
    by_text = {
        method: [
            {e.target: e for e in explanations[i * per_text : (i + 1) * per_text]} for i in range(len(text_list))
        ]
        for method, explanations in results.items()
    }
    first = next(iter(by_text.values()))
    return ExplanationSet(
        texts=text_list,
        pairs=pair_list or [None] * len(text_list),
        labels=list(classifier.labels),
        targets=[list(classes) for classes in first],
        by_text=by_text,
    )


def _method_requests(methods: MethodSpec) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(methods, str):
        names = [m.strip() for m in methods.split(",") if m.strip()]
        if [n.lower() for n in names] == ["all"]:
            names = list(EXPLAINERS)
        return [(name, {}) for name in names]
    if isinstance(methods, Mapping):
        return [(str(name), dict(settings or {})) for name, settings in methods.items()]
    requests = []
    for item in methods:
        if isinstance(item, str):
            requests.append((item, {}))
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            requests.append((item[0], dict(item[1] or {})))
        else:
            raise FaithlabError(f"a method is a name or a (name, settings) pair, got {item!r}")
    if not requests:
        raise FaithlabError("no methods given; run `faithlab methods` to list them")
    return requests


def evaluate(
    model: Classifier | str | os.PathLike,
    explanations: ExplanationSet | Mapping[str, Sequence[Explanation]] | Sequence[Explanation],
    metrics: str | Sequence[str] = "faithfulness",
    *,
    rationales: Sequence[Any] | None = None,
    pair_rationales: Sequence[Any] | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Evaluate explanations with any metrics, in one call shape, into one tidy table.

    Args:
        model: the `Classifier` that produced the explanations (or a folder/alias to load).
        explanations: an `ExplanationSet` from `explain`, a mapping method → explanations aligned by example, or
            one method's list.
        metrics: metric names (see `faithlab.evaluate.METRICS`) or groups: `"faithfulness"` (= eraser, curves and
            loo), `"eraser"`, `"curves"`, `"loo"`, `"soft"` (soft comprehensiveness/sufficiency),
            `"normalized_aopc"`, `"road"` (removals infilled by a masked LM), `"ffidelity"`, `"ground_truth"` and
            `"plausibility"` (need `rationales`), `"randomization"`, `"smooth_randomization"`,
            `"efficient_randomization"`, `"adversarial"`.
        rationales: per example, the 0/1 mask over its whitespace words (planted words for ground truth, human
            highlights for plausibility; None where an example has none); `pair_rationales` for the pair texts.
        settings: per group, the evaluator's settings, e.g. `{"eraser": {"replacement": "delete"},
            "adversarial": {"steps": 100}}` ("faithfulness" settings apply to eraser, curves and loo).

    Returns:
        A DataFrame with one row per example, method, metric (and randomization step): `example`, `method`,
        `metric`, `value`, `text`, `pair`, `target`, `target_name`, and one column per setting that produced the
        value. `faithlab.evaluate.METRICS[name]` gives each metric's range and better direction.

    Example:
        >>> result = fl.explain(model, ["a warm and funny film", "dull and slow"], methods=["grad_x_input", "random"])
        >>> table = fl.evaluate(model, result, metrics=["comprehensiveness", "sufficiency"])
        >>> sorted(table["metric"].unique())
        ['comprehensiveness', 'sufficiency']
        >>> len(table)
        8
    """
    classifier = model if isinstance(model, Classifier) else load(model)
    methods = _aligned(explanations)
    wanted, groups = _resolve_metrics(metrics)
    settings = {str(k): dict(v) for k, v in (settings or {}).items()}
    unknown = sorted(set(settings) - set(GROUPS) - {"faithfulness"})
    if unknown:
        groups = ", ".join(["faithfulness", *GROUPS])
        raise FaithlabError(f"settings for unknown metric group '{unknown[0]}'; groups: {groups}")
    examples = next(iter(methods.values()))
    rows: list[Row] = []
    parts = [g for g in FAITHFULNESS_PARTS if g in groups]
    if parts:
        merged = settings.get("faithfulness", {}) | {k: v for g in parts for k, v in settings.get(g, {}).items()}
        rows += evaluate_faithfulness(classifier, methods, parts=parts, **merged)
    for group, evaluator in REMOVAL_EVALUATORS.items():
        if group in groups:
            rows += evaluator(classifier, methods, **settings.get(group, {}))
    for group in ("ground_truth", "plausibility"):
        if group in groups:
            if rationales is None:
                raise FaithlabError(f"metric group '{group}' needs rationales: one word mask per example")
            evaluator = evaluate_ground_truth if group == "ground_truth" else evaluate_plausibility
            rows += evaluator(methods, rationales, pair_rationales, **settings.get(group, {}))
    texts, pairs = [e.text for e in examples], [e.pair for e in examples]
    targets = [e.target for e in examples]
    for group, evaluator in EXPLAINER_EVALUATORS.items():
        if group in groups:
            explainers = [_explainer_of(classifier, items[0]) for items in methods.values()]
            rows += evaluator(explainers, texts, _pairs(pairs), targets, **settings.get(group, {}))
    if "adversarial" in groups:
        for items in methods.values():
            explainer = _explainer_of(classifier, items[0])
            rows += evaluate_attack(explainer, texts, _pairs(pairs), targets, **settings.get("adversarial", {}))
    return _frame([r for r in rows if r.metric in wanted], examples)


def _aligned(
    explanations: ExplanationSet | Mapping[str, Sequence[Explanation]] | Sequence[Explanation],
) -> dict[str, list[Explanation]]:
    from faithlab.evaluate.results import by_method

    if isinstance(explanations, ExplanationSet):
        explanations = explanations.flat()
    methods = by_method(explanations)
    if not methods or not next(iter(methods.values())):
        raise FaithlabError("no explanations to evaluate")
    return methods


def _resolve_metrics(metrics: str | Sequence[str]) -> tuple[set[str], list[str]]:
    """The metric names asked for and the groups that compute them."""
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    if not names:
        raise FaithlabError("no metrics given")
    wanted: set[str] = set()
    groups: list[str] = []
    for name in names:
        key = name.strip().lower()
        expanded = FAITHFULNESS_PARTS if key == "faithfulness" else (key,) if key in GROUPS else None
        if expanded is not None:
            for group in expanded:
                wanted.update(GROUPS[group])
                groups.append(group)
        elif key in METRICS:
            wanted.add(key)
            groups.append(next(g for g, members in GROUPS.items() if key in members))
        else:
            raise FaithlabError(
                f"unknown metric '{name}'; groups: faithfulness, {', '.join(GROUPS)}; metrics: {', '.join(METRICS)}"
            )
    if "roar" in groups:
        raise FaithlabError("roar retrains the model at every step: run it in a benchmark (roar: {enabled: true})")
    return wanted, list(dict.fromkeys(groups))


def _explainer_of(classifier: Classifier, explanation: Explanation):
    """The explainer that produced an explanation, rebuilt from its recorded method and settings."""
    name = "ensemble" if explanation.method.startswith("ensemble") else explanation.method
    settings = {k: v for k, v in explanation.settings.items() if not k.startswith("_")}
    return get_explainer(name, classifier, **settings)


def _pairs(pairs: list[str | None]) -> list[str | None] | None:
    return None if all(p is None for p in pairs) else pairs


def _frame(rows: list[Row], examples: list[Explanation]) -> pd.DataFrame:
    records = []
    for row in rows:
        example = examples[row.example]
        records.append(
            {
                "example": row.example,
                "method": row.method,
                "metric": row.metric,
                "value": row.value,
                "text": example.text,
                "pair": example.pair,
                "target": example.target,
                "target_name": example.target_name,
                **{k: v for k, v in row.settings.items() if k not in ("example", "method", "metric", "value")},
            }
        )
    columns = ["example", "method", "metric", "value", "text", "pair", "target", "target_name"]
    return pd.DataFrame.from_records(records, columns=None if records else columns)
