"""e-SNLI JSONL in both layouts (tokens joined by spaces; raw text with punctuation split off): tokens are aligned
to the raw text's characters, highlights land on the right model tokens, and only unalignable rows are malformed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from faithlab.bench.runner import rationale_mask
from faithlab.data import align_tokens, read_esnli_jsonl, word_spans
from faithlab.evaluate import token_rationale
from faithlab.explain import explain_many

RAW = "A man sits at a church."
TOKENS = ["A", "man", "sits", "at", "a", "church", "."]


def _row(premise: str, premise_tokens: list[str], **extra) -> dict:
    return {"pairID": "p1", "label": "entailment", "premise": premise, "hypothesis": "A man sits .",
            "premise_tokens": premise_tokens, "hypothesis_tokens": ["A", "man", "sits", "."],
            "premise_highlight": [5], "hypothesis_highlight": [1], **extra}


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_tokens_are_aligned_to_raw_text_whitespace_or_not():
    assert align_tokens(RAW, TOKENS) == [(0, 1), (2, 5), (6, 10), (11, 13), (14, 15), (16, 22), (22, 23)]
    assert align_tokens(" ".join(TOKENS), TOKENS) == word_spans(" ".join(TOKENS))
    quoted = 'He said "no".'
    spans = align_tokens(quoted, ["He", "said", "``", "no", "''", "."])  # NLTK's quotes
    assert [quoted[a:b] for a, b in spans] == ["He", "said", '"', "no", '"', "."]


@pytest.mark.parametrize(("text", "tokens", "message"), [
    ("A man sits at a chapel.", TOKENS, "token 5 'church' is not in the text"),
    ("A man sits at a church. Then", TOKENS, "the text goes on after the last token"),
    (RAW, ["A", "", "sits"], "token 1 is '', not a word"),
])
def test_tokens_that_are_not_the_text_cannot_be_aligned(text, tokens, message):
    with pytest.raises(ValueError, match=message):
        align_tokens(text, tokens)


def test_both_layouts_are_read_and_only_unalignable_rows_are_malformed(tmp_path):
    rows = [
        _row(" ".join(TOKENS), TOKENS),  # line 1: tokens joined by spaces
        _row(RAW, TOKENS),  # line 2: raw text, "." split off
        _row("A woman sits at a church.", TOKENS),  # line 3: other words than the tokens
    ]
    data = read_esnli_jsonl(_write(tmp_path / "esnli.jsonl", rows))
    joined, raw = data
    assert joined.spans is None and joined.words == joined.text.split() and joined.rationale == [0] * 5 + [1, 0]
    assert raw.text == RAW and raw.words == TOKENS and raw.rationale == [0] * 5 + [1, 0]
    assert [raw.text[a:b] for (a, b), bit in zip(raw.spans, raw.rationale, strict=True) if bit] == ["church"]
    assert raw.pair_spans is None  # the hypothesis is its tokens joined by spaces
    (group,) = data.report.skipped()
    assert (group.reason, group.count, group.rows) == ("premise_tokens cannot be aligned to premise", 1, [3])
    assert "token 1 'man' is not in the text at character 2" in data.report.issues[0].reason


def test_whitespace_highlight_indices_are_used_when_the_file_has_them(tmp_path):
    row = _row(RAW, ["unused"], premise_highlight_ws=[5], hypothesis_highlight_ws=[1])
    (example,) = read_esnli_jsonl(_write(tmp_path / "ws.jsonl", [row]))
    assert example.spans is None and example.words == RAW.split() and example.rationale == [0] * 5 + [1]


def test_a_highlighted_token_marks_the_model_tokens_of_its_characters_only(tiny_classifiers, tmp_path):
    (example,) = read_esnli_jsonl(_write(tmp_path / "raw.jsonl", [_row(RAW, TOKENS)]))
    classifier = tiny_classifiers["bert"]
    (explanation,) = explain_many(classifier, [example.text], [("random", {})], [example.pair])["random"]
    mask = token_rationale(explanation, rationale_mask(example.rationale, example.spans),
                           rationale_mask(example.pair_rationale, example.pair_spans))
    marked = {(explanation.words[w][0], explanation.word_text(w)) for w, bit in zip(explanation.word_ids, mask,
                                                                                    strict=True) if bit}
    assert marked == {(0, "church"), (1, "man")}  # not the "." after church
    full_stop = [t for t, w in enumerate(explanation.word_ids) if w is not None and explanation.word_text(w) == "."]
    assert full_stop and not mask[full_stop].any()
    assert np.flatnonzero(mask).size >= 2



def test_real_raw_sentences_align_and_highlights_match_the_original_csv(tmp_path, shared_file):
    """Rows 0-122 in the raw-text layout (raw sentences from the original CSV, NLTK tokens and highlights from the
    JSONL): every row is kept, and each highlighted token lies in the whitespace word annotator 1 marked."""
    table = list(csv.DictReader(shared_file("esnli/esnli_dev_highlights_first123.csv").open(encoding="utf-8")))
    with shared_file("rationales/esnli/esnli_dev_annot1_highlights.jsonl").open(encoding="utf-8") as handle:
        tokens = [json.loads(next(handle)) for _ in table]
    rows = [t | {"premise": r["Sentence1"], "hypothesis": r["Sentence2"]} for r, t in zip(table, tokens, strict=True)]
    data = read_esnli_jsonl(_write(tmp_path / "raw.jsonl", rows), on_error="raise")
    assert len(data) == 123 and sum(e.spans is not None for e in data) > 100
    for example, record in zip(data, table, strict=True):
        for text, spans, mask, column in ((example.text, example.spans, example.rationale, "Sentence1_Highlighted_1"),
                                          (example.pair, example.pair_spans, example.pair_rationale,
                                           "Sentence2_Highlighted_1")):
            words = word_spans(text)
            starts = [a for (a, _), bit in zip(spans or words, mask, strict=True) if bit]
            marked = {i for i, (start, end) in enumerate(words) for a in starts if start <= a < end}
            cell = record[column].strip("{} ")
            assert marked == {int(i) for i in cell.split(",") if i}, (text, column)
