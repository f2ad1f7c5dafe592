"""Gradient explainers on the word embeddings: the signed gradient, its norm, and gradient × input.

Saliency: Simonyan et al. 2014, "Deep Inside Convolutional Networks"; for text, Li et al. 2016, "Visualizing and
Understanding Neural Models in NLP". Gradient × input: Shrikumar et al. 2016; Kindermans et al. 2016.
All three read one gradient tensor, d target / d word embedding, computed by one backward per batch and target and
shared through the batch cache, so asking for the three together costs one backward; the forward of that backward
also gives the prediction, so no separate prediction pass is run.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from faithlab.explain.base import Attributions, Explainer, Target, register, single_targets
from faithlab.explain.settings import GradientSettings
from faithlab.models import Batch, Classifier
from faithlab.models.pass_cache import EmbeddingGradients


def target_outputs(logits: torch.Tensor, targets: torch.Tensor, output: str) -> torch.Tensor:
    """Each row's output for its own target class, (rows,)."""
    values = logits.float() if output == "logit" else torch.softmax(logits.float(), dim=-1)
    return values.gather(1, targets[:, None].to(values.device)).squeeze(1)


def embedding_gradients(
    classifier: Classifier, batch: Batch, targets: torch.Tensor, output: str
) -> EmbeddingGradients:
    """(gradients, word embeddings) of a batch, each (rows, width, dim); computed once per output and targets."""
    found = batch.cache.embedding_gradients(output, targets)
    if found is None:
        found = EmbeddingGradients(*_gradient_pass(classifier, batch, output, lambda _logits, rows: targets[rows])[:2])
        batch.cache.store_embedding_gradients(output, targets, found)
    return found


def predict_with_gradients(classifier: Classifier, batch: Batch, target: Target, output: str) -> None:
    """Prediction and embedding gradients from one forward: the forward runs with autograd on, each chunk's
    targets are resolved from its own logits, and the backward follows. Fills the batch's logits and gradient
    caches; does nothing when a row has several targets."""
    result = _gradient_pass(classifier, batch, output, lambda logits, _rows: single_targets(classifier, target, logits))
    if result is not None:
        grads, embeddings, logits, targets = result
        batch.cache.logits = logits
        batch.cache.store_embedding_gradients(output, targets, EmbeddingGradients(grads, embeddings))


def _gradient_pass(
    classifier: Classifier,
    batch: Batch,
    output: str,
    choose: Callable[[torch.Tensor, slice], torch.Tensor | None],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """(gradients, embeddings, logits, targets) chunk by chunk; `choose` gives a chunk's targets (None: give up)."""
    with torch.no_grad():
        embeddings = classifier.word_embeddings(batch.input_ids)
    grads, logits, chosen = [], [], []
    for rows in classifier.chunks(len(batch), batch.input_ids.shape[1], backward=True):
        tt = None if batch.token_type_ids is None else batch.token_type_ids[rows]
        with torch.enable_grad():
            leaf = embeddings[rows].detach().requires_grad_(True)
            out = classifier.logits_from_embeddings(leaf, batch.input_ids[rows], batch.attention_mask[rows], tt)
            targets = choose(out, rows)
            if targets is None:
                return None
            (grad,) = torch.autograd.grad(target_outputs(out, targets, output).sum(), leaf)
        grads.append(grad)
        logits.append(out.detach().float())
        chosen.append(targets)
    return torch.cat(grads), embeddings, torch.cat(logits), torch.cat(chosen)


class _EmbeddingGradientExplainer(Explainer):
    """Shared settings and pass of the three gradient methods; each subclass reduces over the embedding dim."""

    Settings = GradientSettings

    def prepare(self, batch: Batch, target: Target) -> None:
        predict_with_gradients(self.classifier, batch, target, self.settings["output"])

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        grads, embeddings = embedding_gradients(self.classifier, batch, targets, self.settings["output"])
        return Attributions(self.reduce(grads.float(), embeddings.float()))

    def reduce(self, grads: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def differentiable_scores(
        self,
        embeddings: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None,
        targets: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The scores as a differentiable function of the word embeddings (the pass of `attribute`: the same
        logits, target outputs and `reduce`, with create_graph), for attacks on the explanation.

        Args:
            embeddings: (rows, width, dim) word embeddings, attached to the caller's graph.
            input_ids, attention_mask, token_type_ids: the rows' inputs (positions, segments, pooling).
            targets: (rows,) target class per row.

        Returns:
            (scores (rows, width), logits (rows, classes)), both differentiable in `embeddings`.
        """
        logits = self.classifier.logits_from_embeddings(embeddings, input_ids, attention_mask, token_type_ids)
        outputs = target_outputs(logits, targets, self.settings["output"])
        (grads,) = torch.autograd.grad(outputs.sum(), embeddings, create_graph=True)
        return self.reduce(grads, embeddings), logits


FLAT_WARNING = (
    "the signed gradient sums to 0 up to rounding over the embedding dimensions of every token of this text: the "
    "model ignores a shift of all dimensions at once (mean-centring LayerNorms), so these scores are noise; use "
    "gradient_abs or grad_x_input"
)
# |Σ_d g| below this share of ‖g‖·√dim is rounding: a generic gradient's sum is about ‖g‖ (share ~ 1/√dim)
FLAT_SHARE = 1e-4


def flat_rows(sums: torch.Tensor, grads: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Rows (bool, (rows,)) whose every content token's summed gradient is rounding noise next to its norm."""
    scale = grads.norm(dim=-1) * grads.shape[-1] ** 0.5
    flat = (sums.abs() <= FLAT_SHARE * scale) | ~content
    return flat.all(dim=1) & content.any(dim=1)


@register
class Gradient(_EmbeddingGradientExplainer):
    """Signed saliency: per token, the sum over embedding dimensions of d target / d word embedding.

    The gradient of the target output with respect to each token's word embedding (Simonyan et al. 2014, "Deep
    Inside Convolutional Networks"; for text, Li et al. 2016, "Visualizing and Understanding Neural Models in NLP"),
    summed over the embedding dimensions to keep its sign. One backward per batch, shared with `gradient_abs` and
    `grad_x_input`, whose forward also gives the prediction.

    Args:
        output: differentiate the target class's 'logit' or its softmax 'probability' (default 'logit').

    Returns:
        Scores: signed; positive where moving the token's embedding along all dimensions at once raises the target
        output. A local slope, not a contribution: it ignores the embedding itself. Special tokens keep their
        gradient. No extras. A model that reads every token's embedding only through mean-centring LayerNorms
        (BERT, RoBERTa, DistilBERT, ELECTRA, ALBERT, ModernBERT, GPT-2) ignores a shift of all dimensions at once,
        so there the sum is 0 up to rounding: such rows carry a warning, and `gradient_abs` or `grad_x_input` are
        the methods to use.

    Example:
        >>> explanation = fl.explain(model, "a warm and funny film", methods="gradient")["gradient"][0]
        >>> explanation.scores.shape == (len(explanation.tokens),)
        True
        >>> explanation.output, explanation.replacement
        ('logit', 'none')
    """

    name = "gradient"
    low_precision_refusal = (
        "its score sums gradient components that largely cancel, and 16-bit rounding of the components swamps the "
        "sum (rank correlation with float32 near 0); gradient_abs and grad_x_input keep their ranking"
    )

    def reduce(self, grads: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        return grads.sum(dim=-1)

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        grads, _ = embedding_gradients(self.classifier, batch, targets, self.settings["output"])
        result = super().attribute(batch, targets)
        flat = flat_rows(result.scores, grads.float(), batch.content_mask)
        return Attributions(result.scores, result.extras, [[FLAT_WARNING] if f else [] for f in flat.tolist()])


@register
class GradientNorm(_EmbeddingGradientExplainer):
    """Unsigned saliency: per token, the L2 norm of d target / d word embedding (magnitude, never negative).

    The classic saliency map of Simonyan et al. 2014 ("Deep Inside Convolutional Networks") on word embeddings, as
    in Li et al. 2016 ("Visualizing and Understanding Neural Models in NLP"): how sensitive the target output is to
    each token, whichever way. Shares its backward with `gradient` and `grad_x_input`.

    Args:
        output: differentiate the target class's 'logit' or its softmax 'probability' (default 'logit').

    Returns:
        Scores: non-negative sensitivities (no sign: high may mean evidence for or against the target). Special
        tokens keep their gradient norm. No extras.

    Example:
        >>> explanation = fl.explain(model, "a warm and funny film", methods="gradient_abs")["gradient_abs"][0]
        >>> bool((explanation.scores >= 0).all())
        True
    """

    name = "gradient_abs"

    def reduce(self, grads: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        return grads.norm(dim=-1)


@register
class GradientTimesInput(_EmbeddingGradientExplainer):
    """Gradient × input: per token, the sum over dimensions of gradient ⊙ word embedding.

    The first-order (Taylor) estimate of how much each token's word embedding adds to the target output compared
    with a zero embedding (Shrikumar et al. 2016, "Not Just a Black Box"; Kindermans et al. 2016, "Investigating
    the influence of noise and distractors on the interpretation of neural networks"). Shares its backward with
    `gradient` and `gradient_abs`.

    Args:
        output: differentiate the target class's 'logit' or its softmax 'probability' (default 'logit').

    Returns:
        Scores: signed, higher = more evidence for the target; exact contributions only where the model is linear
        in the word embeddings (IG integrates along the path instead). Special tokens keep their score. No extras.

    Example:
        >>> explanation = fl.explain(model, "a warm and funny film", methods="grad_x_input")["grad_x_input"][0]
        >>> explanation.replacement  # the estimate is against zero word embeddings
        'baseline:zero'
    """

    name = "grad_x_input"

    def __init__(self, classifier: Classifier, **settings: object):
        super().__init__(classifier, **settings)
        classifier.adapter.refuse_scale_invariant(self.name)

    @property
    def replacement(self) -> str:
        return "baseline:zero"  # the first-order estimate of f(x) − f(zero word embeddings)

    def reduce(self, grads: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        return (grads * embeddings).sum(dim=-1)
