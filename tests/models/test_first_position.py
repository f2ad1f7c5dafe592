"""The last layer computed for the pooled first position only gives the logits and gradients of the full pass."""

from __future__ import annotations

import contextlib
import copy
import threading

import torch

from faithlab.models import Classifier
from faithlab.models.first_position import first_position_only

TEXTS = ["a good film", "the plot was dull and far too long for what it had to say", "fine"]
PAIRS = ["it is good", "nothing happens", "a long and winding road of a hypothesis"]


def full_logits(classifier: Classifier, batch, embeddings: torch.Tensor | None = None) -> torch.Tensor:
    """Logits of the plain model (every position of every layer), as the adapter runs it."""
    replaced = contextlib.nullcontext() if embeddings is None else classifier.replaced_word_embeddings(embeddings)
    with replaced:
        return classifier.adapter.forward(classifier.model, batch.input_ids, batch.attention_mask,
                                          batch.token_type_ids, False).logits


def test_first_token_families_are_patched(classifier: Classifier) -> None:
    assert classifier.pooled_last_layer == (classifier.adapter.family in ("bert", "roberta", "distilbert"))


def test_a_mean_pooled_head_on_the_same_encoder_keeps_every_position(mean_pooled_bert: Classifier) -> None:
    mean = mean_pooled_bert
    assert not mean.pooled_last_layer
    batch = mean.encode(TEXTS)
    widths = []
    handle = mean.adapter.last_layer(mean.model).register_forward_hook(lambda _m, _i, out: widths.append(out.shape[1]))
    try:
        with torch.no_grad():
            mean.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids)
    finally:
        handle.remove()
    assert widths == [batch.input_ids.shape[1]]


def test_logits_and_gradients_equal_the_full_pass(classifier: Classifier) -> None:
    pairs = PAIRS if classifier.adapter.family != "gpt2" else None
    batch = classifier.encode(TEXTS, pairs)  # padded rows and sentence pairs
    embeddings = classifier.word_embeddings(batch.input_ids).detach()
    with torch.no_grad():
        torch.testing.assert_close(
            classifier.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids).logits,
            full_logits(classifier, batch), rtol=1e-5, atol=1e-6,
        )
    grads = []
    for fast in (True, False):
        leaf = embeddings.clone().requires_grad_(True)
        if fast:
            logits = classifier.logits_from_embeddings(leaf, batch.input_ids, batch.attention_mask,
                                                       batch.token_type_ids)
        else:
            logits = full_logits(classifier, batch, leaf)
        grads.append(torch.autograd.grad(logits[:, 0].sum(), leaf)[0])
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_outside_the_block_the_last_layer_returns_every_position(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    batch = classifier.encode(TEXTS)
    widths = {}

    def record(_module, _inputs, output) -> None:
        widths[threading.current_thread().name] = output.shape[1]

    handle = classifier.adapter.last_layer(classifier.model).register_forward_hook(record)
    try:
        with torch.no_grad():
            classifier.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids)
            assert widths.pop("MainThread") == 1
            classifier.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
            assert widths.pop("MainThread") == batch.input_ids.shape[1]
            with first_position_only():  # another thread is not inside this thread's block
                worker = threading.Thread(target=classifier.model, name="worker",
                                          kwargs={"input_ids": batch.input_ids, "attention_mask": batch.attention_mask})
                worker.start()
                worker.join()
            assert widths.pop("worker") == batch.input_ids.shape[1]
    finally:
        handle.remove()


def test_weights_and_copies_stay_the_models_own(tiny_classifiers: dict[str, Classifier]) -> None:
    """The patch adds no parameter or state-dict key, and a deep copy computes with its own last layer."""
    original = tiny_classifiers["distilbert"]
    keys = list(original.model.state_dict())
    twin = Classifier(copy.deepcopy(original.model), original.tokenizer, "twin")
    assert list(twin.model.state_dict()) == keys
    with torch.no_grad():
        for p in original.adapter.last_layer(twin.model).parameters():
            p.add_(torch.randn_like(p))
    batch = twin.encode(TEXTS)
    with torch.no_grad():
        changed = twin.forward(batch.input_ids, batch.attention_mask).logits
        torch.testing.assert_close(changed, full_logits(twin, batch), rtol=1e-5, atol=1e-6)
        assert not torch.allclose(changed, original.forward(batch.input_ids, batch.attention_mask).logits)
