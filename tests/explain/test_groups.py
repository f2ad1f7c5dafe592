"""User feature groupings (`faithlab.explain.groups`): character spans or token ids as the features of occlusion,
KernelSHAP, LIME and the removal metrics, checked against by-hand computations over the same groups."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
import torch
from test_windows import LIMIT, LONG, limited, window_mean_logits

import faithlab as fl
from faithlab.errors import FaithlabError
from faithlab.evaluate.faithfulness import evaluate_faithfulness
from faithlab.explain import Explanation, get_explainer
from faithlab.explain.groups import FeatureGrouping, encode_grouped
from faithlab.explain.perturbation import feature_groups
from faithlab.models import Classifier

TEXT = "unwatchable tedium throughout the film was good"
SPANS = [(0, 18), (34, 47)]  # 'unwatchable tedium' and 'film was good'; 'throughout' and 'the' stay outside


@pytest.fixture
def bert(tiny_classifiers: dict[str, Classifier]) -> Classifier:
    return tiny_classifiers["bert"]


def kept_ids(ids: list[int], members: list[set[int]], kept: set[int], fill: int | None) -> list[int]:
    """The token ids with every feature not in `kept` replaced by `fill` (deleted when None)."""
    removed = {t for f, tokens in enumerate(members) if f not in kept for t in tokens}
    if fill is None:
        return [i for t, i in enumerate(ids) if t not in removed]
    return [fill if t in removed else i for t, i in enumerate(ids)]


def run(classifier: Classifier, ids: list[int]) -> torch.Tensor:
    row = torch.tensor([ids])
    return classifier.logits(row, torch.ones_like(row), torch.zeros_like(row))[0].double()


def by_hand_features(classifier: Classifier, text: str, spans: list[tuple[int, int]]) -> list[set[int]]:
    """Token positions of each feature, written out from the spans and the tokenizer's offsets: a span's tokens,
    then every other content token alone; in order of first token."""
    encoding = classifier.tokenizer(text, return_offsets_mapping=True)
    features: dict[object, set[int]] = {}
    for t, (start, end) in enumerate(encoding["offset_mapping"]):
        if start == end:  # special token
            continue
        span = next((s for s in spans if s[0] <= start and end <= s[1]), None)
        features.setdefault(("span", span) if span else ("token", t), set()).add(t)
    return list(features.values())


def test_spans_resolve_to_the_tokens_they_cover(bert: Classifier) -> None:
    batch = encode_grouped(bert, [TEXT], groups=[FeatureGrouping.from_spans(SPANS)])
    got = [set(g) for g in feature_groups(batch, "group")[0]]
    assert got == by_hand_features(bert, TEXT, SPANS)
    assert len(got) < int(batch.content_mask[0].sum())  # fewer features than tokens


def test_exact_kernel_shap_over_groups_is_brute_force_shapley(bert: Classifier) -> None:
    result = fl.explain(bert, TEXT, {"kernel_shap": {"n_samples": 512}}, groups=[SPANS])
    explanation = result["kernel_shap"][0]
    members = by_hand_features(bert, TEXT, SPANS)
    n = len(members)
    ids = bert.encode([TEXT]).input_ids[0].tolist()
    mask = bert.replacement_id("mask")
    values = {frozenset(s): float(run(bert, kept_ids(ids, members, set(s), mask))[explanation.target])
              for k in range(n + 1) for s in itertools.combinations(range(n), k)}
    shapley = np.zeros(n)
    for i in range(n):
        for coalition, v in values.items():
            if i not in coalition:
                s = len(coalition)
                shapley[i] += math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) * (
                    values[coalition | {i}] - v)
    assert explanation.granularity == "group"
    assert explanation.extras["exact"]
    assert explanation.extras["n_evaluations"] == 2**n  # the cost follows the groups, not the tokens
    assert explanation.feature_scores() == pytest.approx(shapley, abs=1e-5)


def test_occlusion_over_groups_deletes_each_group_by_hand(bert: Classifier) -> None:
    (explanation,) = get_explainer("occlusion", bert, unit="group").explain(
        [TEXT], groups=[FeatureGrouping.from_spans(SPANS)])
    members = by_hand_features(bert, TEXT, SPANS)
    ids = bert.encode([TEXT]).input_ids[0].tolist()
    target = explanation.target
    before = run(bert, ids)[target]
    table = explanation.extras["table"]
    assert [row["group"] for row in table][:1] == ["unwatchable tedium"]
    assert "film was good" in [row["group"] for row in table]
    for f, tokens in enumerate(members):
        after = run(bert, kept_ids(ids, members, set(range(len(members))) - {f}, None))[target]
        assert table[f]["difference"] == pytest.approx(float(before - after), abs=1e-5)
        assert [explanation.scores[t] for t in tokens] == pytest.approx([float(before - after)] * len(tokens),
                                                                        abs=1e-5)


def test_comprehensiveness_over_groups_matches_a_computation_by_hand(bert: Classifier) -> None:
    (explanation,) = get_explainer("grad_x_input", bert).explain([TEXT])  # token scores, evaluated over groups
    rows = evaluate_faithfulness(bert, [explanation], parts=["eraser"], fractions=[0.3], unit="group",
                                 groups=[FeatureGrouping.from_spans(SPANS)])
    comprehensiveness = next(r for r in rows if r.metric == "comprehensiveness")
    members = by_hand_features(bert, TEXT, SPANS)
    sums = np.array([sum(explanation.scores[t] for t in tokens) for tokens in members])
    k = math.ceil(0.3 * len(members))
    top = set(np.argsort(-sums, kind="stable")[:k].tolist())
    ids = bert.encode([TEXT]).input_ids[0].tolist()
    target = explanation.target
    drop = (torch.softmax(run(bert, ids), -1)[target]
            - torch.softmax(run(bert, kept_ids(ids, members, set(range(len(members))) - top,
                                               bert.replacement_id("mask"))), -1)[target])
    assert comprehensiveness.value == pytest.approx(float(drop), abs=1e-6)
    assert comprehensiveness.settings["unit"] == "group"


@pytest.mark.parametrize("method", ["occlusion", "kernel_shap", "lime"])
def test_groups_equal_to_the_words_give_the_word_results(bert: Classifier, method: str) -> None:
    text = "unwatchable tedium , truly dull"
    batch = bert.encode([text])
    spans = sorted({(start, end) for side, start, end in batch.words[0]})
    settings = {"n_samples": 24} if method == "lime" else {"n_samples": 64} if method == "kernel_shap" else {}
    by_words = get_explainer(method, bert, unit="word", **settings).explain([text])[0]
    by_groups = get_explainer(method, bert, unit="group", **settings).explain(
        [text], groups=[FeatureGrouping.from_spans(spans)])[0]
    assert by_groups.scores == pytest.approx(by_words.scores, abs=1e-6)
    rows = [evaluate_faithfulness(bert, [e], parts=["eraser", "loo"], unit=u)
            for e, u in ((by_words, "word"), (by_groups, "group"))]
    assert [r.value for r in rows[0]] == pytest.approx([r.value for r in rows[1]], abs=1e-9)


def test_token_feature_ids_group_like_the_spans(bert: Classifier) -> None:
    batch = encode_grouped(bert, [TEXT], groups=[FeatureGrouping.from_spans(SPANS)])
    by_ids = FeatureGrouping.from_token_features(batch.token_groups[0])
    (a,) = get_explainer("occlusion", bert, unit="group").explain([TEXT], groups=[by_ids])
    (b,) = get_explainer("occlusion", bert, unit="group").explain([TEXT], groups=[FeatureGrouping.from_spans(SPANS)])
    assert a.scores == pytest.approx(b.scores)


@pytest.mark.parametrize(("groups", "message"), [
    ([[(0, 18), (10, 25)]], "spans overlap at characters 10..18"),
    ([[(0, 400)]], r"span \(0, 400\) ends after the text's 47 characters"),
    ([[(0, 5)]], "span \\(0, 5\\) cuts the word 'unwatchable'"),
    ([[(5, 2)]], "a span is two integers 0 <= start < end"),
    ([[(11, 12)]], r"span \(11, 12\) holds no token"),
    ([[(0, 18)], [(0, 4)]], "groups has 2 entries for 1 texts"),
])
def test_bad_spans_are_one_line_errors(bert: Classifier, groups: list, message: str) -> None:
    with pytest.raises(FaithlabError, match=message) as error:
        fl.explain(bert, [TEXT], "occlusion", groups=groups)
    assert "\n" not in str(error.value)


def test_special_tokens_are_never_grouped_and_group_needs_groups(bert: Classifier) -> None:
    n = len(bert.encode([TEXT]).tokens[0])
    with pytest.raises(FaithlabError, match=r"token 0 '\[CLS\]' is a special or prompt token"):
        get_explainer("occlusion", bert, unit="group").explain(
            [TEXT], groups=[FeatureGrouping.from_token_features([0] * n)])
    with pytest.raises(FaithlabError, match="unit 'group' needs the text's groups"):
        get_explainer("occlusion", bert, unit="group").explain([TEXT])


def test_groups_are_recorded_and_survive_a_json_round_trip(bert: Classifier) -> None:
    result = fl.explain(bert, TEXT, ["occlusion", "grad_x_input"], groups=[SPANS])
    occlusion, gradient = result["occlusion"][0], result["grad_x_input"][0]
    assert occlusion.granularity == "group" and gradient.granularity == "token"
    assert occlusion.token_groups == gradient.token_groups is not None
    again = Explanation.from_dict(occlusion.to_dict())
    assert again.token_groups == occlusion.token_groups
    assert again.feature_scores() == pytest.approx(occlusion.feature_scores())
    # the gradient explanation reads back at the groups by summing its tokens
    ids = gradient.feature_ids("group")
    first = [s for s, i in zip(gradient.scores, ids, strict=True) if i == 0]
    assert gradient.feature_scores("group")[0] == pytest.approx(sum(first))


def test_a_long_text_read_in_windows_removes_each_group_from_the_whole_text(bert: Classifier) -> None:
    long_bert = limited(bert)
    clauses = [(m.start(), m.end()) for m in re.finditer(r"[^.!,]+", LONG) if m.group().strip()]
    (explanation,) = get_explainer("occlusion", long_bert, unit="group").explain(
        [LONG], groups=[FeatureGrouping.from_spans(clauses)])
    whole = long_bert.encode(LONG, truncate=False)
    assert len(whole.tokens[0]) >= 3 * LIMIT and explanation.windows  # read in windows
    ids = whole.input_ids[0].tolist()
    members = by_hand_features(long_bert, LONG, clauses)
    assert len(explanation.extras["table"]) == len(members) < len(ids) // 2
    target = explanation.target
    before = window_mean_logits(long_bert, ids)[target]
    for f in (0, len(members) // 2, len(members) - 1):
        after = window_mean_logits(long_bert, kept_ids(ids, members, set(range(len(members))) - {f}, None))[target]
        assert explanation.extras["table"][f]["difference"] == pytest.approx(float(before - after), abs=1e-5)
    rows = evaluate_faithfulness(long_bert, [explanation], parts=["eraser"], unit="group")
    assert {r.metric for r in rows} == {"comprehensiveness", "sufficiency"}


def test_groups_reach_ensemble_members_and_fl_evaluate(bert: Classifier) -> None:
    requests = [("occlusion", {"replacement": "mask"}), ("ensemble", {"methods": ["occlusion", "grad_x_input"]})]
    result = fl.explain(bert, TEXT, requests, groups=[SPANS])
    ensemble = result["ensemble"][0]
    # the member requested alone keeps that request's settings, with the groups as its unit
    assert ensemble.settings["member_settings"]["occlusion"] == {"replacement": "mask", "unit": "group"}
    assert result["occlusion"][0].granularity == "group"
    table = fl.evaluate(bert, result, ["comprehensiveness"], settings={"eraser": {"unit": "group", "fractions": [0.3]}})
    by_hand = evaluate_faithfulness(bert, result.flat(), parts=["eraser"], fractions=[0.3], unit="group",
                                    groups=[FeatureGrouping.from_spans(SPANS)])
    expected = {r.method: r.value for r in by_hand if r.metric == "comprehensiveness"}
    assert dict(zip(table["method"], table["value"], strict=True)) == pytest.approx(expected)
    with pytest.raises(FaithlabError, match="groups are the features of unit 'group'"):
        evaluate_faithfulness(bert, result.flat(), parts=["eraser"], groups=[SPANS])
    other = fl.explain(bert, TEXT, "occlusion", groups=[[(0, 11)]])["occlusion"]
    with pytest.raises(FaithlabError, match="removed other groups than the ones evaluated"):
        evaluate_faithfulness(bert, other, parts=["eraser"], unit="group", groups=[[(0, 18)]])
