"""F-Fidelity (Zheng et al. 2025, 'F-Fidelity: A Robust Framework for Faithfulness Evaluation of Explainable AI',
ICLR).

Removing tokens produces inputs unlike any the classifier saw in training, so a drop in confidence may measure the
surprise rather than the tokens' importance. F-Fidelity scores removals with a *copy* of the classifier briefly
fine-tuned on randomly masked inputs (explanation-agnostic, so no explainer's choices leak into the judge), and
removes at most β·n tokens at a time, the most the copy was trained to expect:

- fine-tuning: `steps` AdamW steps (learning rate `lr`, dropout off) on `batch_size` texts drawn from the evaluated
  texts, each content token replaced with probability β = `mask_rate`; the labels are the original model's own
  predictions (faithlab evaluates explanations without gold labels, so the copy learns to keep its decisions under
  masking). The original model is never touched.
- FFid+ (`ffidelity_plus`, higher is better): for each fraction, k = ceil(fraction × n) and m = ceil(β·n); `samples`
  times, remove min(k, m) tokens drawn uniformly from the explanation's top-k; the mean drop p'(y|x) − p'(y|x')
  of the copy's target probability, averaged over samples and fractions.
- FFid− (`ffidelity_minus`, lower is better): the same, drawing the removed tokens from the n − k tokens outside the
  top-k (the explanation is kept).

Draws come from `seed` and each example's text; all removals of all examples and methods go through one
deduplicated batched scorer. A text longer than the model's limit (`faithlab.models.windows`) is masked whole, in
fine-tuning and in scoring, and the masked text is read through its windows (its output: their mean logits); a
fine-tuning step on such texts back-propagates chunk by chunk of windows, within the token budget.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np
import torch

from faithlab.errors import FaithlabError
from faithlab.evaluate.faithfulness import FRACTIONS, encode_examples, top_k_size
from faithlab.evaluate.ranking import descending_order
from faithlab.evaluate.results import Explanations, Row
from faithlab.evaluate.sampling import example_rng
from faithlab.explain.explanation import Explanation
from faithlab.explain.perturbation import (
    check_choice,
    check_count,
    feature_groups,
    perturb_row,
    run_inputs,
    score_masks,
)
from faithlab.explain.settings import REPLACEMENTS
from faithlab.models import Batch, Classifier
from faithlab.models.windows import Piece, Windows, encode_windowed


def fine_tuned_copy(
    classifier: Classifier,
    batch: Batch,
    *,
    steps: int,
    mask_rate: float,
    lr: float,
    batch_size: int,
    seed: int,
    replacement: str,
) -> Classifier:
    """A copy of the classifier fine-tuned to keep its own predictions on `batch` under random token masking.

    Args:
        classifier: the original (left bit-identical).
        batch: the texts to fine-tune on (encoded by `classifier`).
        steps: optimizer steps (0 returns an untouched copy).
        mask_rate: probability that each content token is removed in a training input.
        lr: AdamW learning rate.
        batch_size: texts per step.
        seed: seed of the row draws, the masks and the optimizer.
        replacement: how removed tokens are replaced.

    Returns:
        A `Classifier` over the fine-tuned copy, in eval mode.
    """
    model = copy.deepcopy(classifier.model).requires_grad_(True)
    tuned = Classifier(model, classifier.tokenizer, f"{classifier.name} (F-Fidelity copy)",
                       max_length=classifier.max_length, max_batch_tokens=classifier.max_batch_tokens,
                       window_stride=classifier.window_stride, pass_observer=classifier.pass_observer)
    labels = classifier.batch_logits(batch).argmax(dim=-1)
    groups = feature_groups(batch, "token")
    pad_id = classifier.replacement_id("pad")
    fill_id = pad_id if replacement == "delete" else classifier.replacement_id(replacement)
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(steps):
            rows = rng.choice(len(batch), size=min(batch_size, len(batch)), replace=False)
            masks = [torch.from_numpy(rng.random((1, len(groups[r]))) >= mask_rate) for r in rows]
            inputs = []
            for r, keep in zip(rows, masks, strict=True):
                row_ids, row_tt, lengths = perturb_row(batch, int(r), groups[r], keep, replacement, fill_id, pad_id)
                n = int(lengths[0])
                inputs.append((row_ids[0, :n], None if row_tt is None else row_tt[0, :n]))
            optimizer.zero_grad()
            if batch.window is None:
                ids, attention, tt = _padded(inputs, pad_id, batch.input_ids.shape[1])
                loss = torch.nn.functional.cross_entropy(tuned.forward(ids, attention, tt).logits, labels[rows])
                loss.backward()
            else:
                _windowed_backward(tuned, inputs, labels[rows], batch.window, pad_id)
            optimizer.step()
    model.eval()
    return tuned


def _padded(inputs: list[Piece], pad_id: int, width: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Ids, attention mask and token types (or None) of real-length inputs, right-padded to `width`."""
    device = inputs[0][0].device
    ids = torch.full((len(inputs), width), pad_id, dtype=torch.long, device=device)
    attention = torch.zeros_like(ids)
    tt = None if inputs[0][1] is None else torch.zeros_like(ids)
    for i, (row_ids, row_tt) in enumerate(inputs):
        ids[i, : len(row_ids)], attention[i, : len(row_ids)] = row_ids, 1
        if tt is not None:
            tt[i, : len(row_ids)] = row_tt
    return ids, attention, tt


def _windowed_backward(tuned: Classifier, inputs: list[Piece], labels: torch.Tensor, windows: Windows,
                       pad_id: int) -> None:
    """Accumulate the gradient of the mean cross-entropy of texts read through their windows (a text's logits: the
    mean of its windows'), chunk by chunk within the backward budget: the loss's gradient in each text's logits
    first, without a graph, then each chunk of windows back-propagates its share."""
    pieces = [(piece, text) for text, (ids, tt) in enumerate(inputs) for piece in windows.pieces(ids, tt)]
    owner = torch.tensor([text for _, text in pieces], device=labels.device)
    counts = torch.bincount(owner, minlength=len(inputs)).float()
    logits = run_inputs(tuned, inputs, pad_id, windows).detach().requires_grad_(True)
    (d_logits,) = torch.autograd.grad(torch.nn.functional.cross_entropy(logits, labels), logits)
    for order, width in tuned.length_chunks(torch.tensor([len(ids) for (ids, _), _ in pieces]), backward=True):
        chunk = order.to(owner.device)
        ids, attention, tt = _padded([pieces[j][0] for j in order.tolist()], pad_id, width)
        share = d_logits[owner[chunk]] / counts[owner[chunk], None]
        (tuned.forward(ids, attention, tt).logits * share).sum().backward()


def evaluate_ffidelity(
    classifier: Classifier,
    explanations: Explanations,
    *,
    fractions: Sequence[float] = FRACTIONS,
    mask_rate: float = 0.1,
    samples: int = 10,
    steps: int = 20,
    lr: float = 1e-4,
    batch_size: int = 8,
    seed: int = 0,
    replacement: str = "mask",
) -> list[Row]:
    """Rows of ffidelity_plus and ffidelity_minus per method and example (definitions in the module docstring).

    Args:
        classifier: the classifier that made the explanations (left bit-identical).
        explanations: one method's list, or method → list aligned by example.
        fractions: the explanation sizes, each in (0, 1].
        mask_rate: β, the fine-tuning mask rate and the bound on how many tokens one removal takes.
        samples: random removals per fraction.
        steps, lr, batch_size: the copy's fine-tuning.
        seed: seed of the fine-tuning and of the removals.
        replacement: how removed tokens are replaced ('mask', 'pad', 'unk') or 'delete'.

    Returns:
        Rows whose details hold the drop per fraction.
    """
    check_choice("replacement", replacement, REPLACEMENTS)
    fractions = [float(f) for f in fractions]
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise FaithlabError(f"fractions must be numbers in (0, 1], got {fractions}")
    if not 0 < mask_rate <= 1:
        raise FaithlabError(f"mask_rate must be in (0, 1], got {mask_rate!r}")
    for name, value, low in (("samples", samples, 1), ("steps", steps, 0), ("batch_size", batch_size, 1)):
        check_count(name, value, low)
    encoded = encode_examples(classifier, explanations)
    if encoded is None:
        return []
    methods, examples, batch = encoded.methods, encoded.examples, encoded.batch
    tuned = fine_tuned_copy(classifier, batch, steps=steps, mask_rate=mask_rate, lr=lr, batch_size=batch_size,
                            seed=seed, replacement=replacement)
    # its own cache: the copy's logits
    judged = encode_windowed(tuned, [e.text for e in examples], [e.pair for e in examples])
    masks = [torch.as_tensor(np.concatenate([
        _removals(items[row], name, fractions, mask_rate, samples, seed) for name, items in methods.items()
    ])) for row in range(len(examples))]
    scored = score_masks(tuned, judged, feature_groups(judged, "token"), masks, replacement)
    base = torch.softmax(tuned.batch_logits(judged).double(), dim=-1).cpu().numpy()
    settings = {"fractions": fractions, "mask_rate": mask_rate, "samples": samples, "steps": steps, "lr": lr,
                "batch_size": batch_size, "seed": seed, "replacement": replacement}
    rows = []
    block = len(fractions) * samples
    for row in range(len(examples)):
        perturbed = torch.softmax(scored.logits[row].double(), dim=-1).numpy()
        for m, (name, items) in enumerate(methods.items()):
            target = items[row].target
            for j, metric in enumerate(("ffidelity_plus", "ffidelity_minus")):
                start = (2 * m + j) * block
                drops = base[row, target] - perturbed[start : start + block, target]
                per_fraction = drops.reshape(len(fractions), samples).mean(axis=1)
                rows.append(Row(row, name, metric, float(per_fraction.mean()), dict(settings, target=target),
                                {"per_fraction": per_fraction.tolist()}))
    return rows


def _removals(
    explanation: Explanation, method: str, fractions: list[float], mask_rate: float, samples: int, seed: int
) -> np.ndarray:
    """Keep-masks over the content tokens: FFid+ draws (fraction-major, `samples` each), then FFid− draws."""
    content = explanation.content
    n = len(content)
    order = descending_order(explanation.scores[content])
    most = max(1, math.ceil(round(mask_rate * n, 9)))
    rng = example_rng(seed, explanation, method, "ffidelity")
    out = []
    for inside in (True, False):
        for fraction in fractions:
            k = top_k_size(fraction, n)
            pool = order[:k] if inside else order[k:]
            for _ in range(samples):
                keep = np.ones(n, dtype=bool)
                keep[rng.choice(pool, size=min(len(pool), most), replace=False)] = False
                out.append(keep)
    return np.array(out)
