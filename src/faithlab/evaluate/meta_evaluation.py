"""Meta-evaluation of the metrics themselves, in the spirit of MetaQuantus (Hedström et al. 2023, 'The Meta-Evaluation
Problem in Explainable AI: Identifying Reliable Estimators with MetaQuantus', TMLR).

A metric is worth trusting when its ranking of methods survives a perturbation that should not matter and falls
apart under one that should. Each metric's method ranking (mean per method) is compared, by Kendall's tau-b, with
its ranking under two perturbations, each drawn `repeats` times with its own seed:
- 'noise' (minor): Gaussian noise on the word embeddings, σ = `noise` × the std of the word-embedding matrix, while
  the methods explain and the metric scores (the ranking should stay: resilience = mean tau);
- 'randomized' (disruptive): the methods explain a copy of the model with every transformer block re-initialised,
  and the metric scores those explanations on the trained model; they no longer describe it, so the ranking should
  move (reactivity = 1 - mean tau).
A metric passes when resilience >= 0.5 and reactivity >= 0.5; the verdict leaves failing metrics out of its overall
ranking and flags them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from faithlab.errors import FaithlabError
from faithlab.evaluate.randomization import transformer_blocks
from faithlab.evaluate.ranking import rank_correlation
from faithlab.evaluate.results import Row
from faithlab.evaluate.smooth_randomization import noise_tables
from faithlab.explain.perturbation import check_count
from faithlab.models import Classifier
from faithlab.models.reinit import reinitialized_block

CONDITIONS = ("original", "noise", "randomized")
PREFIX = "meta:"  # the store's variant of a meta-evaluation row: meta:<condition>:<repeat>
PASS_AT = 0.5  # both resilience and reactivity must reach it
RULE = (
    "a metric passes when its method ranking keeps Kendall tau >= 0.5 under embedding noise (resilience) and "
    "loses it to tau <= 0.5 when the explanations come from a randomised model (reactivity = 1 - tau >= 0.5)"
)

Explained = TypeVar("Explained")


@dataclass(frozen=True)
class MetricMeta:
    """One metric's meta-evaluation: tau of its method ranking per repeat under each perturbation, and the verdict."""

    metric: str
    noise_taus: list[float]
    randomized_taus: list[float]
    methods: int

    @property
    def resilience(self) -> float:
        return float(np.mean(self.noise_taus)) if self.noise_taus else 0.0

    @property
    def reactivity(self) -> float:
        return 1.0 - float(np.mean(self.randomized_taus)) if self.randomized_taus else 0.0

    @property
    def passed(self) -> bool:
        return self.resilience >= PASS_AT and self.reactivity >= PASS_AT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"resilience": self.resilience, "reactivity": self.reactivity, "passed": self.passed}


@dataclass(frozen=True)
class MetaEvaluation:
    """The meta-evaluation of every metric measured for one model and data set."""

    metrics: dict[str, MetricMeta] = field(default_factory=dict)
    rule: str = RULE

    def passed(self, metric: str) -> bool | None:
        """Whether a metric passed; None when it was not meta-evaluated."""
        return self.metrics[metric].passed if metric in self.metrics else None

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "metrics": {name: meta.to_dict() for name, meta in self.metrics.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetaEvaluation:
        fields = ("metric", "noise_taus", "randomized_taus", "methods")
        metrics = {name: MetricMeta(**{k: meta[k] for k in fields}) for name, meta in data["metrics"].items()}
        return cls(metrics, data["rule"])


def meta_evaluation_rows(
    classifier: Classifier,
    explain: Callable[[], Explained],
    score: Callable[[Explained], list[Row]],
    *,
    repeats: int = 3,
    noise: float = 0.05,
    init: str = "model",
    seed: int = 0,
) -> list[Row]:
    """The metric rows under the original model and under each perturbation (settings 'condition', 'repeat').

    Args:
        classifier: the trained classifier the explanations and metrics use.
        explain: makes the explanations of the examples (keep the target fixed, e.g. the trained model's
            prediction, so every condition explains the same class).
        score: the metric rows of those explanations (evaluated with `classifier`).
        repeats: draws of each perturbation; repeat r uses seed + r.
        noise: σ of the embedding noise as a multiple of the word-embedding matrix's standard deviation.
        init: how the randomised blocks are re-initialised ('model' or 'normal').
        seed: seed of the noise and of the random weights.

    Returns:
        The rows of `score` for each condition, their settings extended by 'condition' and 'repeat'.
    """
    check_count("repeats", repeats, 1)
    if not noise > 0:
        raise FaithlabError(f"noise must be > 0, got {noise!r}")
    rows = _tagged(score(explain()), "original", 0)
    for r in range(repeats):
        table = noise_tables(classifier, 1, noise, seed + r)[0]
        with classifier.shifted_word_embeddings(table):
            rows += _tagged(score(explain()), "noise", r)
        with _randomized(classifier, init, seed + r):
            explained = explain()
        rows += _tagged(score(explained), "randomized", r)
    return rows


@contextlib.contextmanager
def _randomized(classifier: Classifier, init: str, seed: int) -> Iterator[None]:
    """Every transformer block re-initialised (block i seeded seed * 1000 + i), all restored on exit."""
    config = classifier.model.config
    with contextlib.ExitStack() as stack:
        for i, block in enumerate(transformer_blocks(classifier.model)):
            stack.enter_context(reinitialized_block(block, config, init, seed * 1000 + i))
        yield


def _tagged(rows: list[Row], condition: str, repeat: int) -> list[Row]:
    return [replace(row, settings={**row.settings, "condition": condition, "repeat": repeat}) for row in rows]


def meta_variant(row: Row) -> str:
    """The store variant of a meta-evaluation row: meta:<condition>:<repeat>."""
    return f"{PREFIX}{row.settings['condition']}:{row.settings['repeat']}"


def meta_frame(rows: Sequence[Row]) -> pd.DataFrame:
    """Meta-evaluation rows as the store's tidy frame.

    Args:
        rows: rows of `meta_evaluation_rows`.

    Returns:
        Columns method, metric, variant (meta:<condition>:<repeat>), example, value.
    """
    return pd.DataFrame(
        [{"method": r.method, "metric": r.metric, "variant": meta_variant(r), "example": r.example, "value": r.value}
         for r in rows],
        columns=["method", "metric", "variant", "example", "value"],
    )


def meta_evaluate(frame: pd.DataFrame) -> MetaEvaluation:
    """The meta-evaluation of each metric from the meta rows of one model and data set (other rows are ignored).

    A metric whose original means do not rank the methods (fewer than two methods, or all equal) gets tau 0
    under every perturbation, so it fails; a perturbation that makes every method equal has tau 0 (no ranking left).

    Args:
        frame: rows with columns method, metric, variant, value (the store's frame or `meta_frame`).

    Returns:
        Each metric's taus, resilience, reactivity and pass flag.
    """
    rows = frame[frame["variant"].str.startswith(PREFIX)]
    metrics = {}
    for metric, group in rows.groupby("metric", sort=False):
        split = group["variant"].str[len(PREFIX):].str.split(":", n=1, expand=True)
        means = (group.assign(condition=split[0], repeat=split[1].astype(int))
                 .groupby(["condition", "repeat", "method"])["value"].mean())
        if ("original", 0) not in means.index.droplevel("method"):
            raise FaithlabError(f"meta-evaluation of '{metric}' has no rows of the original model")
        original = means.loc[("original", 0)]
        taus = {condition: _taus(means, condition, original) for condition in ("noise", "randomized")}
        metrics[str(metric)] = MetricMeta(str(metric), taus["noise"], taus["randomized"], int(original.notna().sum()))
    return MetaEvaluation(metrics)


def _taus(means: pd.Series, condition: str, original: pd.Series) -> list[float]:
    """Kendall tau of the original method means with each repeat's means under `condition`."""
    if condition not in means.index.get_level_values("condition"):
        return []
    by_repeat = means.loc[condition]
    return [_tau(original, by_repeat.loc[r]) for r in sorted(by_repeat.index.get_level_values("repeat").unique())]


def _tau(original: pd.Series, perturbed: pd.Series) -> float:
    both = pd.concat([original, perturbed], axis=1, join="inner").dropna()
    tau = rank_correlation(both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy(), kind="kendall")
    return 0.0 if tau != tau else tau


def meta_from_frame(frame: pd.DataFrame) -> dict[tuple[str, str], MetaEvaluation]:
    """One meta-evaluation per (model, data set) that has meta rows in a store's frame.

    Args:
        frame: the store's tidy rows (`ResultStore.frame()`).

    Returns:
        Meta-evaluations keyed by (model, dataset); empty when the run had no meta-evaluation unit.
    """
    rows = frame[frame["variant"].str.startswith(PREFIX)]
    return {(str(m), str(d)): meta_evaluate(group) for (m, d), group in rows.groupby(["model", "dataset"], sort=False)}
