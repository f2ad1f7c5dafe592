"""A bench run folder as the app reads it: the results table, a filtered leaderboard, and an example's text.

Results come from the exported `results.parquet` or `results.csv`, else from `results.sqlite`; an example's text is
read again from the data set its `config.json` names, so the app can show any example's views. The verdict (which
method to trust, with its evidence) is read from the `verdict.json` the bench summary writes, when it is there.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from faithlab.bench.config import BenchConfig
from faithlab.bench.runner import load_examples
from faithlab.bench.store import ResultStore
from faithlab.errors import FaithlabError
from faithlab.evaluate.metrics import METRICS
from faithlab.evaluate.verdict import read_verdicts, verdict_markdown
from faithlab.schema import validate

FILTERS = ("model", "dataset", "method", "metric")
VERDICT_JSON = "verdict.json"


class RunFolder:
    """The results of one `faithlab bench` run folder."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.frame = _read_results(self.folder)

    def filters(self) -> dict[str, list[str]]:
        """The values each filter can take."""
        return {column: sorted(self.frame[column].astype(str).unique()) for column in FILTERS}

    def leaderboard(self, **chosen: str | None) -> pd.DataFrame:
        """Mean per model, data set, method and metric over the examples (unrandomized variant), filtered by the
        given values; within each model and metric the best method comes first."""
        frame = self._filtered(chosen)
        frame = frame[frame["variant"].fillna("") == ""]
        table = frame.groupby(list(FILTERS), sort=True)["value"].agg(["mean", "count"]).reset_index()
        table = table.rename(columns={"count": "n"})
        table["higher_is_better"] = [METRICS[m].higher_is_better if m in METRICS else True for m in table["metric"]]
        table["sort"] = np.where(table["higher_is_better"], -table["mean"], table["mean"])
        table = table.sort_values(["model", "dataset", "metric", "sort"]).drop(columns="sort")
        return table.reset_index(drop=True)

    def examples(self, model: str, dataset: str, method: str, metric: str) -> pd.DataFrame:
        """Each example's value of one model, data set, method and metric (unrandomized variant)."""
        frame = self._filtered({"model": model, "dataset": dataset, "method": method, "metric": metric})
        frame = frame[frame["variant"].fillna("") == ""]
        return frame[["example", "value"]].sort_values("example").reset_index(drop=True)

    def example_text(self, dataset: str, example: int) -> dict[str, Any]:
        """The text (and pair text) of one example, read again from the run's data set."""
        examples = _examples(self.folder, dataset)
        if not 0 <= example < len(examples):
            raise FaithlabError(f"data set '{dataset}' has examples 0..{len(examples) - 1}, not {example}")
        return {"dataset": dataset, "example": example, "text": examples[example][0], "pair": examples[example][1]}

    def verdicts(self, model: str | None = None, dataset: str | None = None) -> list[dict[str, Any]]:
        """The run's verdicts (leader, top set, evidence per metric, summary), filtered by model and data set; each
        with its markdown form under 'markdown'.

        Raises:
            FaithlabError: the folder holds no verdict.json (no faithfulness metric measured, or an older run).
        """
        path = self.folder / VERDICT_JSON
        if not path.is_file():
            raise FaithlabError(f"{self.folder} holds no {VERDICT_JSON}; `faithlab bench` writes it when the run "
                                "measured a faithfulness metric")
        return [
            verdict.to_dict() | {"markdown": verdict_markdown(verdict)}
            for (m, d), verdict in read_verdicts(path.read_text(encoding="utf-8")).items()
            if model in (None, "", m) and dataset in (None, "", d)
        ]

    def _filtered(self, chosen: dict[str, str | None]) -> pd.DataFrame:
        frame = self.frame
        for column, value in chosen.items():
            if value:
                known = set(self.frame[column].astype(str))
                if value not in known:
                    raise FaithlabError(f"unknown {column} '{value}'; the run has {sorted(known)}")
                frame = frame[frame[column].astype(str) == value]
        return frame


def _read_results(folder: Path) -> pd.DataFrame:
    for name, read in (("results.parquet", pd.read_parquet), ("results.csv", pd.read_csv)):
        if (folder / name).is_file():
            return read(folder / name)
    if (folder / "results.sqlite").is_file():
        with ResultStore(folder / "results.sqlite") as store:
            return store.frame()
    raise FaithlabError(
        f"{folder} is not a bench run folder: it holds no results.parquet, results.csv or results.sqlite"
    )


@cache
def _examples(folder: Path, dataset: str) -> tuple[tuple[str, str | None], ...]:
    path = folder / "config.json"
    if not path.is_file():
        raise FaithlabError(f"{folder} has no config.json, so its examples' texts cannot be read again")
    values = json.loads(path.read_text())
    # the runner writes each method as [name, settings]; the schema reads a method as a name or {name: settings}
    values["methods"] = [{name: settings} for name, settings in values.get("methods", [])]
    config = validate(BenchConfig, values, f"{path}: ")
    spec = next((d for d in config.datasets if d.name == dataset), None)
    if spec is None:
        raise FaithlabError(f"unknown data set '{dataset}'; the run has {[d.name for d in config.datasets]}")
    return tuple((e.text, e.pair) for e in load_examples(spec, config).examples)
