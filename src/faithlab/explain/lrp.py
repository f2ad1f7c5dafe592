"""LRP by conservative propagation (Ali et al. 2022, ICML, "XAI for Transformers: Better Explanations through
Conservative Propagation").

With the right local rules, LRP's relevance equals gradient × input of a model whose non-linear steps are frozen
into linear ones for the backward pass. Each rule keeps the forward value and changes only the gradient:

- attention (AH rule): the attention probabilities are constants, relevance flows through the values;
- LayerNorm (LN rule): the normaliser (standard deviation; root mean square for T5) is a constant;
- element-wise activations (GELU, tanh, ReLU, ...): identity rule, act(x) = x · (act(x)/x) with the ratio constant;
- gates (T5's gated feed-forward): the gate is a constant, relevance flows through the linear branch.

The input is the summed embedding (word + position + segment), so each token keeps its position's share. With every
bias zeroed the model is then linear in that input and the relevance sums to the target logit; biases absorb the
rest, reported per text as `conservation_gap` = logit − Σ relevance.

The rules live in `faithlab.models.lrp_rules` (installed for one pass by a context manager that always restores
the model); the attention rule is the forward argument `constant_attention=True`. Each rule is a small autograd
function that applies the frozen Jacobian in the backward pass, with no surrogate graph, so LRP costs about a plain
forward and backward (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from faithlab.errors import FaithlabError
from faithlab.explain.base import Attributions, Explainer, Target, register, single_targets
from faithlab.models import Batch, Classifier
from faithlab.models.attention import ATTENTION_NAME
from faithlab.models.lrp_rules import conservative_propagation


def check_lrp_support(classifier: Classifier) -> None:
    """LRP's attention rule lives in faithlab's attention function; other implementations would ignore it."""
    implementation = classifier.model.config._attn_implementation
    if implementation != ATTENTION_NAME:
        raise FaithlabError(
            f"LRP needs faithlab's attention function but model '{classifier.name}' uses '{implementation}'; "
            "load it with faithlab.models.load_classifier"
        )
    classifier.adapter.embedding_sum(classifier.model)  # raises for families without an adapter


def lrp_relevance(classifier: Classifier, batch: Batch, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Relevance of every token for its row's target logit (rows, width; padding 0) and those logits (rows,).

    One backward per chunk of at most `max_batch_tokens` tokens; rows never mix, so summing the target logits of a
    chunk gives every row its own gradient.
    """
    result = _relevance_pass(classifier, batch, lambda _logits, rows: targets[rows])
    assert result is not None
    relevance, logits, chosen = result
    return relevance, logits.gather(1, chosen[:, None]).squeeze(1)


def _relevance_pass(
    classifier: Classifier, batch: Batch, choose: Callable[[torch.Tensor, slice], torch.Tensor | None]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """(relevance, all logits, targets) chunk by chunk; `choose` gives a chunk's targets (None: give up)."""
    relevance, logits, chosen = [], [], []
    for rows in classifier.chunks(len(batch), batch.input_ids.shape[1], backward=True):
        segments = None if batch.token_type_ids is None else batch.token_type_ids[rows]
        result = relevance_of_rows(classifier, batch.input_ids[rows], batch.attention_mask[rows], segments,
                                   lambda out, rows=rows: choose(out, rows))
        if result is None:
            return None
        relevance.append(result[0].detach().float())
        logits.append(result[1].detach().float())
        chosen.append(result[2])
    return torch.cat(relevance), torch.cat(logits), torch.cat(chosen)


def relevance_of_rows(
    classifier: Classifier,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None,
    choose: Callable[[torch.Tensor], torch.Tensor | None],
    *,
    embeddings: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """One pass under the LRP rules: (relevance (rows, width; padding 0), logits, targets) of some rows.

    `choose` gives the targets from the logits (None: give up). Relevance = gradient × summed input embedding; rows
    never mix, so one backward of the summed target logits gives every row its own gradient. With `embeddings`
    (word embeddings attached to a graph), they replace the lookup of `input_ids` and the relevance stays
    differentiable in them (create_graph).
    """
    check_lrp_support(classifier)
    keep_graph = embeddings is not None
    rules = conservative_propagation(classifier.model, classifier.adapter, keep_graph=keep_graph)
    with torch.enable_grad(), rules as capture:
        if embeddings is None:
            logits = classifier.forward(input_ids, attention_mask, token_type_ids, constant_attention=True).logits
        else:
            logits = classifier.logits_from_embeddings(embeddings, input_ids, attention_mask, token_type_ids,
                                                       constant_attention=True)
        targets = choose(logits)
        if targets is None:
            return None
        target_logits = logits.gather(1, targets[:, None]).squeeze(1)
        (gradient,) = torch.autograd.grad(target_logits.sum(), capture.embeddings, create_graph=keep_graph)
    return (gradient * capture.embeddings).sum(dim=-1) * attention_mask, logits, targets


@register
class Lrp(Explainer):
    """LRP by conservative propagation (Ali et al. 2022) of the target logit.

    Layer-wise relevance propagation with the AH and LN rules of Ali et al. 2022 ("XAI for Transformers: Better
    Explanations through Conservative Propagation", ICML): gradient × input of the model with attention
    probabilities, normalisers and activation ratios frozen in the backward pass, on the summed input embedding
    (word + position + segment). One forward and backward per batch, which also give the prediction.

    Args:
        This method takes no settings.

    Returns:
        Scores: signed relevance for the target logit, higher = more evidence for the target; special tokens keep
        theirs (the [CLS] position often takes the biases' share). Extras per row: relevance_sum (special tokens
        included, as in the scores), logit, conservation_gap = logit − relevance_sum (what the biases absorb; 0
        for a bias-free model).

    Example:
        >>> explanation = fl.explain(model, "a warm and funny film", methods="lrp")["lrp"][0]
        >>> extras = explanation.extras
        >>> abs(extras["relevance_sum"] + extras["conservation_gap"] - extras["logit"]) < 1e-6
        True
    """

    name = "lrp"

    def __init__(self, classifier: Classifier, **settings: Any):
        super().__init__(classifier, **settings)
        check_lrp_support(classifier)

    @property
    def output(self) -> str:
        return "logit"

    def prepare(self, batch: Batch, target: Target) -> None:
        """The relevance pass also gives the prediction (conservative propagation changes gradients, not values)."""
        choose = lambda logits, _rows: single_targets(self.classifier, target, logits)  # noqa: E731
        result = _relevance_pass(self.classifier, batch, choose)
        if result is not None:
            relevance, logits, targets = result
            batch.cache.logits = logits
            batch.cache.put_prepared(self, targets, (relevance, logits.gather(1, targets[:, None]).squeeze(1)))

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        cached = batch.cache.take_prepared(self, targets, tuple)
        relevance, logits = cached if cached is not None else lrp_relevance(self.classifier, batch, targets)
        totals = relevance.sum(dim=1)
        extras = [
            {"relevance_sum": float(total), "logit": float(logit), "conservation_gap": float(logit - total)}
            for total, logit in zip(totals, logits, strict=True)
        ]
        return Attributions(relevance, extras)

    def differentiable_scores(
        self,
        embeddings: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None,
        targets: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The relevance as a differentiable function of the word embeddings (the pass of `attribute`, with
        create_graph), for attacks on the explanation.

        Args:
            embeddings: (rows, width, dim) word embeddings, attached to the caller's graph.
            input_ids, attention_mask, token_type_ids: the rows' inputs (positions, segments, pooling).
            targets: (rows,) target class per row.

        Returns:
            (relevance (rows, width), logits (rows, classes)), both differentiable in `embeddings`.
        """
        relevance, logits, _ = relevance_of_rows(self.classifier, input_ids, attention_mask, token_type_ids,
                                                 lambda _logits: targets, embeddings=embeddings)
        return relevance, logits
