"""Benchmark: faithlab's faithfulness evaluation against ferret's `Benchmark.evaluate_explanations`.

Both evaluate the same explanations (made once by faithlab) of the same SST-2 dev sentences on the same model (the
`minilm` alias: all-MiniLM-L6-v2 with an untrained, seeded head) with the same metrics: AOPC comprehensiveness,
AOPC sufficiency (ERASER, by token deletion over the same fractions) and tau-LOO (Kendall tau with leave-one-out).
faithlab runs every perturbation of every example and method through one deduplicated, batched scorer; ferret
evaluates each explanation on its own (decode → re-tokenize → forward in batches of 8).

Run with the benchmark environment, which has ferret installed:
    HF_HUB_OFFLINE=1 /work/main/.venv-bench/bin/python benchmarks/bench_eval.py [--examples 40] [--repeats 3]
The printed agreement (Pearson r between the two tools' per-explanation values) is a sanity check, not a target:
ferret rounds k down (faithlab up), re-tokenizes decoded text, and keeps sufficiency tokens in score order.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from faithlab.evaluate import evaluate_faithfulness
from faithlab.explain import Explanation, explain_many
from faithlab.models import Classifier, load_classifier

Explained = dict[str, list[Explanation]]

SST2_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2" / "dev.tsv"
CONFIGS = {
    "ferret default fractions (10%..100%)": tuple(round(0.1 * i, 1) for i in range(1, 11)),
    "ERASER fractions (1, 5, 10, 20, 50%)": (0.01, 0.05, 0.10, 0.20, 0.50),
}
METRIC_NAMES = {"comprehensiveness": "aopc_compr", "sufficiency": "aopc_suff", "loo_kendall": "taucorr_loo"}


def sentences(n: int) -> list[str]:
    lines = SST2_DEV.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0].strip() for line in lines[:n]]


def run_faithlab(classifier: Classifier, explanations: Explained, fractions: Sequence[float]) -> tuple[float, dict]:
    start = time.perf_counter()
    rows = evaluate_faithfulness(classifier, explanations, fractions=fractions, replacement="delete",
                                 parts=["eraser", "loo"])
    seconds = time.perf_counter() - start
    return seconds, {(r.method, r.example, METRIC_NAMES[r.metric]): r.value for r in rows if r.metric in METRIC_NAMES}


def run_ferret(classifier: Classifier, explanations: Explained, fractions: Sequence[float]) -> tuple[float, dict]:
    from ferret import Benchmark
    from ferret.evaluators.faithfulness_measures import (
        AOPC_Comprehensiveness_Evaluation,
        AOPC_Sufficiency_Evaluation,
        TauLOO_Evaluation,
    )
    from ferret.explainers.explanation import Explanation as FerretExplanation

    model, tokenizer = classifier.model, classifier.tokenizer
    evaluators = [e(model, tokenizer) for e in (AOPC_Comprehensiveness_Evaluation, AOPC_Sufficiency_Evaluation,
                                               TauLOO_Evaluation)]
    bench = Benchmark(model, tokenizer, explainers=[None], evaluators=evaluators)
    methods = list(explanations)
    # ferret's only_pos=False path fails on numpy arrays (`id_top_k == []`), so ferret gets scores shifted to be
    # positive under its default only_pos=True: the same ranking of every token, the same tau (ranks only)
    args = {"removal_args": {"remove_tokens": True, "based_on": "perc", "thresholds": list(fractions)},
            "only_pos": True, "remove_first_last": True}
    values = {}
    start = time.perf_counter()
    for i in range(len(explanations[methods[0]])):
        items = [explanations[m][i] for m in methods]
        converted = [FerretExplanation(e.text, e.tokens, s - s.min() + 1.0, e.method, e.target)
                     for e, s in zip(items, map(content_scores, items), strict=True)]
        # ferret takes one target per call: one call per example, all methods together
        results = bench.evaluate_explanations(converted, target=items[0].target, show_progress=False, **args)
        for method, result in zip(methods, results, strict=True):
            for evaluation in result.evaluation_scores:
                values[(method, i, evaluation.name)] = float(evaluation.score)
    return time.perf_counter() - start, values


def content_scores(explanation: Explanation) -> np.ndarray:
    """The scores with special tokens at 0: ferret ranks every token it is given, faithlab content tokens only."""
    out = np.zeros_like(explanation.scores)
    out[explanation.content] = explanation.scores[explanation.content]
    return out


def agreement(ours: dict, theirs: dict) -> dict[str, float]:
    out = {}
    for name in METRIC_NAMES.values():
        keys = [k for k in ours if k[2] == name and k in theirs and np.isfinite(ours[k]) and np.isfinite(theirs[k])]
        a, b = np.array([ours[k] for k in keys]), np.array([theirs[k] for k in keys])
        out[name] = float(np.corrcoef(a, b)[0, 1]) if len(keys) > 2 else float("nan")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=40)
    parser.add_argument("--methods", default="gradient,grad_x_input,ig,occlusion")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timed runs per tool")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)  # the minilm head is new: seed it
    classifier = load_classifier("minilm")
    texts = sentences(args.examples)
    explanations = explain_many(classifier, texts, args.methods.split(","))
    n_tokens = [len(e.content) for e in explanations[next(iter(explanations))]]
    print(f"model {classifier.name}, {len(texts)} SST-2 dev sentences ({np.mean(n_tokens):.1f} content tokens on "
          f"average), methods {', '.join(explanations)}, torch threads {args.threads}, best of {args.repeats}")
    report = []
    for label, fractions in CONFIGS.items():
        run_faithlab(classifier, explanations, fractions)  # warm-up
        ours = [run_faithlab(classifier, explanations, fractions) for _ in range(args.repeats)]
        theirs = [run_ferret(classifier, explanations, fractions) for _ in range(args.repeats)]
        fast, slow = min(t for t, _ in ours), min(t for t, _ in theirs)
        agree = agreement(ours[0][1], theirs[0][1])
        report.append({"config": label, "fractions": fractions, "faithlab_s": fast, "ferret_s": slow,
                       "speedup": slow / fast, "pearson_r": agree})
        print(f"\n{label}\n  faithlab {fast:7.2f} s   ferret {slow:7.2f} s   speed-up {slow / fast:5.1f}x")
        print("  agreement (Pearson r per metric): " + ", ".join(f"{k} {v:.3f}" for k, v in agree.items()))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
