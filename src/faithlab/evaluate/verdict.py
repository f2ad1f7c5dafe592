"""The verdict: which explanation method to trust for a model and data set, and how sure that is.

Methods are compared in pairs over the same examples, per faithfulness metric: a paired bootstrap (Efron & Tibshirani
1993) of the per-example differences, signed so that positive means the first method is better by the metric's
direction, gives the probability that it beats the other; a pair whose two-sided `level` interval of the mean
difference contains 0 is tied. Per metric, the top set is the method with the best mean and every method tied with it.
Overall, each metric weighs 1, or 0 when the meta-evaluation (`faithlab.evaluate.meta_evaluation`) failed it; a
method's net wins over another are its weighted wins minus weighted losses over the metrics, and its score is the sum
of its net wins over all others divided by the most it could reach (a Copeland count in [-1, 1]). The leader has the
highest score (then lower cost, then name); the top set holds the leader and every method it does not beat on
balance (net wins <= 0). The random baseline takes part in the comparisons but is never recommended. Sanity checks
(randomization, attack) are read from their rows where the run measured them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from faithlab.errors import FaithlabError
from faithlab.evaluate.meta_evaluation import MetaEvaluation, meta_from_frame
from faithlab.evaluate.metrics import GROUPS, get_metric
from faithlab.evaluate.statistics import bootstrap_means, summarize

# The metric groups that measure faithfulness (agreement with human rationales and the sanity checks are not).
VERDICT_GROUPS = ("ground_truth", "eraser", "curves", "loo", "soft", "normalized_aopc", "road", "ffidelity")
VERDICT_METRICS = tuple(metric for group in VERDICT_GROUPS for metric in GROUPS[group])
GROUND_TRUTH_METRICS = GROUPS["ground_truth"]
BASELINE = "random"
# (check, metric, threshold): the check passes when the method's mean stays below the threshold
SANITY_CHECKS = (
    ("randomization", "randomization_spearman", 0.5),
    ("smooth randomization", "smooth_randomization_spearman", 0.5),
    ("attack", "attack_rank_change", 0.5),
)
RULE = (
    "paired bootstrap per metric and pair of methods, tied when the interval of the mean difference contains 0; "
    "overall score = weighted wins minus losses over all pairs and metrics (weight 1, 0 for a metric the "
    "meta-evaluation failed), scaled to [-1, 1]; top set = the leader and every method it does not beat on balance; "
    "the random baseline is never recommended"
)


@dataclass(frozen=True)
class MethodMean:
    """A method's mean on a metric with its bootstrap interval over `n` examples."""

    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Comparison:
    """Methods `a` and `b` over their `n` common examples; `difference` > 0 means `a` is better (metric direction)."""

    a: str
    b: str
    n: int
    difference: float
    low: float
    high: float
    p_a_beats_b: float
    winner: str | None  # None: tied


@dataclass(frozen=True)
class MetricEvidence:
    """One metric's evidence: means per method, every pairwise comparison, and the top set."""

    metric: str
    higher_is_better: bool
    weight: float
    meta_passed: bool | None  # None: not meta-evaluated
    means: dict[str, MethodMean]
    comparisons: list[Comparison]
    top: list[str]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricEvidence:
        means = {name: MethodMean(**value) for name, value in data["means"].items()}
        comparisons = [Comparison(**value) for value in data["comparisons"]]
        return cls(**{**data, "means": means, "comparisons": comparisons})


@dataclass(frozen=True)
class SanityCheck:
    """A method's mean on a sanity-check metric (at `variant`) and whether it stays below `threshold`."""

    method: str
    check: str
    metric: str
    variant: str
    value: float
    low: float
    high: float
    threshold: float
    passed: bool


@dataclass(frozen=True)
class Verdict:
    """Which method to trust for one model and data set, with its evidence; `to_dict` is the JSON form."""

    model: str
    dataset: str
    best: list[str]  # the top set, leader first; empty when no method but the baseline was measured
    leader: str | None
    beats_baseline: bool | None  # None: no random baseline measured
    cheapest: str | None
    seconds_per_example: dict[str, float]
    scores: dict[str, float]
    evidence: list[MetricEvidence]
    sanity: list[SanityCheck]
    flagged_metrics: list[str]
    excluded_metrics: list[str]
    resamples: int
    seed: int
    level: float
    rule: str
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        evidence = [MetricEvidence.from_dict(item) for item in data["evidence"]]
        sanity = [SanityCheck(**item) for item in data["sanity"]]
        return cls(**{**data, "evidence": evidence, "sanity": sanity})


def build_verdict(
    frame: pd.DataFrame,
    *,
    meta: MetaEvaluation | Mapping[tuple[str, str], MetaEvaluation] | None = None,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    exclude_metrics: Sequence[str] = (),
) -> dict[tuple[str, str], Verdict]:
    """One verdict per (model, data set) of a results frame that measured a faithfulness metric.

    Args:
        frame: the store's tidy rows (`ResultStore.frame()`): model, dataset, method, metric, variant, example,
            value, seconds. Comparisons use the rows of variant ''; sanity checks and meta-evaluation their own.
        meta: the metrics' meta-evaluation, one for every (model, data set) or a mapping; None reads it from the
            frame's meta rows (`meta_from_frame`), if any.
        resamples: bootstrap resamples per comparison.
        seed: seed of the resampling (the same seed resamples every pair of a metric in the same way).
        level: the interval's level; a pair is tied when its interval contains 0.
        exclude_metrics: metrics left out (e.g. `GROUND_TRUTH_METRICS` to judge as on data without ground truth).

    Returns:
        Verdicts keyed by (model, dataset).
    """
    _check_settings(frame, resamples, level, exclude_metrics)
    if meta is None:
        meta = meta_from_frame(frame)
    out = {}
    for (model, dataset), group in frame.groupby(["model", "dataset"], sort=False):
        measured = set(_plain(group).dropna(subset=["value"])["metric"])  # a metric undefined everywhere says nothing
        metrics = [m for m in VERDICT_METRICS if m not in exclude_metrics and m in measured]
        if not metrics:
            continue
        found = meta if isinstance(meta, MetaEvaluation) else meta.get((str(model), str(dataset)))
        out[(str(model), str(dataset))] = _verdict(
            str(model), str(dataset), group, metrics, found, resamples, seed, level, sorted(exclude_metrics)
        )
    return out


def _check_settings(frame: pd.DataFrame, resamples: int, level: float, exclude_metrics: Sequence[str]) -> None:
    needed = {"model", "dataset", "method", "metric", "variant", "example", "value", "seconds"}
    if missing := needed - set(frame.columns):
        raise FaithlabError(f"the results frame lacks columns {sorted(missing)}; pass ResultStore.frame()")
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 1:
        raise FaithlabError(f"resamples must be an integer >= 1, got {resamples!r}")
    if not 0 < level < 1:
        raise FaithlabError(f"level must lie strictly between 0 and 1, got {level!r}")
    for metric in exclude_metrics:
        if metric not in VERDICT_METRICS:
            raise FaithlabError(f"cannot exclude '{metric}'; the verdict's metrics are {', '.join(VERDICT_METRICS)}")


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["variant"] == ""]


def _verdict(
    model: str, dataset: str, group: pd.DataFrame, metrics: list[str], meta: MetaEvaluation | None,
    resamples: int, seed: int, level: float, excluded: list[str],
) -> Verdict:
    plain = _plain(group)
    plain = plain[plain["metric"].isin(metrics)]
    methods = sorted(plain["method"].unique())
    evidence = [_evidence(metric, plain[plain["metric"] == metric], meta, resamples, seed, level) for metric in metrics]
    flagged = [e.metric for e in evidence if e.meta_passed is False]
    if all(e.weight == 0 for e in evidence):  # meta-evaluation failed every metric: it cannot choose among them
        evidence = [_reweighted(e, 1.0) for e in evidence]
    net = _net_wins(evidence, methods)
    most = sum(e.weight for e in evidence) * max(1, len(methods) - 1)
    scores = {a: sum(net[a, b] for b in methods if b != a) / most for a in methods}
    seconds = plain.groupby("method")["seconds"].mean().dropna()
    cost = {m: float(seconds[m]) for m in methods if m in seconds.index}
    candidates = sorted((m for m in methods if m != BASELINE), key=lambda m: (-scores[m], cost.get(m, math.inf), m))
    leader = candidates[0] if candidates else None
    best = [leader] + [b for b in candidates[1:] if net[leader, b] <= 0] if leader else []
    cheapest = min(best, key=lambda m: (cost.get(m, math.inf), m)) if best else None
    beats = None if leader is None or BASELINE not in methods else bool(net[leader, BASELINE] > 0)
    sanity = _sanity_checks(group, resamples, seed, level)
    verdict = Verdict(model, dataset, best, leader, beats, cheapest, cost, scores, evidence, sanity, flagged,
                      excluded, int(resamples), int(seed), float(level), RULE, "")
    return Verdict(**{**verdict.__dict__, "summary": summary_paragraph(verdict)})


def _reweighted(evidence: MetricEvidence, weight: float) -> MetricEvidence:
    return MetricEvidence(**{**evidence.__dict__, "weight": weight})


def _evidence(
    metric: str, rows: pd.DataFrame, meta: MetaEvaluation | None, resamples: int, seed: int, level: float
) -> MetricEvidence:
    """Means and pairwise comparisons of every method on one metric; the top set is the best mean and its ties."""
    spec = get_metric(metric)
    values = rows.pivot_table(index="example", columns="method", values="value", aggfunc="mean", dropna=False)
    means = {}
    for method in sorted(values.columns):
        summary = summarize(values[method].to_numpy(dtype=float), resamples, level, seed)
        if summary.n:
            means[method] = MethodMean(summary.mean, summary.low, summary.high, summary.n)
    sign = 1.0 if spec.higher_is_better else -1.0
    names = list(means)
    comparisons = [
        c for i, a in enumerate(names) for b in names[i + 1:]
        if (c := compare(values[a].to_numpy(float), values[b].to_numpy(float), a, b, sign, resamples, seed, level))
    ]
    leader = max(names, key=lambda m: sign * means[m].mean)
    top = [leader] + [m for m in names if m != leader and _winner(comparisons, leader, m) is None]
    passed = meta.passed(metric) if meta is not None else None
    return MetricEvidence(metric, spec.higher_is_better, 0.0 if passed is False else 1.0, passed, means, comparisons,
                          top)


def compare(
    a_values: np.ndarray, b_values: np.ndarray, a: str, b: str, sign: float, resamples: int, seed: int, level: float
) -> Comparison | None:
    """Paired bootstrap of method `a` against `b` over the examples where both are defined.

    Args:
        a_values, b_values: the two methods' values per example, aligned (NaN where undefined).
        a, b: the methods' names.
        sign: +1 when higher is better, -1 when lower is.
        resamples, seed: the bootstrap's resamples and seed.
        level: the interval's level; `a` wins when the interval lies above 0, `b` when below.

    Returns:
        The comparison; P(a beats b) counts a resampled mean difference of 0 as half a win. None for fewer than 2
        common examples.
    """
    both = ~(np.isnan(a_values) | np.isnan(b_values))
    if both.sum() < 2:
        return None
    differences = sign * (a_values[both] - b_values[both])
    boot = bootstrap_means(differences, resamples, seed)
    p = float(np.mean(boot > 0) + 0.5 * np.mean(boot == 0))
    tail = (1 - level) / 2 * 100
    low, high = (float(x) for x in np.percentile(boot, [tail, 100 - tail]))
    winner = a if low > 0 else b if high < 0 else None
    return Comparison(a, b, int(both.sum()), float(differences.mean()), low, high, p, winner)


def _winner(comparisons: list[Comparison], a: str, b: str) -> str | None:
    for c in comparisons:
        if {c.a, c.b} == {a, b}:
            return c.winner
    return None


def _net_wins(evidence: list[MetricEvidence], methods: list[str]) -> dict[tuple[str, str], float]:
    """Weighted wins minus weighted losses of a over b, for every ordered pair."""
    net = {(a, b): 0.0 for a in methods for b in methods}
    for item in evidence:
        for c in item.comparisons:
            if c.winner is not None:
                loser = c.b if c.winner == c.a else c.a
                net[c.winner, loser] += item.weight
                net[loser, c.winner] -= item.weight
    return net


def _sanity_checks(group: pd.DataFrame, resamples: int, seed: int, level: float) -> list[SanityCheck]:
    """Each method's mean on the sanity metrics measured: the most randomised step, the constrained attack."""
    checks = []
    for check, metric, threshold in SANITY_CHECKS:
        rows = group[group["metric"] == metric]
        variant = _sanity_variant(set(rows["variant"]))
        if variant is None:
            continue
        for method, values in rows[rows["variant"] == variant].groupby("method", sort=True)["value"]:
            summary = summarize(values.to_numpy(dtype=float), resamples, level, seed)
            if summary.n:
                checks.append(SanityCheck(str(method), check, metric, variant, summary.mean, summary.low,
                                          summary.high, threshold, bool(summary.mean < threshold)))
    return checks


def _sanity_variant(variants: set[str]) -> str | None:
    """The variant a sanity check reads: the cascading step that randomised every block (layer 0 last), the attack
    that keeps the prediction ('constrained'), else the unconstrained attack or the plain rows."""
    cascading = [v for v in variants if v.startswith("cascading:")]
    if cascading:
        return min(cascading, key=lambda v: int(v.split(":")[1]))
    return next((v for v in ("constrained", "unconstrained", "") if v in variants), None)


# ----- words -------------------------------------------------------------------------------------------------------
def summary_paragraph(verdict: Verdict) -> str:
    """The verdict in plain language: who leads, how sure, at what cost, which checks passed, what was flagged.

    Args:
        verdict: a verdict (its own `summary` is not read).

    Returns:
        One paragraph.
    """
    if verdict.leader is None:
        return f"For {verdict.model} on {verdict.dataset}, no method other than the random baseline was measured."
    metrics = [e.metric for e in verdict.evidence if e.weight > 0]
    n = max((m.n for e in verdict.evidence for m in e.means.values()), default=0)
    lead = (f"{verdict.leader} is the most faithful method" if len(verdict.best) == 1 else
            f"{_join(verdict.best)} lead and cannot be told apart")
    parts = [f"For {verdict.model} on {verdict.dataset}, {lead}, judged by {len(metrics)} faithfulness metric(s) "
             f"({', '.join(metrics)}) over up to {n} examples (paired bootstrap, {verdict.resamples} resamples, "
             f"a pair tied unless its {verdict.level:.0%} interval excludes 0)."]
    parts.append(_against_runner_up(verdict))
    if verdict.beats_baseline is False:
        parts.append("It does not beat the random baseline on balance, so treat its explanations with caution.")
    elif verdict.beats_baseline:
        parts.append("It beats the random baseline on balance.")
    cost = verdict.seconds_per_example.get(verdict.cheapest or "")
    if cost is not None:
        parts.append(f"The cheapest method of the top set is {verdict.cheapest} ({cost:.3g} s per example)."
                     if len(verdict.best) > 1 else f"It takes {cost:.3g} s per example.")
    parts.append(_sanity_sentence(verdict))
    if verdict.flagged_metrics:
        parts.append(f"The meta-evaluation flagged {', '.join(verdict.flagged_metrics)}, left out of the ranking.")
    return " ".join(p for p in parts if p)


def _against_runner_up(verdict: Verdict) -> str:
    others = sorted((m for m in verdict.scores if m not in (verdict.leader, BASELINE)),
                    key=lambda m: -verdict.scores[m])
    if not others:
        return ""
    runner = others[0]
    odds = []
    for item in (e for e in verdict.evidence if e.weight > 0):
        for c in item.comparisons:
            if {c.a, c.b} == {verdict.leader, runner}:
                p = c.p_a_beats_b if c.a == verdict.leader else 1 - c.p_a_beats_b
                odds.append(f"{item.metric} {p:.2f}")
    return f"The probability that {verdict.leader} beats the next method, {runner}, is {'; '.join(odds)}." if odds \
        else ""


def _sanity_sentence(verdict: Verdict) -> str:
    mine = [s for s in verdict.sanity if s.method == verdict.leader]
    if not mine:
        return "No sanity check was measured."
    said = [f"{s.check} ({s.metric} {s.value:.2f}, {'passed' if s.passed else 'failed'}: below {s.threshold} "
            "needed)" for s in mine]
    return f"Sanity checks of {verdict.leader}: {'; '.join(said)}."


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def verdict_markdown(verdict: Verdict) -> str:
    """A markdown section for the report and the app.

    Args:
        verdict: the verdict to show.

    Returns:
        A level-3 heading, the summary paragraph, a table of the evidence per metric (direction, weight,
        meta-evaluation, top set, the leader's mean and interval) and, when measured, a table of the sanity checks.
    """
    lines = [f"### Verdict: {verdict.model} on {verdict.dataset}", "", verdict.summary, "",
             "| metric | better | weight | meta-evaluation | top set | leader's mean [interval] |",
             "|---|---|---|---|---|---|"]
    for e in verdict.evidence:
        meta = {None: "not run", True: "passed", False: "failed"}[e.meta_passed]
        first = e.means[e.top[0]]
        lines.append(f"| {e.metric} | {'higher' if e.higher_is_better else 'lower'} | {e.weight:g} | {meta} | "
                     f"{', '.join(e.top)} | {first.mean:.3f} [{first.low:.3f}, {first.high:.3f}] |")
    if verdict.sanity:
        lines += ["", "| method | check | metric | mean [interval] | passed |", "|---|---|---|---|---|"]
        lines += [f"| {s.method} | {s.check} | {s.metric} | {s.value:.3f} [{s.low:.3f}, {s.high:.3f}] | "
                  f"{'yes' if s.passed else 'no'} |" for s in verdict.sanity]
    return "\n".join(lines) + "\n"


def verdicts_json(verdicts: Mapping[tuple[str, str], Verdict]) -> str:
    """verdict.json's text.

    Args:
        verdicts: verdicts keyed by (model, dataset), as `build_verdict` returns them.

    Returns:
        JSON: a list of `Verdict.to_dict()`.
    """
    return json.dumps([v.to_dict() for v in verdicts.values()], indent=2)


def read_verdicts(text: str) -> dict[tuple[str, str], Verdict]:
    """Verdicts back from verdict.json's text.

    Args:
        text: what `verdicts_json` wrote.

    Returns:
        The verdicts keyed by (model, dataset).
    """
    verdicts = [Verdict.from_dict(item) for item in json.loads(text)]
    return {(v.model, v.dataset): v for v in verdicts}
