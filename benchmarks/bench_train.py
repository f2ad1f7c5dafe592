"""Fine-tuning speed: faithlab's trainer against Hugging Face `Trainer`, same model, data and settings, one process.

Each contender fine-tunes a fresh `minilm` classifier (seed 0) for one epoch on the same planted-task training split
(SST-2 sentences from ../shared/data when present, else the built-in sentences): batch 32, AdamW lr 5e-5, weight
decay 0.01, 10% linear warmup then linear decay, gradient clipping at 1.0, max length 128, dynamic padding. The
figure is real (non-padding) training tokens per second of the training loop (model loading, evaluation and
checkpoints excluded on both sides). Contenders:

- faithlab: length-bucketed batches (the default)
- faithlab, shuffled: `bucket: false`
- Trainer: default random sampler, `DataCollatorWithPadding`
- Trainer, group_by_length: `train_sampling_strategy="group_by_length"`

Extra dependency: `accelerate` (Trainer needs it). Usage:
    HF_HUB_OFFLINE=1 python benchmarks/bench_train.py [--examples 1024] [--repeats 1] [--threads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

from faithlab.models import load_classifier
from faithlab.train import TrainConfig, train
from faithlab.train.task_data import load_splits

SST2 = Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2" / "train.tsv"
SETTINGS = {"model": "minilm", "epochs": 1, "batch_size": 32, "learning_rate": 5e-5, "weight_decay": 0.01,
            "warmup_ratio": 0.1, "max_grad_norm": 1.0, "max_length": 128, "seed": 0, "progress": False}


def config(examples: int, out: Path, bucket: bool) -> TrainConfig:
    data = {"task": "planted", "train": str(SST2) if SST2.is_file() else None, "limit": examples,
            "dev_fraction": 0.05, "test_fraction": 0.05}
    return TrainConfig.from_dict(SETTINGS | {"output_dir": str(out), "bucket": bucket, "data": data})


def run_faithlab(cfg: TrainConfig) -> dict:
    result = train(cfg, overwrite=True)
    return {"tokens": result.train_tokens, "seconds": result.train_seconds}


def run_trainer(cfg: TrainConfig, out: Path, grouped: bool) -> dict:
    splits = load_splits(cfg.data, cfg.seed)
    torch.manual_seed(cfg.seed)
    classifier = load_classifier(cfg.model, labels=list(splits.train.label_names))
    enc = classifier.tokenizer(splits.train.texts, truncation=True, max_length=cfg.max_length)
    rows = [{key: enc[key][i] for key in enc} | {"labels": label} for i, label in enumerate(splits.train.labels)]
    args = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_ratio, lr_scheduler_type="linear",
        max_grad_norm=cfg.max_grad_norm, num_train_epochs=cfg.epochs, seed=cfg.seed, save_strategy="no",
        eval_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True, use_cpu=True,
        dataloader_num_workers=0, remove_unused_columns=False,
        train_sampling_strategy="group_by_length" if grouped else "random",
    )
    trainer = Trainer(model=classifier.model.train(), args=args, train_dataset=rows,
                      data_collator=DataCollatorWithPadding(classifier.tokenizer))
    output = trainer.train()
    tokens = sum(len(ids) for ids in enc["input_ids"]) * cfg.epochs
    return {"tokens": tokens, "seconds": output.metrics["train_runtime"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1024, help="planted-task examples before splitting")
    parser.add_argument("--repeats", type=int, default=1, help="runs per contender; the fastest counts")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    contenders = {
        "faithlab": lambda out: run_faithlab(config(args.examples, out, bucket=True)),
        "faithlab, shuffled": lambda out: run_faithlab(config(args.examples, out, bucket=False)),
        "Trainer": lambda out: run_trainer(config(args.examples, out, bucket=False), out, grouped=False),
        "Trainer, group_by_length": lambda out: run_trainer(config(args.examples, out, bucket=False), out, True),
    }
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name, run in contenders.items():  # interleaved, so slow spells of a shared machine hit all alike
                started = time.perf_counter()
                measured = run(Path(tmp) / f"{name.replace(', ', '-')}-{repeat}")
                speed = measured["tokens"] / measured["seconds"]
                print(f"{name:26s} run {repeat + 1}: {measured['tokens']:7d} tokens in {measured['seconds']:7.1f} s "
                      f"= {speed:8.1f} tokens/s  (wall {time.perf_counter() - started:.0f} s)", file=sys.stderr)
                if name not in results or speed > results[name]["tokens_per_second"]:
                    results[name] = measured | {"tokens_per_second": speed}
    reference = results["Trainer"]["tokens_per_second"]
    print(f"\nminilm, batch 32, {args.examples} examples, torch threads {torch.get_num_threads()}")
    print(f"{'contender':26s} {'tokens/s':>10s} {'vs Trainer':>11s}")
    for name, row in results.items():
        row["speedup_vs_trainer"] = row["tokens_per_second"] / reference
        print(f"{name:26s} {row['tokens_per_second']:10.1f} {row['speedup_vs_trainer']:10.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
