"""ROAD-style infilling against masking and infilling by hand with a tiny (untrained, but real) BERT masked LM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertForMaskedLM

import faithlab as fl
from faithlab.errors import FaithlabError
from faithlab.evaluate import evaluate_road, top_k_size
from faithlab.models import Classifier

TEXT = "the plot is clever although the ending drags"


@pytest.fixture(scope="module")
def mlm_folder(tiny_classifiers: dict[str, Classifier], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BertForMaskedLM with the tiny BERT classifier's sizes and tokenizer, saved like any model folder."""
    classifier = tiny_classifiers["bert"]
    torch.manual_seed(7)
    model = BertForMaskedLM(classifier.model.config).eval()
    folder = tmp_path_factory.mktemp("mlm")
    model.save_pretrained(folder)
    classifier.tokenizer.save_pretrained(folder)
    return folder


def infilled_probabilities(classifier: Classifier, mlm: BertForMaskedLM, text: str, removed: list[int]) -> np.ndarray:
    """Mask the given content tokens, take the masked LM's best non-special token at each, classify the result."""
    batch = classifier.encode([text])
    content = np.flatnonzero(batch.content_mask[0].numpy())
    ids = batch.input_ids.clone()
    positions = [int(content[i]) for i in removed]
    ids[0, positions] = classifier.tokenizer.mask_token_id
    with torch.inference_mode():
        logits = mlm(input_ids=ids, attention_mask=batch.attention_mask, token_type_ids=batch.token_type_ids).logits
    logits = logits.clone()
    logits[..., classifier.tokenizer.all_special_ids] = -float("inf")
    ids[0, positions] = logits[0, positions].argmax(dim=-1)
    assert not set(ids[0, positions].tolist()) & set(classifier.tokenizer.all_special_ids)
    out = classifier.logits(ids, batch.attention_mask, batch.token_type_ids)
    return torch.softmax(out.double(), dim=-1)[0].numpy()


def test_road_equals_infilling_by_hand(tiny_classifiers: dict[str, Classifier], on_model, mlm_folder: Path) -> None:
    classifier = tiny_classifiers["bert"]
    mlm = BertForMaskedLM.from_pretrained(mlm_folder).eval()
    scores = np.array([0.2, 3.0, -1.0, 2.0, 0.0, 1.0, 0.5, -2.0])  # order: 1, 3, 5, 6, 4, 0, 2, 7
    order = list(np.argsort(-scores, kind="stable"))
    explanation = on_model(classifier, TEXT, scores)
    fractions = (0.25, 0.5, 1.0)
    rows = {r.metric: r for r in evaluate_road(classifier, [explanation], infill_model=mlm_folder, fractions=fractions)}
    target = explanation.target
    p = classifier.predict(TEXT)[0, target]
    n = len(scores)
    comp = [p - infilled_probabilities(classifier, mlm, TEXT, order[: top_k_size(f, n)])[target] for f in fractions]
    suff = [p - infilled_probabilities(classifier, mlm, TEXT, order[top_k_size(f, n) :])[target] for f in fractions]
    assert rows["road_comprehensiveness"].details["per_fraction"] == pytest.approx(comp, abs=1e-6)
    assert rows["road_sufficiency"].details["per_fraction"] == pytest.approx(suff, abs=1e-6)
    assert rows["road_sufficiency"].details["per_fraction"][-1] == pytest.approx(0.0, abs=1e-6)  # nothing infilled
    assert rows["road_comprehensiveness"].value == pytest.approx(np.mean(comp), abs=1e-6)


def test_road_runs_through_the_public_api_and_refuses_a_foreign_tokenizer(
    tiny_classifiers: dict[str, Classifier], tiny_folders: dict[str, Path], on_model, mlm_folder: Path
) -> None:
    classifier = tiny_classifiers["bert"]
    explanation = on_model(classifier, TEXT, lambda n: np.arange(n, dtype=float))
    table = fl.evaluate(classifier, [explanation], metrics=["road"], settings={"road": {"infill_model": mlm_folder}})
    assert sorted(table["metric"]) == ["road_comprehensiveness", "road_sufficiency"]
    with pytest.raises(FaithlabError, match="another tokenizer"):
        evaluate_road(classifier, [explanation], infill_model=tiny_folders["roberta"])
    with pytest.raises(FaithlabError, match="infill model"):
        evaluate_road(classifier, [explanation])
    gpt2 = tiny_classifiers["gpt2"]
    with pytest.raises(FaithlabError, match="no mask token"):
        evaluate_road(gpt2, [on_model(gpt2, TEXT, lambda n: np.ones(n))], infill_model=mlm_folder)
