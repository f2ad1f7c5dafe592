"""Readers by name, as configs and the command line choose them (`--reader emotion`): one place for the choices.

'table' reads any CSV / TSV / JSONL by column names; 'label_sep' reads `text<delimiter>label` lines; the others know
their file's layout and labels. Every reader takes the file's encoding; the delimiter is for 'table' and 'label_sep'.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from faithlab.data.emotion import read_emotion
from faithlab.data.glue import read_mnli, read_sst2
from faithlab.data.label_sep import read_label_sep
from faithlab.data.records import DataError, Dataset
from faithlab.data.tabular import read_table
from faithlab.data.text_file import DEFAULT_ENCODING, check_encoding

READERS = ("table", "sst2", "mnli", "emotion", "label_sep")
DELIMITED = ("table", "label_sep")  # the readers whose delimiter is an option


def read_named(
    reader: str,
    path: str | Path,
    text_column: str = "text",
    pair_column: str | None = None,
    label_column: str | None = None,
    label_names: Sequence[str] | None = None,
    encoding: str = DEFAULT_ENCODING,
    delimiter: str | None = None,
) -> Dataset:
    """Read `path` with the named reader; the column arguments apply to 'table' only.

    Args:
        reader: one of `READERS`.
        path: the data file.
        text_column, pair_column, label_column: the table's columns (label None: unlabelled texts).
        label_names: class names of a table's or a label_sep file's labels, in index order (None: inferred).
        encoding: the file's encoding (e.g. 'latin-1'); a line not valid in it raises `DataError`.
        delimiter: a table's delimiter (None: the format's) or what separates text and label for 'label_sep'
            (required there); the other readers' layouts fix it.

    Returns:
        The examples as a `Dataset`.
    """
    if reader not in READERS:
        raise DataError(f"unknown reader {reader!r}; choose one of {', '.join(READERS)}")
    check_encoding(encoding)
    if delimiter is not None and reader not in DELIMITED:
        raise DataError(f"the {reader} reader's delimiter is fixed by its format; a delimiter ({delimiter!r}) "
                        f"applies to the {' and '.join(DELIMITED)} readers only")
    if reader == "sst2":
        return read_sst2(path, encoding=encoding)
    if reader == "mnli":
        return read_mnli(path, encoding=encoding)
    if reader == "emotion":
        return read_emotion(path, encoding)
    if reader == "label_sep":
        if delimiter is None:
            raise DataError("the label_sep reader needs the delimiter between text and label (e.g. --delimiter @)")
        return read_label_sep(path, delimiter, encoding, label_names)
    return read_table(path, text_column, pair_column, label_column, label_names=label_names, encoding=encoding,
                      delimiter=delimiter)
