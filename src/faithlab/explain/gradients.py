"""Gradient explainers on the word embeddings: the signed gradient, its norm, and gradient × input.

Saliency: Simonyan et al. 2014, "Deep Inside Convolutional Networks"; for text, Li et al. 2016, "Visualizing and
Understanding Neural Models in NLP". Gradient × input: Shrikumar et al. 2016; Kindermans et al. 2016.
All three read one gradient tensor, d target / d word embedding, computed by one backward per batch and target and
shared through `batch.cache`, so asking for the three together costs one backward.
"""

from __future__ import annotations

import torch

from faithlab.errors import FaithlabError
from faithlab.explain.base import Attributions, Explainer, register
from faithlab.models import Batch, Classifier

OUTPUTS = ("logit", "probability")


def check_output(output: str) -> str:
    """The model output to differentiate: the target's 'logit' or its softmax 'probability'."""
    if output not in OUTPUTS:
        raise FaithlabError(f"unknown output '{output}'; choose one of {', '.join(OUTPUTS)}")
    return output


def target_outputs(logits: torch.Tensor, targets: torch.Tensor, output: str) -> torch.Tensor:
    """Each row's output for its own target class, (rows,)."""
    values = logits.float() if output == "logit" else torch.softmax(logits.float(), dim=-1)
    return values.gather(1, targets[:, None].to(values.device)).squeeze(1)


def gradient_at(
    classifier: Classifier,
    embeddings: torch.Tensor,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None,
    targets: torch.Tensor,
    output: str,
) -> torch.Tensor:
    """d output[target] / d word embedding for every row, from one backward (no chunking).

    Rows do not interact in an eval-mode model, so the gradient of the summed outputs holds each row's own gradient.
    """
    with torch.enable_grad():
        leaf = embeddings.detach().requires_grad_(True)
        logits = classifier.logits_from_embeddings(leaf, input_ids, attention_mask, token_type_ids)
        (grad,) = torch.autograd.grad(target_outputs(logits, targets, output).sum(), leaf)
    return grad


def embedding_gradients(
    classifier: Classifier, batch: Batch, targets: torch.Tensor, output: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """(gradients, word embeddings) of a batch, each (rows, width, dim); computed once per output and targets."""
    key = ("embedding_gradients", output, tuple(targets.tolist()))
    if key not in batch.cache:
        with torch.no_grad():
            embeddings = classifier.word_embeddings(batch.input_ids)
        parts = []
        for rows in classifier.chunks(len(batch), batch.input_ids.shape[1]):
            tt = None if batch.token_type_ids is None else batch.token_type_ids[rows]
            parts.append(
                gradient_at(
                    classifier,
                    embeddings[rows],
                    batch.input_ids[rows],
                    batch.attention_mask[rows],
                    tt,
                    targets[rows],
                    output,
                )
            )
        batch.cache[key] = (torch.cat(parts), embeddings)
    return batch.cache[key]


class _EmbeddingGradientExplainer(Explainer):
    """Shared settings and pass of the three gradient methods; each subclass reduces over the embedding dim."""

    def __init__(self, classifier: Classifier, *, output: str = "logit"):
        super().__init__(classifier, output=check_output(output))

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        grads, embeddings = embedding_gradients(self.classifier, batch, targets, self.settings["output"])
        return Attributions(self.reduce(grads.float(), embeddings.float()))

    def reduce(self, grads: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


@register
class Gradient(_EmbeddingGradientExplainer):
    """Signed saliency: per token, the sum over embedding dimensions of d target / d word embedding."""

    name = "gradient"

    def reduce(self, grads: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        return grads.sum(dim=-1)


@register
class GradientNorm(_EmbeddingGradientExplainer):
    """Unsigned saliency: per token, the L2 norm of d target / d word embedding (magnitude, never negative)."""

    name = "gradient_abs"

    def reduce(self, grads: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        return grads.norm(dim=-1)


@register
class GradientTimesInput(_EmbeddingGradientExplainer):
    """Gradient × input: per token, the sum over dimensions of gradient ⊙ word embedding."""

    name = "grad_x_input"

    def reduce(self, grads: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        return (grads * embeddings).sum(dim=-1)
