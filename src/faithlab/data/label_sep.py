"""Files of `text<sep>label` lines without quoting (the emotion set's `text;label`, a finance set's `sentence@label`).

Each line is split on its LAST separator, so texts may contain the separator themselves; labels are class names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from faithlab.data.labels import infer_label_names, resolve_label
from faithlab.data.records import DataError, Dataset, Example, OnError, Report
from faithlab.data.text_file import DEFAULT_ENCODING, text_lines


def read_label_sep(
    path: str | Path,
    delimiter: str,
    encoding: str = DEFAULT_ENCODING,
    label_names: Sequence[str] | None = None,
    header: Sequence[str] = (),
    on_error: OnError = "skip",
) -> Dataset:
    """Read one `text<delimiter>label` per line, split on the last delimiter; blank lines are passed over.

    Args:
        path: the data file.
        delimiter: what separates the text from its label (any non-empty string, e.g. ';' or '@').
        encoding: the file's encoding (e.g. 'latin-1'); a line not valid in it raises `DataError`.
        label_names: the class names in index order (None: the sorted names found in the file).
        header: first lines (case-insensitive) that are a header, not an example.
        on_error: 'skip' malformed lines with a report, or 'raise' at the first one.

    Returns:
        The examples (ids are line numbers), labelled by index into the class names.
    """
    path = Path(path)
    if not delimiter:
        raise DataError("the label_sep reader needs a delimiter between text and label (e.g. ';' or '@')")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    report = Report(source=str(path), on_error=on_error)
    rows: list[tuple[int, str, str]] = []
    headers = {h.lower() for h in header}
    for line, raw in enumerate(text_lines(path, encoding), start=1):
        raw = raw.strip()
        if not raw or (line == 1 and raw.lower() in headers):
            continue
        text, sep, label = raw.rpartition(delimiter)
        if not sep or not text.strip() or not label.strip():
            report.malformed(line, f"expected 'text{delimiter}label'")
            continue
        rows.append((line, text.strip(), label.strip()))
    names = tuple(label_names) if label_names is not None else infer_label_names(label for _, _, label in rows)
    examples: list[Example] = []
    for line, text, label in rows:
        try:
            index, name = resolve_label(label, names)
        except ValueError as err:
            report.malformed_error(line, err)
            continue
        examples.append(Example(text, label=index, label_name=name, id=str(line)))
    return Dataset(examples, names, report, path.stem)
