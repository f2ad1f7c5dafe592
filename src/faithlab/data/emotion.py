"""The emotion set (dair-ai / CARER): one `text;label` per line, no quoting."""

from __future__ import annotations

from pathlib import Path

from faithlab.data.labels import resolve_label
from faithlab.data.records import DataError, Dataset, Example, OnError, Report

# dair-ai's ClassLabel order, so label ids agree with the published dataset.
EMOTION_LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")
_HEADERS = ("text;label", "text;label_name")


def read_emotion(path: str | Path, on_error: OnError = "skip") -> Dataset:
    """Read a `text;label` file, split on the LAST `;` (texts may contain one); a header line is skipped."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    report = Report(source=str(path), on_error=on_error)
    examples: list[Example] = []
    with path.open(encoding="utf-8-sig") as handle:
        for line, raw in enumerate(handle, start=1):
            raw = raw.strip()
            if not raw or (line == 1 and raw.lower() in _HEADERS):
                continue
            text, sep, label = raw.rpartition(";")
            if not sep or not text.strip():
                report.malformed(line, "expected 'text;label'")
                continue
            try:
                index, name = resolve_label(label, EMOTION_LABELS)
            except ValueError as err:
                report.malformed_error(line, err)
                continue
            examples.append(Example(text.strip(), label=index, label_name=name, id=str(line)))
    return Dataset(examples, EMOTION_LABELS, report, path.stem)
