"""faithlab's passes give the logits of stock transformers (eager attention) for every family, XLM-RoBERTa included."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, PreTrainedModel

from faithlab.models import load_classifier
from faithlab.models.t5_encoder import T5EncoderForSequenceClassification
from faithlab.models.zoo import ZOO_FAMILIES

TEXTS = ["a good film", "the plot was dull and far too long for what it had to say", "fine"]
PAIRS = ["it is good", "nothing happens", "a long and winding road of a hypothesis"]


def stock_model(folder: Path, family: str) -> PreTrainedModel:
    """The folder as transformers loads it with eager attention (T5: faithlab's encoder class, built the same way)."""
    model_class = T5EncoderForSequenceClassification if family == "t5" else AutoModelForSequenceClassification
    return model_class.from_pretrained(folder, attn_implementation="eager").eval()


@pytest.fixture(params=[*ZOO_FAMILIES, "xlm-roberta"])
def family_folder(request: pytest.FixtureRequest, tiny_folders: dict[str, Path],
                  xlm_roberta_folder: Path) -> tuple[str, Path]:
    family = request.param
    return family, xlm_roberta_folder if family == "xlm-roberta" else tiny_folders[family]


@pytest.mark.parametrize("pairs", [None, PAIRS], ids=["single", "pairs"])
def test_logits_equal_stock_transformers(family_folder: tuple[str, Path], pairs: list[str] | None) -> None:
    family, folder = family_folder
    classifier = load_classifier(folder)
    assert classifier.model.config.model_type == family
    stock = stock_model(folder, family)
    batch = classifier.encode(TEXTS, pairs)  # rows of different lengths: padded
    assert not bool(batch.attention_mask.all())
    segments = {} if batch.token_type_ids is None else {"token_type_ids": batch.token_type_ids}
    with torch.no_grad():
        expected = stock(input_ids=batch.input_ids, attention_mask=batch.attention_mask, **segments).logits
        for pooled_only in (True, False):
            ours = classifier.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids,
                                      pooled_only=pooled_only).logits
            torch.testing.assert_close(ours, expected, rtol=0, atol=1e-5)


def test_xlm_roberta_takes_the_first_token_pass(xlm_roberta_folder: Path) -> None:
    assert load_classifier(xlm_roberta_folder).pooled_last_layer


def test_loading_restores_the_callers_transformers_logging(tiny_folders: dict[str, Path]) -> None:
    import transformers

    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_info()
    transformers.utils.logging.enable_progress_bar()
    try:
        load_classifier(tiny_folders["bert"])
        assert transformers.logging.get_verbosity() == transformers.logging.INFO
        assert transformers.utils.logging.is_progress_bar_enabled()
    finally:
        transformers.logging.set_verbosity(verbosity)
