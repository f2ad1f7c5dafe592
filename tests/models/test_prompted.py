"""A causal LM prompted as a classifier: its class scores against stock transformers, padding on either side, the
prompt's tokens marked like special tokens (never removed, never ranked), truncation, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

import faithlab as fl
from faithlab.errors import FaithlabError
from faithlab.explain import get_explainer
from faithlab.models import Classifier
from faithlab.models.prompt import FewShotExample, PromptSpec
from faithlab.models.prompted import load_prompted
from tiny_prompted import ONE_TOKEN, PROMPTS, SEVERAL_TOKENS, TEMPLATE

TEXTS = ["not bad", "the movie was great and fun to watch", "a dull , boring film that is not good"]


def stock_label_log_probs(folder: Path, prompt: str, words: list[str]) -> torch.Tensor:
    """log p(word | prompt) per word, summed over the word's tokens, with stock transformers: the prompt and the word
    tokenized apart, one unpadded pass each, log-softmax of the LM logits at the positions that predict the word."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    context = tokenizer(prompt)["input_ids"]
    out = []
    for word in words:
        label = tokenizer(word, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([context + label])).logits[0]
        log_probs = torch.log_softmax(logits.double(), dim=-1)
        out.append(sum(log_probs[len(context) - 1 + j, token] for j, token in enumerate(label)))
    return torch.stack(out)


@pytest.mark.parametrize("name", sorted(PROMPTS))
def test_class_scores_equal_stock_transformers(prompted_classifiers: dict[str, Classifier],
                                               causal_lm_folders: dict[str, Path], name: str) -> None:
    family, spec = PROMPTS[name]
    classifier = prompted_classifiers[name]
    scores = classifier.batch_logits(classifier.encode(TEXTS))  # one right-padded batch
    shots = "".join(TEMPLATE.replace("{text}", e.text) + spec.labels[e.label] + spec.separator for e in spec.examples)
    for row, text in enumerate(TEXTS):
        expected = stock_label_log_probs(causal_lm_folders[family], shots + TEMPLATE.replace("{text}", text),
                                         list(spec.labels.values()))
        if spec.score == "log_odds":
            expected = expected - expected.mean()
        torch.testing.assert_close(scores[row].double(), expected, rtol=1e-4, atol=1e-5)
    assert classifier.labels == ["negative", "positive"]


@pytest.mark.parametrize("name", sorted(PROMPTS))
def test_left_padding_right_padding_and_no_padding_give_the_same_scores(prompted_classifiers, name: str) -> None:
    classifier = prompted_classifiers[name]
    batch = classifier.encode(TEXTS)
    right = classifier.batch_logits(batch)
    ids, mask = batch.input_ids, batch.attention_mask
    lengths = mask.sum(dim=1)
    assert len(set(lengths.tolist())) == len(TEXTS), "rows of different lengths, so padding is present"
    left_ids, left_mask = torch.full_like(ids, classifier.tokenizer.pad_token_id), torch.zeros_like(mask)
    for row, n in enumerate(lengths.tolist()):
        left_ids[row, -n:], left_mask[row, -n:] = ids[row, :n], 1
    torch.testing.assert_close(classifier.logits(left_ids, left_mask), right, rtol=1e-4, atol=1e-5)
    for row, n in enumerate(lengths.tolist()):
        alone = classifier.logits(ids[row : row + 1, :n], mask[row : row + 1, :n])
        torch.testing.assert_close(alone[0], right[row], rtol=1e-4, atol=1e-5)


def test_prompt_tokens_are_marked_special_and_words_point_into_the_text(prompted_classifiers) -> None:
    classifier = prompted_classifiers["gpt2-few-shot"]
    batch = classifier.encode(["not bad"])
    content = [batch.tokens[0][t] for t in range(len(batch.tokens[0])) if batch.content_mask[0, t]]
    assert content == ["Ġnot", "Ġbad"]  # the few-shot examples, the template and its label words are the prompt's
    assert [batch.word_text(0, w) for w in range(len(batch.words[0]))] == ["not", "bad"]
    (explanation,) = get_explainer("occlusion", classifier).explain(["not bad"])
    assert [explanation.tokens[t] for t in explanation.content] == ["Ġnot", "Ġbad"]
    hidden = np.setdiff1d(np.arange(len(explanation.tokens)), explanation.content)
    assert np.all(explanation.scores[hidden] == 0), "occlusion never removes a prompt token"
    assert np.all(explanation.normalized()[hidden] == 0), "views hide the prompt by default"


def test_metrics_rank_only_the_text(prompted_classifiers) -> None:
    classifier = prompted_classifiers["llama"]
    result = fl.explain(classifier, TEXTS[1:], methods="occlusion")
    flooded = []
    for explanation in result["occlusion"]:
        loud = explanation.scores.copy()
        loud[np.setdiff1d(np.arange(len(loud)), explanation.content)] = 1e6  # the prompt's tokens ranked first
        flooded.append(fl.Explanation.from_dict(explanation.to_dict() | {"scores": loud.tolist()}))
    plain = fl.evaluate(classifier, result, metrics="faithfulness")
    loud = fl.evaluate(classifier, {"occlusion": flooded}, metrics="faithfulness")
    assert {"comprehensiveness", "sufficiency", "loo_spearman"} <= set(plain["metric"])
    assert list(loud["metric"]) == list(plain["metric"])
    np.testing.assert_allclose(loud["value"].to_numpy(float), plain["value"].to_numpy(float))


def test_a_long_text_is_cut_and_the_prompt_kept(causal_lm_folders: dict[str, Path]) -> None:
    spec = PromptSpec(template=TEMPLATE, labels=SEVERAL_TOKENS)
    classifier = load_prompted(causal_lm_folders["llama"], spec, max_length=16)
    assert classifier.max_length == 16 - 4  # room for the longest label
    batch = classifier.encode(["the movie was great and fun to watch " * 3, "not bad"])
    assert batch.truncated == [True, False]
    assert int(batch.lengths[0]) <= classifier.max_length
    assert batch.tokens[0][-2:] == ["Ġsentiment", "Ġ:"] and batch.tokens[0][:2] == ["Ġreview", "Ġ:"]
    assert "the movie was" in batch.texts[0] and len(batch.texts[0]) < len("the movie was great and fun to watch " * 3)
    few_shot = PromptSpec(template=TEMPLATE, labels=SEVERAL_TOKENS,
                          examples=[FewShotExample(text="i loved every minute of it", label="positive")])
    with pytest.raises(FaithlabError, match="leaves no room for the text"):
        load_prompted(causal_lm_folders["llama"], few_shot, max_length=18).encode("not bad")


def test_lrp_conserves_the_log_odds_of_one_token_labels(prompted_classifiers) -> None:
    """Llama has no biases: the relevance adds up to the target's centred logit (the vocabulary's normaliser
    cancels between one-token labels)."""
    classifier = prompted_classifiers["llama"]
    for explanation in get_explainer("lrp", classifier).explain(TEXTS):
        assert abs(explanation.extras["conservation_gap"]) < 1e-4
        assert abs(explanation.scores.sum()) > 1e-3


@pytest.mark.parametrize(("name", "why"), [("llama-phrases", "log_prob"), ("gpt2-phrases", "several tokens")])
def test_lrp_refuses_scores_its_rules_do_not_cover(prompted_classifiers, name: str, why: str) -> None:
    with pytest.raises(FaithlabError, match=f"LRP cannot explain this prompted .*{why}"):
        get_explainer("lrp", prompted_classifiers[name])


def test_load_from_the_public_api(causal_lm_folders: dict[str, Path], prompted_classifiers) -> None:
    model = fl.load(causal_lm_folders["llama"], prompt=TEMPLATE, labels=ONE_TOKEN)
    torch.testing.assert_close(torch.tensor(model.predict(TEXTS)), torch.tensor(prompted_classifiers["llama"].predict(
        TEXTS)))
    with pytest.raises(FaithlabError, match=r"prompt: .*template.*\{text\}"):
        fl.load(causal_lm_folders["llama"], prompt="no slot here", labels=ONE_TOKEN)
    with pytest.raises(FaithlabError, match="inside the PromptSpec"):
        fl.load(causal_lm_folders["llama"], prompt=PROMPTS["llama"][1], labels=ONE_TOKEN)


@pytest.mark.parametrize(("values", "message"), [
    ({"labels": {"only": " one"}}, "at least two classes"),
    ({"labels": {"a": " x", "b": " x"}}, "distinct"),
    ({"examples": [{"text": "fine", "label": "neutral"}]}, "choose one of"),
    ({"score": "probability"}, "log_odds"),
])
def test_bad_prompts_are_refused_by_name(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PromptSpec.model_validate({"template": TEMPLATE, "labels": ONE_TOKEN} | values)


def test_pairs_only_with_a_pair_slot_and_encoders_are_refused(prompted_classifiers, tiny_folders) -> None:
    with pytest.raises(FaithlabError, match="no slot for a pair"):
        prompted_classifiers["llama"].encode(["a man walks"], ["a person walks"])
    with pytest.raises(FaithlabError, match="'bert' model; a prompt needs a causal LM"):
        load_prompted(tiny_folders["bert"], PROMPTS["llama"][1])


def test_a_pair_slot_puts_each_side_in_its_own_words(causal_lm_folders: dict[str, Path]) -> None:
    spec = PromptSpec(template="premise : {text} hypothesis : {text_pair} entailment", labels=ONE_TOKEN)
    classifier = load_prompted(causal_lm_folders["gpt2"], spec)
    batch = classifier.encode(["a man walks"], ["a person walks"])
    words = [(batch.words[0][w][0], batch.word_text(0, w)) for w in range(len(batch.words[0]))]
    assert words == [(0, "a"), (0, "man"), (0, "walks"), (1, "a"), (1, "person"), (1, "walks")]
    with pytest.raises(FaithlabError, match="needs a pair"):
        classifier.encode(["a man walks"])


def test_the_cli_explains_a_prompted_causal_lm(causal_lm_folders: dict[str, Path], tmp_path: Path) -> None:
    """--prompt-template and --label-words, or a YAML prompt file: the same classifier; the prompt's tokens are
    hidden like special tokens in what is written."""
    from typer.testing import CliRunner

    from faithlab import jobs
    from faithlab.cli import app
    from faithlab.explain.io import iter_jsonl

    folder = str(causal_lm_folders["llama"])
    words = ["--label-words", "negative= bad", "--label-words", "positive= good"]
    inline = CliRunner().invoke(app, ["explain", "-m", folder, "--methods", "occlusion", "--prompt-template", TEMPLATE,
                                      *words, "--out", str(tmp_path / "inline"), "not bad"])
    assert inline.exit_code == 0, inline.output
    (tmp_path / "prompt.yaml").write_text(f"template: '{TEMPLATE}'\nlabels: {{negative: ' bad', positive: ' good'}}\n")
    from_file = CliRunner().invoke(app, ["explain", "-m", folder, "--methods", "occlusion", "--prompt",
                                         str(tmp_path / "prompt.yaml"), "--out", str(tmp_path / "file"), "not bad"])
    assert from_file.exit_code == 0, from_file.output
    written = [e for run in ("inline", "file") for e in iter_jsonl(tmp_path / run / jobs.JSONL_NAME)]
    assert [written[0].tokens[t] for t in written[0].content] == ["Ġnot", "Ġbad"]
    np.testing.assert_array_equal(written[0].scores, written[1].scores)
    assert written[0].probabilities == pytest.approx(prompted_probabilities(folder))
    bad = CliRunner().invoke(app, ["explain", "-m", folder, "--prompt-template", TEMPLATE, "--label-words", "good",
                                   "not bad"])
    assert bad.exit_code == 2 and "CLASS=WORD" in bad.output


def prompted_probabilities(folder: str) -> list[float]:
    return fl.load(folder, prompt=TEMPLATE, labels=ONE_TOKEN).predict("not bad")[0].tolist()
