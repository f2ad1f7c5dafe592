"""Result rows: one number per (example, method, metric) with the settings that produced it; and their means."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from faithlab.errors import FaithlabError
from faithlab.evaluate.metrics import get_metric
from faithlab.evaluate.statistics import summarize
from faithlab.explain.explanation import Explanation

Explanations = Sequence[Explanation] | Mapping[str, Sequence[Explanation]]


@dataclass
class Row:
    """One metric value of one explanation. NaN marks a case where the metric is undefined (e.g. no rationale).

    `example` indexes the explanations as given to the evaluator; `settings` records how the value was measured
    (replacement, fractions, ...), so stored results say what they are.
    """

    example: int
    method: str
    metric: str
    value: float
    settings: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def by_method(explanations: Explanations) -> dict[str, list[Explanation]]:
    """Explanations keyed by method, each list aligned with the examples (as `explain_many` returns them).

    A plain list must hold one method's explanations; with several methods, pass a mapping method → list.
    """
    if isinstance(explanations, Mapping):
        out = {str(name): list(items) for name, items in explanations.items()}
    else:
        items = list(explanations)
        methods = sorted({e.method for e in items})
        if len(methods) > 1:
            raise FaithlabError(
                f"the list mixes methods {methods}; pass a mapping method -> explanations aligned by example"
            )
        out = {methods[0]: items} if items else {}
    lengths = {name: len(items) for name, items in out.items()}
    if len(set(lengths.values())) > 1:
        raise FaithlabError(f"every method needs one explanation per example; got {lengths}")
    return out


def aggregate(rows: Iterable[Row], resamples: int = 1000, level: float = 0.95, seed: int = 0) -> list[dict[str, Any]]:
    """Mean and bootstrap interval per (method, metric), best method first within each metric.

    Each dict carries the metric's metadata (`higher_is_better`, `range`, `citation`) for reports to colour by.
    """
    groups: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        groups.setdefault((row.metric, row.method), []).append(row.value)
    out = []
    for (metric_name, method), values in groups.items():
        metric = get_metric(metric_name)
        summary = summarize(values, resamples, level, seed)
        out.append(
            {
                "metric": metric_name,
                "method": method,
                **asdict(summary),
                "higher_is_better": metric.higher_is_better,
                "range": metric.range,
                "citation": metric.citation,
            }
        )
    out.sort(key=lambda r: (r["metric"], _sort_key(r["mean"], r["higher_is_better"])))
    return out


def _sort_key(mean: float, higher_is_better: bool) -> float:
    if mean != mean:  # NaN sorts last
        return float("inf")
    return -mean if higher_is_better else mean
