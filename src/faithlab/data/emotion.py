"""The emotion set (dair-ai / CARER): one `text;label` per line, no quoting."""

from __future__ import annotations

from pathlib import Path

from faithlab.data.label_sep import read_label_sep
from faithlab.data.records import Dataset, OnError
from faithlab.data.text_file import DEFAULT_ENCODING

# dair-ai's ClassLabel order, so label ids agree with the published dataset.
EMOTION_LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")
_HEADERS = ("text;label", "text;label_name")


def read_emotion(path: str | Path, encoding: str = DEFAULT_ENCODING, on_error: OnError = "skip") -> Dataset:
    """Read a `text;label` file, split on the LAST `;` (texts may contain one); a header line is skipped."""
    return read_label_sep(path, ";", encoding, EMOTION_LABELS, _HEADERS, on_error)
