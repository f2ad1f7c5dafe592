"""Time budgets as people write them (`90s`, `15m`, `1.5h`, `1h30m`), read into seconds with one clear error."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from faithlab.errors import FaithlabError

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smh])")
MAX_SECONDS = 7 * 24 * 3600.0  # a week: anything longer is a typo, not a plan


def parse_budget(text: str) -> float:
    """Seconds in a budget such as '90s', '15m', '1h' or '1h30m' (a bare number is minutes).

    Raises:
        FaithlabError: the text is not a positive duration of at most a week (the message names it and the format).
    """
    spec = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", spec):
        spec += "m"
    parts = _PART.findall(spec)
    units = [unit for _, unit in parts]
    if not parts or "".join(n + u for n, u in parts) != spec or len(set(units)) != len(units):
        raise FaithlabError(f"--budget {text!r} is not a duration; write e.g. 90s, 15m, 1h or 1h30m")
    seconds = sum(float(number) * UNITS[unit] for number, unit in parts)
    if not 0 < seconds <= MAX_SECONDS:
        raise FaithlabError(f"--budget {text!r} must be more than 0 s and at most a week (7 days)")
    return seconds


def process_seconds() -> float:
    """Seconds since this process started (interpreter start-up and imports included), so that a budget counts the
    wall time a user sees; 0.0 where the system does not say when the process started (not Linux)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat(5): start time after boot, in ticks
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, AttributeError, ValueError, IndexError):
        return 0.0
