"""ERASER rationale data (e.g. movies): `{split}.jsonl` annotations, evidence spans over `docs/<docid>`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faithlab.data.labels import resolve_label
from faithlab.data.masks import spans_to_mask
from faithlab.data.records import DataError, Dataset, Example, OnError, Report, RowError
from faithlab.data.tabular import check_columns, read_records

# ERASER's class names for movies, and the names used across faithlab (index 0 = negative, as in SST-2).
MOVIES_LABELS = {"NEG": "negative", "POS": "positive"}


def read_eraser(
    path: str | Path,
    docs_dir: str | Path | None = None,
    classes: dict[str, str] | None = None,
    on_error: OnError = "skip",
) -> Dataset:
    """An ERASER annotation file; `text` is the document's whitespace words joined by single spaces.

    `rationale` is the union of all evidence spans `[start_token, end_token)` over `open(doc).read().split()`.
    `docs_dir` defaults to `docs/` next to the file. `classes` maps ERASER classes to faithlab names, in
    label-index order (default: movies' NEG -> negative, POS -> positive). Each span's `text` is checked.
    """
    path = Path(path)
    docs = Path(docs_dir) if docs_dir is not None else path.parent / "docs"
    if not docs.is_dir():
        raise DataError(f"{docs}: no such folder (the ERASER documents); pass docs_dir=")
    classes = dict(classes or MOVIES_LABELS)
    report = Report(source=str(path), on_error=on_error)
    columns, rows = read_records(path, "jsonl", report)
    check_columns(path, columns, {"id": "annotation_id", "label": "classification", "evidence": "evidences"})
    examples: list[Example] = []
    for line, record in rows:
        try:
            examples.append(_example(record, docs, classes))
        except (ValueError, KeyError, TypeError) as err:
            report.malformed_error(line, err)
    return Dataset(examples, tuple(classes.values()), report, path.stem)


def _example(record: dict[str, Any], docs: Path, classes: dict[str, str]) -> Example:
    index, name = resolve_label(record["classification"], tuple(classes))
    spans: list[tuple[int, int]] = []
    docid = str(record["annotation_id"])
    if not (docs / docid).is_file():
        raise RowError(f"document {docid!r} is not in {docs}", f"document not in {docs}")
    words = (docs / docid).read_text(encoding="utf-8").split()
    for group in record["evidences"]:
        for evidence in group:
            start, end = int(evidence["start_token"]), int(evidence["end_token"])
            if evidence.get("docid", docid) != docid:
                raise RowError(
                    f"evidence from another document {evidence['docid']!r}", "evidence from another document"
                )
            if not 0 <= start < end <= len(words) or " ".join(words[start:end]) != evidence.get("text", ""):
                raise RowError(
                    f"evidence [{start}, {end}) does not match its text {evidence.get('text')!r}",
                    "evidence does not match its text",
                )
            spans.append((start, end))
    return Example(
        " ".join(words),
        label=index,
        label_name=classes[name],
        rationale=spans_to_mask(spans, len(words)),
        words=words,
        id=str(record["annotation_id"]),
        meta={"docid": docid},
    )
