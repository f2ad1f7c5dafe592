"""The Classifier: encoding (pairs, words, truncation), batch invariance of logits, embedding path, targets."""

from __future__ import annotations

import pytest
import torch

from faithlab.errors import FaithlabError
from faithlab.models import Classifier

TEXTS = ["the movie was great", "not good at all , really", "fine", "i loved every minute of it !"]


def test_logits_do_not_depend_on_batch_composition(classifier: Classifier) -> None:
    batch = classifier.encode(TEXTS)
    together = classifier.batch_logits(batch)
    alone = torch.cat([classifier.batch_logits(classifier.encode([t])) for t in TEXTS])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)


def test_embedding_path_matches_ids_path(classifier: Classifier) -> None:
    batch = classifier.encode(TEXTS)
    embeddings = classifier.word_embeddings(batch.input_ids)
    via_embeddings = classifier.logits_from_embeddings(
        embeddings, batch.input_ids, batch.attention_mask, batch.token_type_ids
    )
    torch.testing.assert_close(via_embeddings.detach(), classifier.batch_logits(batch), atol=1e-5, rtol=1e-5)


def test_chunking_gives_the_same_logits(classifier: Classifier) -> None:
    batch = classifier.encode(TEXTS)
    full = classifier.logits(batch.input_ids, batch.attention_mask, batch.token_type_ids)
    saved = classifier.max_batch_tokens
    classifier.max_batch_tokens = 1  # one row per chunk
    try:
        chunked = classifier.logits(batch.input_ids, batch.attention_mask, batch.token_type_ids)
    finally:
        classifier.max_batch_tokens = saved
    torch.testing.assert_close(full, chunked, atol=1e-5, rtol=1e-5)


def test_pairs_keep_both_sides_and_their_words(classifier: Classifier) -> None:
    batch = classifier.encode(["a man walks his dog"], ["a person is outside"])
    sides = {s for s in batch.sequence_ids[0] if s is not None}
    assert sides == {0, 1}
    words = [batch.word_text(0, w) for w in range(len(batch.words[0]))]
    assert words == ["a", "man", "walks", "his", "dog", "a", "person", "is", "outside"]
    if classifier.adapter.uses_token_types:
        pair_positions = [t for t, s in enumerate(batch.sequence_ids[0]) if s == 1]
        assert bool((batch.token_type_ids[0, pair_positions] == 1).all())


def test_word_ids_cover_every_content_token(classifier: Classifier) -> None:
    batch = classifier.encode(["terrible acting but great music"])
    content = batch.content_mask[0].tolist()
    for is_content, word in zip(content, batch.word_ids[0], strict=False):
        assert (word is not None) == is_content


def test_overlong_text_is_truncated_with_a_record(classifier: Classifier) -> None:
    saved = classifier.max_length
    classifier.max_length = 8
    try:
        batch = classifier.encode(["one two three four five six seven eight nine ten eleven", "short"])
    finally:
        classifier.max_length = saved
    assert batch.truncated == [True, False]
    assert batch.input_ids.shape[1] <= 8


@pytest.mark.parametrize("bad", [[""], ["   "], [], "", [3]])  # a non-empty bare string is one text
def test_bad_texts_are_refused(classifier: Classifier, bad) -> None:
    with pytest.raises(FaithlabError):
        classifier.encode(bad)


def test_pair_count_must_match(classifier: Classifier) -> None:
    with pytest.raises(FaithlabError, match="pair"):
        classifier.encode(["a", "b"], ["c"])


def test_targets_by_name_index_all_and_predicted(classifier: Classifier) -> None:
    probabilities = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    assert classifier.resolve_targets(None, probabilities) == [[0], [1]]
    assert classifier.resolve_targets("positive", probabilities) == [[1], [1]]
    assert classifier.resolve_targets("NEGATIVE", probabilities) == [[0], [0]]
    assert classifier.resolve_targets(1, probabilities) == [[1], [1]]
    assert classifier.resolve_targets("all", probabilities) == [[0, 1], [0, 1]]
    assert classifier.resolve_targets(["positive", 0], probabilities) == [[1], [0]]
    with pytest.raises(FaithlabError, match="unknown label"):
        classifier.resolve_targets("neutral", probabilities)
    with pytest.raises(FaithlabError, match="unknown label"):
        classifier.resolve_targets(5, probabilities)


def test_replacement_tokens(classifier: Classifier) -> None:
    mask = classifier.replacement_id("mask")
    assert mask == (classifier.tokenizer.mask_token_id or classifier.tokenizer.pad_token_id)
    with pytest.raises(FaithlabError):
        classifier.replacement_id("blank")


def test_attentions_are_probabilities_and_share_the_prediction_pass(classifier: Classifier) -> None:
    batch = classifier.encode(TEXTS)
    layers = classifier.attentions(batch)
    assert batch.cache.logits is not None
    assert len(layers) == classifier.model.config.num_hidden_layers
    real = batch.attention_mask.bool()
    for layer in layers:
        sums = layer.sum(dim=-1)  # (rows, heads, queries)
        real_rows = sums[real.unsqueeze(1).expand_as(sums)]
        torch.testing.assert_close(real_rows, torch.ones_like(real_rows))
