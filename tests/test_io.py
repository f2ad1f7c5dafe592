"""Explanations survive JSON Lines, interrupted writes are repaired, the DataFrame has a row per token."""

from __future__ import annotations

import json

import numpy as np
import pytest

import faithlab
from faithlab.errors import FaithlabError
from faithlab.explain import Explanation, explain_many
from faithlab.explain.io import (
    DATAFRAME_COLUMNS,
    iter_records,
    read_jsonl,
    repair_jsonl,
    to_dataframe,
    write_jsonl,
)

METHODS = ["attention_sum", "gradient"]


def make(
    text: str, scores: list[float], method: str = "m", pair: str | None = None, special: float = 0.0
) -> Explanation:
    """A hand-made explanation of the probability, tokens deleted: [CLS] + one token per whitespace word + [SEP]."""
    words, start = [], 0
    for word in text.split():
        start = text.index(word, start)
        words.append((0, start, start + len(word)))
        start += len(word)
    return Explanation(
        text=text, pair=pair, tokens=["[CLS]", *text.split(), "[SEP]"], scores=[special, *scores, special],
        word_ids=[None, *range(len(words)), None], words=words, target=1, target_name="positive", method=method,
        settings={"seed": 3}, probabilities=[0.25, 0.75], labels=["negative", "positive"], model="tiny",
        seconds=0.5, output="probability", replacement="delete", warnings=["a warning"],
        extras={"delta": np.float32(0.5), "table": np.arange(3)},
    )


@pytest.fixture(scope="module")
def real_explanations(tiny_classifiers) -> list[Explanation]:
    results = explain_many(tiny_classifiers["bert"], ["the movie was great", "not bad at all"], METHODS)
    return [e for rows in results.values() for e in rows]


def test_jsonl_round_trip_keeps_every_field(tmp_path, real_explanations):
    path = tmp_path / "e.jsonl"
    assert write_jsonl(real_explanations, path) == len(real_explanations)
    back = read_jsonl(path)
    assert [e.to_dict() for e in back] == [e.to_dict() for e in real_explanations]
    assert all(isinstance(e.scores, np.ndarray) for e in back)
    assert [(e.method, e.output, e.replacement, e.special_tokens) for e in back[::2]] == [
        ("attention_sum", "attention", "none", "kept"), ("gradient", "logit", "none", "kept")
    ]


def test_lines_written_before_conventions_were_recorded_still_read(tmp_path):
    path = tmp_path / "old.jsonl"
    write_jsonl([make("good film", [0.5, -0.25])], path)
    record = json.loads(path.read_text(encoding="utf-8"))
    assert (record["output"], record["replacement"], record["special_tokens"]) == ("probability", "delete", "kept")
    for key in ("output", "replacement", "special_tokens"):
        del record[key]
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    (old,) = read_jsonl(path)
    assert (old.output, old.replacement, old.special_tokens) == ("unknown", "unknown", "zeroed")
    np.testing.assert_array_equal(old.scores, [0.0, 0.5, -0.25, 0.0])


def test_each_line_is_one_object_with_provenance(tmp_path):
    path = tmp_path / "e.jsonl"
    write_jsonl([make("good film", [0.5, -0.25]), make("bad", [1.0])], path, meta={"run": "a"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    record = json.loads(lines[0])
    assert record["faithlab_version"] == faithlab.__version__
    assert record["created"].endswith("+00:00")
    assert (record["model"], record["method"], record["settings"]) == ("tiny", "m", {"seed": 3})
    assert record["meta"] == {"run": "a"}
    assert record["extras"] == {"delta": 0.5, "table": [0, 1, 2]}


def test_append_adds_lines_after_existing_ones(tmp_path):
    path = tmp_path / "e.jsonl"
    write_jsonl([make("one", [1.0])], path)
    write_jsonl([make("two", [2.0])], path, append=True)
    assert [e.text for e in read_jsonl(path)] == ["one", "two"]


def test_a_partial_last_line_is_skipped_and_repair_cuts_it(tmp_path):
    path = tmp_path / "e.jsonl"
    write_jsonl([make("one", [1.0]), make("two", [2.0])], path)
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"text": "thr')
    assert [e.text for e in read_jsonl(path)] == ["one", "two"]
    repair_jsonl(path)
    write_jsonl([make("three", [3.0])], path, append=True)
    assert [e.text for e in read_jsonl(path)] == ["one", "two", "three"]


def test_repair_ends_a_complete_last_line_that_lost_its_newline(tmp_path):
    path = tmp_path / "e.jsonl"
    write_jsonl([make("one", [1.0])], path)
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n"), encoding="utf-8")
    repair_jsonl(path)
    write_jsonl([make("two", [2.0])], path, append=True)
    assert [e.text for e in read_jsonl(path)] == ["one", "two"]


def test_a_broken_line_inside_the_file_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "e.jsonl"
    write_jsonl([make("one", [1.0])], path)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("not json\n")
    write_jsonl([make("two", [2.0])], path, append=True)
    with pytest.raises(FaithlabError, match="line 2"):
        list(iter_records(path))


def test_a_record_that_is_not_an_explanation_is_refused(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"text": "hello"}\n', encoding="utf-8")
    with pytest.raises(FaithlabError, match="missing"):
        read_jsonl(path)


def test_dataframe_has_one_row_per_token_with_named_columns():
    explanations = [make("good film", [0.5, -0.25], "a"), make("good film", [0.1, 0.2], "b"), make("bad", [2.0])]
    frame = to_dataframe(explanations)
    assert list(frame.columns) == DATAFRAME_COLUMNS
    assert len(frame) == sum(len(e.tokens) for e in explanations)
    assert frame.groupby("method")["text_id"].unique().map(list).to_dict() == {"a": [0], "b": [0], "m": [1]}
    content = frame[~frame["special"]]
    assert content[content["method"] == "a"]["word"].tolist() == ["good", "film"]
    assert content[content["method"] == "a"]["score"].tolist() == [0.5, -0.25]
    assert frame.groupby("method")["normalized"].apply(lambda s: s.abs().max()).eq(1.0).all()
    assert set(frame["predicted"]) == {"positive"}
    assert set(frame["output"]) == {"probability"} and set(frame["replacement"]) == {"delete"}
    assert set(frame["special_tokens"]) == {"kept"}


def test_dataframe_keeps_special_scores_but_normalises_over_content_tokens():
    frame = to_dataframe([make("good film", [0.5, -0.25], special=3.0)])
    specials = frame[frame["special"]]
    assert specials["score"].tolist() == [3.0, 3.0]
    assert specials["normalized"].tolist() == [0.0, 0.0]
    assert frame[~frame["special"]]["normalized"].tolist() == [1.0, -0.5]


def test_dataframe_of_nothing_is_empty_with_the_columns():
    frame = to_dataframe([])
    assert frame.empty and list(frame.columns) == DATAFRAME_COLUMNS
