"""Per-unit overhead of `faithlab bench --backend ray` against the in-process backend, on the same small configs.

Two configs over the built-in planted sentences, each run in-process, then on a private local Ray instance with one
worker (all CPUs, so the same torch thread count as in-process) and, for the first, with `--workers` workers (CPUs
split between them):
- "minilm": MiniLM with a classification head drawn from seed 0 (saved to a temporary folder, so that every process
  loads the same weights), grad_x_input + IG (16 steps) + occlusion + random, ground truth + comprehensiveness and
  sufficiency, `--chunk-size` examples per unit: units of realistic cost;
- "overhead": the zoo's xs BERT (random weights, seed 0), grad_x_input and ground truth only, one example per unit:
  units that cost almost nothing, so the driver's per-unit cost of each path shows.

Per run: the whole run's wall time, Ray's start-up, the time to the first stored unit (data, the driver's model load,
the workers' start and model load), the median seconds `execute` took per unit where it ran, the steady interval
between stored units ((last - first) / (units - 1)), the gap (interval minus the mean `execute` time of those units,
i.e. the per-unit cost outside `execute`), the largest score difference from the in-process table (same keys
checked) and whether the rows' details (which hold floats too) are identical. Usage:
    HF_HUB_OFFLINE=1 PYTHONPATH=src python benchmarks/bench_ray.py [--examples 15] [--chunk-size 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import ray
import torch

from faithlab.bench.config import parse_config
from faithlab.bench.ray_backend import RayBackend
from faithlab.bench.runner import InProcess, run_benchmark
from faithlab.bench.store import ResultStore
from faithlab.data import builtin_sentences
from faithlab.models import load_classifier
from faithlab.models.zoo import build_classifier_folder

KEYS = ["model", "dataset", "method", "metric", "variant", "example", "settings"]


def save_model(folder: Path) -> Path:
    """MiniLM with a seeded head, saved: the Ray workers must load the driver's weights."""
    torch.manual_seed(0)
    classifier = load_classifier("minilm")
    classifier.model.save_pretrained(folder)
    classifier.tokenizer.save_pretrained(folder)
    return folder


def measure(config, out: Path, backend) -> dict:
    started = time.perf_counter()
    wall_start = time.time()
    run_benchmark(config, out, progress=False, backend=backend)
    wall = time.perf_counter() - started
    with ResultStore(out / "results.sqlite") as store:
        units, frame = store.unit_seconds().sort_values("created"), store.frame()
    created, seconds = units["created"].to_numpy(), units["seconds"].to_numpy()
    interval = (created[-1] - created[0]) / max(len(units) - 1, 1)
    return {
        "units": len(units),
        "wall_s": wall,
        "first_unit_s": created[0] - wall_start,
        "execute_median_s": float(np.median(seconds)),
        "interval_s": interval,
        "gap_s": interval - float(seconds[1:].mean()) if len(units) > 1 else float("nan"),
        "values": frame["value"].to_numpy(),
        "keys": frame[KEYS],
        "details": frame["details"],
    }


def run_config(name: str, config, workers: list[int], tmp: Path) -> dict[str, dict]:
    """The config in-process, then on a fresh local Ray instance per worker count."""
    cpus = os.cpu_count() or 1
    rows = {"in-process": measure(config, tmp / f"{name}-in-process", InProcess())}
    for count in workers:
        started = time.perf_counter()
        with RayBackend(workers=count, cpus_per_worker=cpus / count, num_cpus=cpus) as backend:
            init = time.perf_counter() - started
            label = f"ray, {count} worker{'s' * (count > 1)}"
            rows[label] = measure(config, tmp / f"{name}-ray-{count}", backend) | {"ray_init_s": init}
    return rows


def print_table(name: str, rows: dict[str, dict]) -> None:
    reference = rows["in-process"]
    print(f"\n{name}:")
    print("| backend | units | Ray start s | first unit s | execute/unit s (median) | interval/unit s | gap/unit s "
          "| whole run s | max abs score difference from in-process | same details |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, row in rows.items():
        assert row["keys"].equals(reference["keys"]), f"{label}: other result keys than in-process"
        difference = float(np.nanmax(np.abs(row["values"] - reference["values"])))
        same_details = "yes" if row["details"].equals(reference["details"]) else "no (floats in them)"
        print(f"| {label} | {row['units']} | {row.get('ray_init_s', 0):.1f} | {row['first_unit_s']:.1f} | "
              f"{row['execute_median_s']:.3f} | {row['interval_s']:.3f} | {row['gap_s']:.3f} | {row['wall_s']:.1f} | "
              f"{difference:.1e} | {same_details} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=15, help="built-in planted examples of the minilm config")
    parser.add_argument("--chunk-size", type=int, default=5, help="examples per unit of the minilm config")
    parser.add_argument("--overhead-units", type=int, default=30, help="one-example units of the overhead config")
    parser.add_argument("--workers", type=int, default=2, help="workers of the minilm config's second Ray run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        minilm = parse_config({
            "models": [{"name": "minilm-seed0", "path": str(save_model(tmp / "minilm"))}],
            "datasets": [{"name": "planted", "kind": "planted", "path": "builtin", "n": args.examples}],
            "methods": ["grad_x_input", {"ig": {"n_steps": 16}}, "occlusion", "random"],
            "metrics": ["ground_truth", "faithfulness"],
            "samples": {"examples": args.examples},
            "chunk_size": args.chunk_size,
        })
        tiny = build_classifier_folder("bert", builtin_sentences(), tmp / "tiny", size="xs", seed=0)
        overhead = parse_config({
            "models": [{"name": "bert-xs", "path": str(tiny)}],
            "datasets": [{"name": "planted", "kind": "planted", "path": "builtin", "n": args.overhead_units}],
            "methods": ["grad_x_input"],
            "metrics": ["ground_truth"],
            "samples": {"examples": args.overhead_units},
            "chunk_size": 1,
        })
        tables = {"minilm": run_config("minilm", minilm, [1, args.workers], tmp),
                  "overhead": run_config("overhead", overhead, [1], tmp)}
    print(f"\n{os.cpu_count()} CPUs, torch {torch.__version__}, ray {ray.__version__}")
    for name, rows in tables.items():
        print_table(name, rows)
    gap = tables["overhead"]["ray, 1 worker"]["gap_s"] - tables["overhead"]["in-process"]["gap_s"]
    print(f"\nper-unit overhead of the Ray path (overhead config, 1 worker, gap minus in-process gap): "
          f"{gap * 1e3:+.1f} ms")


if __name__ == "__main__":
    main()
