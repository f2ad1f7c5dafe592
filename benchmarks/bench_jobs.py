"""Whole-job speed: faithlab's thesis-protocol bench job against its raw bound, against ferret, and its adaptive
budgets against what they buy.

Runs in the bench venv (benchmarks/README.md). Model: the `minilm` alias with an untrained 2-class head, as in
bench_explain.py (the head does not change the cost of a pass). Data: planted SST-2 dev sentences
(benchmarks/findings/planted_minilm.yaml's data set and methods, without its training step).

Sections:
  job      the config's units (12 methods + ground truth + comprehensiveness/sufficiency) run through the bench
           runner's `execute`, as `faithlab bench` runs them, against the same passes replayed as bare batched
           `Classifier.forward` calls (the raw bound), chunk by chunk, interleaved. Every pass is recorded with its
           real (unpadded) tokens and, for passes without gradients, a digest of each row's input, which gives the
           padding share and the rows a job-wide pool of scored inputs would not run twice.
  ferret   ferret's `Benchmark.explain` + `evaluate_explanations` looped over the first few examples at ferret's
           defaults, extrapolated to the job's examples, against the job's own time.
  profile  cProfile of one unit: its time inside the model's passes against everything else.
  adaptive where faithlab's auto budgets (ig n_steps, lime and kernel_shap n_samples) spend their passes, per text:
           their evaluations per text and what the last round of the growth schedule added.

    python benchmarks/bench_jobs.py --examples 50 --ferret-examples 2        # the issue's run (quiet machine)
    python benchmarks/bench_jobs.py --examples 10 --ferret-examples 1 --adaptive-texts 4   # RESULTS-jobs.md (loaded)
    python benchmarks/bench_jobs.py --sections profile --profile-examples 3                # where a unit's time goes
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import pstats
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_explain import (
    TARGET,
    Report,
    environment,
    ferret_benchmark,
    load_bench_model,
    median,
    ms,
    progress,
    quiet,
    ratio,
    synchronize,
)

from faithlab.bench.config import BenchConfig, Samples, load_config
from faithlab.bench.runner import UnitSpec, execute, load_examples, plan_units
from faithlab.data import Example
from faithlab.explain import get_explainer
from faithlab.explain.adaptive import next_count
from faithlab.explain.kernel_shap import AUTO_FIRST_PAIRS, AUTO_PAIR_CHUNK
from faithlab.models import Classifier

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "findings" / "planted_minilm.yaml"


# ----- the job ----------------------------------------------------------------------------------------------------
ATTENTION_METHODS = ("attention_mean", "rollout")


def job_config(examples: int) -> BenchConfig:
    """planted_minilm.yaml on `examples` planted dev sentences, its model untrained (speed only). Its ensemble_all
    averaged attention with logit attributions, which ensembles now refuse (one quantity per ensemble): the
    attention members are left out of it (they are still run on their own)."""
    config = load_config(CONFIG)
    models = [m.model_copy(update={"train": None}) for m in config.models]
    methods = []
    for name, settings in config.methods:
        if name == "ensemble":
            settings = {**settings, "methods": [m for m in settings["methods"] if m not in ATTENTION_METHODS]}
        methods.append((name, settings))
    return config.model_copy(update={"samples": Samples(examples=examples), "models": models, "methods": methods})


@dataclass(frozen=True)
class Pass:
    """One model pass as the job ran it: its shape, its rows' real lengths, and how it was run."""

    rows: int
    width: int
    lengths: tuple[int, ...]  # each row's real tokens (the rest is padding)
    backward: bool
    attentions: bool
    constant_attention: bool

    @property
    def real_tokens(self) -> int:
        return sum(self.lengths)


@dataclass
class PassLog:
    """Every pass of a job, and per scored (gradient-free, no attentions) row a digest of its input."""

    passes: list[Pass] = field(default_factory=list)
    digests: list[bytes] = field(default_factory=list)

    def tokens(self) -> int:
        return sum(p.rows * p.width for p in self.passes)

    def real_tokens(self) -> int:
        return sum(p.real_tokens for p in self.passes)


@contextlib.contextmanager
def recorded(clf: Classifier, log: PassLog) -> Iterator[None]:
    """Within the block, every `clf.forward` call is logged in `log` (an instance attribute shadows the method;
    removed on exit)."""
    original = clf.forward

    def forward(input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                **options: Any) -> Any:
        attentions = bool(options.get("output_attentions", False))
        backward = torch.is_grad_enabled()
        lengths = tuple(attention_mask.sum(dim=1).tolist())
        log.passes.append(Pass(input_ids.shape[0], input_ids.shape[1], lengths, backward, attentions,
                               bool(options.get("constant_attention", False))))
        if not backward and not attentions:
            rows = torch.cat([input_ids, attention_mask], dim=1).cpu().numpy()
            log.digests += [hashlib.blake2b(row.tobytes(), digest_size=12).digest() for row in rows]
        return original(input_ids, attention_mask, token_type_ids, **options)

    clf.forward = forward  # type: ignore[method-assign]
    try:
        yield
    finally:
        del clf.forward


def replay(clf: Classifier, passes: Sequence[Pass]) -> None:
    """The raw bound: the same passes as bare calls on pre-built ids, padded as the job padded them (no encoding,
    masks of removed tokens, scoring or rows)."""
    unk = clf.replacement_id("unk")
    for p in passes:
        ids = torch.full((p.rows, p.width), unk, dtype=torch.long, device=clf.device)
        lengths = torch.tensor(p.lengths, device=clf.device)
        mask = (torch.arange(p.width, device=clf.device)[None, :] < lengths[:, None]).long()
        if p.backward:
            with torch.no_grad():
                leaf = clf.word_embeddings(ids)
            leaf.requires_grad_(True)
            logits = clf.logits_from_embeddings(leaf, ids, mask, constant_attention=p.constant_attention)
            torch.autograd.grad(logits[:, TARGET].sum(), leaf)
        else:
            with torch.inference_mode():
                clf.forward(ids, mask, output_attentions=p.attentions)
    synchronize(clf)


@dataclass
class JobTimes:
    job: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)


def run_job(clf: Classifier, config: BenchConfig, repeats: int) -> tuple[JobTimes, PassLog, list[Example]]:
    """Each unit of the job timed through `execute` and its recorded passes replayed, alternately, `repeats`
    rounds; per unit the median round is kept."""
    model, dataset = config.models[0], config.datasets[0]
    examples = load_examples(dataset, config).examples
    units = [u for u in plan_units(config, model, dataset, examples) if u.kind == "examples"]
    execute(UnitSpec(model.name, dataset.name, "warm-up", "examples", 0, 1), config, clf, examples)
    logs = [PassLog() for _ in units]
    rounds = {u.name: JobTimes() for u in units}
    for r in range(repeats):
        for unit, log in zip(units, logs, strict=True):
            start = time.perf_counter()
            if r == 0:
                with recorded(clf, log):
                    execute(unit, config, clf, examples)
            else:
                execute(unit, config, clf, examples)
            rounds[unit.name].job.append(time.perf_counter() - start)
            start = time.perf_counter()
            replay(clf, log.passes)
            rounds[unit.name].raw.append(time.perf_counter() - start)
            progress(f"round {r + 1}, {unit.name}: job {ms(rounds[unit.name].job[-1])}, "
                     f"raw bound {ms(rounds[unit.name].raw[-1])}")
    times = JobTimes([median(t.job) for t in rounds.values()], [median(t.raw) for t in rounds.values()])
    total = PassLog([p for log in logs for p in log.passes], [d for log in logs for d in log.digests])
    return times, total, examples


def job_section(clf: Classifier, config: BenchConfig, repeats: int, report: Report) -> tuple[float, PassLog]:
    times, log, examples = run_job(clf, config, repeats)
    job, raw = sum(times.job), sum(times.raw)
    forward = [p for p in log.passes if not p.backward]
    backward = [p for p in log.passes if p.backward]
    scored = len(log.digests)
    distinct = len(set(log.digests))
    rows = [
        ["job (bench runner `execute`, every unit)", ms(job), f"{ms(job / len(examples))} an example"],
        ["raw bound (its passes as bare batched calls)", ms(raw), f"{ms(raw / len(examples))} an example"],
        ["job / raw bound", ratio(job, raw), "target ≤ 1.15×"],
        ["passes: forward calls / rows", f"{len(forward)} / {sum(p.rows for p in forward)}", ""],
        ["passes: forward + backward calls / rows", f"{len(backward)} / {sum(p.rows for p in backward)}", ""],
        ["padding share of the tokens run", f"{1 - log.real_tokens() / max(1, log.tokens()):.1%}",
         f"{log.tokens()} tokens run, {log.real_tokens()} real"],
        *[[f"padding share: {kind}", _padding(passes), f"{sum(p.rows * p.width for p in passes)} tokens run"]
          for kind, passes in _by_kind(log.passes).items()],
        ["scored rows (no gradient, no attentions) the job ran twice or more, across methods and metrics",
         f"{scored - distinct} of {scored} ({(scored - distinct) / max(1, scored):.1%})",
         "what one job-wide pool of scored inputs would save"],
    ]
    methods = ", ".join(name if isinstance(name, str) else name[0] for name in config.methods)
    report.table(
        f"Job: {len(examples)} planted examples, {len(config.methods)} methods, ground truth + faithfulness",
        ["", "seconds", "note"],
        rows,
        note=f"Config {CONFIG.relative_to(HERE.parent)} without its training step (untrained head) on "
        f"{len(examples)} examples, chunk_size {config.chunk_size}: methods {methods}; fixed settings (ig 32 steps, "
        "lime 500 samples with deletion, kernel_shap 500 samples; the ensembles reuse their members' "
        f"attributions). Each unit is timed through `faithlab.bench.runner.execute` and then its recorded passes "
        f"are replayed as bare batched calls, alternately, {repeats} round(s), median per unit. The store's "
        "writes, the model load and the data reading are not in either column.",
    )
    report.check("job: ≤ 1.15× its raw bound", job <= 1.15 * raw, ratio(job, raw))
    return job, log


def _by_kind(passes: Sequence[Pass]) -> dict[str, list[Pass]]:
    """The passes by what they compute: scored rows, attention passes, passes with a backward."""
    kinds: dict[str, list[Pass]] = {"scored rows": [], "with attentions": [], "forward + backward": []}
    for p in passes:
        kinds["forward + backward" if p.backward else "with attentions" if p.attentions else "scored rows"].append(p)
    return kinds


def _padding(passes: Sequence[Pass]) -> str:
    run = sum(p.rows * p.width for p in passes)
    return f"{1 - sum(p.real_tokens for p in passes) / run:.1%}" if run else "–"


def profile_section(clf: Classifier, config: BenchConfig, report: Report) -> None:
    """cProfile of one unit of the job: the share of its time inside the model's passes and their backwards."""
    model, dataset = config.models[0], config.datasets[0]
    examples = load_examples(dataset, config).examples
    unit = UnitSpec(model.name, dataset.name, "profiled", "examples", 0, len(examples))
    execute(UnitSpec(model.name, dataset.name, "warm-up", "examples", 0, 1), config, clf, examples)
    profiler = cProfile.Profile()
    profiler.runcall(execute, unit, config, clf, examples)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(cumulative for (_, _, name), (_, _, _, cumulative, _) in stats.items() if name == "execute")
    forward = sum(cumulative for (path, _, name), (_, _, _, cumulative, _) in stats.items()
                  if name == "forward" and path.endswith("faithlab/models/classifier.py"))
    backward = sum(own for (_, _, name), (_, _, own, _, _) in stats.items() if "run_backward" in name)
    outside = total - forward - backward
    report.table(
        f"Profile: one unit of {len(examples)} examples under cProfile",
        ["", "seconds", "share"],
        [["the unit (`execute`)", ms(total), "100%"], ["inside `Classifier.forward`", ms(forward),
                                                      f"{forward / total:.1%}"],
         ["autograd backward", ms(backward), f"{backward / total:.1%}"],
         ["everything else (encoding, masks, dedup, fits, metrics, rows)", ms(outside), f"{outside / total:.1%}"]],
        note="cProfile adds its own cost to Python-level calls, so 'everything else' is an upper bound.",
    )


# ----- ferret -----------------------------------------------------------------------------------------------------
def ferret_section(clf: Classifier, examples: list[Example], n: int, job_seconds: float, report: Report) -> None:
    bench, error = ferret_benchmark(clf)
    if bench is None:
        report.text(f"ferret: not run ({error}).")
        return
    sample = [e.text for e in examples[:n]]
    per_example = []
    with quiet(), contextlib.redirect_stdout(sys.stderr):
        bench.evaluate_explanations(bench.explain(sample[0], target=TARGET, show_progress=False), target=TARGET,
                                    show_progress=False)  # warm-up
        for text in sample:
            start = time.perf_counter()
            explanations = bench.explain(text, target=TARGET, show_progress=False)
            bench.evaluate_explanations(explanations, target=TARGET, show_progress=False)
            per_example.append(time.perf_counter() - start)
            progress(f"ferret explain + evaluate: {ms(per_example[-1])}")
    ferret_all = statistics.mean(per_example) * len(examples)
    report.table(
        f"Job against ferret ({len(examples)} examples)",
        ["", "seconds"],
        [[f"ferret Benchmark.explain + evaluate_explanations, mean of {len(sample)} × {len(examples)}",
          ms(ferret_all)],
         [f"faithlab job ({len(examples)} examples, 12 methods)", ms(job_seconds)],
         ["speed-up of faithlab", ratio(ferret_all, job_seconds)]],
        note="ferret at its defaults: its six explainers (Gradient, Gradient x Input, IG and IG x Input 50 steps, "
        "LIME (n_tokens)² samples, Partition SHAP 500 evaluations; forward batches of 8) and its evaluators (AOPC "
        "comprehensiveness and sufficiency, taucorr_loo), one text at a time; timed on the first "
        f"{len(sample)} examples after a warm-up and extrapolated by the mean. faithlab runs twice ferret's "
        "explainers (12 methods) and its own metric set on every example. CPU only: no GPU in this session, "
        "the GPU ratio is missing.",
    )


# ----- adaptive budgets -------------------------------------------------------------------------------------------
def adaptive_section(clf: Classifier, texts: list[str], report: Report) -> None:
    """Per text: auto's evaluations and the share of them its last round added over the round before."""
    rows = []
    for method, key in (("kernel_shap", "n_evaluations"), ("lime", "n_evaluations"), ("ig", "evaluations")):
        explainer = get_explainer(method, clf)
        explainer.explain(texts[:1], target=TARGET)  # warm-up
        start = time.perf_counter()
        explanations = explainer.explain(texts, target=TARGET)
        seconds = time.perf_counter() - start
        spent = [int(e.extras[key]) for e in explanations]
        last = [_last_round(method, e) for e in explanations]
        added = "–" if None in last else f"{sum(last)} ({sum(last) / sum(spent):.0%})"
        rows.append([method, str(len(texts)), f"{sum(spent)}", _spread(spent), added, ms(seconds)])
        progress(f"{method} auto: {spent}")
    report.table(
        "Adaptive budgets: where the evaluations go",
        ["method", "texts", "evaluations", "per text (median; range)",
         "added by the last round (upper bound of the schedule's overshoot)", "time, one batched call"],
        rows,
        note="faithlab's defaults (n_steps / n_samples 'auto'); the split-half check refits stored samples and "
        "runs no pass. The last round added (growth ×1.5 for lime / kernel_shap, nested levels for ig) is the "
        "most the schedule can overshoot a text's need at the stopping rule's own target.",
    )


def _last_round(method: str, explanation: Any) -> int | None:
    """Evaluations the last round added: IG's nested levels (15, 31, 63, ...) double; kernel_shap's sampled pairs
    grow by AUTO_GROWTH in chunks from AUTO_FIRST_PAIRS. None for lime, whose count is of distinct masks."""
    extras = explanation.extras
    if method == "ig":
        total = int(extras["evaluations"])
        return total - (total - 1) // 2 if total > 15 else 0
    if method == "lime":
        return None
    if extras.get("exact"):
        return 0
    n = len(explanation.content)  # positions of the content tokens
    pairs = (int(extras["n_evaluations"]) - 2 - 2 * n) // 2
    previous, count = 0, AUTO_FIRST_PAIRS
    while count < pairs:
        previous, count = count, next_count(count, AUTO_PAIR_CHUNK)
    return 2 * (pairs - previous) if previous else 0


def _spread(values: list[int]) -> str:
    return f"{statistics.median(values):.0f} ({min(values)}–{max(values)})"


# ----- main ------------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=1, help="rounds of job and raw bound, interleaved per unit")
    parser.add_argument("--ferret-examples", type=int, default=2)
    parser.add_argument("--no-ferret", action="store_true")
    parser.add_argument("--adaptive-texts", type=int, default=8)
    parser.add_argument("--sections", default="job,ferret,adaptive", help="any of job, profile, ferret, adaptive")
    parser.add_argument("--profile-examples", type=int, default=3, help="examples of the profiled unit")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write the tables to this markdown file")
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    started = time.perf_counter()
    command = "python benchmarks/bench_jobs.py " + " ".join(sys.argv[1:] if argv is None else argv)
    report = Report()
    report.text(f"Produced by `{command}`.")
    for line in environment(args.threads):
        report.text(line)
    clf = load_bench_model("minilm", device=args.device)
    config = job_config(args.examples).model_copy(update={"device": args.device})
    job_seconds, examples = float("nan"), load_examples(config.datasets[0], config).examples
    if "job" in sections:
        job_seconds, _ = job_section(clf, config, args.repeats, report)
    if "profile" in sections:
        profile_section(clf, job_config(args.profile_examples), report)
    if "ferret" in sections and not args.no_ferret:
        try:
            ferret_section(clf, examples, args.ferret_examples, job_seconds, report)
        except Exception as exc:  # ferret pins old versions of everything: report, keep the other sections
            report.text(f"ferret failed: {type(exc).__name__}: {exc}")
    if "adaptive" in sections:
        adaptive_section(clf, [e.text for e in examples[: args.adaptive_texts]], report)
    for what, ok, detail in report.checks:
        report.text(f"- {what}: {'met' if ok else 'NOT met'} ({detail})")
    report.text(f"Took {(time.perf_counter() - started) / 60:.1f} min.")
    if args.out:
        args.out.write_text("\n".join(report.lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
