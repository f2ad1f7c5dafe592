"""Explanations with chosen scores: by hand (pure metric tests) or on a classifier's own tokens (model tests)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from faithlab.explain import Explanation
from faithlab.models import Classifier


def hand_explanation(scores: Sequence[float], method: str = "hand", target: int = 0) -> Explanation:
    """One word per token, text 'w0 w1 ...', wrapped in [CLS] ... [SEP] (which score 0)."""
    words = [f"w{i}" for i in range(len(scores))]
    text = " ".join(words)
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
    return Explanation(
        text=text,
        pair=None,
        tokens=["[CLS]", *words, "[SEP]"],
        scores=np.array([0.0, *scores, 0.0]),
        word_ids=[None, *range(len(words)), None],
        words=[(0, int(s), int(s) + len(w)) for s, w in zip(starts, words, strict=True)],
        target=target,
        target_name=f"label{target}",
        method=method,
        settings={},
        probabilities=[0.5, 0.5],
        labels=["label0", "label1"],
        model="hand",
        seconds=0.0,
    )


def model_explanation(
    classifier: Classifier, text: str, scores: Callable[[int], np.ndarray] | np.ndarray, method: str = "hand",
    pair: str | None = None, target: int | None = None,
) -> Explanation:
    """An explanation of `text` on the classifier's tokens whose content scores are given (specials get 0)."""
    batch = classifier.encode([text], None if pair is None else [pair])
    probabilities = classifier.probabilities(batch)[0]
    content = batch.content_mask[0].numpy()
    values = np.zeros(len(batch.tokens[0]))
    values[content] = scores(int(content.sum())) if callable(scores) else scores
    label = int(probabilities.argmax()) if target is None else target
    return Explanation(
        text=text,
        pair=pair,
        tokens=batch.tokens[0],
        scores=values,
        word_ids=batch.word_ids[0],
        words=batch.words[0],
        target=label,
        target_name=classifier.labels[label],
        method=method,
        settings={},
        probabilities=probabilities.tolist(),
        labels=list(classifier.labels),
        model=classifier.name,
        seconds=0.0,
    )


@pytest.fixture
def hand() -> Callable[..., Explanation]:
    return hand_explanation


@pytest.fixture
def on_model() -> Callable[..., Explanation]:
    return model_explanation
