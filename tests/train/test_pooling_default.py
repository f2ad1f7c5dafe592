"""Pooling 'auto' on a sentence encoder getting a new head pools as the encoder was trained (its Pooling module)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faithlab.models import load_classifier
from faithlab.train.modeling import classifier_to_train, encoder_pooling


def sentence_encoder(tiny_folders: dict[str, Path], folder: Path, mode: str | None) -> Path:
    """The tiny BERT's encoder saved as a sentence-transformers folder whose Pooling module pools by `mode`."""
    base = load_classifier(tiny_folders["bert"])
    base.model.bert.save_pretrained(folder)
    base.tokenizer.save_pretrained(folder)
    if mode is not None:
        modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
        (folder / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
        (folder / "1_Pooling").mkdir()
        settings = {"pooling_mode_cls_token": mode == "cls", "pooling_mode_mean_tokens": mode == "mean"}
        (folder / "1_Pooling" / "config.json").write_text(json.dumps(settings), encoding="utf-8")
    return folder


@pytest.mark.parametrize(("mode", "head"), [("mean", "BertMeanPooledForSequenceClassification"),
                                            ("cls", "BertForSequenceClassification"),
                                            (None, "BertForSequenceClassification")])
def test_auto_pooling_follows_the_encoders_pooling_module(tiny_folders: dict[str, Path], tmp_path: Path,
                                                           mode: str | None, head: str):
    folder = sentence_encoder(tiny_folders, tmp_path / "encoder", mode)
    assert encoder_pooling(folder) == mode
    classifier = classifier_to_train(folder, ["negative", "positive"], new_head=True, pooling="auto", dropout=None,
                                     device="cpu")
    assert type(classifier.model).__name__ == head
    assert not classifier.head_trained


def test_auto_pooling_keeps_a_trained_head(tiny_folders: dict[str, Path], tmp_path: Path):
    classifier = classifier_to_train(tiny_folders["bert"], None, new_head=False, pooling="auto", dropout=None,
                                     device="cpu")
    assert type(classifier.model).__name__ == "BertForSequenceClassification" and classifier.head_trained


def test_explicit_cls_pooling_overrides_a_mean_pooled_encoder(tiny_folders: dict[str, Path], tmp_path: Path):
    folder = sentence_encoder(tiny_folders, tmp_path / "encoder", "mean")
    classifier = classifier_to_train(folder, ["negative", "positive"], new_head=True, pooling="cls", dropout=None,
                                     device="cpu")
    assert type(classifier.model).__name__ == "BertForSequenceClassification"


def test_unreadable_pooling_module_means_no_preference(tmp_path: Path):
    (tmp_path / "modules.json").write_text("not json", encoding="utf-8")
    assert encoder_pooling(tmp_path) is None
    assert encoder_pooling(tmp_path / "missing") is None
