"""Shared fixtures: tiny random classifiers of every zoo family (and of the newer families, and prompted causal LMs),
built offline from configs."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaForSequenceClassification

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from faithlab.models import Classifier, load_classifier
from faithlab.models.mean_pooled import to_mean_pooled
from faithlab.models.zoo import ZOO_FAMILIES, Size, build_classifier_folder

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

CORPUS = [
    "the movie was great and fun to watch",
    "a dull , boring film that is not good",
    "i loved every minute of it !",
    "terrible acting but great music",
    "it is fine , nothing special",
    "the plot is clever although the ending drags",
    "not bad at all , really",
    "positive negative words appear here",
    "the premise is a man walks his dog",
    "a woman is playing the guitar on stage",
] * 5

TINY = Size(layers=2, hidden=32, heads=2, vocab=200)


@pytest.fixture(scope="session")
def tiny_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One saved tiny model folder per zoo family (bert, roberta, distilbert, gpt2, t5, llama, modernbert)."""
    root = tmp_path_factory.mktemp("zoo")
    return {
        family: build_classifier_folder(family, CORPUS, root / family, size=TINY, vocab_size=TINY.vocab, seed=1)
        for family in ZOO_FAMILIES
    }


@pytest.fixture(scope="session")
def xlm_roberta_folder(tiny_folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random XLM-RoBERTa classifier (the RoBERTa tiny model's sizes and tokenizer), saved like the zoo's."""
    roberta = tiny_folders["roberta"]
    tokenizer = AutoTokenizer.from_pretrained(roberta)
    settings = {k: v for k, v in XLMRobertaConfig.from_pretrained(roberta).to_dict().items() if k != "model_type"}
    torch.manual_seed(2)
    model = XLMRobertaForSequenceClassification(XLMRobertaConfig(**settings)).eval()
    folder = tmp_path_factory.mktemp("xlm-roberta")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_classifiers(tiny_folders: dict[str, Path]) -> dict[str, Classifier]:
    torch.manual_seed(0)
    return {family: load_classifier(folder) for family, folder in tiny_folders.items()}


@pytest.fixture
def mean_pooled_bert(tiny_classifiers: dict[str, Classifier]) -> Classifier:
    """A copy of the tiny BERT encoder under faithlab's mean-pooled head (which shares BERT's adapter)."""
    base = tiny_classifiers["bert"]
    return Classifier(to_mean_pooled(copy.deepcopy(base.model)), base.tokenizer, "mean-pooled")


# The families the method tests run on: the zoo's first five. The zoo's Llama and ModernBERT run those tests as the
# tiny models of tests/tiny_families.py (NEW_FAMILIES: sizes and initialisation chosen for well-conditioned
# gradients), so they are not repeated here; tests of the zoo itself (loading, parity, build, training) take them all.
METHOD_FAMILIES = ("bert", "roberta", "distilbert", "gpt2", "t5")


@pytest.fixture(params=METHOD_FAMILIES)
def family(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def classifier(tiny_classifiers: dict[str, Classifier], family: str) -> Classifier:
    return tiny_classifiers[family]


@pytest.fixture(scope="session")
def shared_file() -> Callable[[str], Path]:
    """The path of a file under ../shared/data; a test that asks for an absent one is skipped."""

    def find(relative: str) -> Path:
        path = SHARED_DATA / relative
        if not path.exists():
            pytest.skip(f"real data not present: {path}")
        return path

    return find


@pytest.fixture(scope="session")
def family_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One saved tiny model folder per family of `NEW_FAMILIES` (decoders and the newer encoders)."""
    from tiny_families import NEW_FAMILIES, build_family_folder

    root = tmp_path_factory.mktemp("families")
    return {family: build_family_folder(family, root / family, CORPUS, TINY.vocab) for family in NEW_FAMILIES}


@pytest.fixture(scope="session")
def family_classifiers(family_folders: dict[str, Path]) -> dict[str, Classifier]:
    torch.manual_seed(0)
    return {family: load_classifier(folder) for family, folder in family_folders.items()}


@pytest.fixture(scope="session")
def causal_lm_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One saved tiny random causal LM per family of `tiny_prompted.CAUSAL_CONFIGS` (Llama, GPT-2)."""
    from tiny_prompted import CAUSAL_CONFIGS, build_causal_lm_folder

    root = tmp_path_factory.mktemp("causal")
    return {family: build_causal_lm_folder(family, root / family, CORPUS) for family in CAUSAL_CONFIGS}


@pytest.fixture(scope="session")
def prompted_classifiers(causal_lm_folders: dict[str, Path]) -> dict[str, Classifier]:
    """The causal LMs as prompted classifiers, one per prompt of `tiny_prompted.PROMPTS`."""
    from faithlab.models.prompted import load_prompted
    from tiny_prompted import PROMPTS

    return {name: load_prompted(causal_lm_folders[family], spec) for name, (family, spec) in PROMPTS.items()}
