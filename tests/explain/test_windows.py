"""Texts longer than the model's limit: sliding windows (coverage, the combination rule, whole-text removals), short
texts unchanged, the token budget at any length, and the JSON record."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from faithlab.errors import FaithlabError
from faithlab.evaluate.faithfulness import evaluate_faithfulness
from faithlab.explain import Explanation, explain_many, get_explainer
from faithlab.explain.base import explain_batch
from faithlab.models import Classifier
from faithlab.models.windows import COMBINATION_RULE, WindowRows, Windows
from long_texts import LIMIT, LONG, limited, window_mean_logits


@pytest.fixture
def bert(tiny_classifiers: dict[str, Classifier]) -> Classifier:
    return limited(tiny_classifiers["bert"])


def test_windows_cover_the_text_with_the_stated_stride() -> None:
    windows = Windows(limit=6, prefix=1, suffix=1, stride=2)
    assert windows.spans(10) == [(1, 5), (3, 7), (5, 9)]  # 8 content tokens, 4 per window, 2 apart
    assert windows.spans(11) == [(1, 5), (3, 7), (5, 9), (6, 10)]  # the last window ends where the text ends
    assert windows.spans(6) == [(1, 5)]  # a text that fits is one window
    assert windows.positions(10)[1] == [0, 3, 4, 5, 6, 9]  # each window has its own [CLS] and [SEP]


def test_the_combination_rule_on_a_hand_checked_case(bert: Classifier) -> None:
    windows = Windows(limit=6, prefix=1, suffix=1, stride=2)
    rows = WindowRows(bert.encode("a film"), [0, 0, 0], windows.positions(10))
    scores = torch.tensor([[1.0] * 6, [2.0] * 6, [3.0] * 6])  # window k scores k + 1 on each of its tokens
    combined = rows.combine(scores, (1, 10))[0].tolist()
    # (sum over the windows holding the token) / 3 windows; [CLS] and [SEP] are in all three
    assert combined == pytest.approx([2, 1 / 3, 1 / 3, 1, 1, 5 / 3, 5 / 3, 1, 1, 2])


def test_a_text_three_times_the_limit_gets_every_token_scored(bert: Classifier) -> None:
    whole = bert.encode(LONG, truncate=False)
    assert len(whole.tokens[0]) >= 3 * LIMIT
    result = explain_many(bert, [LONG], ["grad_x_input", ("ig", {"n_steps": 4}), "lrp", "attention_mean",
                                         ("occlusion", {"unit": "sentence"})])
    for method, (explanation,) in result.items():
        assert explanation.tokens == whole.tokens[0], method
        assert explanation.windows == Windows(LIMIT, 1, 1, (LIMIT - 2) // 2).spans(len(whole.tokens[0]))
        assert explanation.window_rule == COMBINATION_RULE
        assert not any("truncated" in w for w in explanation.warnings)
        assert np.all(explanation.scores[explanation.content] != 0), method
    # the prediction is the mean of the windows' logits
    expected = torch.softmax(window_mean_logits(bert, whole.input_ids[0].tolist()), dim=-1)
    assert result["ig"][0].probabilities == pytest.approx(expected.tolist(), abs=1e-5)


def test_gradient_x_input_of_a_long_text_is_that_of_the_mean_of_its_windows(bert: Classifier) -> None:
    """For an attribution linear in the output, the rule gives exactly the attribution of the windows' mean."""
    (explanation,) = get_explainer("grad_x_input", bert).explain([LONG])
    ids = bert.encode(LONG, truncate=False).input_ids[0].tolist()
    embeddings = bert.word_embeddings(torch.tensor([ids]))[0].detach()
    total = torch.zeros(len(ids), dtype=torch.float64)
    windows = Windows(LIMIT, 1, 1, (LIMIT - 2) // 2).positions(len(ids))
    for positions in windows:
        x = embeddings[positions].clone().requires_grad_(True)
        row = torch.tensor([[ids[p] for p in positions]])
        logits = bert.logits_from_embeddings(x[None], row, torch.ones_like(row), torch.zeros_like(row))
        logits[0, explanation.target].backward()
        total[positions] += (x.grad * x).sum(dim=-1).double().detach()
    assert explanation.scores == pytest.approx((total / len(windows)).numpy(), abs=1e-5)


def test_occlusion_of_a_long_text_by_words_removes_each_word_from_the_whole_text(bert: Classifier) -> None:
    (explanation,) = get_explainer("occlusion", bert, unit="word").explain([LONG])
    whole = bert.encode(LONG, truncate=False)
    ids, word_ids = whole.input_ids[0].tolist(), whole.word_ids[0]
    target = explanation.target
    before = window_mean_logits(bert, ids)[target]
    table = explanation.extras["table"]
    assert len(table) == len(whole.words[0])
    for word, row in enumerate(table):
        kept = [i for i, w in zip(ids, word_ids, strict=True) if w != word]  # deleted from the whole text
        assert row["difference"] == pytest.approx(float(before - window_mean_logits(bert, kept)[target]), abs=1e-5)


def test_short_texts_are_explained_exactly_as_before(bert: Classifier) -> None:
    texts = ["a warm and funny film", "dull and slow"]
    for name, settings in [("grad_x_input", {}), ("ig", {"n_steps": 8}), ("occlusion", {}), ("lrp", {}),
                           ("kernel_shap", {"n_samples": 64}), ("lime", {"n_samples": 32})]:
        explainer = get_explainer(name, bert, **settings)
        new = explainer.explain(texts)
        old = explain_batch(explainer, bert.encode(texts))  # the truncating encoding explainers used before
        for a, b in zip(new, old, strict=True):
            assert np.array_equal(a.scores, b.scores), name
            assert (a.probabilities, a.windows, a.window_rule) == (b.probabilities, [], None)


def test_no_pass_exceeds_the_token_budget_at_any_length(tiny_classifiers: dict[str, Classifier]) -> None:
    shapes: list[tuple[int, int]] = []
    budget = 3 * LIMIT
    classifier = limited(tiny_classifiers["bert"], budget=budget, observer=shapes.append)
    methods = ["grad_x_input", ("ig", {"n_steps": 4}), "lrp", "attention_mean", ("occlusion", {"unit": "sentence"}),
               ("kernel_shap", {"n_samples": 16, "unit": "sentence"}), ("lime", {"n_samples": 8, "unit": "sentence"})]
    result = explain_many(classifier, [LONG, "a short one"], methods)
    evaluate_faithfulness(classifier, {m: result[m] for m in ("ig", "occlusion")}, parts=["eraser"], unit="sentence")
    assert len(shapes) > 20
    assert max(rows * width for rows, width in shapes) <= budget
    assert max(width for _, width in shapes) <= LIMIT


def test_windows_and_granularity_survive_a_json_round_trip(bert: Classifier) -> None:
    (explanation,) = get_explainer("occlusion", bert, unit="sentence").explain([LONG])
    again = Explanation.from_dict(json.loads(explanation.to_json()))
    assert again.windows == explanation.windows and again.windows
    assert (again.window_rule, again.granularity) == (COMBINATION_RULE, "sentence")
    assert np.array_equal(again.scores, explanation.scores)


def test_a_pair_longer_than_the_limit_is_refused(bert: Classifier) -> None:
    with pytest.raises(FaithlabError, match="sliding windows cover single texts only"):
        get_explainer("gradient", bert).explain([LONG], pairs=["a film"])


def test_a_stride_wider_than_a_window_is_refused(tiny_classifiers: dict[str, Classifier]) -> None:
    classifier = limited(tiny_classifiers["bert"], stride=LIMIT)
    with pytest.raises(FaithlabError, match="window_stride must be an integer from 1 to the window's 14"):
        get_explainer("gradient", classifier).explain([LONG])


def test_comprehensiveness_of_a_long_text_removes_from_the_whole_text(bert: Classifier) -> None:
    (explanation,) = get_explainer("occlusion", bert, unit="word").explain([LONG])
    rows = evaluate_faithfulness(bert, [explanation], parts=["eraser"], fractions=[0.1], unit="word")
    comprehensiveness = next(r for r in rows if r.metric == "comprehensiveness")
    whole = bert.encode(LONG, truncate=False)
    ids, word_ids = whole.input_ids[0].tolist(), whole.word_ids[0]
    words = explanation.feature_scores("word")
    k = int(np.ceil(0.1 * len(words)))
    top = set(np.argsort(-words, kind="stable")[:k].tolist())
    mask = bert.replacement_id("mask")
    removed = [mask if w in top else i for i, w in zip(ids, word_ids, strict=True)]
    target = explanation.target
    drop = (torch.softmax(window_mean_logits(bert, ids), -1)[target]
            - torch.softmax(window_mean_logits(bert, removed), -1)[target])
    assert comprehensiveness.value == pytest.approx(float(drop), abs=1e-5)
    assert comprehensiveness.settings["unit"] == "word"


def test_predict_reads_a_long_text_through_its_windows(tiny_classifiers: dict[str, Classifier]) -> None:
    """`Classifier.predict` (used for bench targets, accuracy and selection) gives the windows' mean output, which
    differs from the truncated head's."""
    reader = limited(tiny_classifiers["bert"])
    ids = reader.tokenizer(LONG)["input_ids"]
    expected = torch.softmax(window_mean_logits(reader, ids), dim=-1).numpy()
    got = reader.predict(LONG)[0]
    error = np.abs(got - expected).max()
    assert error < 3e-7
    truncated = reader.probabilities(reader.encode(LONG)).numpy()[0]  # the random tiny model is near 0.5 everywhere
    assert np.abs(truncated - expected).max() > 10 * max(error, 3e-7)
