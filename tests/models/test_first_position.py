"""The last layer computed for the pooled first position only gives the logits and gradients of the full pass."""

from __future__ import annotations

import copy

import torch

from faithlab.models import Classifier

TEXTS = ["a good film", "the plot was dull and far too long for what it had to say", "fine"]
PAIRS = ["it is good", "nothing happens", "a long and winding road of a hypothesis"]


def last_block_widths(classifier: Classifier, run) -> list[int]:
    """The widths (positions) the last transformer block's output norm returns while `run()` runs."""
    widths: list[int] = []
    norms = [m for m in classifier.adapter.blocks(classifier.model)[-1].modules() if isinstance(m, torch.nn.LayerNorm)]
    handle = norms[-1].register_forward_hook(lambda _m, _i, out: widths.append(out.shape[1]))
    try:
        with torch.no_grad():
            run()
    finally:
        handle.remove()
    return widths


def test_first_token_families_take_the_pooled_pass(classifier: Classifier) -> None:
    assert classifier.pooled_last_layer == (classifier.adapter.family in ("bert", "roberta", "distilbert"))


def test_a_mean_pooled_head_on_the_same_encoder_keeps_every_position(mean_pooled_bert: Classifier) -> None:
    mean = mean_pooled_bert
    assert not mean.pooled_last_layer
    batch = mean.encode(TEXTS)
    widths = last_block_widths(mean, lambda: mean.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids))
    assert widths == [batch.input_ids.shape[1]]


def test_logits_and_gradients_equal_the_full_pass(classifier: Classifier) -> None:
    pairs = PAIRS if classifier.adapter.family != "gpt2" else None
    batch = classifier.encode(TEXTS, pairs)  # padded rows and sentence pairs
    args = (batch.input_ids, batch.attention_mask, batch.token_type_ids)
    embeddings = classifier.word_embeddings(batch.input_ids).detach()
    with torch.no_grad():
        torch.testing.assert_close(classifier.forward(*args).logits,
                                   classifier.forward(*args, pooled_only=False).logits, rtol=1e-5, atol=1e-6)
    grads = []
    for pooled_only in (True, False):
        leaf = embeddings.clone().requires_grad_(True)
        with classifier.replaced_word_embeddings(leaf):
            logits = classifier.forward(*args, pooled_only=pooled_only).logits
        grads.append(torch.autograd.grad(logits[:, 0].sum(), leaf)[0])
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_the_pass_is_chosen_per_call_and_leaves_no_state(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    batch = classifier.encode(TEXTS)
    width = batch.input_ids.shape[1]
    # transformers' own calls first: they install its output-capturing hooks once, which are not faithlab's state
    ids, mask = batch.input_ids, batch.attention_mask
    assert last_block_widths(  # attentions need every position
        classifier, lambda: classifier.forward(ids, mask, output_attentions=True)) == [width]
    assert last_block_widths(  # the model's own forward is untouched
        classifier, lambda: classifier.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)) == [width]
    before = {name: dict(vars(module)) for name, module in classifier.model.named_modules()}
    assert last_block_widths(classifier, lambda: classifier.forward(batch.input_ids, batch.attention_mask)) == [1]
    assert last_block_widths(
        classifier, lambda: classifier.forward(batch.input_ids, batch.attention_mask, pooled_only=False)) == [width]
    after = {name: dict(vars(module)) for name, module in classifier.model.named_modules()}
    assert after.keys() == before.keys()
    assert all(after[name].keys() == before[name].keys() for name in before)
    assert not any("forward" in vars(module) for module in classifier.model.modules())


def test_weights_and_copies_stay_the_models_own(tiny_classifiers: dict[str, Classifier]) -> None:
    """The pass adds no parameter or state-dict key, and a deep copy computes with its own last layer."""
    original = tiny_classifiers["distilbert"]
    keys = list(original.model.state_dict())
    twin = Classifier(copy.deepcopy(original.model), original.tokenizer, "twin")
    assert list(twin.model.state_dict()) == keys
    with torch.no_grad():
        for p in twin.adapter.blocks(twin.model)[-1].parameters():
            p.add_(torch.randn_like(p))
    batch = twin.encode(TEXTS)
    with torch.no_grad():
        changed = twin.forward(batch.input_ids, batch.attention_mask).logits
        torch.testing.assert_close(changed, twin.forward(batch.input_ids, batch.attention_mask,
                                                         pooled_only=False).logits, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(changed, original.forward(batch.input_ids, batch.attention_mask).logits)
