"""How much of a file a reader kept, and the guard that stops a job which would run on too little of it.

Every job that reads data calls `check_skipped` once per file read: it returns a `ReadSummary` (console lines and a
JSON record for the run folder) and raises when the reader skipped more malformed rows than `max_skipped` allows,
unless the user accepted that. Rows left out on purpose (no gold label) are reported but do not count against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faithlab.data.records import DataError, Dataset, Skipped

MAX_SKIPPED = 0.05  # the default share of malformed rows a job accepts before it stops
FIRST_REASONS = 3  # reasons named in the error


@dataclass
class ReadSummary:
    """What one reader made of one file: rows kept, rows skipped by reason, and the limit they were checked against.

    `accepted` is True when the malformed share exceeded `max_skipped` and the user accepted it.
    """

    reader: str
    source: str
    kept: int
    skipped: list[Skipped] = field(default_factory=list)
    max_skipped: float = MAX_SKIPPED
    accepted: bool = False

    @property
    def malformed(self) -> int:
        return sum(group.count for group in self.skipped if group.malformed)

    @property
    def filtered(self) -> int:
        return sum(group.count for group in self.skipped if not group.malformed)

    @property
    def read(self) -> int:
        """Rows read: kept plus skipped (blank lines are not rows)."""
        return self.kept + self.malformed + self.filtered

    @property
    def malformed_share(self) -> float:
        return self.malformed / self.read if self.read else 0.0

    def headline(self) -> str:
        """One line: e.g. `esnli reader kept 71 of 9824 rows of dev.jsonl; skipped 9753 (99.3%) malformed`."""
        line = f"{self.reader} reader kept {self.kept} of {self.read} rows of {self.source}"
        if self.malformed:
            line += f"; skipped {self.malformed} malformed ({self.malformed_share:.1%})"
        if self.filtered:
            line += f"; left out {self.filtered} on purpose"
        if self.accepted:
            line += f" (above max_skipped {self.max_skipped:g}, accepted)"
        return line

    def lines(self) -> list[str]:
        """The headline, then one indented line per reason with its first line numbers."""
        return [self.headline(), *(f"  {group}" for group in self.skipped)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record for summaries and manifests."""
        return {
            "reader": self.reader, "source": self.source, "rows_read": self.read, "kept": self.kept,
            "malformed": self.malformed, "filtered": self.filtered, "max_skipped": self.max_skipped,
            "accepted": self.accepted, "skipped": [group.to_dict() for group in self.skipped],
        }


def check_skipped(
    dataset: Dataset, reader: str, *, max_skipped: float = MAX_SKIPPED, accept: bool = False
) -> ReadSummary:
    """Summarise what a reader kept of a file; stop when too many rows were malformed.

    Args:
        dataset: what the reader returned (its `report` lists the rows skipped).
        reader: the reader's name, as the user chose it (e.g. "esnli", "table").
        max_skipped: the largest share (0 to 1) of malformed rows among the rows read.
        accept: run anyway above `max_skipped` (the summary records that it was accepted).

    Returns:
        The `ReadSummary`.

    Raises:
        DataError: the malformed share exceeds `max_skipped` and `accept` is False; the message names the reader,
            the file, the count and the first reasons.
    """
    if not 0.0 <= max_skipped <= 1.0:
        raise DataError(f"max_skipped must be a fraction between 0 and 1, got {max_skipped!r}")
    summary = ReadSummary(reader, dataset.report.source or dataset.name, len(dataset), dataset.report.skipped(),
                          max_skipped)
    if summary.malformed_share > max_skipped:
        if not accept:
            reasons = [str(group) for group in summary.skipped if group.malformed]
            named = "; ".join(reasons[:FIRST_REASONS]) + ("; ..." if len(reasons) > FIRST_REASONS else "")
            raise DataError(
                f"the {reader} reader skipped {summary.malformed} of {summary.read} rows of {summary.source} as "
                f"malformed ({summary.malformed_share:.1%}, above max_skipped {max_skipped:g}): "
                f"{named}; fix the file, or accept running on the {summary.kept} rows kept with "
                "--accept-skipped (accept_skipped: true in a config)"
            )
        summary.accepted = True
    return summary

