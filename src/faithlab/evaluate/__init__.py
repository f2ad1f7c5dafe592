"""Evaluation of explanations: faithfulness, agreement with ground truth and human rationales, sanity checks
(parameter randomization), robustness (adversarial attack), and bootstrap statistics.

Every evaluator returns `Row`s (one value per example, method and metric, with the settings that produced it);
`aggregate` turns them into means with bootstrap intervals; `METRICS` says each metric's range, better direction and
source.
"""

from faithlab.evaluate.adversarial import ATTACKABLE, RowInputs, differentiable_scores, evaluate_attack
from faithlab.evaluate.alignment import SpanMask, rationale_to_token_mask, token_rationale
from faithlab.evaluate.efficient_randomization import evaluate_efficient_randomization, histogram_entropy
from faithlab.evaluate.faithfulness import FRACTIONS, curve_counts, curve_shape, evaluate_faithfulness, top_k_size
from faithlab.evaluate.ffidelity import evaluate_ffidelity, fine_tuned_copy
from faithlab.evaluate.metrics import METRICS, Metric, get_metric
from faithlab.evaluate.normalized_aopc import evaluate_normalized_aopc
from faithlab.evaluate.randomization import (
    evaluate_randomization,
    randomization_steps,
    transformer_blocks,
)
from faithlab.evaluate.ranking import TIES, covering_fraction, hits_at, overlap_at_size, rank_correlation
from faithlab.evaluate.rationales import (
    evaluate_ground_truth,
    evaluate_plausibility,
    ground_truth_scores,
    plausibility_scores,
)
from faithlab.evaluate.results import Row, aggregate, by_method
from faithlab.evaluate.road import evaluate_road, infill, load_infill_model
from faithlab.evaluate.smooth_randomization import (
    evaluate_smooth_randomization,
    noise_tables,
    smoothed_scores,
)
from faithlab.evaluate.soft_removal import evaluate_soft_removal, importance
from faithlab.evaluate.statistics import Summary, bootstrap_means, summarize

__all__ = [
    "ATTACKABLE",
    "FRACTIONS",
    "METRICS",
    "TIES",
    "Metric",
    "Row",
    "RowInputs",
    "SpanMask",
    "Summary",
    "aggregate",
    "bootstrap_means",
    "by_method",
    "covering_fraction",
    "curve_counts",
    "curve_shape",
    "differentiable_scores",
    "evaluate_attack",
    "evaluate_efficient_randomization",
    "evaluate_faithfulness",
    "evaluate_ffidelity",
    "evaluate_ground_truth",
    "evaluate_normalized_aopc",
    "evaluate_plausibility",
    "evaluate_randomization",
    "evaluate_road",
    "evaluate_smooth_randomization",
    "evaluate_soft_removal",
    "fine_tuned_copy",
    "get_metric",
    "ground_truth_scores",
    "histogram_entropy",
    "hits_at",
    "importance",
    "infill",
    "load_infill_model",
    "noise_tables",
    "overlap_at_size",
    "plausibility_scores",
    "randomization_steps",
    "rank_correlation",
    "rationale_to_token_mask",
    "smoothed_scores",
    "summarize",
    "token_rationale",
    "top_k_size",
    "transformer_blocks",
]
