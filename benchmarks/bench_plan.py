"""`faithlab bench --plan` against the run it plans: estimated and measured seconds per unit, in one process.

Plans the config (calibrating on this device, nothing run), then runs the benchmark into a fresh folder and reads
each unit's measured seconds from the store; model training is timed separately (the run's wall time minus its
units). Prints a markdown table with the command.

    python benchmarks/bench_plan.py --quick --out /tmp/plan-quick           # the quick profile
    python benchmarks/bench_plan.py CONFIG.yaml --out /tmp/plan-config
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from faithlab.bench.config import load_config
from faithlab.bench.plan import plan_benchmark
from faithlab.bench.runner import run_benchmark
from faithlab.bench.store import ResultStore


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", type=Path)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, required=True, help="run folder (deleted first)")
    args = parser.parse_args(argv)
    source = Path(str(resources.files("faithlab.bench") / "quick.yaml")) if args.quick else args.config
    config = load_config(source)
    shutil.rmtree(args.out, ignore_errors=True)
    start = time.perf_counter()
    plan = plan_benchmark(config, args.out)
    planning = time.perf_counter() - start
    start = time.perf_counter()
    run_benchmark(config, args.out, progress=False)
    wall = time.perf_counter() - start
    with ResultStore(args.out / "results.sqlite") as store:
        measured = store.unit_seconds()
    actual = {(r.model, r.dataset, r.unit): float(r.seconds) for r in measured.itertuples()}
    print(f"`{' '.join(['python benchmarks/bench_plan.py', *(sys.argv[1:] if argv is None else argv)])}`; planning "
          f"took {planning:.0f} s (calibration, untrained models built); load average at the end "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print("| model | data set | unit | forward rows | backward rows | planned s | actual s | actual / planned |")
    print("|---|---|---|---|---|---|---|---|")
    for u in plan.units:
        real = actual.get((u.model, u.dataset, u.unit), float("nan"))
        print(f"| {u.model} | {u.dataset} | {u.unit} | {u.passes.forward_rows:,} | {u.passes.backward_rows:,} | "
              f"{u.seconds:.1f} | {real:.1f} | {real / u.seconds if u.seconds else float('nan'):.2f} |")
    units_actual = sum(actual.values())
    units_planned = sum(u.seconds for u in plan.units)
    training_planned = sum(m.training_seconds for m in plan.models)
    print(f"| **units** | | | | | {units_planned:.0f} | {units_actual:.0f} | {units_actual / units_planned:.2f} |")
    print(f"| **training + rest** | | | | | {training_planned:.0f} | {wall - units_actual:.0f} | |")
    print(f"| **total** | | | | | {plan.seconds:.0f} | {wall:.0f} | {wall / plan.seconds:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
