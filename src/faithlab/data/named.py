"""Readers by name, as configs and the command line choose them (`--reader emotion`): one place for the choices.

'table' reads any CSV / TSV / JSONL by column names; the others know their file's layout and labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from faithlab.data.emotion import read_emotion
from faithlab.data.glue import read_mnli, read_sst2
from faithlab.data.records import DataError, Dataset
from faithlab.data.tabular import read_table

READERS = ("table", "sst2", "mnli", "emotion")


def read_named(
    reader: str,
    path: str | Path,
    text_column: str = "text",
    pair_column: str | None = None,
    label_column: str | None = None,
    label_names: Sequence[str] | None = None,
) -> Dataset:
    """Read `path` with the named reader; the column arguments apply to 'table' only.

    Args:
        reader: one of `READERS`.
        path: the data file.
        text_column, pair_column, label_column: the table's columns (label None: unlabelled texts).
        label_names: class names of a table's labels, in index order (None: inferred).

    Returns:
        The examples as a `Dataset`.
    """
    if reader == "sst2":
        return read_sst2(path)
    if reader == "mnli":
        return read_mnli(path)
    if reader == "emotion":
        return read_emotion(path)
    if reader != "table":
        raise DataError(f"unknown reader {reader!r}; choose one of {', '.join(READERS)}")
    return read_table(path, text_column, pair_column, label_column, label_names=label_names)
