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
    (or planted) rationale refers to; readers keep `words == text.split()`. `planted` lists the word indices
    that carry a planted feature (the ground-truth task); it is None for ordinary data.
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


@dataclass(frozen=True)
class Issue:
    """A row left out: where (1-based line or record number), why, and whether it was malformed."""

    row: int
    reason: str
    malformed: bool = True

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass
class Report:
    """What a reader skipped and why. Malformed rows raise under `on_error="raise"`; filtered ones never."""

    source: str = ""
    on_error: OnError = "skip"
    issues: list[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.on_error not in ("skip", "raise"):
            raise DataError(f"on_error must be 'skip' or 'raise', got {self.on_error!r}")

    def malformed(self, row: int, reason: str) -> None:
        """Record a broken row; raise `DataError` at once when on_error is 'raise'."""
        issue = Issue(row, reason, malformed=True)
        if self.on_error == "raise":
            raise DataError(f"{self.source}: {issue} (pass on_error='skip' to skip such rows with a report)")
        self._add(issue)

    def filtered(self, row: int, reason: str) -> None:
        """Record a well-formed row left out on purpose (e.g. no gold label, duplicate text)."""
        self._add(Issue(row, reason, malformed=False))

    def _add(self, issue: Issue) -> None:
        # Readers find some problems while parsing and others while building examples; keep file order.
        bisect.insort(self.issues, issue, key=lambda item: item.row)

    @property
    def n_malformed(self) -> int:
        return sum(issue.malformed for issue in self.issues)

    @property
    def n_filtered(self) -> int:
        return len(self.issues) - self.n_malformed

    def __bool__(self) -> bool:
        return bool(self.issues)

    def __str__(self) -> str:
        head = f"{self.source}: {self.n_malformed} malformed, {self.n_filtered} filtered rows"
        return "\n".join([head, *(f"  {issue}" for issue in self.issues[:20])])


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
