"""Generic CSV / TSV / JSONL reader with named text, pair, label and id columns (GLUE readers build on it)."""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from faithlab.data.labels import infer_label_names, resolve_label
from faithlab.data.records import DataError, Dataset, Example, OnError, Report, RowError
from faithlab.data.text_file import DEFAULT_ENCODING, text_lines

Format = Literal["csv", "tsv", "jsonl"]
Row = tuple[int, dict[str, Any]]
# The largest field csv accepts on every platform (a C long); its default, 128 KiB, refuses long texts.
_MAX_FIELD = 2**31 - 1

_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".txt": "tsv",
}


def guess_format(path: str | Path) -> Format:
    """The table format implied by a file's suffix; raises `DataError` for an unknown suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise DataError(
            f"{path}: cannot tell the format from suffix {suffix!r}; pass fmt='csv', 'tsv' or 'jsonl'"
        )
    return _SUFFIXES[suffix]


def read_records(
    path: str | Path,
    fmt: Format | None,
    report: Report,
    encoding: str = DEFAULT_ENCODING,
    delimiter: str | None = None,
) -> tuple[list[str], list[Row]]:
    """Column names and (row number, record) pairs of a table; rows that do not parse go to `report`.

    `encoding` is the file's (a line not valid in it raises `DataError`); `delimiter` replaces CSV's ',' or TSV's
    tab (one character; a JSONL file has none).

    Row numbers are 1-based physical line numbers (the header is line 1; a CSV record spanning several lines is
    numbered by its first), so a user can open the file there. Blank lines are not rows and are passed over.
    A header naming a column twice raises `DataError`: a record could only keep one of the two cells.
    """
    path = Path(path)
    fmt = fmt or guess_format(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if fmt == "jsonl":
        if delimiter is not None:
            raise DataError(f"{path}: a JSONL file has no delimiter (got {delimiter!r}); leave the delimiter unset")
        return _read_jsonl(path, report, encoding)
    if fmt not in ("csv", "tsv"):
        raise DataError(f"fmt must be 'csv', 'tsv' or 'jsonl', got {fmt!r}")
    if delimiter is not None and len(delimiter) != 1:
        raise DataError(f"a table's delimiter must be one character, got {delimiter!r}")
    return _read_delimited(path, delimiter or ("," if fmt == "csv" else "\t"), report, encoding)


def _read_delimited(path: Path, delimiter: str, report: Report, encoding: str) -> tuple[list[str], list[Row]]:
    # GLUE TSVs contain bare quote characters inside sentences, so TSV is read without quoting.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    with _long_fields():
        reader = csv.reader(text_lines(path, encoding), delimiter=delimiter, quoting=quoting)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: the file is empty (expected a header row)")
        header = [name.strip() for name in header]
        _check_unique(path, header)
        rows: list[Row] = []
        end = reader.line_num  # csv yields every physical line (a blank one as []), so a record starts after it
        for cells in reader:
            line, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                report.malformed(line, f"{len(cells)} fields, expected {len(header)} ({', '.join(header)})",
                                 "wrong number of fields")
                continue
            rows.append((line, dict(zip(header, cells, strict=True))))
    return header, rows


@contextlib.contextmanager
def _long_fields() -> Iterator[None]:
    """Read fields of any length: csv's limit is process-wide, so it is restored afterwards."""
    before = csv.field_size_limit(_MAX_FIELD)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _check_unique(path: Path, header: list[str]) -> None:
    for name in dict.fromkeys(header):
        if header.count(name) > 1:
            raise DataError(
                f"{path}: the header names column {name!r} {header.count(name)} times; "
                "rename the columns so that each name is used once"
            )


def _read_jsonl(path: Path, report: Report, encoding: str) -> tuple[list[str], list[Row]]:
    columns: dict[str, None] = {}
    rows: list[Row] = []
    for line, raw in enumerate(text_lines(path, encoding), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as err:
            report.malformed(line, f"invalid JSON ({err.msg} at column {err.colno})", "invalid JSON")
            continue
        if not isinstance(record, dict):
            report.malformed(line, f"expected a JSON object, got {type(record).__name__}", "not a JSON object")
            continue
        columns.update(dict.fromkeys(record))
        rows.append((line, record))
    return list(columns), rows


def check_columns(path: str | Path, columns: Sequence[str], wanted: dict[str, str | None]) -> None:
    """Raise `DataError` naming the first wanted column the file lacks, and the columns it has."""
    for role, column in wanted.items():
        if column is not None and column not in columns:
            raise DataError(
                f"{path}: {role} column {column!r} not found; "
                f"the columns are: {', '.join(map(repr, columns))}"
            )


def build_dataset(
    rows: list[Row],
    report: Report,
    *,
    text_column: str,
    pair_column: str | None = None,
    label_column: str | None = None,
    id_column: str | None = None,
    label_names: Sequence[str] | None = None,
    missing_label: str | None = None,
    name: str = "",
) -> Dataset:
    """Examples from parsed records; rows with empty text or an unknown label go to `report` as malformed.

    A row whose label is `missing_label` (e.g. MultiNLI's "-": no annotator agreement) is filtered.
    """
    if label_column is not None and label_names is None:
        raw_labels = (record.get(label_column) for _, record in rows)
        label_names = infer_label_names(raw for raw in raw_labels if raw != missing_label)
    names = tuple(label_names or ())
    examples: list[Example] = []
    for line, record in rows:
        try:
            example = _example(
                record, line, text_column, pair_column, label_column, id_column, names, missing_label
            )
        except _Filtered as reason:
            report.filtered(line, str(reason))
            continue
        except (ValueError, KeyError, TypeError) as err:
            report.malformed_error(line, err)
            continue
        examples.append(example)
    return Dataset(examples, names, report, name)


class _Filtered(Exception):
    """A well-formed row that is left out on purpose."""


def _example(
    record: dict[str, Any],
    line: int,
    text: str,
    pair: str | None,
    label: str | None,
    id_column: str | None,
    names: tuple[str, ...],
    missing_label: str | None,
) -> Example:
    body = _cell(record, text)
    other = _cell(record, pair) if pair is not None else None
    index = name = None
    if label is not None:
        raw = record.get(label)
        if raw is None or str(raw).strip() == "":
            raise ValueError(f"empty {label!r}")
        if missing_label is not None and str(raw).strip() == missing_label:
            raise _Filtered(f"{label!r} is {missing_label!r} (no gold label)")
        index, name = resolve_label(raw, names)
    key = str(record[id_column]) if id_column is not None and record.get(id_column) is not None else str(line)
    return Example(body, other, index, name, id=key)


def _cell(record: dict[str, Any], column: str) -> str:
    if column not in record:
        raise KeyError(f"no {column!r} field")
    value = record[column]
    if not isinstance(value, str) or not value.strip():
        raise RowError(f"empty or non-text {column!r}: {value!r}", f"empty or non-text {column!r}")
    return value.strip()


def read_table(
    path: str | Path,
    text_column: str,
    pair_column: str | None = None,
    label_column: str | None = None,
    id_column: str | None = None,
    label_names: Sequence[str] | None = None,
    fmt: Format | None = None,
    on_error: OnError = "skip",
    encoding: str = DEFAULT_ENCODING,
    delimiter: str | None = None,
) -> Dataset:
    """Read any CSV / TSV / JSONL table by named columns; the format follows the suffix unless `fmt` is given.

    `encoding` is the file's (e.g. 'latin-1'); `delimiter` replaces the format's (e.g. ';' for a European CSV).

    Without `label_names`, class names are inferred: `"0".."k"` for integer labels, else sorted names.
    A missing column raises `DataError` naming it and the columns that exist.
    """
    report = Report(source=str(path), on_error=on_error)
    columns, rows = read_records(path, fmt, report, encoding, delimiter)
    wanted = {"text": text_column, "pair": pair_column, "label": label_column, "id": id_column}
    check_columns(path, columns, wanted)
    return build_dataset(
        rows,
        report,
        text_column=text_column,
        pair_column=pair_column,
        label_column=label_column,
        id_column=id_column,
        label_names=label_names,
        name=Path(path).stem,
    )
