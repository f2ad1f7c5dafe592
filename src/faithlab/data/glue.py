"""GLUE-style readers: single-sentence TSVs such as SST-2, and MultiNLI (GLUE TSV, JSONL, line files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from faithlab.data.labels import NLI_LABELS, SENTIMENT_LABELS
from faithlab.data.records import DataError, Dataset, OnError, Report
from faithlab.data.tabular import Row, build_dataset, check_columns, read_records
from faithlab.data.text_file import DEFAULT_ENCODING, text_lines


def read_glue_tsv(
    path: str | Path,
    text_column: str = "sentence",
    pair_column: str | None = None,
    label_column: str = "label",
    label_names: Sequence[str] | None = SENTIMENT_LABELS,
    on_error: OnError = "skip",
    encoding: str = DEFAULT_ENCODING,
) -> Dataset:
    """A GLUE TSV (header row, no quoting), in `encoding`. A test file without the label column gives unlabelled
    examples.

    Defaults fit SST-2 (`sentence\\tlabel`, 0 = negative, 1 = positive); GLUE's `index` column becomes the id.
    """
    report = Report(source=str(path), on_error=on_error)
    columns, rows = read_records(path, "tsv", report, encoding)
    label = label_column if label_column in columns else None
    id_column = "index" if "index" in columns else None
    check_columns(path, columns, {"text": text_column, "pair": pair_column})
    return build_dataset(
        rows,
        report,
        text_column=text_column,
        pair_column=pair_column,
        label_column=label,
        id_column=id_column,
        label_names=label_names,
        name=Path(path).stem,
    )


def read_sst2(path: str | Path, on_error: OnError = "skip", encoding: str = DEFAULT_ENCODING) -> Dataset:
    """SST-2 from GLUE (`train.tsv`, `dev.tsv`, or the unlabelled `test.tsv`), in `encoding`."""
    return read_glue_tsv(path, on_error=on_error, encoding=encoding)


# (premise, hypothesis, label, id) column names of the MultiNLI layouts we know, tried in this order.
_MNLI_LAYOUTS = (
    ("sentence1", "sentence2", "gold_label", "pairID"),
    ("premise", "hypothesis", "label", None),
)


def read_mnli(
    path: str | Path,
    labels_path: str | Path | None = None,
    on_error: OnError = "skip",
    encoding: str = DEFAULT_ENCODING,
) -> Dataset:
    """MultiNLI: GLUE TSV or JSONL (`sentence1`, `sentence2`, `gold_label`), or premise/hypothesis/label TSV, in
    `encoding`.

    With `labels_path`, `path` is a line file of `premise|||hypothesis`, `labels_path` the aligned labels.
    Rows whose gold label is "-" (no annotator majority) are filtered and counted in the report.
    """
    report = Report(source=str(path), on_error=on_error)
    if labels_path is not None:
        columns, rows = (
            ["sentence1", "sentence2", "gold_label"],
            _read_line_pairs(Path(path), Path(labels_path), report, encoding),
        )
    else:
        fmt = "jsonl" if Path(path).suffix.lower() in (".jsonl", ".json") else "tsv"
        columns, rows = read_records(path, fmt, report, encoding)
    for text, pair, label, id_column in _MNLI_LAYOUTS:
        if text in columns and pair in columns:
            return build_dataset(
                rows,
                report,
                text_column=text,
                pair_column=pair,
                label_column=label if label in columns else None,
                id_column=id_column if id_column in columns else None,
                label_names=NLI_LABELS,
                missing_label="-",
                name=Path(path).stem,
            )
    known = "; ".join(f"{a}/{b}/{c}" for a, b, c, _ in _MNLI_LAYOUTS)
    raise DataError(f"{path}: not a MultiNLI layout I know ({known}); the columns are: {', '.join(columns)}")


def _read_line_pairs(source: Path, labels: Path, report: Report, encoding: str) -> list[Row]:
    for file in (source, labels):
        if not file.is_file():
            raise DataError(f"{file}: no such file")
    pairs = [line.rstrip("\r\n") for line in text_lines(source, encoding)]
    golds = [line.rstrip("\r\n") for line in text_lines(labels, encoding)]
    if len(pairs) != len(golds):
        raise DataError(f"{source} has {len(pairs)} lines but {labels} has {len(golds)}; they must align")
    rows: list[Row] = []
    for line, (pair, gold) in enumerate(zip(pairs, golds, strict=True), start=1):
        parts = pair.split("|||")
        if len(parts) != 2:
            report.malformed(line, f"expected 'premise|||hypothesis', found {len(parts) - 1} separators",
                             "expected 'premise|||hypothesis'")
            continue
        rows.append((line, {"sentence1": parts[0], "sentence2": parts[1], "gold_label": gold.strip()}))
    return rows
