"""--budget as people write it, and one clear error for anything else."""

from __future__ import annotations

import sys
import time

import pytest

from faithlab.audit.budget import parse_budget, process_seconds
from faithlab.errors import FaithlabError

IMPORTED = time.perf_counter()  # this module's import: the process started earlier


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h", 3600), ("1h30m", 5400), (" 1.5h ", 5400), ("2", 120), ("5M", 300)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5x", "m", "1m1m", "-5m", "15 minutes", "1h-3m"])
def test_not_a_duration(text: str) -> None:
    with pytest.raises(FaithlabError, match=r"is not a duration; write e\.g\. 90s, 15m, 1h or 1h30m"):
        parse_budget(text)


@pytest.mark.parametrize("text", ["0s", "0", "200h"])
def test_zero_or_more_than_a_week(text: str) -> None:
    with pytest.raises(FaithlabError, match="must be more than 0 s and at most a week"):
        parse_budget(text)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the process start time is read from /proc")
def test_the_clock_starts_with_the_process() -> None:
    first = process_seconds()
    assert first >= time.perf_counter() - IMPORTED  # start-up and imports are counted, not only what follows
    time.sleep(0.05)
    assert process_seconds() - first == pytest.approx(0.05, abs=0.04)
