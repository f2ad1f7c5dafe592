"""Explain jobs: many texts through several methods into a resumable JSONL file, an HTML report and a summary.

A job explains its texts in chunks with `explain_many` (the methods of a chunk share one encoding and their common
passes), appends each chunk's explanations to `explanations.jsonl` as whole flushed lines, and never holds more
than one chunk's explanations. Each line records its input row and a hash of the text, so a restarted job skips
what is already written and adds exactly what is missing. `job.json` records what the lines depend on (model
and weights fingerprint, target, labels, every setting of every method), and a job is refused if any of it
changed. The folder is locked while a job writes it. The demo job runs every method on built-in sentences.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from faithlab.data import MAX_SKIPPED, DataError, ReadSummary, builtin_sentences, check_skipped
from faithlab.data.named import read_named
from faithlab.data.text_file import DEFAULT_ENCODING
from faithlab.errors import FaithlabError
from faithlab.explain import EXPLAINERS, Explanation, explain_many, get_explainer
from faithlab.explain.base import share_settings
from faithlab.explain.baselines import Ensemble
from faithlab.explain.groups import FeatureGrouping
from faithlab.explain.io import append_records, from_record, iter_records, repair_jsonl, to_record
from faithlab.models import Classifier, load_classifier
from faithlab.models.loading import weights_fingerprint
from faithlab.report.html import write_html
from faithlab.runs import locked_out_dir
from faithlab.schema import load_yaml

JSONL_NAME = "explanations.jsonl"
HTML_NAME = "report.html"
SUMMARY_NAME = "summary.json"
MANIFEST_NAME = "job.json"
REPORT_TEXTS = 200
DEMO_MODEL = "minilm"
DEMO_LABELS = ("negative", "positive")
DEMO_NOTE = (
    "With --untrained, the demo model 'minilm' (all-MiniLM-L6-v2, a sentence encoder, not a classifier) gets an "
    "UNTRAINED classification head (labels negative/positive). The explanations show what a random head responds "
    "to: they exercise every method end to end, but the predicted labels mean nothing."
)
DEMO_TRAINED_NOTE = (
    "The demo fine-tunes 'minilm' on the planted-feature task: each built-in sentence gets a random label and the "
    "word 'positive' or 'negative' announcing it, so the planted word alone decides the label and a faithful "
    "explanation puts it on top."
)


@dataclass
class Inputs:
    """Texts (and pair texts) to explain, with where they came from and what the reader kept and skipped of the
    file (None for texts given in memory); `labels` are the rows' gold label names where the reader found them."""

    texts: list[str]
    pairs: list[str] | None = None
    source: str = "command line"
    read: ReadSummary | None = None
    labels: list[str | None] | None = None  # gold label names, where the file has them
    groups: list[FeatureGrouping | None] | None = None  # user feature groups per text (faithlab.explain.groups)


@dataclass
class JobSummary:
    """What a job did (also written to summary.json): `resumed` texts were complete before, `explained` were not;
    `data` is what the reader kept and skipped of the input file (`ReadSummary.to_dict`), None for given texts."""

    out_dir: str
    model: str
    methods: list[str]
    target: str
    texts: int
    resumed: int
    explained: int
    written_lines: int
    seconds: float
    data: dict[str, Any] | None = None
    fingerprint: str = ""
    warnings: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


def check_texts(texts: Sequence[str], pairs: Sequence[str] | None = None) -> Inputs:
    """Inputs from in-memory texts; raises `FaithlabError` for no texts, an empty text or a missing pair."""
    if isinstance(texts, str):
        texts = [texts]
    if not texts:
        raise FaithlabError("no texts given; pass texts as arguments or a file with --input")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise FaithlabError(f"text {i + 1} is empty; give it some words")
    if pairs is not None and len(pairs) != len(texts):
        raise FaithlabError(f"got {len(texts)} texts but {len(pairs)} pair texts; give one pair per text")
    if pairs is not None and any(not isinstance(p, str) or not p.strip() for p in pairs):
        raise FaithlabError("every pair text must be non-empty")
    return Inputs(list(texts), None if pairs is None else list(pairs))


def read_inputs(
    path: str | Path,
    text_col: str,
    pair_col: str | None = None,
    reader: str = "table",
    *,
    max_skipped: float = MAX_SKIPPED,
    accept_skipped: bool = False,
    encoding: str = DEFAULT_ENCODING,
    delimiter: str | None = None,
    label_col: str | None = None,
) -> Inputs:
    """Texts from a file: a CSV / TSV / JSONL table by column name, or a named reader's format (`READERS`, e.g.
    'emotion'), in `encoding`, split at `delimiter` (`read_named`), gold labels from a table's `label_col`; rows
    with an empty text are skipped and reported. Above `max_skipped` malformed rows the job is refused unless
    `accept_skipped` (`faithlab.data.check_skipped`)."""
    try:
        dataset = read_named(reader, path, text_col, pair_col, label_col, encoding=encoding, delimiter=delimiter)
    except DataError as exc:
        raise FaithlabError(str(exc)) from exc
    if not len(dataset):
        raise FaithlabError(f"{path}: no usable rows (every row was empty or malformed)")
    read = check_skipped(dataset, reader, max_skipped=max_skipped, accept=accept_skipped)
    pairs = dataset.pairs if any(p is not None for p in dataset.pairs) else None
    labels = [None if y is None else dataset.label_names[y] for y in dataset.labels] if dataset.label_names else None
    return Inputs(dataset.texts, pairs, str(path), read, labels)


def resolve_methods(spec: str | Sequence[str]) -> list[str]:
    """Registered method names from 'all' or a comma-separated list; unknown names raise `FaithlabError`."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [n.strip().lower() for n in names if n.strip()]
    if names == ["all"]:
        names = list(EXPLAINERS)
    if not names:
        raise FaithlabError("no methods given; run `faithlab methods` to list them")
    unknown = [n for n in names if n not in EXPLAINERS]
    if unknown:
        available = ", ".join(EXPLAINERS) or "none registered"
        raise FaithlabError(f"unknown method '{unknown[0]}'; available: {available}")
    return list(dict.fromkeys(names))


def resolve_target(classifier: Classifier, target: str | int | None) -> str:
    """'predicted', 'all' or the target label's name (an index or any-case name is accepted)."""
    if target is None or str(target).lower() in ("predicted", "all"):
        return "predicted" if target is None else str(target).lower()
    return classifier.labels[classifier.label_index(target)]


def _release_memory() -> None:
    """Hand freed heap pages back to the OS after each chunk: tensors of a new width every chunk otherwise
    fragment glibc's heap, and a long job's resident memory creeps up although nothing is kept."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def parse_settings(items: Sequence[str]) -> dict[str, dict]:
    """Method settings from `method.key=value` strings (values read as YAML: 100, 0.5, true, mask)."""
    settings: dict[str, dict] = {}
    for item in items:
        name, _, value = item.partition("=")
        method, _, key = name.strip().partition(".")
        if not _ or not key or not method:
            raise FaithlabError(f"write a setting as method.key=value (e.g. ig.n_steps=100), got {item!r}")
        settings.setdefault(method.lower(), {})[key] = load_yaml(value, f"setting '{name.strip()}'")
    return settings


def text_hash(text: str, pair: str | None) -> str:
    return hashlib.sha256(json.dumps([text, pair]).encode()).hexdigest()[:16]


def run_explain_job(
    classifier: Classifier,
    inputs: Inputs,
    methods: Sequence[str],
    out_dir: str | Path,
    *,
    target: str | int | None = "predicted",
    chunk_size: int = 16,
    console: Console | None = None,
    progress: bool = True,
    report_texts: int = REPORT_TEXTS,
    title: str | None = None,
    settings: dict[str, dict] | None = None,
    show_special: bool = False,
) -> JobSummary:
    """Explain every input with every method into `out_dir`, resuming from what an earlier run wrote there.

    `show_special` shows special tokens and their scores in the HTML report (the JSONL always keeps them).

    `settings` maps a method name to its settings (e.g. {"ig": {"n_steps": 100}}); a resumed run must resolve to
    the same settings, model weights, target and labels. The folder is locked while the job runs.
    """
    if chunk_size < 1:
        raise FaithlabError(f"chunk size must be >= 1, got {chunk_size}")
    if not inputs.texts:
        raise FaithlabError("no texts to explain")
    methods = resolve_methods(methods)
    settings = settings or {}
    for name in settings:
        if name not in methods:
            raise FaithlabError(f"settings given for method '{name}', which is not among the methods {methods}")
    # an ensemble's members take the settings of the same method requested alone, whichever methods a row lacks
    requested = dict(share_settings([(m, settings.get(m, {})) for m in methods]))
    target = resolve_target(classifier, target)
    fingerprint = classifier.fingerprint or weights_fingerprint(classifier.model)
    console = console or Console(stderr=True)
    with locked_out_dir(out_dir) as out:
        manifest = {"model": classifier.name, "fingerprint": fingerprint, "target": target,
                    "labels": classifier.labels, "settings": resolved_settings(classifier, requested)}
        if inputs.groups is not None:  # a rerun must group the texts the same way
            described = json.dumps([None if g is None else asdict(g) for g in inputs.groups])
            manifest["groups"] = hashlib.sha256(described.encode()).hexdigest()
        _check_manifest(out / MANIFEST_NAME, manifest, classifier.head_trained)
        _print_read(inputs, console)
        jsonl = out / JSONL_NAME
        texts = zip(inputs.texts, inputs.pairs or [None] * len(inputs.texts), strict=True)
        hashes = [text_hash(t, p) for t, p in texts]
        written = _written(jsonl, hashes)
        missing = {r: [m for m in methods if not _complete(written, r, m)] for r in range(len(hashes))}
        pending = [r for r in range(len(hashes)) if missing[r]]
        start = time.perf_counter()
        lines = 0
        columns = (TextColumn("explaining"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn())
        with Progress(*columns, console=console, disable=not progress, transient=False) as bar:
            task = bar.add_task("texts", total=len(hashes), completed=len(hashes) - len(pending))
            for chunk in _chunks(pending, chunk_size):
                records = []
                for todo, rows in _by_missing(chunk, missing).items():
                    todo_settings = [(m, requested[m]) for m in todo]
                    records += _explain_rows(classifier, inputs, rows, todo_settings, target, hashes, written)
                records.sort(key=lambda rec: (rec["meta"]["row"], methods.index(rec["method"])))
                lines += append_records(records, jsonl)
                _release_memory()
                bar.advance(task, len(chunk))
        seconds = time.perf_counter() - start
        warnings: Counter[str] = Counter()
        html = write_html(
            _tally(iter_records(jsonl), warnings), out / HTML_NAME, max_texts=report_texts,
            title=title or f"faithlab explanations: {classifier.name}", show_special=show_special,
            note=None if inputs.read is None else "\n".join(inputs.read.lines()),
        )
        summary = JobSummary(
            out_dir=str(out), model=classifier.name, methods=methods, target=target, texts=len(hashes),
            resumed=len(hashes) - len(pending), explained=len(pending), written_lines=lines,
            seconds=round(seconds, 3), data=None if inputs.read is None else inputs.read.to_dict(),
            fingerprint=fingerprint,
            warnings=dict(warnings),
            files={"explanations": str(jsonl), "report": str(html), "summary": str(out / SUMMARY_NAME)},
        )
        write_summary(summary)
    return summary


def write_summary(summary: JobSummary) -> Path:
    """summary.json in the job's folder (rewritten when later steps add files)."""
    path = Path(summary.out_dir) / SUMMARY_NAME
    path.write_text(json.dumps(asdict(summary), indent=2) + "\n", encoding="utf-8")
    return path


def resolved_settings(classifier: Classifier, requested: dict[str, dict]) -> dict[str, dict]:
    """Every setting of every requested method as its explainer resolves it, defaults included (JSON values).

    An ensemble's `member_settings` become its members' resolved settings, so they are recorded in full too.
    """
    resolved = {}
    for name, given in requested.items():
        explainer = get_explainer(name, classifier, **given)
        values = dict(explainer.settings)
        if isinstance(explainer, Ensemble):
            values["member_settings"] = {member.name: member.settings for member in explainer.members}
        resolved[name] = json.loads(json.dumps(values, default=str))
    return resolved


def _print_read(inputs: Inputs, console: Console) -> None:
    """Say how many input rows the reader kept, and which it left out and why, before a long job starts."""
    if inputs.read is not None:
        style = "yellow" if inputs.read.skipped else None
        for line in inputs.read.lines():
            console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)


def demo_inputs(n: int = 12, seed: int = 0) -> Inputs:
    """A fixed random sample of `n` built-in example sentences."""
    sentences = builtin_sentences()
    return Inputs(random.Random(seed).sample(sentences, min(n, len(sentences))), source="built-in sentences")


def run_demo(
    out_dir: str | Path,
    *,
    classifier: Classifier | None = None,
    untrained: bool = False,
    n: int = 12,
    seed: int = 0,
    console: Console | None = None,
    progress: bool = True,
    device: str = "auto",
) -> JobSummary:
    """The main job: fine-tune `minilm` on the planted-feature task over the built-in sentences (resumable, in
    `out_dir/model`), then explain `n` held-out sentences with every method. `untrained=True` skips the training
    and explains a sample of sentences with an untrained head instead (a fast smoke run). `device` as in
    `load_classifier` (training and explaining)."""
    if not EXPLAINERS:
        raise FaithlabError("no explanation methods are registered")
    inputs = demo_inputs(n, seed)
    if classifier is None and untrained:
        torch.manual_seed(seed)  # the untrained head's weights
        classifier = load_classifier(DEMO_MODEL, labels=list(DEMO_LABELS), device=device)
    elif classifier is None:
        from faithlab.train.demo import demo_heldout, train_demo_model  # training is only needed here

        start = time.perf_counter()
        classifier = load_classifier(train_demo_model(Path(out_dir) / "model", progress=progress, device=device),
                                     device=device)
        if console is not None:
            console.print(f"demo model trained (or reused) in {time.perf_counter() - start:.0f} s")
        heldout = demo_heldout().texts
        inputs = Inputs(random.Random(seed).sample(heldout, min(n, len(heldout))), source="held-out test split")
    title = f"faithlab demo: {classifier.name}" + ("" if classifier.head_trained else " (untrained head)")
    return run_explain_job(
        classifier, inputs, list(EXPLAINERS), out_dir, console=console, progress=progress, title=title
    )


# ----- resuming -----------------------------------------------------------------------------------------------------
Written = dict[tuple[int, str], tuple[set[int], int]]  # (row, method) → (targets written, targets expected)


def _written(jsonl: Path, hashes: list[str]) -> Written:
    """What an earlier run wrote, after cutting a partial last line; refuses a file made from other texts."""
    written: Written = {}
    if not jsonl.exists():
        return written
    repair_jsonl(jsonl)
    for record in iter_records(jsonl):
        meta = record.get("meta") or {}
        row, digest = meta.get("row"), meta.get("text_hash")
        if not isinstance(row, int) or row >= len(hashes) or hashes[row] != digest:
            raise FaithlabError(
                f"{jsonl} holds explanations of other texts (input row {row} differs); "
                "use a new output folder or delete the old one"
            )
        targets, _ = written.setdefault((row, record["method"]), (set(), int(meta.get("targets", 1))))
        targets.add(int(record["target"]))
    return written


def _complete(written: Written, row: int, method: str) -> bool:
    targets, expected = written.get((row, method), (set(), 1))
    return len(targets) >= expected


def _check_manifest(path: Path, manifest: dict, head_trained: bool) -> None:
    """Record what a job explains, and how; a rerun into the same folder must explain it the same way.

    A rerun may add methods (their settings are added to the record); a method already recorded must resolve to
    the same settings.
    """
    if not path.exists():
        _write_manifest(path, manifest)
        return
    old = json.loads(path.read_text(encoding="utf-8"))
    advice = "use a new output folder or delete the old one"
    for key, value in manifest.items():
        if key not in old:
            raise FaithlabError(f"{path} was written by an older faithlab that did not record the {key}; {advice}")
        if key == "fingerprint" and old[key] != value:
            draw = "" if head_trained else " (an untrained head is drawn anew on each load unless seeded)"
            raise FaithlabError(
                f"{path.parent} holds explanations of other weights of model {manifest['model']!r}: fingerprint "
                f"{old[key][:12]}... then, {value[:12]}... now{draw}; {advice}"
            )
        if key != "settings" and old[key] != value:
            raise FaithlabError(f"{path.parent} holds a job with {key} {old[key]!r}, not {value!r}; {advice}")
    for method, now in manifest["settings"].items():
        if method in old["settings"]:
            _check_settings(path.parent, method, old["settings"][method], now, advice)
    if set(manifest["settings"]) - set(old["settings"]):
        _write_manifest(path, old | {"settings": old["settings"] | manifest["settings"]})


def _check_settings(folder: Path, method: str, old: dict, now: dict, advice: str) -> None:
    """Refuse a method whose resolved settings changed, naming each setting that differs (old -> new value)."""
    before, after = _flatten(old), _flatten(now)
    changed = [
        f"{method}.{key} was {before.get(key, '(unset)')!r}, now {after.get(key, '(unset)')!r}"
        for key in sorted(before.keys() | after.keys()) if before.get(key, "(unset)") != after.get(key, "(unset)")
    ]
    if changed:
        raise FaithlabError(
            f"{folder} holds {method} explanations made with other settings: {'; '.join(changed)}; give {method} "
            f"the settings it had before (CLI: --set {method}.KEY=VALUE), or {advice}"
        )


def _flatten(settings: dict, prefix: str = "") -> dict[str, object]:
    """Nested settings (an ensemble's member settings) as dotted keys: {"member_settings.ig.n_steps": 20}."""
    flat: dict[str, object] = {}
    for key, value in settings.items():
        if isinstance(value, dict) and value:
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _write_manifest(path: Path, manifest: dict) -> None:
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


# ----- explaining ---------------------------------------------------------------------------------------------------
def _chunks(rows: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _by_missing(rows: list[int], missing: dict[int, list[str]]) -> dict[tuple[str, ...], list[int]]:
    """Rows grouped by the methods they still need (after a resume, a few rows may lack only some)."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for row in rows:
        groups.setdefault(tuple(missing[row]), []).append(row)
    return groups


def _explain_rows(
    classifier: Classifier,
    inputs: Inputs,
    rows: list[int],
    methods: list[tuple[str, dict]],
    target: str,
    hashes: list[str],
    written: Written,
) -> list[dict]:
    """Records for the rows' explanations that are not written yet (one per row, or per row and class)."""
    texts = [inputs.texts[r] for r in rows]
    pairs = None if inputs.pairs is None else [inputs.pairs[r] for r in rows]
    groups = None if inputs.groups is None else [inputs.groups[r] for r in rows]
    records = []
    for method, explanations in explain_many(classifier, texts, methods, pairs, target, groups).items():
        per_row = len(explanations) // len(rows)
        for i, explanation in enumerate(explanations):
            row = rows[i // per_row]
            if explanation.target in written.get((row, method), (set(), 0))[0]:
                continue
            records.append(to_record(explanation, {"row": row, "text_hash": hashes[row], "targets": per_row}))
    return records


def _tally(records: Iterator[dict], warnings: Counter[str]) -> Iterator[Explanation]:
    """Explanations from records, counting their warnings on the way."""
    for record in records:
        explanation = from_record(record)
        warnings.update(explanation.warnings)
        yield explanation
