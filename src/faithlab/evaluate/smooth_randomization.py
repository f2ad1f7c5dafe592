"""Smooth model-parameter randomization test, sMPRT (Hedström et al. 2023, 'Sanity Checks Revisited: An Exploration
to Repair the Model Parameter Randomisation Test').

The original test (`faithlab.evaluate.randomization`) compares one explanation before and after blocks are
randomised; gradient-like explanations are noisy enough that the comparison partly measures that noise. sMPRT
denoises both sides first: each explanation is the mean of the explanations of `samples` noisy copies of the input,
x + ε with ε ~ N(0, σ²) on the word embeddings, σ = `noise` × the standard deviation of the model's word-embedding
matrix (so one setting fits every model). Then, step by step as in MPRT ('cascading' or 'independent', blocks
re-initialised by `faithlab.models.reinit`), the Spearman correlation of the content-token scores of the smoothed
explanations before and after is recorded: `smooth_randomization_spearman`, low is better.

The noise of a sample is a table over positions (max length × hidden, longer for a text past the limit), drawn from
`seed` and the sample index and added to the word-embedding output of every pass by a forward hook that is always
removed; a text gets the same noise alone and in any batch. A text longer than the model's limit gets the noise of
its whole-text positions: each of its windows is explained on its own with the rows of the table at the positions
it reads, and the windows' scores are combined as for any long text (`faithlab.models.windows`). Removal-based
methods run a long text's windows inside their scorer, where that noise cannot follow them, and are refused there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import torch

from faithlab.errors import FaithlabError
from faithlab.evaluate.randomization import current_scores, randomization_steps, shared_classifier, transformer_blocks
from faithlab.evaluate.ranking import rank_correlation
from faithlab.evaluate.results import Row
from faithlab.explain.base import Explainer, expand_targets
from faithlab.explain.perturbation import check_count
from faithlab.models import Batch, Classifier
from faithlab.models.classifier import Target
from faithlab.models.reinit import reinitialized_block
from faithlab.models.windows import encode_windowed, window_rows


def noise_tables(classifier: Classifier, samples: int, noise: float, seed: int, length: int = 0) -> list[torch.Tensor]:
    """One Gaussian table per sample, σ = `noise` × std of the word-embedding matrix, of max(max length, `length`)
    rows × hidden. Rows come in blocks of max length, block b drawn from its own generator (block 0 from the
    sample's seed), so a table's first rows do not depend on how long it is."""
    weight = classifier.model.get_input_embeddings().weight
    sigma = noise * float(weight.detach().float().std())
    block = classifier.max_length
    n_blocks = -(-max(block, length) // block)
    tables = []
    for sample in range(samples):
        parts = []
        for b in range(n_blocks):
            base = seed * 100_003 + sample
            block_seed = base if b == 0 else int(np.random.SeedSequence([base, b]).generate_state(1, np.uint64)[0])
            generator = torch.Generator().manual_seed(block_seed)
            parts.append(torch.randn((block, weight.shape[1]), generator=generator) * sigma)
        tables.append(torch.cat(parts).to(weight))
    return tables


def noisy_scores(explainer: Explainer, batch: Batch, targets: torch.Tensor, table: torch.Tensor) -> np.ndarray:
    """The explainer's token scores of the batch with `table[t]` added to the word embedding at position t; a batch
    with texts past the limit has each window explained alone with the table rows of its whole-text positions."""
    classifier = explainer.classifier
    if batch.window is None:
        with classifier.shifted_word_embeddings(table):
            return current_scores(explainer, batch, targets)
    if explainer.reads_whole_text:
        raise FaithlabError(f"smooth randomization cannot explain texts longer than the model's limit "
                            f"({batch.window.limit} tokens) with '{explainer.name}': its scorer runs the windows "
                            "where the noise of their whole-text positions cannot follow; use a gradient-type method")
    rows = window_rows(batch, classifier.replacement_id("pad"))
    per_window = torch.zeros(rows.batch.input_ids.shape, dtype=torch.float64)
    for k, positions in enumerate(rows.positions):
        with classifier.shifted_word_embeddings(table[positions]):
            scores = current_scores(explainer, rows.batch.select([k]), targets[rows.owner[k]][None])
        per_window[k, : len(positions)] = torch.from_numpy(scores[0, : len(positions)])
    return rows.combine(per_window, (len(batch), batch.input_ids.shape[1])).float().numpy()


def smoothed_scores(
    explainer: Explainer, batch: Batch, targets: torch.Tensor, tables: list[torch.Tensor]
) -> np.ndarray:
    """The mean of the explainer's token scores over the noisy copies of the batch (one per noise table)."""
    total = None
    for table in tables:
        scores = noisy_scores(explainer, batch, targets, table)
        total = scores if total is None else total + scores
    return total / len(tables)


def evaluate_smooth_randomization(
    explainers: Sequence[Explainer],
    texts: Sequence[str],
    pairs: Sequence[str | None] | None = None,
    target: Target = None,
    *,
    samples: int = 10,
    noise: float = 0.1,
    mode: str = "cascading",
    init: str = "model",
    seed: int = 0,
) -> list[Row]:
    """Rows of smooth_randomization_spearman per example, method and step ('layer', 'randomized' as in MPRT).

    Args:
        explainers: explainers sharing one classifier.
        texts, pairs: the inputs; target: as in `explain` (resolved once on the trained model and kept).
        samples: noisy copies averaged per explanation.
        noise: σ as a multiple of the word-embedding matrix's standard deviation (0 gives plain MPRT).
        mode: 'cascading' (top block, then the top two, ...) or 'independent' (one block at a time).
        init: how blocks are re-initialised ('model' or 'normal').
        seed: seed of the noise and of the re-initialisation.

    Returns:
        One row per example, method and step.
    """
    check_count("samples", samples, 1)
    if not noise >= 0:
        raise FaithlabError(f"noise must be >= 0, got {noise!r}")
    classifier = shared_classifier(explainers, init)
    blocks = transformer_blocks(classifier.model)
    steps = randomization_steps(len(blocks), mode)
    batch, targets = expand_targets(classifier, encode_windowed(classifier, texts, pairs), target)
    content = batch.content_mask.cpu().numpy()
    tables = noise_tables(classifier, samples, noise, seed, batch.input_ids.shape[1])
    original = [smoothed_scores(e, batch, targets, tables) for e in explainers]
    rows = []
    with contextlib.ExitStack() as randomized:  # every block is restored on exit, even after an error
        for step in steps:
            if mode == "independent":
                randomized.close()
            randomized.enter_context(reinitialized_block(blocks[step[-1]], classifier.model.config, init,
                                                         seed + step[-1]))
            settings = {"mode": mode, "init": init, "seed": seed, "samples": samples, "noise": noise,
                        "layer": step[-1], "randomized": list(step)}
            for explainer, before in zip(explainers, original, strict=True):
                after = smoothed_scores(explainer, batch, targets, tables)
                for i in range(len(before)):
                    keep = content[i, : before.shape[1]]
                    value = rank_correlation(before[i][keep], after[i][keep])
                    rows.append(Row(i, explainer.name, "smooth_randomization_spearman", value, dict(settings)))
    return rows
