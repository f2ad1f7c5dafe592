"""Recursive remove-and-retrain (Madsen et al. 2022, "Evaluating the Faithfulness of Importance Measures in NLP by
Recursively Masking Allegedly Important Tokens and Retraining", Findings of EMNLP).

Removal metrics score masked inputs the model never saw in training, so a drop may come from the distribution
shift rather than from lost evidence. ROAR retrains on the masked data instead: at each step the words a method
ranks highest are masked in the training and the test texts, a model is retrained on them, and its test accuracy
measured. "Recursive": each step's importance is recomputed by the model retrained at the step before, on the
texts already masked, and adds to the words masked so far. A faithful method makes accuracy fall faster than the
random baseline. Retraining is the caller's (`retrain`), so this module needs no training code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from faithlab.errors import FaithlabError
from faithlab.evaluate.results import Row
from faithlab.explain import explain_many
from faithlab.models import Classifier
from faithlab.models.windows import encode_windowed

METRIC = "roar_accuracy"


@dataclass
class WordScores:
    """Importance of each word of one text; `spans` are the words' (start, end) characters in the text."""

    spans: list[tuple[int, int]]
    scores: np.ndarray


Importance = Callable[[Classifier, Sequence[str]], list[WordScores]]
Split = tuple[list[str], list[int]]  # texts and label indices
Retrain = Callable[[Split, Split, int], Classifier]  # (masked train split, masked test split, step) → trained model


def method_importance(name: str, settings: dict | None = None) -> Importance:
    """An explanation method's word importance (token scores summed per word; higher = more evidence for the
    predicted class, as the removal metrics rank them)."""

    def importance(classifier: Classifier, texts: Sequence[str]) -> list[WordScores]:
        explanations = explain_many(classifier, list(texts), [(name, settings or {})])[name]
        return [WordScores([(start, end) for _, start, end in e.words], e.word_scores("sum")) for e in explanations]

    return importance


@dataclass
class _Split:
    texts: list[str]
    masked: list[set[tuple[int, int]]]  # spans of the original text masked so far
    words: list[list[tuple[int, int]]]  # the original text's word spans


def evaluate_roar(
    classifier: Classifier,
    method: str,
    importance: Importance,
    train: tuple[Sequence[str], Sequence[int]],
    test: tuple[Sequence[str], Sequence[int]],
    *,
    fractions: Sequence[float],
    retrain: Retrain,
) -> list[Row]:
    """Test accuracy after each recursive mask-and-retrain step of one importance measure.

    Args:
        classifier: the model trained on the unmasked data (it ranks the words of the first step).
        method: the name the rows carry.
        importance: word importance of a model on texts (`method_importance`, or any other ranking).
        train: the training texts and label indices the models are retrained on.
        test: the test texts and label indices.
        fractions: increasing shares of each text's words masked after each step, in (0, 1]; a text masks
            ceil(fraction × words), so any fraction masks at least one word.
        retrain: trains a fresh model on the masked train split (the masked test split is given for its own
            report; the step index lets it keep each model apart).

    Returns:
        One row per step (step 0: no masking, the given model): value = test accuracy, settings = fraction.
    """
    if list(fractions) != sorted(fractions) or not all(0 < f <= 1 for f in fractions):
        raise FaithlabError(f"roar fractions must increase within (0, 1], got {list(fractions)}")
    token = classifier.tokenizer.mask_token or classifier.tokenizer.unk_token
    ranked = [importance(classifier, texts) for texts, _ in (train, test)]
    splits = [_Split(list(texts), [set() for _ in texts], [w.spans for w in scores])
              for (texts, _), scores in zip((train, test), ranked, strict=True)]
    rows = [_row(method, 0, 0.0, _accuracy(classifier, test[0], test[1]))]
    model = classifier
    for step, fraction in enumerate(fractions, start=1):
        if step > 1:  # rank the words still visible with the model of the step before
            ranked = [importance(model, _masked_texts(split, token)) for split in splits]
        for split, scores in zip(splits, ranked, strict=True):
            _mask_more(split, scores, fraction, token)
        masked_test = (_masked_texts(splits[1], token), list(test[1]))
        model = retrain((_masked_texts(splits[0], token), list(train[1])), masked_test, step)
        rows.append(_row(method, step, fraction, _accuracy(model, *masked_test)))
    return rows


def _mask_more(split: _Split, ranked: list[WordScores], fraction: float, token: str) -> None:
    """Mask the highest-ranked visible words of each text until ceil(fraction × words) are masked; `ranked` scores
    the masked texts, whose words are matched back to the original words by position."""
    for masked, words, scores in zip(split.masked, split.words, ranked, strict=True):
        visible = [span for span in words if span not in masked]
        values = np.array([_score_within(scores, _shifted(span, masked, token)) for span in visible])
        order = np.argsort(-values, kind="stable")
        wanted = math.ceil(fraction * len(words)) - len(masked)
        masked.update(visible[i] for i in order[: max(wanted, 0)])


def _shifted(span: tuple[int, int], masked: set[tuple[int, int]], token: str) -> tuple[int, int]:
    """Where an unmasked word of the original text sits in the masked text."""
    shift = sum(len(token) - (end - start) for start, end in masked if end <= span[0])
    return span[0] + shift, span[1] + shift


def _score_within(scores: WordScores, span: tuple[int, int]) -> float:
    """The summed importance of the explained words inside `span` (a tokenizer may split it no differently)."""
    return float(sum(v for (start, end), v in zip(scores.spans, scores.scores, strict=True)
                     if start >= span[0] and end <= span[1]))


def _masked_texts(split: _Split, token: str) -> list[str]:
    out = []
    for text, masked in zip(split.texts, split.masked, strict=True):
        pieces, last = [], 0
        for start, end in sorted(masked):
            pieces += [text[last:start], token]
            last = end
        out.append("".join([*pieces, text[last:]]))
    return out


def _accuracy(classifier: Classifier, texts: Sequence[str], labels: Sequence[int]) -> float:
    """Accuracy of the model's predictions, a text past the limit predicted from its windows as it was ranked."""
    predicted = classifier.probabilities(encode_windowed(classifier, list(texts))).argmax(dim=1).cpu().numpy()
    return float(np.mean(predicted == np.asarray(labels)))


def _row(method: str, step: int, fraction: float, accuracy: float) -> Row:
    return Row(method=method, metric=METRIC, example=step, value=accuracy,
               settings={"fraction": fraction, "recursive": True}, details={"step": step})
