"""`train`: fine-tune a classifier from a `TrainConfig` and write every artifact of the run into one folder.

The run folder holds `config.yaml`, `best/` and `last/` checkpoints (both loadable by `load_classifier`),
`history.json`/`.csv`, `splits.json`, `test_metrics.json`, `predictions.csv`, `misclassified.csv`,
`slice_metrics.csv`, `summary.json` and `plots/`. AdamW (Loshchilov & Hutter 2019) with linear warmup and
linear decay, gradient clipping and label smoothing (Szegedy et al. 2016), as is usual for BERT fine-tuning.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F
from torch.optim.lr_scheduler import LambdaLR, LRScheduler
from tqdm.auto import tqdm

from faithlab.data import Dataset, ReadSummary
from faithlab.errors import FaithlabError
from faithlab.models import Classifier, load_classifier
from faithlab.report import training_plots
from faithlab.runs import clear_out_dir, locked_out_dir
from faithlab.train import analysis, checkpoint
from faithlab.train.batching import EncodedSplit, batch_order, collate, encode_split, length_sorted_batches
from faithlab.train.checkpoint import TrainState
from faithlab.train.config import TrainConfig, read_yaml
from faithlab.train.metrics import classification_metrics
from faithlab.train.modeling import classifier_to_train
from faithlab.train.task_data import load_splits

StepCallback = Callable[[TrainState], None]
# Settings that do not change what is computed, so a run may be resumed with other values.
_COSMETIC = ("progress", "device")  # a run may continue on another device
_COSMETIC_DATA = ("max_skipped", "accept_skipped")  # a check on the rows read; the rows themselves are the same
LOG_STEPS = 20  # with progress on, the running train loss shown is refreshed every this many steps


class RunningLoss:
    """The summed training loss of the steps since the last flush, kept on the loss's device.

    Reading a loss with `.item()` waits for the device to finish the step; summing on the device and reading once
    per checkpoint, log point or epoch end lets the steps run back to back.
    """

    def __init__(self) -> None:
        self.total: torch.Tensor | None = None
        self.rows = 0

    def add(self, loss: torch.Tensor, rows: int) -> None:
        """Add a batch's mean loss, weighted by its `rows`."""
        weighted = loss.detach() * rows
        self.total = weighted if self.total is None else self.total + weighted
        self.rows += rows

    def flush_into(self, state: TrainState) -> None:
        """Move the sum into `state.loss_sum` / `state.seen` and start again from zero."""
        if self.total is not None:
            state.loss_sum += float(self.total)
        state.seen += self.rows
        self.total, self.rows = None, 0


@dataclass
class RunResult:
    """What a finished run produced; `metrics` are the test metrics of the best checkpoint."""

    run_dir: Path
    best_dir: Path
    history: list[dict[str, Any]]
    metrics: dict[str, Any]
    best_epoch: int | None
    stopped_early: bool
    train_seconds: float
    train_tokens: int
    reads: list[ReadSummary] = field(default_factory=list)

    @property
    def tokens_per_second(self) -> float:
        return self.train_tokens / self.train_seconds if self.train_seconds else 0.0


def train(
    config: TrainConfig,
    *,
    resume: bool = True,
    overwrite: bool = False,
    callbacks: Sequence[StepCallback] = (),
) -> RunResult:
    """Fine-tune as `config` says, continuing from `last/` when the folder holds an unfinished run of it.

    `callbacks` run after every optimizer step (after any checkpoint of that step) with the current state; its
    running loss (`loss_sum`, `seen`) is brought up to date at checkpoints, progress refreshes and epoch ends only.
    The run folder is locked while the run lasts: a second process training into it is refused.
    """
    config.validate()
    with locked_out_dir(config.output_dir):
        return _train(config, resume, overwrite, callbacks)


def _train(config: TrainConfig, resume: bool, overwrite: bool, callbacks: Sequence[StepCallback]) -> RunResult:
    run = Path(config.output_dir)
    last = _prepare_folder(run, config, resume=resume, overwrite=overwrite)
    state = checkpoint.load_state(last) if last else TrainState()
    splits = load_splits(config.data, config.seed)
    labels = list(splits.train.label_names)
    reads = [read.to_dict() for read in splits.reads]
    _write_json(run / "splits.json", {
        name: len(getattr(splits, name)) for name in ("train", "dev", "test")
    } | {"labels": labels, "notes": splits.notes, "data": reads})

    if not state.finished:
        torch.manual_seed(config.seed)
        source = last if last else config.model
        classifier = classifier_to_train(
            source, None if last else labels, new_head=config.new_head and not last,
            pooling="auto" if last else config.pooling, dropout=config.dropout, device=config.device,
        )
        _fit(classifier, splits.train, splits.dev, config, state, run, last, callbacks)
    best = load_classifier(run / "best", device=config.device)
    test = _encode(best, splits.test, config.max_length)
    probabilities = predict_probabilities(best, test, config.eval_batch_size)
    metrics = _write_test_artifacts(run, splits.test, probabilities, labels, state, reads)
    return RunResult(
        run, run / "best", state.history, metrics, state.best_epoch, state.stopped_early, state.seconds, state.tokens,
        splits.reads,
    )


def _fit(
    classifier: Classifier,
    train_split: Dataset,
    dev_split: Dataset,
    config: TrainConfig,
    state: TrainState,
    run: Path,
    last: Path | None,
    callbacks: Sequence[StepCallback],
) -> None:
    """The epoch loop: steps, dev evaluation, best/last checkpoints, early stopping."""
    model = classifier.model.train()
    train_data = _encode(classifier, train_split, config.max_length)
    dev_data = _encode(classifier, dev_split, config.max_length)
    steps_per_epoch = math.ceil(len(train_data) / config.batch_size)
    optimizer = _optimizer(model, config)
    scheduler = _linear_schedule(optimizer, config.warmup_ratio, steps_per_epoch * config.epochs)
    if last:
        tensors = checkpoint.load_tensors(last)
        optimizer.load_state_dict(tensors["optimizer"])
        scheduler.load_state_dict(tensors["scheduler"])
        torch.set_rng_state(tensors["rng"])
    pad_id = classifier.tokenizer.pad_token_id
    lengths = train_data.lengths
    while state.epoch < config.epochs and not state.finished:
        order = batch_order(lengths, config.batch_size, config.seed + state.epoch, config.bucket)
        bar = tqdm(total=len(order), initial=state.step_in_epoch, desc=f"epoch {state.epoch + 1}/{config.epochs}",
                   disable=not config.progress, leave=False, unit="batch")
        running = RunningLoss()
        for rows in order[state.step_in_epoch :]:
            started = time.perf_counter()
            batch = collate(train_data, rows, pad_id, classifier.device)
            logits = classifier.forward(**batch).logits
            labels = torch.from_numpy(train_data.labels[rows]).to(logits.device)
            loss = F.cross_entropy(logits.float(), labels, label_smoothing=config.label_smoothing)
            loss.backward()
            if config.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            running.add(loss, len(rows))
            state.step_in_epoch += 1
            state.global_step += 1
            state.tokens += int(lengths[rows].sum())  # counted on the host: no device sync
            state.seconds += time.perf_counter() - started
            bar.update()
            checkpoint_now = config.save_steps and state.global_step % config.save_steps == 0
            if checkpoint_now or (config.progress and state.global_step % LOG_STEPS == 0):
                running.flush_into(state)  # the one device→host read of the loss in these steps
                bar.set_postfix(loss=f"{state.loss_sum / max(1, state.seen):.4f}")
            if checkpoint_now and state.step_in_epoch < len(order):
                checkpoint.save_last(classifier, optimizer, scheduler, state, run / "last")
            for callback in callbacks:
                callback(state)
        running.flush_into(state)
        bar.close()
        _end_epoch(classifier, dev_data, config, state, run, scheduler.get_last_lr()[0])
        state.finished = state.finished or state.epoch == config.epochs
        checkpoint.save_last(classifier, optimizer, scheduler, state, run / "last")
        model.train()


def _end_epoch(
    classifier: Classifier, dev_data: EncodedSplit, config: TrainConfig, state: TrainState, run: Path, lr: float
) -> None:
    """Score dev, record the epoch, keep the best checkpoint, decide on early stopping, reset the epoch counters."""
    probabilities = predict_probabilities(classifier, dev_data, config.eval_batch_size)
    dev_loss = float(F.nll_loss(torch.log(torch.from_numpy(probabilities).clamp_min(1e-12)),
                                torch.from_numpy(dev_data.labels)))
    dev_accuracy = float((probabilities.argmax(axis=1) == dev_data.labels).mean())
    row = {"epoch": state.epoch + 1, "step": state.global_step, "train_loss": state.loss_sum / max(1, state.seen),
           "dev_loss": dev_loss, "dev_accuracy": dev_accuracy, "learning_rate": lr}
    state.history.append(row)
    value = row[config.monitor]
    improved = state.best is None or (value < state.best if config.monitor == "dev_loss" else value > state.best)
    if improved:
        state.best, state.best_epoch, state.bad_epochs = value, row["epoch"], 0
        checkpoint.save_model(classifier, run / "best")
    else:
        state.bad_epochs += 1
    if config.patience is not None and state.bad_epochs >= config.patience:
        state.finished = state.stopped_early = True
    state.epoch += 1
    state.step_in_epoch, state.loss_sum, state.seen = 0, 0.0, 0
    if config.progress:
        tqdm.write(f"epoch {row['epoch']}: train loss {row['train_loss']:.4f}, dev loss {dev_loss:.4f}, "
                   f"dev accuracy {dev_accuracy:.4f}{' *' if improved else ''}")


def predict_probabilities(classifier: Classifier, data: EncodedSplit, batch_size: int) -> np.ndarray:
    """Class probabilities for every row, in the split's order (batches are length-sorted for speed)."""
    was_training = classifier.model.training
    classifier.model.eval()
    out = np.zeros((len(data), len(classifier.labels)), dtype=np.float64)
    with torch.inference_mode():
        for rows in length_sorted_batches(data.lengths, batch_size):
            batch = collate(data, rows, classifier.tokenizer.pad_token_id, classifier.device)
            out[rows] = torch.softmax(classifier.forward(**batch).logits.double(), dim=-1).cpu().numpy()
    classifier.model.train(was_training)
    return out


def _encode(classifier: Classifier, dataset: Dataset, max_length: int) -> EncodedSplit:
    return encode_split(
        classifier.tokenizer, dataset.texts, dataset.pairs, dataset.labels, min(max_length, classifier.max_length),
        classifier.adapter.uses_token_types,
    )


def _optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW; biases and normalisation weights (1-d parameters) get no weight decay.

    The fused kernel (CPU and CUDA) updates all parameters in one pass, much faster than the per-tensor loop when a
    large embedding table dominates the step (benchmarks/NOTES.md).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    fused = all(p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.AdamW(groups, lr=config.learning_rate, fused=fused)


def _linear_schedule(optimizer: torch.optim.Optimizer, warmup_ratio: float, total: int) -> LRScheduler:
    """Learning-rate factor rising linearly to 1 over the warmup steps, then falling linearly to 0 at `total`."""
    warmup = round(warmup_ratio * total)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return LambdaLR(optimizer, factor)


def _prepare_folder(run: Path, config: TrainConfig, *, resume: bool, overwrite: bool) -> Path | None:
    """Check the (locked) run folder; the `last/` checkpoint to continue from, or None for a fresh start."""
    if overwrite:
        clear_out_dir(run)
    last = checkpoint.find_last(run / "last")
    if last and not resume:
        raise FaithlabError(f"'{run}' already holds a run; resume it, pass overwrite (--overwrite) or choose "
                            "another output folder")
    saved = run / "config.yaml"
    if last and saved.is_file():
        before, now = _computed(read_yaml(saved)), _computed(config.to_dict())
        changed = sorted(k for k in now if before.get(k) != now[k])
        if changed:
            raise FaithlabError(f"cannot resume '{run}': settings {', '.join(changed)} differ from the saved "
                                "config.yaml; pass overwrite (--overwrite) or choose another output folder")
    config.save(saved)
    return last


def _computed(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings that change what a run computes (what a resumed run must share with the saved one)."""
    data = {k: v for k, v in (settings.get("data") or {}).items() if k not in _COSMETIC_DATA}
    return {k: v for k, v in settings.items() if k not in _COSMETIC} | {"data": data}


def _write_test_artifacts(
    run: Path, test: Dataset, probabilities: np.ndarray, labels: list[str], state: TrainState,
    reads: list[dict[str, Any]],
) -> dict[str, Any]:
    metrics = classification_metrics(probabilities, test.labels, labels)
    frame = analysis.predictions_frame(test.texts, test.pairs, test.labels, probabilities, labels)
    slices = analysis.slice_metrics(frame)
    frame.to_csv(run / "predictions.csv", index=False)
    analysis.misclassified(frame).to_csv(run / "misclassified.csv", index=False)
    slices.to_csv(run / "slice_metrics.csv", index=False)
    pd.DataFrame(state.history).to_csv(run / "history.csv", index=False)
    _write_json(run / "history.json", state.history)
    _write_json(run / "test_metrics.json", metrics)
    training_plots.save_run_plots(run / "plots", state.history, metrics, slices)
    _write_json(run / "summary.json", {
        "test_accuracy": metrics["accuracy"], "best_epoch": state.best_epoch, "epochs_run": len(state.history),
        "stopped_early": state.stopped_early, "train_seconds": state.seconds, "train_tokens": state.tokens,
        "tokens_per_second": state.tokens / state.seconds if state.seconds else None, "data": reads,
    })
    return metrics


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")

