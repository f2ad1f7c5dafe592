"""--budget as people write it, and one clear error for anything else."""

from __future__ import annotations

import pytest

from faithlab.audit.budget import parse_budget
from faithlab.errors import FaithlabError


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
