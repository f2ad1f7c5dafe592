"""The computations behind the endpoints, over one classifier; each runs on the worker thread.

Explanations go through `fl.explain` and are cached per (model fingerprint, text, pair, target, method, settings),
so a repeated request, a method added to a comparison or the original side of an edit costs nothing again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from faithlab import api as fl
from faithlab.attention_export import attention_maps
from faithlab.errors import FaithlabError
from faithlab.evaluate.faithfulness import evaluate_faithfulness
from faithlab.evaluate.metrics import METRICS
from faithlab.explain.explanation import Explanation
from faithlab.models import Classifier
from faithlab.report.attention_views import attention_totals, layer_average, rollout_matrix, top_attention
from faithlab.report.perturbation_views import CurveRule, curve_table, deletion_table
from faithlab.serve.schemas import AttentionRequest, DeletionRequest, EditRequest, ExplainRequest, Limits, TextRequest
from faithlab.serve.views import ViewOptions, explanation_payloads
from faithlab.serve.worker import Cache

TRUST_METRICS = ("comprehensiveness", "sufficiency", "loo_spearman")
TRUST_RULE = (
    "trust the method with the best average rank over comprehensiveness (higher is better), sufficiency (lower is "
    "better) and agreement with leave-one-out (Spearman with occlusion, higher is better) on this text, among the "
    "methods that beat the random baseline on all three when it was measured"
)


@dataclass
class Explained:
    """A request's explanations, method → Explanation, and which of them came from the cache."""

    explanations: dict[str, Explanation]
    cached: list[str]


class Service:
    """Everything the app computes for one classifier."""

    def __init__(self, classifier: Classifier, limits: Limits, cache: Cache):
        self.classifier = classifier
        self.limits = limits
        self.cache = cache
        self.model_key = classifier.fingerprint or classifier.name

    def explained(self, request: ExplainRequest) -> Explained:
        """Each method's explanation of the request's text, from the cache where it is there."""
        self.limits.check(request)
        if not request.methods:
            raise FaithlabError("choose at least one method")
        found: dict[str, Explanation] = {}
        missing: dict[str, dict[str, Any]] = {}
        for method, settings in request.methods.items():
            hit = self.cache.get(self._key(request, method, settings))
            if hit is None:
                missing[method] = settings
            else:
                found[method] = hit  # type: ignore[assignment]
        if missing:
            result = fl.explain(self.classifier, request.text, missing, pairs=request.pair, target=request.target)
            for method, settings in missing.items():
                found[method] = result[method][0]
                self.cache.put(self._key(request, method, settings), found[method])
        ordered = {m: found[m] for m in request.methods}
        return Explained(ordered, [m for m in request.methods if m not in missing])

    def explain(self, request: ExplainRequest, options: ViewOptions) -> dict[str, Any]:
        """The prediction and every method's explanation payload (views included), with each view's legend."""
        done = self.explained(request)
        first = next(iter(done.explanations.values()))
        payloads, legends = explanation_payloads(list(done.explanations.values()), options)
        return {
            "text": request.text,
            "pair": request.pair,
            "prediction": _prediction(first),
            "aggregation": options.aggregation,
            "scale": options.scale,
            "legends": legends,
            "explanations": payloads,
            "cached": done.cached,
        }

    def faithfulness(self, request: ExplainRequest) -> dict[str, Any]:
        """Comprehensiveness, sufficiency and leave-one-out agreement of each method on this text; which to trust."""
        done = self.explained(request)
        methods = {m: [e] for m, e in done.explanations.items()}
        table = fl.evaluate(self.classifier, methods, metrics=TRUST_METRICS)
        values = {m: {k: None for k in TRUST_METRICS} for m in done.explanations}
        for row in table.itertuples(index=False):
            values[row.method][row.metric] = None if np.isnan(row.value) else float(row.value)
        directions = {m: "higher" if METRICS[m].higher_is_better else "lower" for m in TRUST_METRICS}
        return {"metrics": values, "better": directions, "rule": TRUST_RULE, **trusted_method(values),
                "curves": self.curves(methods)}

    def curves(self, methods: dict[str, list[Explanation]], rule: CurveRule | None = None) -> dict[str, Any]:
        """Each method's MoRF and LeRF curve on the text, with its area and sharp / gradual label (the report's
        `curve_table` over the library's curve rows), and the rule that labels them."""
        rule = rule or CurveRule()
        rows = [r.to_dict() for r in evaluate_faithfulness(self.classifier, methods, parts=["curves"])]
        table = curve_table(rows, rule)
        records = [
            {"method": r.method, "curve": r.curve, "x": [round(float(v), 4) for v in r.x],
             "confidence": [round(float(v), 4) for v in r.confidence], "area": float(r.area), "label": r.label}
            for r in table.itertuples(index=False)
        ]
        return {"rule": str(rule), "rows": records}

    def attention(self, request: AttentionRequest) -> dict[str, Any]:
        """One head's attention matrix, the layer's mean over heads, the rollout, the tokens that receive the most
        attention (specials and punctuation left out), and every head's matrix when the text is short enough."""
        self.limits.check(request)
        maps = attention_maps(self.classifier, [request.text], None if request.pair is None else [request.pair])[0]
        if request.layer >= maps.layers or request.head >= maps.heads:
            raise FaithlabError(
                f"layer {request.layer}, head {request.head} does not exist; the model has layers 0..{maps.layers - 1} "
                f"and heads 0..{maps.heads - 1}"
            )
        grid = None
        if len(maps.tokens) <= self.limits.grid_tokens:
            grid = [[_rounded(heads) for heads in layer] for layer in maps.matrices]
        totals = attention_totals(maps)
        return {
            "tokens": maps.tokens,
            "special": maps.special,
            "layers": maps.layers,
            "heads": maps.heads,
            "layer": request.layer,
            "head": request.head,
            "matrix": _rounded(maps.matrices[request.layer, request.head]),
            "average": _rounded(layer_average(maps)[request.layer]),
            "rollout": _rounded(rollout_matrix(maps)),
            "top": json.loads(top_attention(totals, request.top_k).to_json(orient="records")),
            "totals": [round(float(v), 4) for v in totals["received"]],
            "grid": grid,
        }

    def deletion(self, request: DeletionRequest) -> dict[str, Any]:
        """Per-unit leave-one-out (occlusion) of the text: the output before and after each deletion, the new
        prediction and probabilities, and the difference."""
        settings = {"output": request.output, "unit": request.unit, "replacement": "delete"}
        if request.contrast is not None:
            settings["contrast"] = request.contrast
        explain = ExplainRequest(text=request.text, pair=request.pair, target=request.target,
                                 methods={"occlusion": settings})
        e = self.explained(explain).explanations["occlusion"]
        table = deletion_table([e])
        rows = [
            {
                "unit": row["word"],
                "output_before": row["output_before"],
                "output_after": row["output_after"],
                "difference": row["difference"],
                "predicted_after": row["predicted_after"],
                "probabilities_after": {label: row[f"p_after:{label}"] for label in e.labels},
            }
            for row in table.frame.to_dict("records")
        ]
        return {
            "prediction": _prediction(e),
            "target_name": e.target_name,
            "output": request.output,
            "unit": request.unit,
            "contrast": e.extras.get("contrast"),
            "quantity": table.quantity,
            "rows": rows,
        }

    def edit(self, request: EditRequest, options: ViewOptions) -> dict[str, Any]:
        """The original and the edited text explained side by side (the same methods, target and views)."""
        edited_text = edit_word(request.text, request.word, request.replacement)
        edited = request.model_copy(update={"text": edited_text})
        return {"original": self.explain(request, options), "edited": self.explain(edited, options)}

    def _key(self, request: TextRequest, method: str, settings: dict[str, Any]) -> tuple[str, ...]:
        return (self.model_key, request.text, request.pair or "", request.target or "", method,
                json.dumps(settings, sort_keys=True, default=str))


def trusted_method(values: dict[str, dict[str, float | None]]) -> dict[str, Any]:
    """The method to trust on one text by `TRUST_RULE`, with each method's rank per metric as the evidence.

    When the random baseline was measured, only methods that beat it on every metric are eligible; a metric a method
    has no value for (leave-one-out of constant scores) ranks it last and never beats the baseline.
    """
    methods = [m for m in values if m != "random"]
    ranks: dict[str, dict[str, int]] = {m: {} for m in methods}
    for metric in TRUST_METRICS:
        order = sorted(methods, key=lambda m: _sort_key(metric, values[m][metric]))
        for rank, method in enumerate(order, start=1):
            ranks[method][metric] = rank
    average = {m: float(np.mean(list(r.values()))) for m, r in ranks.items()}
    beats = {m: _beats_random(values, m) for m in methods} if "random" in values else {m: True for m in methods}
    eligible = [m for m in methods if beats[m]]
    trusted = min(eligible, key=lambda m: average[m]) if eligible else None
    return {"trusted": trusted, "ranks": ranks, "average_rank": average, "beats_random": beats}


def _sort_key(metric: str, value: float | None) -> float:
    """Smaller is better: the value itself where lower is better, its negation where higher is."""
    if value is None:
        return np.inf
    return -value if METRICS[metric].higher_is_better else value


def _beats_random(values: dict[str, dict[str, float | None]], method: str) -> bool:
    return all(
        _sort_key(metric, values[method][metric]) < _sort_key(metric, values["random"][metric])
        for metric in TRUST_METRICS
    )


def edit_word(text: str, word: int, replacement: str | None) -> str:
    """`text` with its whitespace-separated word number `word` replaced (or deleted with the space before it)."""
    spans = [m.span() for m in re.finditer(r"\S+", text)]
    if word >= len(spans):
        raise FaithlabError(f"word {word} does not exist; the text has words 0..{len(spans) - 1}")
    start, end = spans[word]
    if replacement is None or not replacement.strip():
        start = spans[word - 1][1] if word > 0 else start
        end = end if word > 0 or len(spans) == 1 else spans[1][0]
        edited = text[:start] + text[end:]
    else:
        edited = text[:start] + replacement.strip() + text[end:]
    if not edited.strip():
        raise FaithlabError("the edit leaves an empty text; replace the word instead of deleting it")
    return edited


def _prediction(e: Explanation) -> dict[str, Any]:
    return {"label": e.labels[e.predicted], "probabilities": dict(zip(e.labels, e.probabilities, strict=True))}


def _rounded(matrix: np.ndarray) -> list[list[float]]:
    """A matrix with 3 decimals: enough to draw and read, a fraction of the payload of full floats."""
    return np.round(np.asarray(matrix, dtype=np.float64), 3).tolist()
