"""Attribution error of low-precision models: every registered method on bfloat16 (and float16) against float32.

The same model is loaded twice (same seed, so the untrained 2-class head of the `minilm` alias is the same),
once in float32 and once in the low dtype, and every method explains the same sentences for class 1. The low
dtype is explained through `faithlab.models.load_classifier(dtype=...)` with the methods' refusal switched off for
the measurement (`allow_low_precision`), so the table also shows why the refusing methods refuse.

Per method: the largest absolute score error over content tokens relative to the float32 score range of that
text (max over texts), the median Spearman rank correlation of the content scores, and the axiom each method
keeps in float32 where it has one (IG completeness: relative convergence delta; LRP: the conservation gap
|logit − Σ relevance| / Σ|relevance|; exact KernelSHAP efficiency: Σφ vs f(x) − f(∅)).

    python benchmarks/bench_dtype.py --sentences 6            # the recorded run (docs/devices.md)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch
from scipy.stats import spearmanr

from faithlab.explain import EXPLAINERS, Explanation, get_explainer
from faithlab.models import Classifier, load_classifier
from faithlab.models.devices import DTYPES

SETTINGS = {  # fixed budgets, so that both precisions run exactly the same passes
    "ig": {"n_steps": 32}, "lime": {"n_samples": 500}, "kernel_shap": {"n_samples": 500},
    "ensemble": {"methods": ["grad_x_input", "occlusion"]},
}
SENTENCES = (  # two short enough for exact KernelSHAP (all coalitions), four longer ones
    "A warm, funny film.",
    "Dull and far too long.",
    "A gripping, beautifully shot film that never loses its nerve.",
    "The plot is thin and the jokes land with a dull thud.",
    "An uneven but often charming comedy with two fine lead performances.",
    "I wanted to like it, yet the second half drags badly.",
    "Quietly devastating and superbly acted from start to finish.",
    "A lazy sequel that recycles every idea of the first film.",
)


@dataclass
class Row:
    method: str
    dtype: str
    max_error: float  # max over texts of max |Δscore| / float32 score range
    spearman: float  # median over texts
    axiom_float32: str
    axiom_low: str


def load(model: str, dtype: str) -> Classifier:
    torch.manual_seed(0)  # the alias's new head: the same weights in both precisions
    labels = ["negative", "positive"] if model == "minilm" else None
    return load_classifier(model, labels=labels, device="cpu", dtype=dtype)


def explain(clf: Classifier, method: str, texts: Sequence[str]) -> list[Explanation]:
    explainer = get_explainer(method, clf, allow_low_precision=True, **SETTINGS.get(method, {}))
    return explainer.explain(list(texts), target=1)


def axiom(method: str, explanations: list[Explanation]) -> str:
    """The largest violation of the method's float32 axiom over the texts it applies to ("–": none applies)."""
    violations = []
    for e in explanations:
        x = e.extras
        if method == "ig":
            violations.append(float(x["relative_delta"]))
        elif method == "lrp":
            violations.append(abs(float(x["conservation_gap"])) / max(float(np.abs(e.scores).sum()), 1e-12))
        elif method == "kernel_shap" and x.get("exact"):
            gap = float(x["full_value"]) - float(x["base_value"])
            violations.append(abs(float(np.sum(e.scores)) - gap) / max(abs(gap), 1e-12))
    return f"{max(violations):.2e}" if violations else "–"


def compare(reference: list[Explanation], low: list[Explanation]) -> tuple[float, float]:
    errors, rhos = [], []
    for a, b in zip(reference, low, strict=True):
        content = [i for i, w in enumerate(a.word_ids) if w is not None]
        sa, sb = np.asarray(a.scores, dtype=np.float64)[content], np.asarray(b.scores, dtype=np.float64)[content]
        span = float(sa.max() - sa.min()) or 1.0
        errors.append(float(np.abs(sa - sb).max()) / span)
        rho = spearmanr(sa, sb).statistic if np.ptp(sa) > 0 and np.ptp(sb) > 0 else float("nan")
        rhos.append(float(rho))
    return max(errors), float(np.nanmedian(rhos)) if not all(np.isnan(rhos)) else float("nan")


def float16_supported() -> bool:
    """Whether this torch runs a float16 linear layer on the CPU (older builds do not)."""
    try:
        torch.nn.functional.linear(torch.ones(2, 2, dtype=torch.float16), torch.ones(2, 2, dtype=torch.float16))
    except RuntimeError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--sentences", type=int, default=6)
    parser.add_argument("--dtypes", default="bfloat16,float16")
    parser.add_argument("--methods", default=",".join(EXPLAINERS))
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    texts = SENTENCES[: args.sentences]
    low_dtypes = [d for d in args.dtypes.split(",") if d in DTYPES and d != "float32"]
    if "float16" in low_dtypes and not float16_supported():
        print("float16 is not supported on this CPU build; skipped", file=sys.stderr)
        low_dtypes.remove("float16")
    started = time.perf_counter()
    reference_model = load(args.model, "float32")
    low_models = {d: load(args.model, d) for d in low_dtypes}
    rows = []
    for method in args.methods.split(","):
        reference = explain(reference_model, method, texts)
        for dtype, clf in low_models.items():
            low = explain(clf, method, texts)
            error, rho = compare(reference, low)
            rows.append(Row(method, dtype, error, rho, axiom(method, reference), axiom(method, low)))
            print(f"  {method} {dtype}: max error {error:.3f} of the range, Spearman {rho:.3f}", file=sys.stderr)
    print("| method | dtype | max abs error / float32 range | median Spearman | axiom violation float32 | "
          "axiom violation low dtype |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.method} | {r.dtype} | {r.max_error:.3f} | {r.spearman:.3f} | {r.axiom_float32} | {r.axiom_low} |")
    print(f"\n{len(texts)} sentences, model {args.model}, CPU, {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
