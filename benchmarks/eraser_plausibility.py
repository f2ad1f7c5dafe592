"""Benchmark: plausibility of each method against ERASER movie-review evidence, on full documents through windows.

Every document is explained whole (hundreds of tokens, longer than MiniLM's 512-token limit for many: sliding
windows, `faithlab.models.windows`). Gradient-type methods score tokens; the removal-based ones (occlusion, LIME,
KernelSHAP) remove sentences, so their cost grows with sentences, not tokens. Each explanation is read at two
granularities (`Explanation.feature_scores`): whitespace words (ERASER's tokens) and sentences (the rule of
`faithlab.explain.features`; a sentence is evidence when it holds an evidence word). Measures: AUPRC of the
scores against the evidence, and the overlap of the top-|R| features with the evidence (|R| = evidence size,
ties averaged). Time per document is each method's own seconds, as recorded in its explanation.

    PYTHONPATH=src HF_HUB_OFFLINE=1 python benchmarks/eraser_plausibility.py --model RUN/best [--docs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from faithlab.data.eraser import read_eraser
from faithlab.evaluate.ranking import overlap_at_size
from faithlab.explain import Explanation, explain_many
from faithlab.explain.features import sentence_starts
from faithlab.models import load_classifier

MOVIES_VAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "rationales" / "movies" / "val.jsonl"
# budgets sized for a loaded 2-core machine; the removal-based methods remove sentences
METHODS = [
    "grad_x_input",
    ("ig", {"n_steps": 8}),
    "lrp",
    "attention_mean",
    ("occlusion", {"unit": "sentence"}),
    ("kernel_shap", {"unit": "sentence", "n_samples": 64}),
    ("lime", {"unit": "sentence", "n_samples": 32}),
    "random",
]
MAX_SENTENCES = 60  # KernelSHAP's 64 coalitions determine at most 63 sentence values


def granular(explanation: Explanation, rationale: list[int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(scores, evidence flags) per whitespace word and per sentence. A removal method's copied feature score is
    read back with 'mean' (its words tie within a sentence); token scores are summed."""
    how = "sum" if explanation.granularity == "token" else "mean"
    words = explanation.feature_scores("whitespace", how)
    word_ids, sentence_ids = explanation.feature_ids("whitespace"), explanation.feature_ids("sentence")
    if len(words) != len(rationale):
        raise ValueError(f"{len(words)} words explained for {len(rationale)} evidence flags")
    sentence_of = {w: s for w, s in zip(word_ids, sentence_ids, strict=True) if w is not None}
    n_sentences = max(sentence_of.values()) + 1
    evidence = np.zeros(n_sentences, dtype=bool)
    for w, flag in enumerate(rationale):
        evidence[sentence_of[w]] |= bool(flag)
    sentences = explanation.feature_scores("sentence", how)
    return {"word": (words, np.asarray(rationale, dtype=bool)), "sentence": (sentences, evidence)}


def measure(scores: np.ndarray, relevant: np.ndarray) -> dict[str, float]:
    return {"auprc": float(average_precision_score(relevant, scores)),
            "overlap": overlap_at_size(scores, relevant, "average")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a fine-tuned sentiment classifier folder")
    parser.add_argument("--docs", type=int, default=20, help="validation documents (the first ones that qualify)")
    parser.add_argument("--out", type=Path, default=None,
                        help="append per-document results as JSON lines here; a rerun resumes from them")
    parser.add_argument("--table", type=Path, default=None, help="only print the table of such a JSON lines file")
    args = parser.parse_args()
    if args.table:
        print_table([json.loads(line) for line in args.table.read_text().splitlines()])
        return
    classifier = load_classifier(args.model)
    examples = balanced([e for e in read_eraser(MOVIES_VAL).examples if len(sentence_starts(e.text)) <= MAX_SENTENCES],
                        args.docs)
    chosen = {e.id for e in examples}
    stored = args.out.read_text().splitlines() if args.out and args.out.exists() else []
    records = [r for r in map(json.loads, stored) if r["doc"] in chosen]
    done = {r["doc"] for r in records}  # a rerun with the same --out resumes after the last finished document
    for i, example in enumerate(examples):
        if example.id in done:
            continue
        start = time.perf_counter()
        result = explain_many(classifier, [example.text], METHODS)
        wall = time.perf_counter() - start
        for method, (explanation,) in result.items():
            levels = granular(explanation, list(example.rationale))
            record = {"doc": example.id, "method": method, "tokens": len(explanation.tokens),
                      "windows": len(explanation.windows), "seconds": explanation.seconds,
                      "correct": explanation.predicted == example.label}
            for level, (scores, relevant) in levels.items():
                record |= {f"{level}_{k}": v for k, v in measure(scores, relevant).items()}
            records.append(record)
            if args.out:  # one document at a time, so a run cut short keeps what it measured
                with args.out.open("a") as handle:
                    handle.write(json.dumps(record) + "\n")
        print(f"doc {i + 1}/{len(examples)} {example.id}: {records[-1]['tokens']} tokens, "
              f"{records[-1]['windows']} windows, {wall:.1f} s", flush=True)
    print_table(records)


def balanced(examples: list, n: int) -> list:
    """The first n examples in file order, taking the classes in turn (the file lists every negative review first),
    so the table is not one class's."""
    by_class: dict[int, list] = {}
    for example in examples:
        by_class.setdefault(example.label, []).append(example)
    queues = [iter(group) for _, group in sorted(by_class.items())]
    chosen = []
    while len(chosen) < n and queues:
        for queue in list(queues):
            example = next(queue, None)
            if example is None:
                queues.remove(queue)
            elif len(chosen) < n:
                chosen.append(example)
    return chosen


def print_table(records: list[dict]) -> None:
    """The table over every document, then over the documents the model predicts correctly (an explanation of a
    wrong prediction explains the other class, which the evidence does not mark)."""
    docs = [r for r in records if r["method"] == records[0]["method"]]
    print(f"\n{len(docs)} documents, {np.mean([r['tokens'] for r in docs]):.0f} tokens and "
          f"{np.mean([r['windows'] or 1 for r in docs]):.1f} windows on average; model accuracy "
          f"{np.mean([r['correct'] for r in docs]):.2f}")
    print_rows(records, "every document")
    correct = {r["doc"] for r in docs if r["correct"]}
    print_rows([r for r in records if r["doc"] in correct], "documents predicted correctly")


def print_rows(records: list[dict], title: str) -> None:
    """Means per method, and each method's AUPRC minus random's on the same document with a 95% bootstrap interval
    over documents (2000 resamples, seed 0)."""
    methods = list(dict.fromkeys(r["method"] for r in records))
    random_of = {r["doc"]: r for r in records if r["method"] == "random"}
    n_docs = len({r["doc"] for r in records})
    print(f"\n{title} ({n_docs})\n")
    print("| method | word AUPRC | word overlap@|R| | sentence AUPRC | sentence overlap@|R| | word AUPRC − random "
          "[95% CI] | sentence AUPRC − random [95% CI] | s / document |")
    print("|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for method in methods:
        rows = [r for r in records if r["method"] == method]
        cells = [f"{np.nanmean([r[k] for r in rows]):.3f}"
                 for k in ("word_auprc", "word_overlap", "sentence_auprc", "sentence_overlap")]
        for key in ("word_auprc", "sentence_auprc"):
            if not random_of:
                cells.append("–")
                continue
            gaps = np.array([r[key] - random_of[r["doc"]][key] for r in rows])
            means = rng.choice(gaps, (2000, len(gaps))).mean(axis=1)
            cells.append(f"{gaps.mean():+.3f} [{np.percentile(means, 2.5):+.3f}, {np.percentile(means, 97.5):+.3f}]")
        print(f"| {method} | {' | '.join(cells)} | {np.mean([r['seconds'] for r in rows]):.1f} |")


if __name__ == "__main__":
    main()
