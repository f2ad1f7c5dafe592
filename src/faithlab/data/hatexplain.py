"""HateXplain: `post_tokens`, three annotators' labels, and per-annotator binary token rationales."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from faithlab.data.labels import resolve_label
from faithlab.data.masks import Vote, combine_masks
from faithlab.data.records import DataError, Dataset, Example, OnError, Report, RowError
from faithlab.data.tabular import check_columns, read_records

# Hugging Face ClassLabel order (= HateXplain's classes.npy).
HATEXPLAIN_LABELS = ("hatespeech", "normal", "offensive")


def read_hatexplain(path: str | Path, vote: Vote = "majority", on_error: OnError = "skip") -> Dataset:
    """HateXplain JSONL (`id`, `annotators.label`, `rationales`, `post_tokens`); label = annotators' majority.

    `rationale` combines the annotators' masks by `vote` ("majority": more than half the masks given). Posts
    without masks (normal posts) get `rationale=None`. Posts with no majority label are filtered and reported.
    """
    if vote not in ("union", "majority", "all"):
        raise DataError(f"vote must be 'union', 'majority' or 'all', got {vote!r}")
    report = Report(source=str(path), on_error=on_error)
    columns, rows = read_records(path, "jsonl", report)
    check_columns(path, columns, {"text": "post_tokens", "label": "annotators", "rationale": "rationales"})
    examples: list[Example] = []
    for line, record in rows:
        try:
            example = _example(record, line, vote)
        except (ValueError, KeyError, TypeError) as err:
            report.malformed_error(line, err)
            continue
        if example is None:
            report.filtered(line, "annotators disagree with no majority label")
        else:
            examples.append(example)
    return Dataset(examples, HATEXPLAIN_LABELS, report, Path(path).stem)


def _example(record: dict[str, Any], line: int, vote: Vote) -> Example | None:
    words = [str(word) for word in record["post_tokens"]]
    if not words or any(not word.strip() or len(word.split()) != 1 for word in words):
        raise ValueError("post_tokens is empty or holds an empty / multi-word token")
    votes = [resolve_label(raw, HATEXPLAIN_LABELS)[0] for raw in record["annotators"]["label"]]
    (top, count), *_ = Counter(votes).most_common()
    if count * 2 <= len(votes):
        return None
    masks = [[int(bit) for bit in mask] for mask in record["rationales"] or []]
    if any(len(mask) != len(words) for mask in masks):
        raise RowError(f"a rationale mask's length differs from the {len(words)} post_tokens",
                       "a rationale mask's length differs from post_tokens")
    return Example(
        " ".join(words),
        label=top,
        label_name=HATEXPLAIN_LABELS[top],
        rationale=combine_masks(masks, vote) if masks else None,
        words=words,
        id=str(record.get("id", line)),
        meta={"n_rationales": len(masks)},
    )
