"""The shared perturbation machinery: features, masks, the batched deduplicating scorer, settings and batch
invariance of the three removal-based explainers."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from faithlab.errors import FaithlabError
from faithlab.explain import get_explainer
from faithlab.explain.perturbation import (
    feature_groups,
    output_values,
    perturb_row,
    random_coalitions,
    score_masks,
)
from faithlab.models import Classifier
from faithlab.models.adapters import ModelOutput

SHORT = ["not bad", "great fun", "a dull film", "i loved it", "boring film", "the movie was great", "it is fine", "ok"]


def hand_built(classifier: Classifier, batch, row: int, removed: set[int], replacement: str) -> torch.Tensor:
    """Logits of one row with the content tokens at `removed` (feature indices) deleted or replaced, built by hand."""
    n = int(batch.lengths[row])
    ids = batch.input_ids[row, :n].tolist()
    types = None if batch.token_type_ids is None else batch.token_type_ids[row, :n].tolist()
    content = [p for p in range(n) if batch.content_mask[row, p]]
    drop = {content[f] for f in removed}
    if replacement == "delete":
        keep = [p for p in range(n) if p not in drop]
        new_ids = [ids[p] for p in keep] or [classifier.replacement_id("pad")]
        new_types = None if types is None else [types[p] for p in keep]
    else:
        fill = classifier.replacement_id(replacement)
        new_ids = [fill if p in drop else ids[p] for p in range(n)]
        new_types = types
    tt = None if new_types is None else torch.tensor([new_types])
    return classifier.logits(torch.tensor([new_ids]), torch.ones(1, len(new_ids), dtype=torch.long), tt)[0]


def test_features_are_content_tokens_alone_or_grouped_by_word(tiny_classifiers: dict[str, Classifier]) -> None:
    batch = tiny_classifiers["t5"].encode(["a dull film"])
    tokens = feature_groups(batch, "token")[0]
    words = feature_groups(batch, "word")[0]
    content = batch.content_mask[0].nonzero().flatten().tolist()
    assert tokens == [[p] for p in content]
    assert sorted(p for group in words for p in group) == content
    assert len(words) == 3
    for group in words:
        assert len({batch.word_ids[0][p] for p in group}) == 1


def test_random_coalitions_keep_the_requested_number() -> None:
    kept = np.array([0, 1, 3, 5, 5])
    masks = random_coalitions(np.random.default_rng(3), 5, kept)
    assert masks.sum(axis=1).tolist() == kept.tolist()
    assert np.array_equal(masks, random_coalitions(np.random.default_rng(3), 5, kept))


def test_deletion_repacks_left_aligned_like_a_hand_built_input(classifier: Classifier) -> None:
    batch = classifier.encode(["the movie was great", "not bad"])
    groups = feature_groups(batch)
    masks = []
    for g in groups:
        n = len(g)
        drop_some = torch.ones(n, dtype=torch.bool)
        drop_some[[0, n - 1]] = False
        masks.append(torch.stack([drop_some, torch.zeros(n, dtype=torch.bool), torch.ones(n, dtype=torch.bool)]))
    scored = score_masks(classifier, batch, groups, masks, "delete")
    for row in range(len(batch)):
        n = len(groups[row])
        for k, removed in enumerate([{0, n - 1}, set(range(n)), set()]):
            expected = hand_built(classifier, batch, row, removed, "delete")
            torch.testing.assert_close(scored.logits[row][k], expected, atol=1e-5, rtol=1e-5)
    ids, _, lengths = perturb_row(batch, 0, groups[0], masks[0], "delete", 0, classifier.replacement_id("pad"))
    specials = [
        i for p, i in enumerate(batch.input_ids[0].tolist()) if batch.special_mask[0, p] and p < batch.lengths[0]
    ]
    for k in range(2):
        kept = ids[k, : lengths[k]].tolist()
        assert [i for i in kept if i in specials] == specials  # special tokens survive, in order
    assert (ids[1, lengths[1] :] == classifier.replacement_id("pad")).all()


def test_deletion_in_a_sentence_pair_keeps_the_segments(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    batch = classifier.encode(["not bad", "a dull film"], pairs=["great fun", "it is fine"])
    groups = feature_groups(batch)
    masks = [torch.tensor([[f % 2 == 1 for f in range(len(g))]]) for g in groups]
    scored = score_masks(classifier, batch, groups, masks, "delete")
    for row, g in enumerate(groups):
        removed = {f for f in range(len(g)) if f % 2 == 0}  # from both sides of the pair
        expected = hand_built(classifier, batch, row, removed, "delete")
        torch.testing.assert_close(scored.logits[row][0], expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("replacement", ["mask", "pad"])
def test_replacement_matches_hand_replaced_ids(classifier: Classifier, replacement: str) -> None:
    batch = classifier.encode(["not bad", "the movie was great"])
    groups = feature_groups(batch)
    masks = [torch.tensor([[f % 2 == 0 for f in range(len(g))]]) for g in groups]
    scored = score_masks(classifier, batch, groups, masks, replacement)
    for row, g in enumerate(groups):
        removed = {f for f in range(len(g)) if f % 2 == 1}
        torch.testing.assert_close(
            scored.logits[row][0], hand_built(classifier, batch, row, removed, replacement), atol=1e-5, rtol=1e-5
        )


def test_each_distinct_input_is_scored_once(tiny_classifiers: dict[str, Classifier], monkeypatch) -> None:
    classifier = tiny_classifiers["bert"]
    batch = classifier.encode(["a dull film", "a dull film", "great great"])
    classifier.batch_logits(batch)  # the unperturbed rows come from the cache
    rows_scored = []
    original = classifier.logits

    def counting(ids, attention, tt=None):
        rows_scored.append(ids.shape[0])
        return original(ids, attention, tt)

    monkeypatch.setattr(classifier, "logits", counting)
    groups = feature_groups(batch)
    three = torch.tensor([[1, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1], [1, 0, 1]], dtype=torch.bool)
    # deleting either "great" of "great great" gives the same text
    two = torch.tensor([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=torch.bool)
    scored = score_masks(classifier, batch, groups, [three, three[:2], two], "delete")
    assert scored.evaluations == sum(rows_scored) == 2 + 2
    assert torch.equal(scored.logits[0][0], scored.logits[1][1])
    assert torch.equal(scored.logits[2][0], scored.logits[2][1])
    torch.testing.assert_close(scored.logits[0][3], classifier.batch_logits(batch)[0])


def test_chunks_respect_max_batch_tokens(tiny_classifiers: dict[str, Classifier], monkeypatch) -> None:
    classifier = tiny_classifiers["distilbert"]
    batch = classifier.encode(["the movie was great", "not bad"])
    groups = feature_groups(batch)
    masks = [torch.from_numpy(random_coalitions(np.random.default_rng(0), len(g), np.arange(len(g)))) for g in groups]
    expected = score_masks(classifier, batch, groups, masks, "mask").logits
    shapes = []
    original = classifier.logits
    monkeypatch.setattr(classifier, "max_batch_tokens", 13)
    monkeypatch.setattr(classifier, "logits", lambda ids, a, tt=None: shapes.append(ids.shape) or original(ids, a, tt))
    chunked = score_masks(classifier, batch, groups, masks, "mask").logits
    assert len(shapes) > 1 and all(rows * width <= 13 or rows == 1 for rows, width in shapes)
    for a, b in zip(chunked, expected, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_outputs() -> None:
    logits = torch.tensor([[1.0, 3.0, 0.5], [0.0, -1.0, 2.0]])
    torch.testing.assert_close(output_values(logits, 1, "logit", 0), logits[:, 1].double())
    torch.testing.assert_close(output_values(logits, 1, "margin", 2), (logits[:, 1] - logits[:, 2]).double())
    torch.testing.assert_close(output_values(logits, 1, "probability", 0), torch.softmax(logits.double(), -1)[:, 1])
    loss = torch.nn.functional.cross_entropy(logits.double(), torch.tensor([1, 1]), reduction="none")
    torch.testing.assert_close(output_values(logits, 1, "loss", 0), -loss)


@pytest.mark.parametrize(
    ("method", "settings"),
    [
        ("occlusion", {"replacement": "blank"}),
        ("occlusion", {"output": "odds"}),
        ("occlusion", {"unit": "paragraph"}),
        ("occlusion", {"contrast": "neutral"}),
        ("occlusion", {"window": 3}),
        ("lime", {"n_samples": 0}),
        ("lime", {"n_samples": 2.5}),
        ("lime", {"kernel_width": 0}),
        ("lime", {"alpha": -1.0}),
        ("lime", {"seed": -1}),
        ("lime", {"seed": True}),
        ("kernel_shap", {"n_samples": 1}),
        ("kernel_shap", {"replacement": "zero"}),
        ("kernel_shap", {"output": "odds"}),
    ],
)
def test_bad_settings_are_refused(tiny_classifiers: dict[str, Classifier], method: str, settings: dict) -> None:
    with pytest.raises(FaithlabError, match="|".join(re.escape(str(x)) for item in settings.items() for x in item)):
        get_explainer(method, tiny_classifiers["bert"], **settings)


def test_masks_of_the_wrong_shape_are_refused(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    batch = classifier.encode(["not bad"])
    with pytest.raises(FaithlabError, match="masks must be"):
        score_masks(classifier, batch, feature_groups(batch), [torch.ones(2, 5, dtype=torch.bool)], "mask")


@pytest.mark.parametrize("family_name", ["bert", "gpt2"])  # first-token and last-real-token pooling
@pytest.mark.parametrize(
    ("method", "settings"),
    [("occlusion", {}), ("lime", {"n_samples": 60}), ("kernel_shap", {"n_samples": 64})],
)
def test_batch_invariance(
    tiny_classifiers: dict[str, Classifier], family_name: str, method: str, settings: dict
) -> None:
    explainer = get_explainer(method, tiny_classifiers[family_name], **settings)
    together = explainer.explain(SHORT)
    for text, joint in zip(SHORT, together, strict=True):
        (alone,) = explainer.explain([text])
        np.testing.assert_allclose(joint.scores, alone.scores, atol=1e-5, rtol=0)


class LinearClassifier(Classifier):
    """A planted model: logit(positive) = 0.5 + Σ w[id] over real tokens, logit(negative) = its negative, with
    w = 0 for the mask and pad tokens. Removing a token lowers the positive logit by exactly its weight, so every
    method's answer on output='logit' is known: the weight of each token."""

    def __init__(self, base: Classifier):
        super().__init__(base.model, base.tokenizer, "planted-linear")
        self.weights = torch.randn(len(base.tokenizer), generator=torch.Generator().manual_seed(7))
        for kind in ("mask", "pad"):
            self.weights[self.replacement_id(kind)] = 0.0

    def forward(self, input_ids, attention_mask, token_type_ids=None, *, output_attentions=False) -> ModelOutput:
        positive = 0.5 + (self.weights[input_ids] * attention_mask).sum(dim=1)
        return ModelOutput(torch.stack([-positive, positive], dim=-1), None)

    def planted(self, explanation) -> np.ndarray:
        ids = self.tokenizer.convert_tokens_to_ids(explanation.tokens)
        return np.array(
            [float(self.weights[i]) if w is not None else 0.0 for i, w in zip(ids, explanation.word_ids, strict=True)]
        )


@pytest.fixture(scope="module")
def linear(tiny_classifiers: dict[str, Classifier]) -> LinearClassifier:
    return LinearClassifier(tiny_classifiers["bert"])


LINEAR_TEXTS = ["the movie was great and fun to watch , not bad", "a dull film", "great great"]


@pytest.mark.parametrize(
    ("method", "settings"),
    [
        ("occlusion", {"output": "logit"}),
        ("occlusion", {"output": "logit", "replacement": "mask"}),
        ("kernel_shap", {}),  # exact: up to 2^11 coalitions
        ("kernel_shap", {"n_samples": 300, "replacement": "delete"}),  # sampled
        ("lime", {"output": "logit", "alpha": 1e-9}),
        ("lime", {"output": "logit", "alpha": 1e-9, "replacement": "pad"}),
    ],
)
def test_every_method_recovers_a_planted_linear_model(linear: LinearClassifier, method: str, settings: dict) -> None:
    explanations = get_explainer(method, linear, **settings).explain(LINEAR_TEXTS, target="positive")
    for explanation in explanations:
        np.testing.assert_allclose(explanation.scores, linear.planted(explanation), atol=1e-4)


def test_lime_on_probabilities_agrees_in_sign_with_occlusion(linear: LinearClassifier) -> None:
    lime = get_explainer("lime", linear).explain(LINEAR_TEXTS[:1], target="positive")[0]
    occlusion = get_explainer("occlusion", linear).explain(LINEAR_TEXTS[:1], target="positive")[0]
    content = lime.content
    # LIME fits the saturating probability, so a token whose planted weight is small next to the others can get
    # either sign (the tiny tokenizer's ids, hence the weights, vary between runs); the clear tokens must agree
    clear = content[np.abs(occlusion.scores[content]) > 0.25 * np.abs(occlusion.scores[content]).max()]
    assert len(clear) >= len(content) // 2
    assert np.array_equal(np.sign(lime.scores[clear]), np.sign(occlusion.scores[clear]))
