"""Checkpoints: model folders `load_classifier` reads, plus what a crashed run needs to continue exactly.

`last/` holds the model (safetensors), its tokenizer, `trainer_state.pt` (optimizer, scheduler, torch RNG: tensors
and numbers only, loaded with `weights_only=True`) and `state.json` (epoch, step, running loss, history, early
stopping). A folder is written beside its target and swapped in, so a crash while saving leaves the previous one.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from faithlab.errors import FaithlabError
from faithlab.models import Classifier

STATE_FILE = "state.json"
TENSORS_FILE = "trainer_state.pt"


@dataclass
class TrainState:
    """Where training stands. `step_in_epoch` batches of epoch `epoch` (0-based) are done."""

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    loss_sum: float = 0.0
    seen: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    finished: bool = False
    stopped_early: bool = False
    seconds: float = 0.0
    tokens: int = 0


def save_model(classifier: Classifier, folder: Path) -> None:
    """A model folder (safetensors + tokenizer) that `load_classifier` reads, swapped in whole."""
    _swap_in(folder, lambda tmp: _write_model(classifier, tmp))


def save_last(
    classifier: Classifier,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: TrainState,
    folder: Path,
) -> None:
    def write(tmp: Path) -> None:
        _write_model(classifier, tmp)
        torch.save(
            {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state()},
            tmp / TENSORS_FILE,
        )
        (tmp / STATE_FILE).write_text(json.dumps(asdict(state), indent=1), encoding="utf-8")

    _swap_in(folder, write)


def find_last(folder: Path) -> Path | None:
    """The newest complete `last/` checkpoint (or the one kept aside while a save was being swapped in)."""
    for candidate in (folder, folder.with_name(folder.name + ".old")):
        if (candidate / STATE_FILE).is_file():
            return candidate
    return None


def load_state(folder: Path) -> TrainState:
    try:
        return TrainState(**json.loads((folder / STATE_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise FaithlabError(f"cannot read the training state in '{folder}': {exc}") from exc


def load_tensors(folder: Path) -> dict[str, Any]:
    return torch.load(folder / TENSORS_FILE, weights_only=True)


def _write_model(classifier: Classifier, folder: Path) -> None:
    classifier.model.save_pretrained(folder)
    classifier.tokenizer.save_pretrained(folder)


def _swap_in(folder: Path, write) -> None:
    tmp, old = folder.with_name(folder.name + ".tmp"), folder.with_name(folder.name + ".old")
    if old.exists() and not folder.exists():  # an earlier swap was cut short: its previous folder is the good one
        old.rename(folder)
    for stale in (tmp, old):
        shutil.rmtree(stale, ignore_errors=True)
    tmp.mkdir(parents=True)
    write(tmp)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
