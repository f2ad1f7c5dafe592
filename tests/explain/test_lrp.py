"""LRP by conservative propagation: conservation, unchanged forward values, batch invariance, every family."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import torch
from transformers import T5Config

from faithlab.errors import FaithlabError
from faithlab.explain import get_explainer
from faithlab.explain.lrp import lrp_relevance
from faithlab.models import Classifier, load_classifier
from faithlab.models.attention import ATTENTION_NAME
from faithlab.models.lrp_rules import conservative_propagation
from faithlab.models.t5_encoder import T5EncoderForSequenceClassification
from faithlab.models.zoo import build_model
from tiny_families import NEW_FAMILIES

TEXTS = [
    "the movie was great and fun to watch",
    "not bad",
    "i loved every minute of it !",
    "terrible acting but great music",
    "it is fine , nothing special",
    "the plot is clever although the ending drags on and on",
    "a dull film",
    "a woman is playing the guitar on stage",
]


def _variant(classifier: Classifier, *, biases: bool, seed: int = 0) -> Classifier:
    """A copy with strong random weights (so every non-linearity matters) and biases random or zero."""
    model = copy.deepcopy(classifier.model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.rsplit(".", 1)[-1] == "bias":
                noise = torch.randn(parameter.shape, generator=generator) * 0.5
                parameter.copy_(noise if biases else torch.zeros_like(parameter))
            elif parameter.dim() == 1:  # normalisation scales
                parameter.copy_(1 + 0.3 * torch.randn(parameter.shape, generator=generator))
            else:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) / parameter.shape[-1] ** 0.5)
    return Classifier(model, classifier.tokenizer, f"{classifier.name}-variant")


def _targets(batch_size: int) -> torch.Tensor:
    return torch.arange(batch_size) % 2


def _assert_conserved(classifier: Classifier) -> None:
    batch = classifier.encode(TEXTS)
    relevance, logits = lrp_relevance(classifier, batch, _targets(len(batch)))
    scale = float(logits.abs().max())
    assert scale > 0.1, "the check needs logits well away from 0"
    torch.testing.assert_close(relevance.sum(dim=1), logits, rtol=1e-4, atol=1e-4 * scale)


def test_relevance_sums_to_the_logit_when_every_bias_is_zero(classifier: Classifier) -> None:
    _assert_conserved(_variant(classifier, biases=False))


def test_xlm_roberta_is_conserved_too(xlm_roberta_folder: Path) -> None:
    _assert_conserved(_variant(load_classifier(xlm_roberta_folder), biases=False))


def test_t5_gated_feed_forward_is_conserved_too(tiny_classifiers: dict[str, Classifier]) -> None:
    tokenizer = tiny_classifiers["t5"].tokenizer
    config = T5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2,
        feed_forward_proj="gated-gelu", pad_token_id=tokenizer.pad_token_id, num_labels=2,
    )
    config._attn_implementation = ATTENTION_NAME
    model = T5EncoderForSequenceClassification(config).eval()
    _assert_conserved(_variant(Classifier(model, tokenizer, "t5-gated"), biases=False))


def test_without_the_rules_gradient_times_input_does_not_conserve(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = _variant(tiny_classifiers["bert"], biases=False)
    batch = classifier.encode(TEXTS)
    targets = _targets(len(batch))
    leaf = {}

    def capture(_module: torch.nn.Module, args: tuple) -> tuple:
        leaf["x"] = args[0].detach().requires_grad_(True)
        return (leaf["x"],)

    handle = classifier.adapter.embedding_sum(classifier.model).register_forward_pre_hook(capture)
    try:
        logits = classifier.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids).logits
    finally:
        handle.remove()
    chosen = logits.gather(1, targets[:, None]).squeeze(1)
    (gradient,) = torch.autograd.grad(chosen.sum(), leaf["x"])
    plain = (gradient * leaf["x"]).sum(dim=(1, 2))
    assert not torch.allclose(plain, chosen.detach(), rtol=1e-2)


def test_the_gap_is_what_the_biases_absorb(classifier: Classifier) -> None:
    variant = _variant(classifier, biases=True)
    explanations = get_explainer("lrp", variant).explain(TEXTS, target=1)
    batch = variant.encode(TEXTS)
    relevance, logits = lrp_relevance(variant, batch, torch.ones(len(batch), dtype=torch.long))
    torch.testing.assert_close(logits, variant.batch_logits(batch)[:, 1], rtol=1e-5, atol=1e-6)
    for row, explanation in enumerate(explanations):
        extras = explanation.extras
        assert extras["logit"] == pytest.approx(float(logits[row]), rel=1e-5, abs=1e-6)
        assert extras["relevance_sum"] == pytest.approx(float(relevance[row].sum()), rel=1e-5, abs=1e-6)
        assert extras["conservation_gap"] == pytest.approx(extras["logit"] - extras["relevance_sum"], abs=1e-6)
        content = explanation.content
        torch.testing.assert_close(torch.from_numpy(explanation.scores[content]).float(), relevance[row, content])
    assert max(abs(e.extras["conservation_gap"]) for e in explanations) > 1e-3, "random biases absorb relevance"


def test_the_rules_leave_the_forward_values_unchanged(classifier: Classifier) -> None:
    variant = _variant(classifier, biases=True)
    batch = variant.encode(TEXTS)
    plain = variant.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids).logits.detach()
    with torch.enable_grad(), conservative_propagation(variant.model, variant.adapter):
        ruled = variant.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids,
                                constant_attention=True).logits.detach()
    torch.testing.assert_close(ruled, plain, rtol=1e-6, atol=1e-6)


def test_relevance_does_not_depend_on_the_rest_of_the_batch(classifier: Classifier) -> None:
    variant = _variant(classifier, biases=True)
    targets = _targets(len(TEXTS))
    together, _ = lrp_relevance(variant, variant.encode(TEXTS), targets)
    for row, text in enumerate(TEXTS):
        alone, _ = lrp_relevance(variant, variant.encode([text]), targets[row : row + 1])
        n = alone.shape[1]
        torch.testing.assert_close(together[row, :n], alone[0], rtol=1e-5, atol=1e-5)
        assert torch.all(together[row, n:] == 0)


def test_chunking_gives_the_same_relevance(tiny_classifiers: dict[str, Classifier]) -> None:
    variant = _variant(tiny_classifiers["roberta"], biases=True)
    batch = variant.encode(TEXTS)
    whole, _ = lrp_relevance(variant, batch, _targets(len(batch)))
    variant.max_batch_tokens = batch.input_ids.shape[1] * 3
    chunked, _ = lrp_relevance(variant, batch, _targets(len(batch)))
    torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-6)


def test_lrp_refuses_a_model_without_faithlab_attention(tiny_classifiers: dict[str, Classifier]) -> None:
    tokenizer = tiny_classifiers["bert"].tokenizer
    model = build_model("bert", "xs", tokenizer, ["a", "b"])
    model.set_attn_implementation("sdpa")
    with pytest.raises(FaithlabError, match="faithlab's attention"):
        get_explainer("lrp", Classifier(model, tokenizer, "sdpa-bert"))


def test_the_rules_are_removed_afterwards(classifier: Classifier) -> None:
    """Outside the block the model is the plain model again: gradients through it are the ordinary ones."""
    variant = _variant(classifier, biases=True)
    batch = variant.encode(TEXTS[:2])

    def input_gradient() -> torch.Tensor:
        embeddings = variant.word_embeddings(batch.input_ids).detach().requires_grad_(True)
        logits = variant.logits_from_embeddings(embeddings, batch.input_ids, batch.attention_mask,
                                                batch.token_type_ids)
        return torch.autograd.grad(logits[:, 0].sum(), embeddings)[0]

    def state() -> dict[str, set[str]]:
        return {name: set(vars(m)) for name, m in variant.model.named_modules()}

    before, state_before = input_gradient(), state()
    lrp_relevance(variant, batch, _targets(len(batch)))
    after = input_gradient()
    torch.testing.assert_close(after, before, rtol=0, atol=0)
    assert state() == state_before
    assert not any("forward" in vars(m) for m in variant.model.modules())


# The newer families: RMSNorm, gated MLPs and rotary attention (decoders), GLU feed-forward (ModernBERT), factorised
# embeddings (ELECTRA, ALBERT). DeBERTa-v2 has no rule for its disentangled attention and must say so.
LRP_FAMILIES = tuple(family for family in NEW_FAMILIES if family != "deberta-v2")
GATED = ("llama", "gemma2", "phi3", "modernbert")


@pytest.mark.parametrize("family", LRP_FAMILIES)
def test_newer_families_are_conserved_with_biases_zeroed(family_classifiers: dict[str, Classifier],
                                                         family: str) -> None:
    _assert_conserved(_variant(family_classifiers[family], biases=False))


@pytest.mark.parametrize("family", LRP_FAMILIES)
def test_the_rules_leave_the_forward_values_of_newer_families_unchanged(family_classifiers: dict[str, Classifier],
                                                                         family: str) -> None:
    test_the_rules_leave_the_forward_values_unchanged(family_classifiers[family])


@pytest.mark.parametrize("family", GATED)
def test_without_the_gate_rule_gated_mlps_do_not_conserve(family_classifiers: dict[str, Classifier],
                                                          family: str) -> None:
    """The gate rule is what conserves: with the gate's activation treated as an ordinary activation, relevance
    flows through both factors of the product and the sum misses the logit."""
    variant = _variant(family_classifiers[family], biases=False)
    variant.adapter = dataclasses.replace(variant.adapter, gates=lambda _model: [])
    batch = variant.encode(TEXTS)
    relevance, logits = lrp_relevance(variant, batch, _targets(len(batch)))
    assert not torch.allclose(relevance.sum(dim=1), logits, rtol=1e-2, atol=1e-2 * float(logits.abs().max()))


def test_lrp_refuses_deberta_and_says_why(family_classifiers: dict[str, Classifier]) -> None:
    with pytest.raises(FaithlabError, match=r"deberta-v2.*disentangled attention"):
        get_explainer("lrp", family_classifiers["deberta-v2"])
