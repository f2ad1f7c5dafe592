"""Validate the verdict where the truth is known: on the planted task, does the verdict computed WITHOUT the
ground-truth metrics agree with the ground-truth ranking?

Runs (or resumes) a small benchmark: two zoo models trained on the planted built-in sentences and MiniLM fine-tuned
on them (the demo's settings), the cheaper methods, the removal metrics, leave-one-out agreement and the
ground-truth metrics, with the meta-evaluation on. Then per model it compares the verdict's overall scores (ground
truth left out) with the methods' mean ground-truth overlap: Spearman correlation over the methods, whether the
verdict's leader is the ground truth's best method, and whether it lies in the ground truth's tied top set.

    PYTHONPATH=src HF_HUB_OFFLINE=1 python benchmarks/validate_verdict.py --out runs/validate-verdict
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from faithlab.bench.config import parse_config
from faithlab.bench.runner import run_benchmark
from faithlab.bench.store import ResultStore
from faithlab.evaluate.ranking import rank_correlation
from faithlab.evaluate.verdict import BASELINE, GROUND_TRUTH_METRICS, VERDICT_METRICS, build_verdict
from faithlab.report.tables import markdown_table

MINILM_TRAIN = {"epochs": 3, "batch_size": 16, "learning_rate": 1e-4, "warmup_ratio": 0.1, "max_length": 64,
                "monitor": "dev_loss", "data": {"task": "planted"}}  # the demo's settings (`faithlab demo`)
CONFIG = {
    "seed": 0,
    "models": [
        {"name": "bert-xs", "zoo": {"family": "bert", "size": "xs", "epochs": 8}, "train": {"batch_size": 16}},
        {"name": "gpt2-xs", "zoo": {"family": "gpt2", "size": "xs", "epochs": 8}, "train": {"batch_size": 16}},
        {"name": "minilm", "path": "minilm", "train": MINILM_TRAIN},
    ],
    "datasets": [{"name": "planted-builtin", "kind": "planted", "path": "builtin", "n": 48}],
    "methods": ["gradient", "grad_x_input", {"ig": {"n_steps": 16}}, "attention_mean", "occlusion", "lrp", "random"],
    "metrics": ["ground_truth", "faithfulness", "curves", "loo"],
    "samples": {"examples": 48},
    "chunk_size": 16,
    "bootstrap": {"resamples": 1000},
    "meta_evaluation": {"enabled": True, "examples": 16, "repeats": 2},
}


def agreement(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (model, data set): the verdict without ground truth against the ground-truth ranking (gt_overlap)."""
    blind = build_verdict(frame, exclude_metrics=GROUND_TRUTH_METRICS)
    truth = build_verdict(frame, meta={}, exclude_metrics=[m for m in VERDICT_METRICS if m != "gt_overlap"])
    rows = []
    for key, verdict in blind.items():
        known = truth[key]
        means = {m: v.mean for m, v in known.evidence[0].means.items()}
        methods = [m for m in verdict.scores if m in means]
        gt_best = max((m for m in methods if m != BASELINE), key=lambda m: means[m])
        rows.append({
            "model": key[0],
            "spearman": rank_correlation([verdict.scores[m] for m in methods], [means[m] for m in methods]),
            "verdict_leader": verdict.leader,
            "verdict_top_set": ", ".join(verdict.best),
            "gt_best": gt_best,
            "gt_top_set": ", ".join(known.best),
            "top1_match": verdict.leader == gt_best,
            "leader_in_gt_top_set": verdict.leader in known.best,
            "flagged": ", ".join(verdict.flagged_metrics) or "none",
        })
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/validate-verdict", help="run folder (resumable)")
    parser.add_argument("--models", nargs="+", help="run only these models of the config (default: all)")
    args = parser.parse_args()
    out = Path(args.out)
    models = [m for m in CONFIG["models"] if args.models is None or m["name"] in args.models]
    start = time.perf_counter()
    database = run_benchmark(parse_config(CONFIG | {"models": models}), out, progress=False)
    with ResultStore(database) as store:
        frame = store.frame()
    frame = frame[frame["model"].isin([m["name"] for m in models])]
    table = agreement(frame)
    blind = build_verdict(frame, exclude_metrics=GROUND_TRUTH_METRICS)
    (out / "verdict-without-ground-truth.json").write_text(json.dumps([v.to_dict() for v in blind.values()], indent=2))
    table.to_csv(out / "agreement.csv", index=False)
    print(markdown_table(table))
    for verdict in blind.values():
        print("\n" + verdict.summary)
    print(f"\nwall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
