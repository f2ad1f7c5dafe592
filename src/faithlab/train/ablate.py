"""Ablations: train a base config and named variations of it, and tabulate test accuracy against the base.

An ablation file is YAML with `base` (a train config mapping, or the path of a train config file) and
`variations`, a mapping from a name to dotted-key overrides, e.g. `mean-pooling: {pooling: mean}`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from faithlab.errors import FaithlabError
from faithlab.report.tables import markdown_table
from faithlab.train.config import TrainConfig, read_yaml
from faithlab.train.trainer import train

BASE = "base"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def load_ablation(path: str | Path) -> tuple[TrainConfig, dict[str, dict[str, Any]]]:
    """The base config and the variations of an ablation file."""
    spec = read_yaml(path)
    unknown = sorted(set(spec) - {"base", "variations"})
    if unknown:
        raise FaithlabError(f"ablation file '{path}': unknown key '{unknown[0]}'; expected 'base' and 'variations'")
    base = spec.get("base") or {}
    if isinstance(base, str):
        base = read_yaml(Path(path).parent / base)
    return TrainConfig.from_dict(base, f"ablation file '{path}': base: "), dict(spec.get("variations") or {})


def ablation_configs(base: TrainConfig, variations: dict[str, dict[str, Any]]) -> dict[str, TrainConfig]:
    """One config per run (the base first), each writing to `<base output_dir>/<name>`; all validated up front."""
    if not variations:
        raise FaithlabError("an ablation needs at least one variation, e.g. {'mean-pooling': {'pooling': 'mean'}}")
    root = Path(base.output_dir)
    configs = {BASE: base.with_overrides({"output_dir": str(root / BASE)})}
    for name, overrides in variations.items():
        if name == BASE or not _NAME.match(str(name)):
            raise FaithlabError(f"variation name {name!r} must be a folder-safe word other than '{BASE}'")
        if not isinstance(overrides, dict) or not overrides:
            raise FaithlabError(f"variation '{name}' must map settings to values, got {overrides!r}")
        if "output_dir" in overrides:
            raise FaithlabError(f"variation '{name}' may not set output_dir; runs go under '{root}'")
        configs[name] = base.with_overrides({**overrides, "output_dir": str(root / name)}, f"variation '{name}': ")
    return configs


def ablate(
    base: TrainConfig, variations: dict[str, dict[str, Any]], *, resume: bool = True, overwrite: bool = False
) -> pd.DataFrame:
    """Run the base and every variation; write `ablation.csv` and `ablation.md` under the base output folder."""
    configs = ablation_configs(base, variations)
    rows = []
    for name, config in configs.items():
        result = train(config, resume=resume, overwrite=overwrite)
        changes = variations.get(name, {})
        rows.append({
            "variation": name,
            "changes": ", ".join(f"{key}={value}" for key, value in changes.items()) or "-",
            "test_accuracy": result.metrics["accuracy"],
            "f1_macro": result.metrics["f1_macro"],
            "ece": result.metrics["ece"],
            "best_epoch": result.best_epoch,
            "run_dir": str(result.run_dir),
        })
    table = pd.DataFrame(rows)
    table.insert(3, "delta_accuracy", table["test_accuracy"] - table["test_accuracy"].iloc[0])
    root = Path(base.output_dir)
    table.to_csv(root / "ablation.csv", index=False)
    (root / "ablation.md").write_text(markdown_table(table.drop(columns="run_dir")), encoding="utf-8")
    return table
