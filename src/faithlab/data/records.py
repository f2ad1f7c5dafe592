"""What every reader returns: an `Example` per row, a `Dataset` holding them, a `Report` of skipped rows."""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from faithlab.errors import FaithlabError

OnError = Literal["skip", "raise"]


class DataError(FaithlabError):
    """A data file or setting is wrong; the message names the file, row or column and what was expected."""


@dataclass
class Example:
    """One text (or text pair) with an optional label and optional word-level rationale masks.

    `rationale` / `pair_rationale` are 0/1 masks over `words` / `pair_words`, the word segmentation the human
    (or planted) rationale refers to. `spans` / `pair_spans` give each word's character `[start, end)` in `text` /
    `pair` when the words are a file's tokens aligned to the raw text (`church`, `.` in "at a church."); None means
    the words are `text.split()`. `planted` lists the word indices that carry a planted feature (the ground-truth
    task); it is None for ordinary data.
    """

    text: str
    pair: str | None = None
    label: int | None = None
    label_name: str | None = None
    rationale: list[int] | None = None
    pair_rationale: list[int] | None = None
    words: list[str] | None = None
    pair_words: list[str] | None = None
    id: str | None = None
    planted: list[int] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    spans: list[tuple[int, int]] | None = None
    pair_spans: list[tuple[int, int]] | None = None


MAX_KEPT = 20  # rows kept per reason; a file with a million bad rows reports the first ones and counts the rest


class RowError(ValueError):
    """Why one row cannot become an example. The message names this row's values; `kind` is the reason shared by
    every such row (e.g. "unknown label"), under which the report counts them."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Issue:
    """A row left out: where (1-based line or record number), why, and whether it was malformed."""

    row: int
    reason: str
    malformed: bool = True

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass
class Skipped:
    """The rows left out for one reason: how many, and the first `MAX_KEPT` of them in file order."""

    reason: str
    malformed: bool
    count: int = 0
    issues: list[Issue] = field(default_factory=list)

    @property
    def rows(self) -> list[int]:
        return [issue.row for issue in self.issues]

    def __str__(self) -> str:
        more = ", ..." if self.count > len(self.issues) else ""
        where = f"line{'s' if self.count > 1 else ''} {', '.join(map(str, self.rows))}{more}"
        return f"{self.count} x {self.reason} ({where}{'' if self.malformed else '; left out on purpose'})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: reason, malformed, count and the first line numbers."""
        return {"reason": self.reason, "malformed": self.malformed, "count": self.count, "first_lines": self.rows}


@dataclass
class Report:
    """What a reader skipped and why. Malformed rows raise under `on_error="raise"`; filtered ones never.

    Rows are grouped by reason; each group counts all its rows but keeps only the first `MAX_KEPT`, so memory
    stays bounded however broken a file is.
    """

    source: str = ""
    on_error: OnError = "skip"
    groups: dict[tuple[str, bool], Skipped] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.on_error not in ("skip", "raise"):
            raise DataError(f"on_error must be 'skip' or 'raise', got {self.on_error!r}")

    def malformed(self, row: int, reason: str, kind: str | None = None) -> None:
        """Record a broken row (`kind`: the reason it is counted under, default `reason`); raise `DataError` at
        once when on_error is 'raise'."""
        issue = Issue(row, reason, malformed=True)
        if self.on_error == "raise":
            raise DataError(f"{self.source}: {issue} (pass on_error='skip' to skip such rows with a report)")
        self._add(issue, kind or reason)

    def malformed_error(self, row: int, error: Exception) -> None:
        """Record a row whose example could not be built; a `RowError` is counted under its kind."""
        reason = str(error.args[0]) if error.args else repr(error)
        self.malformed(row, reason, error.kind if isinstance(error, RowError) else reason)

    def filtered(self, row: int, reason: str, kind: str | None = None) -> None:
        """Record a well-formed row left out on purpose (e.g. no gold label, duplicate text)."""
        self._add(Issue(row, reason, malformed=False), kind or reason)

    def _add(self, issue: Issue, kind: str) -> None:
        group = self.groups.setdefault((kind, issue.malformed), Skipped(kind, issue.malformed))
        group.count += 1
        # Readers find some problems while parsing and others while building examples; keep file order.
        bisect.insort(group.issues, issue, key=lambda item: item.row)
        del group.issues[MAX_KEPT:]

    @property
    def issues(self) -> list[Issue]:
        """The rows kept (the first `MAX_KEPT` per reason), in file order."""
        return sorted((issue for group in self.groups.values() for issue in group.issues), key=lambda i: i.row)

    def skipped(self) -> list[Skipped]:
        """One entry per reason, the reason met first in the file first."""
        return sorted(self.groups.values(), key=lambda group: group.issues[0].row)

    @property
    def n_malformed(self) -> int:
        return sum(group.count for group in self.groups.values() if group.malformed)

    @property
    def n_filtered(self) -> int:
        return sum(group.count for group in self.groups.values() if not group.malformed)

    @property
    def n_skipped(self) -> int:
        return self.n_malformed + self.n_filtered

    def __bool__(self) -> bool:
        return bool(self.groups)

    def __str__(self) -> str:
        head = f"{self.source}: {self.n_malformed} malformed, {self.n_filtered} filtered rows"
        return "\n".join([head, *(f"  {issue}" for issue in self.issues[:MAX_KEPT])])


@dataclass
class Dataset:
    """A list of examples with the class names their integer labels index into, plus the reader's report."""

    examples: list[Example]
    label_names: tuple[str, ...] = ()
    report: Report = field(default_factory=Report)
    name: str = ""

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)

    def __getitem__(self, index: int) -> Example:
        return self.examples[index]

    @property
    def texts(self) -> list[str]:
        return [ex.text for ex in self.examples]

    @property
    def pairs(self) -> list[str | None]:
        return [ex.pair for ex in self.examples]

    @property
    def labels(self) -> list[int | None]:
        return [ex.label for ex in self.examples]

    @property
    def has_labels(self) -> bool:
        """True when every example carries a label (and there is at least one example)."""
        return bool(self.examples) and all(ex.label is not None for ex in self.examples)

    def subset(self, indices: Sequence[int], name: str | None = None) -> Dataset:
        """The examples at `indices`, same label names, a fresh empty report."""
        return Dataset(
            [self.examples[i] for i in indices],
            self.label_names,
            Report(source=name or self.name),
            name or self.name,
        )
