"""Recursive remove-and-retrain (Madsen et al. 2022): the masking it does by hand, its rows, and on the planted task
an oracle that masks the planted word drops accuracy to chance while random masking does not."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from faithlab.bench.config import parse_config
from faithlab.bench.roar import retrainer, roar_methods
from faithlab.bench.runner import plan_units
from faithlab.data import builtin_sentences
from faithlab.errors import FaithlabError
from faithlab.evaluate.roar import METRIC, WordScores, evaluate_roar, method_importance
from faithlab.models import Classifier, load_classifier
from faithlab.models.zoo import Size, build_classifier_folder
from faithlab.train.config import DataConfig
from faithlab.train.task_data import load_splits

LABEL_WORDS = ("negative", "positive")


def oracle(_: Classifier, texts: Sequence[str]) -> list[WordScores]:
    """Importance 1 for the planted label word, 0 for every other whitespace word."""
    out = []
    for text in texts:
        words = list(re.finditer(r"\S+", text))
        out.append(WordScores([m.span() for m in words], np.array([float(m.group() in LABEL_WORDS) for m in words])))
    return out


def test_masking_by_hand_and_the_rows(tiny_classifiers) -> None:
    bert = tiny_classifiers["bert"]
    train = (["positive the film was fine", "negative a slow and dull film"], [1, 0])
    test = (["negative not good", "positive very good indeed"], [0, 1])
    seen: list[list[str]] = []

    def keep_model(train_split: tuple, test_split: tuple, step: int) -> Classifier:
        seen.append(train_split[0])
        assert test_split[1] == test[1]
        return bert

    rows = evaluate_roar(bert, "oracle", oracle, train, test, fractions=[0.01, 0.5], retrain=keep_model)
    # step 1 masks ceil(0.01 * n) = 1 word: the planted one; step 2 masks more until ceil(0.5 * n) are masked
    assert seen[0] == ["[MASK] the film was fine", "[MASK] a slow and dull film"]
    assert seen[1] == ["[MASK] [MASK] [MASK] was fine", "[MASK] [MASK] [MASK] and dull film"]
    assert [(r.example, r.settings["fraction"], r.metric) for r in rows] == [(0, 0.0, METRIC), (1, 0.01, METRIC),
                                                                           (2, 0.5, METRIC)]
    predicted = bert.predict(test[0]).argmax(axis=1)
    assert rows[0].value == pytest.approx(np.mean(predicted == np.array(test[1])))
    assert all(0.0 <= r.value <= 1.0 for r in rows)


def test_fractions_must_increase(tiny_classifiers) -> None:
    bert = tiny_classifiers["bert"]
    with pytest.raises(FaithlabError, match=r"roar fractions must increase within \(0, 1\], got \[0\.5, 0\.2\]"):
        evaluate_roar(bert, "oracle", oracle, (["a b"], [0]), (["a b"], [0]), fractions=[0.5, 0.2],
                      retrain=lambda *_: bert)


def test_roar_is_opt_in_and_runs_random_as_baseline(tmp_path: Path, tiny_folders) -> None:
    raw = {"models": [{"name": "tiny", "path": str(tiny_folders["bert"])}],
           "datasets": [{"name": "builtin", "kind": "planted", "path": "builtin"}], "methods": ["grad_x_input"],
           "metrics": ["faithfulness"]}
    off = parse_config(raw)
    assert not off.roar.enabled
    assert not any(u.name.startswith("roar") for u in plan_units(off, off.models[0], off.datasets[0], []))
    on = parse_config(raw | {"roar": {"enabled": True, "fractions": [0.1]}})
    assert roar_methods(on) == [("grad_x_input", {}), ("random", {})]
    names = [u.name for u in plan_units(on, on.models[0], on.datasets[0], [])]
    assert names == ["roar:grad_x_input", "roar:random"]
    with pytest.raises(FaithlabError, match=r"roar\.train"):
        parse_config(raw | {"roar": {"enabled": True, "train": {"epoch": 2}}})


def test_oracle_masking_drops_accuracy_to_chance_random_does_not(tmp_path: Path) -> None:
    # the test_trainer recipe: the label word first, next to [CLS]; a 2-layer model finds it in 2 epochs
    tiny = Size(layers=2, hidden=32, heads=2, vocab=300)
    folder = build_classifier_folder("bert", [*builtin_sentences(), *LABEL_WORDS], tmp_path / "bert", size=tiny,
                                     vocab_size=tiny.vocab, seed=11)
    splits = load_splits(DataConfig(position="start", label_words=list(LABEL_WORDS)), seed=0)
    # mean pooling: the planted word's embedding reaches the head directly, so a few epochs always find it; 2 epochs
    # of batches of 8 at 5e-3 (66 steps) learned it for model seeds 11, 3 and 5 (random masking: 0.88-0.95 accuracy)
    base = {"model": str(folder), "epochs": 2, "batch_size": 8, "learning_rate": 5e-3, "warmup_ratio": 0.1,
            "dropout": 0.1, "pooling": "mean", "progress": False}
    names = list(splits.train.label_names)
    train = (splits.train.texts, [e.label for e in splits.train])
    test = (splits.test.texts, [e.label for e in splits.test])
    start = load_classifier(folder)
    masked = evaluate_roar(start, "oracle", oracle, train, test, fractions=[0.01],
                           retrain=retrainer(base, names, tmp_path / "oracle"))
    random = evaluate_roar(start, "random", method_importance("random"), train, test, fractions=[0.01],
                           retrain=retrainer(base, names, tmp_path / "random"))
    chance = max(np.mean(np.array(test[1]) == c) for c in (0, 1))
    assert masked[1].value <= chance + 0.1  # the only evidence is gone: the retrained model guesses
    assert random[1].value >= 0.75  # one random word of ~10 rarely is the planted one
