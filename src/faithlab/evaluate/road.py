"""Removal that stays in distribution: ROAD-style infilling (Rong et al. 2022, 'A Consistent and Efficient Evaluation
Strategy for Attribution Methods', ICML), adapted to text.

Rong et al. replace removed pixels by an imputation from their neighbours, so the model sees inputs like those it
was trained on rather than holes. For text, the removed tokens are infilled by a masked language model that shares
the classifier's tokenizer: every removed position becomes the mask token, the masked LM predicts all of them in one
pass, and each gets its argmax prediction (deterministic; special tokens are never predicted). The classifier then
scores the infilled text, and, as in ERASER (y = the explanation's target, k = ceil(fraction × content tokens)):

- road_comprehensiveness = mean over fractions of p(y|x) − p(y|x with its top-k tokens infilled): higher is better;
- road_sufficiency = mean over fractions of p(y|x) − p(y|x with all but its top-k tokens infilled): lower is better.

All masked inputs of every example and method go through one deduplicated batched pass of the masked LM, and all
infilled inputs through one of the classifier, each cut into chunks of at most `max_batch_tokens`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer, PreTrainedModel

from faithlab.errors import FaithlabError
from faithlab.evaluate.faithfulness import FRACTIONS, encode_examples, top_k_size
from faithlab.evaluate.ranking import descending_order
from faithlab.evaluate.results import Explanations, Row
from faithlab.explain.explanation import Explanation
from faithlab.models import Batch, Classifier
from faithlab.models.loading import quiet_transformers
from faithlab.models.windows import refuse_windows


def load_infill_model(infill_model: str | os.PathLike, classifier: Classifier) -> PreTrainedModel:
    """The masked LM of a folder or name, after checking that its tokenizer is the classifier's (same vocabulary)."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(infill_model)
    except (OSError, ValueError) as error:
        raise FaithlabError(f"cannot load the infill model's tokenizer from '{infill_model}': {error}") from error
    if tokenizer.get_vocab() != classifier.tokenizer.get_vocab():
        raise FaithlabError(
            f"the infill model '{infill_model}' has another tokenizer than classifier '{classifier.name}'; "
            "give a masked LM trained with the classifier's tokenizer"
        )
    try:
        with quiet_transformers():
            model = AutoModelForMaskedLM.from_pretrained(infill_model)
    except (OSError, ValueError) as error:
        raise FaithlabError(f"'{infill_model}' is not a masked language model: {error}") from error
    return model.to(classifier.device).eval()


def evaluate_road(
    classifier: Classifier,
    explanations: Explanations,
    *,
    infill_model: str | os.PathLike | None = None,
    fractions: Sequence[float] = FRACTIONS,
) -> list[Row]:
    """Rows of road_comprehensiveness and road_sufficiency per method and example.

    Args:
        classifier: the classifier that made the explanations (needs a mask token).
        explanations: one method's list, or method → list aligned by example.
        infill_model: folder or name of an AutoModelForMaskedLM with the classifier's tokenizer.
        fractions: the top-k fractions, each in (0, 1].

    Returns:
        Rows whose details hold the drop per fraction.
    """
    if infill_model is None:
        raise FaithlabError("the 'road' metrics need an infill model: settings={'road': {'infill_model': FOLDER}}")
    if classifier.tokenizer.mask_token_id is None:
        raise FaithlabError(f"classifier '{classifier.name}' has no mask token to infill; ROAD needs a masked LM's")
    fractions = [float(f) for f in fractions]
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise FaithlabError(f"fractions must be numbers in (0, 1], got {fractions}")
    encoded = encode_examples(classifier, explanations)
    if encoded is None:
        return []
    methods, examples, batch = encoded.methods, encoded.examples, encoded.batch
    refuse_windows(batch, "ROAD (whose masked LM infills each removed token from the whole text around it)")
    mlm = load_infill_model(infill_model, classifier)
    rows, removed = [], []  # per perturbed input: its example row and which positions are infilled
    for row, example in enumerate(examples):
        content = example.content
        ks = np.array([top_k_size(f, len(content)) for f in fractions])[:, None]
        for items in methods.values():
            rank = np.empty(len(content), dtype=int)
            rank[descending_order(items[row].scores[content])] = np.arange(len(content))
            for gone in (rank[None, :] < ks, rank[None, :] >= ks):  # comprehensiveness, then sufficiency
                flags = np.zeros((len(fractions), batch.input_ids.shape[1]), dtype=bool)
                flags[:, content] = gone
                rows += [row] * len(fractions)
                removed.append(flags)
    index = torch.tensor(rows, dtype=torch.long)
    infilled = infill(mlm, classifier, batch, index, torch.from_numpy(np.concatenate(removed)))
    probabilities = _probabilities(classifier, infilled, batch.attention_mask[index],
                                   None if batch.token_type_ids is None else batch.token_type_ids[index])
    base = torch.softmax(classifier.batch_logits(batch).double(), dim=-1).cpu().numpy()
    return _rows(methods, base, probabilities, len(fractions), {"fractions": fractions,
                                                                "infill_model": str(infill_model),
                                                                "infill": "argmax"})


def infill(
    mlm: PreTrainedModel, classifier: Classifier, batch: Batch, index: torch.Tensor, removed: torch.Tensor
) -> torch.Tensor:
    """Input ids of rows `index` of the batch with the `removed` positions replaced by the masked LM's argmax
    prediction (special tokens excluded), all positions of a row predicted together in one pass."""
    device = batch.input_ids.device
    ids = batch.input_ids[index].clone()
    removed = removed.to(device)
    ids[removed] = classifier.tokenizer.mask_token_id
    attention = batch.attention_mask[index]
    tt = None if batch.token_type_ids is None else batch.token_type_ids[index]
    unique, inverse = _unique_rows(ids, attention, tt)
    vocab = len(classifier.tokenizer)
    banned = torch.tensor(classifier.tokenizer.all_special_ids, dtype=torch.long, device=device)
    predicted = []
    with torch.inference_mode():
        for rows in classifier.chunks(len(unique), ids.shape[1]):
            chosen = unique[rows]
            kwargs = {} if tt is None else {"token_type_ids": tt[chosen]}
            logits = mlm(input_ids=ids[chosen], attention_mask=attention[chosen], **kwargs).logits[..., :vocab]
            logits[..., banned] = -float("inf")
            predicted.append(logits.argmax(dim=-1))
    filled = torch.cat(predicted)[inverse]
    return torch.where(removed, filled, ids)


def _unique_rows(
    ids: torch.Tensor, attention: torch.Tensor, tt: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The index of the first of each distinct (ids, attention, segments) row, and each row's distinct entry."""
    keys = torch.cat([ids, attention] + ([] if tt is None else [tt]), dim=1)
    _, inverse = torch.unique(keys, dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), len(ids), dtype=torch.long, device=ids.device)
    first = first.scatter_reduce(0, inverse, torch.arange(len(ids), device=ids.device), reduce="amin")
    return first, inverse


def _probabilities(
    classifier: Classifier, ids: torch.Tensor, attention: torch.Tensor, tt: torch.Tensor | None
) -> np.ndarray:
    """Class probabilities of every row, each distinct row run once."""
    unique, inverse = _unique_rows(ids, attention, tt)
    logits = classifier.logits(ids[unique], attention[unique], None if tt is None else tt[unique])
    return torch.softmax(logits.double(), dim=-1)[inverse].cpu().numpy()


def _rows(
    methods: dict[str, list[Explanation]],
    base: np.ndarray,
    probabilities: np.ndarray,
    per_block: int,
    settings: dict[str, object],
) -> list[Row]:
    out, start = [], 0
    n_examples = len(next(iter(methods.values())))
    for row in range(n_examples):
        for name, items in methods.items():
            target = items[row].target
            for metric in ("road_comprehensiveness", "road_sufficiency"):
                drops = base[row, target] - probabilities[start : start + per_block, target]
                start += per_block
                out.append(Row(row, name, metric, float(drops.mean()), dict(settings, target=target),
                               {"per_fraction": drops.tolist()}))
    return out
