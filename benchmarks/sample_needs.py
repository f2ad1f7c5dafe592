"""How many evaluations KernelSHAP and LIME need per text to reach Spearman ≥ 0.95 against a many-sample reference.

The lower bound behind RESULTS.md's note on the data set at defaults: per sentence (picked nearest to the given
token counts among the benchmark sentences), KernelSHAP with faithlab's auto design (sizes 1 and n − 1 enumerated,
then paired samples) is refitted on growing prefixes of its samples, for several seeds, and the fewest evaluations
after which Spearman with the reference stays ≥ 0.95 are reported (budgets no stopping rule can know in advance).
LIME with deletion (its default until RESULTS-sst2.md; probability, balanced sampling) runs a ladder of fixed
budgets; the smallest budget at which every seed reaches 0.95 is reported. Runs in the bench venv
(benchmarks/README.md), ~25 minutes as recorded:

    python benchmarks/sample_needs.py
    python benchmarks/sample_needs.py --tokens 12 23 --reference-samples 2000 --seeds 2   # smoke run
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_explain import TARGET, Case, load_bench_model, load_sentences, make_case, masked_logits

from faithlab.explain import get_explainer
from faithlab.explain.kernel_shap import constrained_least_squares, kernel_samples, kernel_sizes, paired_draws
from faithlab.models import Classifier

LIME_LADDER = (64, 128, 256, 384, 512, 768, 1024)


def kernel_shap_needs(clf: Classifier, case: Case, n_reference: int, seeds: int) -> list[int | None]:
    """Per seed, the fewest evaluations after which the estimate's Spearman with the reference stays ≥ 0.95."""
    n = case.n_content
    empty, full = (float(masked_logits(clf, case, np.full((1, n), k, dtype=bool))[0]) for k in (False, True))
    masks, weights = kernel_samples(n, n_reference - 2, np.random.default_rng(999))
    reference = constrained_least_squares(masks, masked_logits(clf, case, masks), weights, empty, full)
    singles = np.concatenate([np.eye(n, dtype=bool), ~np.eye(n, dtype=bool)])
    single_values = masked_logits(clf, case, singles)
    sizes, mass = kernel_sizes(n)
    max_pairs = 1023  # 2n + 2048 evaluations in all
    needs = []
    for seed in range(seeds):
        pairs = paired_draws(n, sizes[1:], mass[1:], max_pairs, np.random.default_rng([seed, n]))
        values = masked_logits(clf, case, pairs)
        need = None
        for count in range(16, max_pairs + 1, 16):
            m = np.concatenate([singles, pairs[: 2 * count]])
            w = np.concatenate([np.full(2 * n, mass[0] / (2 * n)), np.full(2 * count, mass[1:].sum() / (2 * count))])
            phi = constrained_least_squares(m, np.concatenate([single_values, values[: 2 * count]]), w, empty, full)
            good = spearmanr(phi, reference).statistic >= 0.95
            need = (need or 2 + 2 * n + 2 * count) if good else None
        needs.append(need)
    return needs


def lime_need(clf: Classifier, text: str, n_reference: int, seeds: int) -> int | None:
    """The smallest ladder budget at which LIME with deletion reaches Spearman ≥ 0.95 on every seed."""
    lime = dict(replacement="delete", output="probability")
    (reference,) = get_explainer("lime", clf, n_samples=n_reference, seed=999, **lime).explain([text], target=TARGET)
    for budget in LIME_LADDER:
        explainers = [get_explainer("lime", clf, n_samples=budget, seed=s, **lime) for s in range(seeds)]
        runs = [e.explain([text], target=TARGET)[0] for e in explainers]
        if all(spearmanr(r.scores[r.content], reference.scores[reference.content]).statistic >= 0.95 for r in runs):
            return budget
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, nargs="+", default=[12, 15, 19, 23, 26, 30, 37, 42])
    parser.add_argument("--reference-samples", type=int, default=20000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--model", default="minilm", help="model folder or alias (default: minilm, untrained head)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    clf = load_bench_model(args.model)
    cases = [make_case(clf, t) for t in load_sentences(50)[0]]
    picked: list[Case] = []
    for want in args.tokens:
        picked.append(min((c for c in cases if c not in picked), key=lambda c: abs(c.n_content - want)))
    print("| tokens | KernelSHAP evaluations, per seed | LIME budget, worst seed |\n|---|---|---|")
    for case in picked:
        ks = kernel_shap_needs(clf, case, args.reference_samples, args.seeds)
        lime = lime_need(clf, case.text, args.reference_samples, args.seeds)
        shown = ", ".join("not within 2n + 2048" if k is None else str(k) for k in ks)
        print(f"| {case.n_content} | {shown} | {lime or f'> {LIME_LADDER[-1]}'} |", flush=True)


if __name__ == "__main__":
    main()
