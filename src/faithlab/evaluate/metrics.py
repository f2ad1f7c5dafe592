"""Every evaluation metric faithlab reports, with its range, its better direction and the paper that defines it.

Reports sort and colour by `higher_is_better`; results name metrics by `Metric.name`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from faithlab.errors import FaithlabError


@dataclass(frozen=True)
class Metric:
    """What a number means: name, [low, high] range, which way is better, what it measures, where it comes from."""

    name: str
    higher_is_better: bool
    range: tuple[float, float]
    description: str
    citation: str

    def better(self, a: float, b: float) -> bool:
        """True when value `a` is strictly better than `b`."""
        return a > b if self.higher_is_better else a < b


ERASER = "DeYoung et al. 2020, 'ERASER: A Benchmark to Evaluate Rationalized NLP Models', ACL"
ZHOU = "Zhou et al. 2022, 'Do Feature Attribution Methods Correctly Attribute Features?', AAAI"
ARRAS = (
    "Arras et al. 2022, 'CLEVR-XAI: A benchmark dataset for the ground truth evaluation of neural network "
    "explanations', Information Fusion (relevance rank accuracy)"
)
SAMEK = "Samek et al. 2017, 'Evaluating the Visualization of What a Deep Neural Network Has Learned', IEEE TNNLS"
ADEBAYO = "Adebayo et al. 2018, 'Sanity Checks for Saliency Maps', NeurIPS"
GHORBANI = "Ghorbani et al. 2019, 'Interpretation of Neural Networks Is Fragile', AAAI"
JAIN = "Jain & Wallace 2019, 'Attention is not Explanation', NAACL (leave-one-out agreement)"
EFRON = "Efron & Tibshirani 1993, 'An Introduction to the Bootstrap' (percentile interval)"
ZHAO = "Zhao & Aletras 2023, 'Incorporating Attribution Importance for Improving Faithfulness Metrics', ACL"
EDIN = (
    "Edin et al. 2024, 'Normalized AOPC: Fixing Misleading Faithfulness Metrics for Feature Attribution "
    "Explainability'"
)
ROAD = "Rong et al. 2022, 'A Consistent and Efficient Evaluation Strategy for Attribution Methods', ICML (ROAD)"
ZHENG = "Zheng et al. 2025, 'F-Fidelity: A Robust Framework for Faithfulness Evaluation of Explainable AI', ICLR"
HEDSTROM = (
    "Hedström et al. 2023, 'Sanity Checks Revisited: An Exploration to Repair the Model Parameter Randomisation "
    "Test', XAI in Action workshop, NeurIPS"
)
MADSEN = (
    "Madsen et al. 2022, 'Evaluating the Faithfulness of Importance Measures in NLP by Recursively Masking "
    "Allegedly Important Tokens and Retraining', Findings of EMNLP"
)

METRICS: dict[str, Metric] = {}


def _add(*metrics: Metric) -> None:
    for metric in metrics:
        METRICS[metric.name] = metric


_add(
    Metric("comprehensiveness", True, (-1.0, 1.0),
           "drop of the target probability when the top-k% tokens are removed, averaged over k", ERASER),
    Metric("sufficiency", False, (-1.0, 1.0),
           "drop of the target probability when only the top-k% tokens are kept, averaged over k", ERASER),
    Metric("auc_morf", False, (0.0, 1.0),
           "area under the predicted-class confidence curve, most relevant tokens removed first", SAMEK),
    Metric("auc_lerf", True, (0.0, 1.0),
           "area under the predicted-class confidence curve, least relevant tokens removed first", SAMEK),
    Metric("curve_gap", True, (-1.0, 1.0), "area under the LeRF curve minus area under the MoRF curve", SAMEK),
    Metric("morf_sharp", True, (0.0, 1.0),
           "1 when the MoRF curve loses half of its largest drop within the first 20% of removals, else 0", SAMEK),
    Metric("loo_spearman", True, (-1.0, 1.0), "Spearman correlation with leave-one-out occlusion scores", JAIN),
    Metric("loo_kendall", True, (-1.0, 1.0), "Kendall tau-b with leave-one-out occlusion scores", JAIN),
    Metric("gt_overlap", True, (0.0, 1.0),
           "share of the top-|L| tokens that are planted (ground-truth) tokens, |L| = number of planted tokens",
           ARRAS),
    Metric("gt_mean_rank", False, (0.0, 1.0),
           "smallest fraction of the ranking that contains every planted token", ZHOU),
    Metric("plausibility_overlap", True, (0.0, 1.0),
           "share of the top-|R| tokens inside the human rationale, |R| = rationale size", ARRAS),
    Metric("plausibility_mean_rank", False, (0.0, 1.0),
           "smallest fraction of the ranking that contains every rationale token", ZHOU),
    Metric("auprc", True, (0.0, 1.0), "average precision of the scores against the human rationale", ERASER),
    Metric("token_f1", True, (0.0, 1.0), "token F1 of the discrete explanation against the human rationale", ERASER),
    Metric("token_iou", True, (0.0, 1.0),
           "token intersection over union of the discrete explanation and the human rationale", ERASER),
    Metric("randomization_spearman", False, (-1.0, 1.0),
           "Spearman correlation of explanations before and after randomising model blocks", ADEBAYO),
    Metric("randomization_spearman_abs", False, (-1.0, 1.0),
           "Spearman correlation of |scores| before and after randomising model blocks", ADEBAYO),
    Metric("attack_rank_change", False, (0.0, 1.0),
           "share of the original top-k tokens pushed out of the top-k by the attack", GHORBANI),
    Metric("attack_spearman", True, (-1.0, 1.0),
           "Spearman correlation of |scores| before and after the attack", GHORBANI),
    Metric("attack_topk_mass_change", False, (-1.0, 1.0),
           "drop of the original top-k tokens' share of |score| mass caused by the attack", GHORBANI),
    Metric("attack_probability_change", False, (0.0, 1.0),
           "|change| of the target probability caused by the attack", GHORBANI),
    Metric("soft_comprehensiveness", True, (0.0, math.inf),
           "drop of the target probability when embeddings are dropped out in proportion to importance, "
           "over the drop when every content embedding is zeroed (Soft-NC)", ZHAO),
    Metric("soft_sufficiency", True, (-math.inf, 1.0),
           "1 minus the drop when embeddings are kept in proportion to importance, over the drop when every "
           "content embedding is zeroed (Soft-NS)", ZHAO),
    Metric("naopc_comprehensiveness", True, (0.0, 1.0),
           "AOPC of removing the most important tokens first, normalised by the input's lowest and highest AOPC "
           "over all orderings", EDIN),
    Metric("naopc_sufficiency", False, (0.0, 1.0),
           "AOPC of keeping only the most important tokens, normalised by the input's lowest and highest AOPC "
           "over all orderings", EDIN),
    Metric("road_comprehensiveness", True, (-1.0, 1.0),
           "drop of the target probability when the top-k% tokens are infilled by a masked LM, averaged over k",
           ROAD),
    Metric("road_sufficiency", False, (-1.0, 1.0),
           "drop of the target probability when all but the top-k% tokens are infilled by a masked LM, averaged "
           "over k", ROAD),
    Metric("ffidelity_plus", True, (-1.0, 1.0),
           "drop of a mask-fine-tuned copy's target probability when up to beta*n of the top-k% tokens are removed, "
           "averaged over draws and k", ZHENG),
    Metric("ffidelity_minus", False, (-1.0, 1.0),
           "drop of a mask-fine-tuned copy's target probability when up to beta*n tokens outside the top-k% are "
           "removed, averaged over draws and k", ZHENG),
    Metric("smooth_randomization_spearman", False, (-1.0, 1.0),
           "Spearman correlation of noise-averaged explanations before and after randomising model blocks",
           HEDSTROM),
    Metric("efficient_randomization_ratio", True, (0.0, math.inf),
           "histogram entropy of the explanation under the fully randomised model over its entropy under the "
           "trained model", HEDSTROM),
    Metric("roar_accuracy", False, (0.0, 1.0),
           "test accuracy of a model retrained after the method's top words are masked recursively (a faithful "
           "method's masking lowers it faster than random masking)", MADSEN),
)


def get_metric(name: str) -> Metric:
    """A metric's metadata by name."""
    if name not in METRICS:
        raise FaithlabError(f"unknown metric '{name}'; known metrics: {', '.join(sorted(METRICS))}")
    return METRICS[name]

# Which evaluator computes each metric: `faithlab.evaluate` (the public `evaluate`) runs a group for any of its metrics.
GROUPS: dict[str, tuple[str, ...]] = {
    "eraser": ("comprehensiveness", "sufficiency"),
    "curves": ("auc_morf", "auc_lerf", "curve_gap", "morf_sharp"),
    "loo": ("loo_spearman", "loo_kendall"),
    "ground_truth": ("gt_overlap", "gt_mean_rank"),
    "plausibility": ("plausibility_overlap", "plausibility_mean_rank", "auprc", "token_f1", "token_iou"),
    "randomization": ("randomization_spearman", "randomization_spearman_abs"),
    "adversarial": (
        "attack_rank_change", "attack_spearman", "attack_topk_mass_change", "attack_probability_change",
    ),
    "soft": ("soft_comprehensiveness", "soft_sufficiency"),
    "normalized_aopc": ("naopc_comprehensiveness", "naopc_sufficiency"),
    "road": ("road_comprehensiveness", "road_sufficiency"),
    "ffidelity": ("ffidelity_plus", "ffidelity_minus"),
    "smooth_randomization": ("smooth_randomization_spearman",),
    "efficient_randomization": ("efficient_randomization_ratio",),
    "roar": ("roar_accuracy",),  # retrains models: a bench unit (`faithlab.evaluate.roar`), not an `evaluate` group
}
