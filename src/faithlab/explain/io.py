"""Explanations on disk and as tables: JSON Lines with provenance (one explanation per line) and a DataFrame view.

Each line is `Explanation.to_dict()` plus `faithlab_version`, `created` (UTC, ISO 8601) and a free `meta` dict
(a job stores the input row there); the model id, method, settings and conventions (output, replacement,
special_tokens) are fields of the explanation itself. Lines written before the conventions were recorded still read:
`Explanation.from_dict` fills them in as 'unknown', 'unknown' and 'zeroed'.
Files are appended to one whole line at a time, so a crash can only leave a partial last line, which readers skip
and `repair_jsonl` removes before more lines are appended.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

import faithlab
from faithlab.errors import FaithlabError
from faithlab.explain.explanation import Explanation

_FIELDS = {f.name for f in dataclasses.fields(Explanation)}
_OPTIONAL = {"warnings", "extras", "output", "replacement", "special_tokens", "token_groups"}  # absent from older lines

DATAFRAME_COLUMNS = [
    "text_id",
    "text",
    "pair",
    "model",
    "method",
    "output",
    "replacement",
    "special_tokens",
    "target",
    "target_name",
    "predicted",
    "target_probability",
    "position",
    "token",
    "word_id",
    "word",
    "side",
    "special",
    "score",
    "normalized",
]


def to_record(explanation: Explanation, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON object written for one explanation: its fields plus provenance and `meta`."""
    record = explanation.to_dict()
    record["faithlab_version"] = faithlab.__version__
    record["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    record["meta"] = dict(meta or {})
    return record


def from_record(record: dict[str, Any]) -> Explanation:
    """The explanation in a record (provenance and meta are dropped; read them from the record)."""
    missing = sorted(_FIELDS - set(record) - _OPTIONAL)
    if missing:
        raise FaithlabError(f"not an explanation record: missing {', '.join(missing)}")
    return Explanation.from_dict({key: value for key, value in record.items() if key in _FIELDS})


def write_jsonl(
    explanations: Iterable[Explanation],
    path: str | os.PathLike,
    *,
    append: bool = False,
    meta: dict[str, Any] | None = None,
) -> int:
    """Write (or append) one line per explanation, flushed to disk; returns the number of lines written."""
    return append_records((to_record(e, meta) for e in explanations), path, append=append)


def append_records(records: Iterable[dict[str, Any]], path: str | os.PathLike, *, append: bool = True) -> int:
    """Write records as whole lines in one go, then flush and sync so a finished call survives a crash."""
    lines = [json.dumps(record, ensure_ascii=False) + "\n" for record in records]
    with open(path, "a" if append else "w", encoding="utf-8") as handle:
        handle.write("".join(lines))
        handle.flush()
        os.fsync(handle.fileno())
    return len(lines)


def iter_records(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file, one at a time; a partial last line (an interrupted write) is skipped."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                if not line.endswith("\n"):
                    return
                raise FaithlabError(f"{path}: line {number} is not valid JSON ({exc.msg})") from exc


def iter_jsonl(path: str | os.PathLike) -> Iterator[Explanation]:
    """The explanations of a JSONL file, one at a time (bounded memory)."""
    for record in iter_records(path):
        yield from_record(record)


def read_jsonl(path: str | os.PathLike) -> list[Explanation]:
    """All explanations of a JSONL file written by `write_jsonl` (or by `faithlab explain --out`)."""
    return list(iter_jsonl(path))


def repair_jsonl(path: str | os.PathLike) -> None:
    """Make a file safe to append to: cut a partial last line, or end a complete one with its missing newline."""
    path = Path(path)
    if not path.exists():
        return
    with path.open("rb+") as handle:
        data = handle.read()
        if not data or data.endswith(b"\n"):
            return
        start = data.rfind(b"\n") + 1
        try:
            json.loads(data[start:])
        except ValueError:
            handle.truncate(start)
        else:
            handle.write(b"\n")


def to_dataframe(explanations: Iterable[Explanation]) -> pd.DataFrame:
    """One row per token of every explanation, special tokens included (`special` is True for them).

    `text_id` numbers distinct (text, pair) inputs in order of first appearance, so rows of several methods on the
    same text share it. `output`, `replacement` and `special_tokens` are the explanation's conventions. `word` is
    the token's word in its text ('' for special tokens), `side` 0 for the text and 1 for the pair text, `score` the
    stored score, `normalized` the score divided by the largest |score| of the explanation's content tokens (0 for
    special tokens, as in the views that hide them).
    """
    ids: dict[tuple[str, str | None], int] = {}
    rows = []
    for e in explanations:
        text_id = ids.setdefault((e.text, e.pair), len(ids))
        normalized = e.normalized("max")
        for t, (token, score) in enumerate(zip(e.tokens, e.scores, strict=True)):
            word = e.word_ids[t]
            rows.append(
                {
                    "text_id": text_id,
                    "text": e.text,
                    "pair": e.pair,
                    "model": e.model,
                    "method": e.method,
                    "output": e.output,
                    "replacement": e.replacement,
                    "special_tokens": e.special_tokens,
                    "target": e.target,
                    "target_name": e.target_name,
                    "predicted": e.labels[e.predicted],
                    "target_probability": e.probabilities[e.target],
                    "position": t,
                    "token": token,
                    "word_id": word,
                    "word": "" if word is None else e.word_text(word),
                    "side": None if word is None else e.words[word][0],
                    "special": word is None,
                    "score": float(score),
                    "normalized": float(normalized[t]),
                }
            )
    return pd.DataFrame(rows, columns=DATAFRAME_COLUMNS)
