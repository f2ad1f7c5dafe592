"""A resumable results store: one SQLite row per model × data set × method × metric (× variant, e.g. the
randomised layer) × example.

Rows are written as soon as a unit of work finishes, inside one transaction per unit, so a killed run loses at
most the unit in flight; the primary key makes a re-run skip what is done and never store a row twice.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    model TEXT NOT NULL,
    dataset TEXT NOT NULL,
    method TEXT NOT NULL,
    metric TEXT NOT NULL,
    variant TEXT NOT NULL,
    example INTEGER NOT NULL,
    value REAL,
    settings TEXT NOT NULL,
    details TEXT NOT NULL,
    seconds REAL NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (model, dataset, method, metric, variant, example)
);
CREATE TABLE IF NOT EXISTS units (
    model TEXT NOT NULL,
    dataset TEXT NOT NULL,
    unit TEXT NOT NULL,
    seconds REAL NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (model, dataset, unit)
);
"""


class ResultStore:
    """Results of one benchmark run folder (`results.sqlite`)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(self.path)
        self.connection.executescript(SCHEMA)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def is_done(self, model: str, dataset: str, unit: str) -> bool:
        """Whether a unit of work (e.g. one method's chunk of examples) has been stored completely."""
        row = self.connection.execute(
            "SELECT 1 FROM units WHERE model=? AND dataset=? AND unit=?", (model, dataset, unit)
        ).fetchone()
        return row is not None

    def done_units(self, model: str, dataset: str) -> set[str]:
        rows = self.connection.execute("SELECT unit FROM units WHERE model=? AND dataset=?", (model, dataset))
        return {r[0] for r in rows}

    def write_unit(self, model: str, dataset: str, unit: str, rows: Iterable[dict[str, Any]], seconds: float) -> int:
        """Store a unit's rows and mark it done, atomically. Returns the number of rows written."""
        now = time.time()
        records = [
            (
                model,
                dataset,
                r["method"],
                r["metric"],
                r.get("variant", ""),
                int(r["example"]),
                None if r["value"] is None or r["value"] != r["value"] else float(r["value"]),
                json.dumps(r.get("settings", {}), sort_keys=True, default=str),
                json.dumps(r.get("details", {}), sort_keys=True, default=str),
                float(r.get("seconds", 0.0)),
                now,
            )
            for r in rows
        ]
        with self.connection:
            self.connection.executemany(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", records
            )
            self.connection.execute(
                "INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?)", (model, dataset, unit, seconds, now)
            )
        return len(records)

    def frame(self) -> pd.DataFrame:
        """All result rows as a DataFrame (value NaN where a metric is undefined)."""
        frame = pd.read_sql_query(
            "SELECT model, dataset, method, metric, variant, example, value, settings, details, seconds FROM results "
            "ORDER BY model, dataset, method, metric, variant, example",
            self.connection,
        )
        frame["value"] = frame["value"].astype(float)
        return frame

    def unit_seconds(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM units ORDER BY model, dataset, unit", self.connection)

    def export(self, folder: str | Path) -> list[Path]:
        """Write results.csv and (when pyarrow is installed) results.parquet next to the database."""
        folder = Path(folder)
        frame = self.frame()
        written = [folder / "results.csv"]
        frame.to_csv(written[0], index=False)
        try:
            frame.to_parquet(folder / "results.parquet", index=False)
            written.append(folder / "results.parquet")
        except ImportError:
            pass
        return written
