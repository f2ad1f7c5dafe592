"""Soft comprehensiveness and soft sufficiency (Zhao & Aletras 2023, 'Incorporating Attribution Importance for
Improving Faithfulness Metrics', ACL).

Instead of deleting the top-k tokens, every content token's word embedding is dropped out element-wise in proportion
to its importance. With importance q_i in [0, 1] (the scores min–max normalised over the content tokens; all 0.5
when they are all equal) and y the explanation's target:

- soft sufficiency keeps each embedding element of token i with probability q_i: x_s = x ⊙ e, e_ij ~ Bernoulli(q_i);
  Soft-S = 1 − max(0, p(y|x) − p(y|x_s));
- soft comprehensiveness keeps it with probability 1 − q_i: x_c; Soft-C = max(0, p(y|x) − p(y|x_c));
- both are normalised by the sufficiency of an empty rationale, S0 = 1 − max(0, p(y|x) − p(y|x_0)) with every
  content embedding zeroed: Soft-NS = (Soft-S − S0) / (1 − S0) and Soft-NC = Soft-C / (1 − S0), the paper's reported
  metrics. Both are higher-is-better; they are NaN when zeroing every content token does not lower p(y|x).

Special tokens are never perturbed, positions and segments are kept. The masks are drawn from the `seed` and the
example's text (`samples` draws, metric averaged over them); every perturbed input of every example and method goes
through one batched embedding pass, cut into chunks of at most `max_batch_tokens`. A text longer than the model's
limit (`faithlab.models.windows`) is dropped out whole, and each perturbed text is read through its windows: they
take its perturbed embeddings at their positions, and its probabilities are the softmax of their mean logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from faithlab.evaluate.faithfulness import encode_examples
from faithlab.evaluate.results import Explanations, Row
from faithlab.evaluate.sampling import example_rng
from faithlab.explain.explanation import Explanation
from faithlab.explain.perturbation import check_count
from faithlab.models import Batch, Classifier
from faithlab.models.windows import shared_window_rows


@dataclass(frozen=True)
class _Draw:
    """One perturbed input: the example row, each position's keep probability, and the draw's generator keys."""

    row: int
    keep: np.ndarray
    keys: tuple[str, ...]


def importance(scores: np.ndarray) -> np.ndarray:
    """Scores min–max normalised to [0, 1] (all 0.5 when they are equal): the keep probabilities of soft sufficiency."""
    low, high = float(scores.min()), float(scores.max())
    if high - low <= 0:
        return np.full(len(scores), 0.5)
    return (scores - low) / (high - low)


def evaluate_soft_removal(
    classifier: Classifier, explanations: Explanations, *, samples: int = 1, seed: int = 0
) -> list[Row]:
    """Rows of soft_comprehensiveness (Soft-NC) and soft_sufficiency (Soft-NS) per method and example.

    Args:
        classifier: the classifier that made the explanations.
        explanations: one method's list, or method → list aligned by example.
        samples: Bernoulli mask draws per perturbed input (the metric is averaged over them).
        seed: seed of the draws (combined with each example's text).

    Returns:
        Rows whose details hold the per-sample values and the empty-rationale probability.
    """
    check_count("samples", samples, 1)
    encoded = encode_examples(classifier, explanations)
    if encoded is None:
        return []
    methods, examples, batch = encoded.methods, encoded.examples, encoded.batch
    width = batch.input_ids.shape[1]
    draws = []
    for row, example in enumerate(examples):
        content = example.content
        draws.append(_Draw(row, _keep(width, content, np.zeros(len(content))), ("empty",)))
        for name, items in methods.items():
            q = importance(items[row].scores[content])
            for s in range(samples):
                draws.append(_Draw(row, _keep(width, content, q), (name, "sufficiency", str(s))))
                draws.append(_Draw(row, _keep(width, content, 1 - q), (name, "comprehensiveness", str(s))))
    probabilities = _score(classifier, batch, examples, draws, seed)
    base = torch.softmax(classifier.batch_logits(batch).double(), dim=-1).cpu().numpy()
    return _rows(methods, examples, draws, probabilities, base, {"samples": samples, "seed": seed})


def _keep(width: int, content: np.ndarray, q: np.ndarray) -> np.ndarray:
    keep = np.ones(width)
    keep[content] = q
    return keep


def _score(
    classifier: Classifier, batch: Batch, examples: list[Explanation], draws: list[_Draw], seed: int
) -> np.ndarray:
    """Class probabilities of every draw, in chunks of at most `max_batch_tokens` tokens."""
    if batch.window is not None:
        return _score_windows(classifier, batch, examples, draws, seed)
    width = batch.input_ids.shape[1]
    out = []
    with torch.inference_mode():
        embeddings = classifier.word_embeddings(batch.input_ids)
        for rows in classifier.chunks(len(draws), width):
            chunk = draws[rows]
            index = torch.tensor([d.row for d in chunk], device=embeddings.device)
            masks = torch.stack([_mask(d, examples[d.row], embeddings.shape[-1], seed) for d in chunk])
            tt = None if batch.token_type_ids is None else batch.token_type_ids[index]
            logits = classifier.logits_from_embeddings(
                embeddings[index] * masks.to(embeddings), batch.input_ids[index], batch.attention_mask[index], tt
            )
            out.append(torch.softmax(logits.double(), dim=-1))
    return torch.cat(out).cpu().numpy()  # once, after every chunk was queued


def _score_windows(
    classifier: Classifier, batch: Batch, examples: list[Explanation], draws: list[_Draw], seed: int
) -> np.ndarray:
    """`_score` for a batch with texts past the limit: every window of every draw, in chunks within the token budget;
    a draw's probabilities are the softmax of the mean of its windows' logits."""
    windows = shared_window_rows(classifier, batch)
    inputs = windows.batch
    real = inputs.attention_mask.bool()
    index = torch.zeros_like(inputs.input_ids)
    for k, positions in enumerate(windows.positions):
        index[k, : len(positions)] = torch.as_tensor(positions)
    of_row: dict[int, list[int]] = {}
    for k, row in enumerate(windows.owner):
        of_row.setdefault(row, []).append(k)
    work = [(d, k) for d, draw in enumerate(draws) for k in of_row[draw.row]]  # a draw's windows are consecutive
    total = torch.zeros(len(draws), len(classifier.labels), dtype=torch.float64)
    last: tuple[int, torch.Tensor] | None = None
    with torch.inference_mode():
        embeddings = classifier.word_embeddings(batch.input_ids)
        own = classifier.word_embeddings(inputs.input_ids)  # the windows' padding keeps its own embedding
        for rows in classifier.chunks(len(work), inputs.input_ids.shape[1]):
            parts = []
            for d, k in work[rows]:
                if last is None or last[0] != d:
                    draw = draws[d]
                    mask = _mask(draw, examples[draw.row], embeddings.shape[-1], seed).to(embeddings)
                    last = (d, embeddings[draw.row] * mask)
                parts.append(torch.where(real[k, :, None], last[1][index[k]], own[k]))
            chosen = torch.tensor([k for _, k in work[rows]], device=index.device)
            tt = None if inputs.token_type_ids is None else inputs.token_type_ids[chosen]
            logits = classifier.logits_from_embeddings(torch.stack(parts), inputs.input_ids[chosen],
                                                       inputs.attention_mask[chosen], tt)
            total.index_add_(0, torch.tensor([d for d, _ in work[rows]]), logits.double().cpu())
    counts = torch.tensor([len(of_row[draw.row]) for draw in draws], dtype=torch.float64)
    return torch.softmax(total / counts[:, None], dim=-1).numpy()


def _mask(draw: _Draw, example: Explanation, hidden: int, seed: int) -> torch.Tensor:
    """Element-wise Bernoulli keep-flags (positions × hidden); probabilities 0 and 1 need no randomness."""
    rng = example_rng(seed, example, *draw.keys)
    return torch.from_numpy(rng.random((len(draw.keep), hidden)) < draw.keep[:, None])


def _rows(
    methods: dict[str, list[Explanation]],
    examples: list[Explanation],
    draws: list[_Draw],
    probabilities: np.ndarray,
    base: np.ndarray,
    settings: dict[str, object],
) -> list[Row]:
    found = {(str(d.row), *d.keys): p for d, p in zip(draws, probabilities, strict=True)}
    samples = int(settings["samples"])
    rows = []
    for row in range(len(examples)):
        for name, items in methods.items():
            target = items[row].target
            p = base[row, target]
            empty = found[(str(row), "empty")][target]
            room = max(0.0, p - empty)  # 1 − S0
            suff = [found[(str(row), name, "sufficiency", str(s))][target] for s in range(samples)]
            comp = [found[(str(row), name, "comprehensiveness", str(s))][target] for s in range(samples)]
            values = {
                "soft_sufficiency": [(room - max(0.0, p - q)) / room if room > 0 else np.nan for q in suff],
                "soft_comprehensiveness": [max(0.0, p - q) / room if room > 0 else np.nan for q in comp],
            }
            for metric, per_sample in values.items():
                details = {"per_sample": [float(v) for v in per_sample], "empty_probability": float(empty)}
                rows.append(Row(row, name, metric, float(np.mean(per_sample)), dict(settings, target=target),
                                details))
    return rows
