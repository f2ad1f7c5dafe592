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


def aggregate(
    rows: Iterable[Row], by: Sequence[str] = (), resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> list[dict[str, Any]]:
    """Mean and bootstrap interval per (metric, method, and the `by` settings, e.g. 'layer'), best method first
    within each metric (and setting).

    Each dict carries the metric's metadata (`higher_is_better`, `range`, `citation`) for reports to colour by.
    """
    groups: dict[tuple[Any, ...], list[float]] = {}
    for row in rows:
        key = (row.metric, *(_hashable(row.settings.get(name)) for name in by), row.method)
        groups.setdefault(key, []).append(row.value)
    out = []
    for (metric_name, *values_by, method), values in groups.items():
        metric = get_metric(metric_name)
        summary = summarize(values, resamples, level, seed)
        out.append(
            {
                "metric": metric_name,
                **dict(zip(by, values_by, strict=True)),
                "method": method,
                **asdict(summary),
                "higher_is_better": metric.higher_is_better,
                "range": metric.range,
                "citation": metric.citation,
            }
        )
    first_seen: dict[tuple[Any, ...], int] = {}
    for r in out:  # settings groups keep the order they first appear in (layers stay in step order)
        first_seen.setdefault(tuple(_hashable(r[name]) for name in by), len(first_seen))
    out.sort(key=lambda r: (r["metric"], first_seen[tuple(_hashable(r[name]) for name in by)],
                            _sort_key(r["mean"], r["higher_is_better"])))
    return out


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _sort_key(mean: float, higher_is_better: bool) -> float:
    if mean != mean:  # NaN sorts last
        return float("inf")
    return -mean if higher_is_better else mean
