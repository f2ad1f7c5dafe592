"""Removal-based explanation machinery shared by occlusion, LIME and KernelSHAP.

A *feature* is a group of content-token positions of one row (one token, or all tokens of one word or sentence:
`faithlab.explain.features`); special tokens are never removed. A *mask* over a row's features keeps (True) or
removes (False) each one. Removed tokens are replaced by the mask, pad or unk token, or deleted: the kept tokens are
re-packed left-aligned, so positions shift and the attention mask shortens (decoder pooling of the last real token
follows it). One batched scorer runs every row × mask through the model in chunks of at most `max_batch_tokens`
tokens, evaluating each distinct perturbed input once; the unperturbed rows reuse the batch's cached logits. A
perturbed text longer than the model's limit is run as its windows (`faithlab.models.windows`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from faithlab.errors import FaithlabError
from faithlab.explain.base import Explainer, Target
from faithlab.explain.features import feature_keys, whitespace_word
from faithlab.explain.settings import PerturbationSettings
from faithlab.models import Batch, Classifier
from faithlab.models.windows import Piece, Windows

Groups = list[list[int]]  # per feature of one row: its token positions


def check_choice(setting: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise FaithlabError(f"unknown {setting} {value!r}; choose one of {', '.join(choices)}")
    return value


def check_count(setting: str, value: Any, minimum: int) -> int:
    """An integer setting of at least `minimum` (booleans refused), or one FaithlabError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FaithlabError(f"{setting} must be an integer >= {minimum}, got {value!r}")
    return value


# ----- features and masks -------------------------------------------------------------------------------------
def feature_groups(batch: Batch, unit: str = "token") -> list[Groups]:
    """Per row, the token positions of each feature at granularity `unit` (`faithlab.explain.features`: 'token',
    'word', 'whitespace', 'sentence' or 'group', the row's `batch.token_groups`), in order of their first token. A
    token outside any word (or group) is a feature of its own."""
    out = []
    content = batch.content_mask.cpu()
    for row in range(len(batch)):
        positions = content[row].nonzero().flatten().tolist()
        token_groups = None if batch.token_groups is None else batch.token_groups[row]
        keys = feature_keys(batch.word_ids[row], batch.words[row], (batch.texts[row], batch.pairs[row]), positions,
                            unit, token_groups)
        groups: dict[Any, list[int]] = {}
        for key, p in zip(keys, positions, strict=True):
            groups.setdefault(key, []).append(p)
        out.append(list(groups.values()))
    return out


def whitespace_span(batch: Batch, row: int, word: int) -> tuple[int, int, int]:
    """(side, start, end) of the whitespace-separated word of `batch.texts` (side 0) or `batch.pairs` (side 1) that
    holds the tokenizer word `word` (whose character span lies inside it)."""
    side, start, end = batch.words[row][word]
    source = batch.texts[row] if side == 0 else batch.pairs[row]
    return (side, *whitespace_word(source, start, end))


def random_coalitions(rng: np.random.Generator, n_features: int, kept: np.ndarray) -> np.ndarray:
    """One mask per entry of `kept`: that many features kept, chosen uniformly at random without replacement."""
    ranks = np.argsort(rng.random((len(kept), n_features)), axis=1).argsort(axis=1)
    return ranks < np.asarray(kept)[:, None]


# ----- the batched scorer ---------------------------------------------------------------------------------------
@dataclass
class Scored:
    """Logits per row, (n_masks, n_classes), and how many distinct perturbed inputs the model actually ran."""

    logits: list[torch.Tensor]
    evaluations: int


def score_masks(
    classifier: Classifier, batch: Batch, groups: list[Groups], masks: list[torch.Tensor], replacement: str
) -> Scored:
    """Logits of every row under each of its masks (bool, n_masks × n_features), each distinct input run once.

    Distinct inputs are sorted by length before they are cut into chunks, so rows of one chunk carry little
    padding even when texts of very different lengths are explained together. When the batch's own logits are
    not known yet, its unperturbed rows join the same pass and fill the batch cache (the prediction then costs
    no pass of its own).
    """
    if len(groups) != len(batch) or len(masks) != len(batch):
        raise FaithlabError(f"need feature groups and masks for each of the {len(batch)} rows")
    pad_id = classifier.replacement_id("pad")
    fill_id = pad_id if replacement == "delete" else classifier.replacement_id(replacement)
    base_known = batch.cache.logits is not None
    host = _on_host(batch)  # inputs are perturbed and deduplicated on the CPU; only the chunks to run travel
    seen: dict[bytes, int] = {}
    inputs: list[tuple[torch.Tensor, torch.Tensor | None]] = []  # distinct inputs, in order of first use
    row_entries = []  # each row's unperturbed input (duplicated texts share one)
    for row in range(len(batch)):
        n = int(host.lengths[row])
        tt = None if host.token_type_ids is None else host.token_type_ids[row, :n]
        key = _key(host.input_ids[row : row + 1, :n].numpy(), None if tt is None else _np(tt[None]), [n])[0]
        if key not in seen:
            seen[key] = len(inputs)
            inputs.append((host.input_ids[row, :n], tt))
        row_entries.append(seen[key])
    originals = set(row_entries)
    indices = []
    for row in range(len(batch)):
        ids, tt, lengths = perturb_row(host, row, groups[row], masks[row], replacement, fill_id, pad_id)
        keys = _key(ids.numpy(), _np(tt), lengths.tolist())
        index = []
        for k, key in enumerate(keys):
            if key not in seen:
                n = int(lengths[k])
                seen[key] = len(inputs)
                inputs.append((ids[k, :n], None if tt is None else tt[k, :n]))
            index.append(seen[key])
        indices.append(torch.as_tensor(index, dtype=torch.long))
    skip = originals if base_known else set()
    todo = [i for i in range(len(inputs)) if i not in skip]
    device = classifier.device
    table = torch.zeros(len(inputs), len(classifier.labels), dtype=torch.float32, device=device)
    if todo:
        table[torch.as_tensor(todo, device=device)] = run_inputs(
            classifier, [inputs[i] for i in todo], pad_id, batch.window)
    entries = torch.as_tensor(row_entries, device=device)
    if base_known:
        table[entries] = classifier.batch_logits(batch).float()
    else:
        batch.cache.logits = table[entries]
    table = table.cpu()  # the one copy back: callers read the logits per row on the host
    return Scored([table[index] for index in indices], len(todo) - (0 if base_known else len(originals)))


def _on_host(batch: Batch) -> Batch:
    """The batch with its tensors on the CPU (the same batch when they are there already)."""
    if batch.input_ids.device.type == "cpu":
        return batch
    tt = None if batch.token_type_ids is None else batch.token_type_ids.cpu()
    return replace(batch, input_ids=batch.input_ids.cpu(), attention_mask=batch.attention_mask.cpu(),
                               token_type_ids=tt, special_mask=batch.special_mask.cpu())


def perturb_row(
    batch: Batch,
    row: int,
    groups: Groups,
    masks: torch.Tensor,
    replacement: str,
    fill_id: int,
    pad_id: int,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Input ids, token types (or None) and real lengths of one row under each mask, right-padded to the row length.

    A deletion that leaves nothing (only possible without special tokens, e.g. GPT-2) keeps one pad token, the
    model's stand-in for an empty text.
    """
    n = int(batch.lengths[row])
    masks = torch.as_tensor(masks, dtype=torch.bool).cpu()
    if masks.ndim != 2 or masks.shape[1] != len(groups):
        raise FaithlabError(f"row {row}: masks must be (n_masks, {len(groups)}), got {tuple(masks.shape)}")
    device = batch.input_ids.device
    feature_of = torch.full((n,), -1, dtype=torch.long)
    for f, positions in enumerate(groups):
        feature_of[positions] = f
    content = feature_of >= 0
    keep = torch.ones(masks.shape[0], n, dtype=torch.bool)
    keep[:, content] = masks[:, feature_of[content]]
    keep = keep.to(device)
    ids = batch.input_ids[row, :n].expand(len(keep), n).clone()
    tt = None if batch.token_type_ids is None else batch.token_type_ids[row, :n].expand(len(keep), n).clone()
    if replacement != "delete":
        ids[~keep] = fill_id
        return ids, tt, torch.full((len(keep),), n, dtype=torch.long)
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)
    lengths = keep.sum(dim=1)
    padding = torch.arange(n, device=device)[None, :] >= lengths[:, None]
    ids = ids.gather(1, order).masked_fill(padding, pad_id)
    if tt is not None:
        tt = tt.gather(1, order).masked_fill(padding, 0)
    empty = lengths == 0
    ids[empty, 0] = pad_id
    return ids, tt, lengths.clamp(min=1).cpu()


def _np(tensor: torch.Tensor | None) -> np.ndarray | None:
    return None if tensor is None else tensor.cpu().numpy()


def _key(ids: np.ndarray, token_types: np.ndarray | None, lengths: list[int]) -> list[bytes]:
    """A digest per perturbed input (real tokens and segments); 128-bit collisions are negligible at any batch size."""
    keys = []
    for k, n in enumerate(lengths):
        digest = hashlib.blake2b(ids[k, :n].astype(np.int64).tobytes(), digest_size=16)
        if token_types is not None:
            digest.update(token_types[k, :n].astype(np.int64).tobytes())
        keys.append(digest.digest())
    return keys


def run_inputs(classifier: Classifier, inputs: list[Piece], pad_id: int, windows: Windows | None) -> torch.Tensor:
    """Logits (float32, on the model's device) of real-length host-side inputs, sorted by length and cut into chunks
    within the token budget. With `windows`, an input longer than the limit is run as its windows (all inputs'
    windows chunked together) and gets the mean of their logits, the whole-text output of `faithlab.models.windows`."""
    device = classifier.device
    pieces = inputs if windows is None else [piece for ids, tt in inputs for piece in windows.pieces(ids, tt)]
    logits = torch.zeros(len(pieces), len(classifier.labels), dtype=torch.float32, device=device)
    lengths = torch.tensor([len(ids) for ids, _ in pieces], dtype=torch.long)
    for order, _width in classifier.length_chunks(lengths):
        logits[order.to(device)] = _run(classifier, [pieces[j] for j in order.tolist()], pad_id).float()
    if windows is None:
        return logits
    counts = torch.tensor([len(windows.spans(len(ids))) for ids, _ in inputs], device=device)
    owner = torch.repeat_interleave(torch.arange(len(inputs), device=device), counts)
    total = torch.zeros(len(inputs), logits.shape[1], dtype=torch.float64, device=device)
    total.index_add_(0, owner, logits.double())
    return (total / counts.double()[:, None]).float()


def _run(classifier: Classifier, inputs: list[Piece], pad_id: int) -> torch.Tensor:
    """Logits of host-side inputs: right-padded into one chunk on the CPU, moved to the model's device at once."""
    width = max(len(ids) for ids, _ in inputs)
    ids = torch.full((len(inputs), width), pad_id, dtype=torch.long)
    attention = torch.zeros(len(inputs), width, dtype=torch.long)
    has_types = inputs[0][1] is not None
    tt = torch.zeros(len(inputs), width, dtype=torch.long) if has_types else None
    for k, (row_ids, row_tt) in enumerate(inputs):
        ids[k, : len(row_ids)] = row_ids
        attention[k, : len(row_ids)] = 1
        if tt is not None:
            tt[k, : len(row_ids)] = row_tt
    device = classifier.device
    return classifier.logits(ids.to(device), attention.to(device), None if tt is None else tt.to(device))


# ----- what is measured ----------------------------------------------------------------------------------------
def output_values(logits: torch.Tensor, target: int, output: str, contrast: int) -> torch.Tensor:
    """The measured quantity per row of logits: target logit, target probability, margin over the contrast class
    (target logit − contrast logit), probability_margin (p(target) − p(contrast)), or 'loss' measured as log
    p(target) = −cross-entropy, so that a removal which raises the loss lowers the value and makes the token's score
    (value before − value after) positive."""
    logits = logits.double()
    if output == "logit":
        return logits[:, target]
    if output == "probability":
        return torch.softmax(logits, dim=-1)[:, target]
    if output == "margin":
        return logits[:, target] - logits[:, contrast]
    if output == "probability_margin":
        probabilities = torch.softmax(logits, dim=-1)
        return probabilities[:, target] - probabilities[:, contrast]
    return torch.log_softmax(logits, dim=-1)[:, target]


class PerturbationExplainer(Explainer):
    """Settings shared by the removal-based explainers (`PerturbationSettings`): how tokens are removed and what
    output is measured.

    `contrast` (label name or index) is used by output='margin'; None takes the highest other class per row.
    `unit` is the feature granularity (`faithlab.explain.features`): every token of a feature carries its score.
    """

    Settings: type[PerturbationSettings] = PerturbationSettings
    reads_whole_text = True  # removals apply to the whole text; its windows are run by the scorer

    def __init__(self, classifier: Classifier, **settings: Any):
        super().__init__(classifier, **settings)
        contrast = self.options.contrast
        self.contrast = None if contrast is None else classifier.label_index(contrast)
        self.unit = self.options.unit
        if self.replacement != "delete":
            classifier.replacement_id(self.replacement)  # fails early when the model has no such token

    @property
    def adaptive(self) -> bool:
        """Whether the sample budget is chosen per text (`n_samples="auto"`, KernelSHAP and LIME)."""
        return self.settings.get("n_samples") == "auto"

    def perturbation_masks(self, batch: Batch) -> tuple[list[Groups], list[torch.Tensor]]:
        """Each row's feature groups and masks (the method's sampling plan; the same for a text in any batch)."""
        raise NotImplementedError

    def planned_masks(self, batch: Batch) -> tuple[list[Groups], list[torch.Tensor]]:
        """`perturbation_masks`, made once per batch and shared by `prepare` and `attribute`."""
        return batch.cache.plan(self, tuple, lambda: self.perturbation_masks(batch))

    def prepare(self, batch: Batch, target: Target) -> None:
        """Score the masks before targets are known (they do not depend on them): the unperturbed rows join the
        same pass, so the prediction costs no pass of its own."""
        groups, masks = self.planned_masks(batch)
        scored = score_masks(self.classifier, batch, groups, masks, self.replacement)
        batch.cache.put_prepared(self, None, scored)

    def values(
        self, batch: Batch, targets: torch.Tensor, groups: list[Groups], masks: list[torch.Tensor]
    ) -> tuple[list[torch.Tensor], Scored]:
        """The measured output (float64) of every row under each of its masks, and the raw scoring result."""
        scored = batch.cache.take_prepared(self, None, Scored)
        if scored is None:
            scored = score_masks(self.classifier, batch, groups, masks, self.replacement)
        base, chosen = self.classifier.batch_logits(batch).float().cpu(), targets.tolist()  # once, not per row
        values = [self.measure(logits, chosen[row], base[row]) for row, logits in enumerate(scored.logits)]
        return values, scored

    def grow(
        self,
        batch: Batch,
        targets: torch.Tensor,
        groups: list[Groups],
        masks: list[np.ndarray],
        values: list[np.ndarray],
        more: Callable[[int, np.ndarray, np.ndarray], np.ndarray | None],
    ) -> None:
        """Adaptive rounds (n_samples="auto"): `more(row, masks, values)` gives a row's next masks, or None once
        the row is done; the new masks of every row still growing are scored in one batched pass per round and
        appended to that row's `masks` and `values` in place."""
        base, chosen = self.classifier.batch_logits(batch).float().cpu(), targets.tolist()  # once, not per round
        while True:
            extra = {row: new for row in range(len(groups)) if (new := more(row, masks[row], values[row])) is not None}
            if not extra:
                return
            empty = [torch.zeros((0, len(g)), dtype=torch.bool) for g in groups]
            new_masks = [torch.from_numpy(extra[row]) if row in extra else empty[row] for row in range(len(groups))]
            scored = score_masks(self.classifier, batch, groups, new_masks, self.replacement)
            for row, new in extra.items():
                measured = self.measure(scored.logits[row], chosen[row], base[row]).numpy()
                masks[row] = np.concatenate([masks[row], new])
                values[row] = np.concatenate([values[row], measured])

    def measure(self, logits: torch.Tensor, target: int, original_logits: torch.Tensor) -> torch.Tensor:
        """The measured output of rows of logits perturbed from one input whose own logits are `original_logits`."""
        return output_values(logits, target, self.output, self.contrast_of(original_logits, target))

    def contrast_of(self, original_logits: torch.Tensor, target: int) -> int:
        """The contrast class of output='margin' (or occlusion's 'probability_margin'): the given one, or the highest
        other class on the original input."""
        if self.contrast is not None:
            return self.contrast
        others = original_logits.detach().float().cpu().clone()
        others[target] = -float("inf")
        return int(others.argmax())
