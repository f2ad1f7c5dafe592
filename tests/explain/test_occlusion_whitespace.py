"""Occlusion's whitespace unit (one deletion per whitespace-separated word, however the tokenizer splits it) and its
probability_margin output, each checked against the model re-run by hand."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from faithlab.explain import get_explainer
from faithlab.models import Classifier

TEXT = "profit rose 0.8 pre-tax in the market."


def logits_deleting(classifier: Classifier, text: str, positions: set[int]) -> torch.Tensor:
    """Logits of `text` with the tokens at `positions` deleted, built by hand."""
    batch = classifier.encode([text])
    keep = [p for p in range(int(batch.lengths[0])) if p not in positions]
    ids = batch.input_ids[0, keep][None]
    types = None if batch.token_type_ids is None else batch.token_type_ids[0, keep][None]
    return classifier.logits(ids, torch.ones_like(ids), types)[0].double()


def whitespace_groups(classifier: Classifier, text: str) -> dict[str, list[int]]:
    """Each whitespace word → the positions of the tokens whose character offsets fall in it (from the tokenizer's
    offset mapping, independently of faithlab's word spans). A content token without characters (a byte-level
    tokenizer's prefix space 'Ġ') goes with the word that follows it."""
    encoded = classifier.tokenizer(text, return_offsets_mapping=True)
    batch = classifier.encode([text])
    assert encoded["input_ids"] == batch.input_ids[0].tolist()
    words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text)]
    groups: dict[str, list[int]] = {}
    pending: list[int] = []
    for position, (start, end) in enumerate(encoded["offset_mapping"]):
        if batch.special_mask[0, position]:
            continue
        if not text[start:end].strip():
            pending.append(position)
            continue
        first = start + len(text[start:end]) - len(text[start:end].lstrip())
        (word,) = [w for s, e, w in words if s <= first < e]
        groups.setdefault(word, []).extend([*pending, position])
        pending = []
    return groups


@pytest.mark.parametrize("family", ["bert", "roberta", "t5"])
def test_whitespace_unit_scores_each_whitespace_word_by_deleting_all_its_tokens(
    tiny_classifiers: dict[str, Classifier], family: str
) -> None:
    classifier = tiny_classifiers[family]
    (explanation,) = get_explainer("occlusion", classifier, unit="whitespace").explain([TEXT])
    groups = whitespace_groups(classifier, TEXT)
    table = explanation.extras["table"]
    assert [row["whitespace"] for row in table] == TEXT.split() == list(groups)
    assert any(len(positions) > 1 for positions in groups.values())  # the tokenizer splits some word
    target = explanation.target
    before = float(logits_deleting(classifier, TEXT, set())[target])
    for row, (word, positions) in zip(table, groups.items(), strict=True):
        assert row["positions"] == positions, word
        after = float(logits_deleting(classifier, TEXT, set(positions))[target])
        np.testing.assert_allclose(explanation.scores[positions], before - after, atol=1e-5)
        assert row["difference"] == pytest.approx(before - after, abs=1e-5)
    assert sorted(p for positions in groups.values() for p in positions) == list(explanation.content)


def test_whitespace_unit_differs_from_the_tokenizer_word_unit(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = tiny_classifiers["bert"]
    words = get_explainer("occlusion", classifier, unit="word").explain([TEXT])[0].extras["table"]
    spaces = get_explainer("occlusion", classifier, unit="whitespace").explain([TEXT])[0].extras["table"]
    assert len(words) > len(spaces) == len(TEXT.split())  # BERT splits '0.8', 'pre-tax' and 'market.'


@pytest.mark.parametrize("contrast", [None, "negative"])
def test_probability_margin_is_the_drop_in_target_minus_contrast_probability(
    tiny_classifiers: dict[str, Classifier], contrast: str | None
) -> None:
    classifier = tiny_classifiers["distilbert"]
    explainer = get_explainer("occlusion", classifier, output="probability_margin", contrast=contrast)
    assert explainer.settings == {"replacement": "delete", "output": "probability_margin", "contrast": contrast,
                                  "unit": "token"}
    (explanation,) = explainer.explain([TEXT], target="positive")
    other = classifier.labels.index("negative")  # two classes: the runner-up is the other one
    assert explanation.output == "probability_margin" and explanation.extras["contrast"] == "negative"

    def value(positions: set[int]) -> float:
        probabilities = torch.softmax(logits_deleting(classifier, TEXT, positions), -1)
        return float(probabilities[explanation.target] - probabilities[other])

    assert explanation.extras["output_before"] == pytest.approx(value(set()), abs=1e-6)
    for t in explanation.content:
        assert explanation.scores[t] == pytest.approx(value(set()) - value({t}), abs=1e-6)


def test_probability_margin_is_occlusions_alone(tiny_classifiers: dict[str, Classifier]) -> None:
    from faithlab.errors import FaithlabError

    with pytest.raises(FaithlabError, match="probability_margin"):
        get_explainer("lime", tiny_classifiers["bert"], output="probability_margin")
