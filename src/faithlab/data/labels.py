"""Turning the label cell of a row (a class name or an integer, as text or not) into an index and a name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from faithlab.data.records import RowError

SENTIMENT_LABELS = ("negative", "positive")
NLI_LABELS = ("entailment", "neutral", "contradiction")


def infer_label_names(raw_labels: Iterable[object]) -> tuple[str, ...]:
    """Class names for the labels seen: `("0", ..., str(max))` if all are integers, else sorted names."""
    seen = {str(raw).strip() for raw in raw_labels if raw is not None and str(raw).strip() != ""}
    if seen and all(_is_int(value) for value in seen):
        return tuple(str(i) for i in range(max(int(value) for value in seen) + 1))
    return tuple(sorted(seen))


def resolve_label(raw: object, label_names: Sequence[str]) -> tuple[int, str]:
    """(index, name) for a raw label; raises `RowError` (a `ValueError`) when it is not a known class.

    A name matches exactly, then case-insensitively; an integer (or integer text) indexes `label_names`.
    """
    if isinstance(raw, bool) or raw is None:
        raise RowError(f"label {raw!r} is not a class name or index", "label is not a class name or index")
    value = str(raw).strip()
    if value in label_names:
        return label_names.index(value), value
    lowered = [name.lower() for name in label_names]
    if value.lower() in lowered:
        index = lowered.index(value.lower())
        return index, label_names[index]
    if _is_int(value) and 0 <= int(value) < len(label_names):
        return int(value), label_names[int(value)]
    raise RowError(f"label {value!r} is not one of {list(label_names)} (or an index into them)", "unknown label")


def _is_int(value: str) -> bool:
    return value.lstrip("-").isdigit()
