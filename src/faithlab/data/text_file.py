"""A data file's lines in a named encoding, so every reader decodes the same way and fails the same way.

Files are decoded line by line (bytes split at b"\\n"), so a byte that is not valid in the encoding is reported with
the line it is on; this holds for the ASCII-compatible encodings data files use (UTF-8, Latin-1, cp1252, ...).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from faithlab.data.records import DataError

DEFAULT_ENCODING = "utf-8"


def check_encoding(encoding: str) -> str:
    """`encoding` if Python knows it; else a `DataError` naming it."""
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise DataError(
            f"unknown encoding {encoding!r}; give a Python codec name such as utf-8, latin-1 or cp1252"
        ) from None
    return encoding


def text_lines(path: Path, encoding: str = DEFAULT_ENCODING) -> Iterator[str]:
    """The lines of `path`, line endings kept; with UTF-8 a leading byte-order mark is skipped.

    Raises:
        DataError: a line is not valid in `encoding` (the message names the file, the line and the encoding).
    """
    check_encoding(encoding)
    codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    decoder = codecs.getincrementaldecoder(codec)()
    line = 0
    with path.open("rb") as handle:
        try:
            for raw in handle:
                line += 1
                yield decoder.decode(raw)
            decoder.decode(b"", final=True)  # a multi-byte character cut off at the end of the file
        except UnicodeDecodeError as err:
            raise DataError(
                f"{path}: cannot read line {line} as {encoding} ({err.reason} at byte {err.start + 1} of the line); "
                "give the file's encoding (e.g. encoding='latin-1', --encoding latin-1)"
            ) from None
