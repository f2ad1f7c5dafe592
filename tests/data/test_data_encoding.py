"""Readers take the file's encoding and delimiter: the label_sep reader (`text<sep>label`, split on the last
separator), tables with another delimiter, and one clear error for a file that is not valid in its encoding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faithlab import jobs
from faithlab.bench.config import parse_config
from faithlab.bench.runner import load_examples
from faithlab.cli import app
from faithlab.data import DataError, read_emotion, read_label_sep, read_table
from faithlab.data.named import read_named
from faithlab.errors import FaithlabError
from faithlab.train.config import DataConfig
from faithlab.train.task_data import load_splits

FINANCE = [
    ("Net sales rose to EUR 0.8 mn from EUR 0.5 mn , according to the café chain .", "positive"),
    ("Contact us @ investor relations for the pre-tax figures .", "neutral"),
    ("Operating loss widened in the quarter .", "negative"),
]


@pytest.fixture
def finance(tmp_path: Path) -> Path:
    """A latin-1 `sentence@label` file (as the finance phrase bank ships), one sentence containing '@' itself."""
    path = tmp_path / "Sentences_AllAgree.txt"
    path.write_bytes("".join(f"{text}@{label}\r\n" for text, label in FINANCE).encode("latin-1"))
    return path


def test_label_sep_reads_latin1_and_splits_on_the_last_separator(finance):
    dataset = read_label_sep(finance, "@", encoding="latin-1")
    assert dataset.texts == [text for text, _ in FINANCE]
    assert "café" in dataset.texts[0] and "@ investor" in dataset.texts[1]
    assert dataset.label_names == ("negative", "neutral", "positive")  # names, sorted
    assert [e.label_name for e in dataset] == [label for _, label in FINANCE]
    assert dataset.labels == [2, 1, 0]
    assert [e.id for e in dataset] == ["1", "2", "3"]
    named = read_named("label_sep", finance, encoding="latin-1", delimiter="@", label_names=["positive", "negative",
                                                                                               "neutral"])
    assert named.labels == [0, 2, 1]


def test_a_file_not_valid_in_its_encoding_is_one_error_naming_file_line_and_encoding(finance):
    with pytest.raises(DataError) as caught:
        read_label_sep(finance, "@")  # utf-8 by default; 'é' in latin-1 is the lone byte 0xe9
    message = str(caught.value)
    assert str(finance) in message and "line 1 " in message and "utf-8" in message and "latin-1" in message
    table = finance.with_suffix(".csv")
    table.write_bytes("text,label\nplain,a\nna\xefve,b\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"cannot read line 3 as utf-8"):
        read_table(table, "text", label_column="label")
    assert read_table(table, "text", label_column="label", encoding="latin-1").texts == ["plain", "na\xefve"]


def test_label_sep_reports_lines_without_a_label_and_needs_a_delimiter(tmp_path):
    path = tmp_path / "rows.txt"
    path.write_text("good text;joy\nno separator here\n;anger\n\nanother;sadness\n", encoding="utf-8")
    dataset = read_label_sep(path, ";")
    assert dataset.texts == ["good text", "another"]
    assert [issue.row for issue in dataset.report.issues] == [2, 3]
    with pytest.raises(DataError, match="needs the delimiter"):
        read_named("label_sep", path)
    with pytest.raises(DataError, match="sst2 reader's delimiter is fixed"):
        read_named("sst2", path, delimiter=";")
    with pytest.raises(DataError, match="unknown encoding 'latin-9000'"):
        read_named("table", path, encoding="latin-9000")


def test_emotion_reader_takes_an_encoding(tmp_path):
    path = tmp_path / "emotion.txt"
    path.write_bytes("text;label\nun jour de f\xeate; vraiment;joy\n".encode("latin-1"))
    dataset = read_emotion(path, encoding="latin-1")
    assert dataset.texts == ["un jour de f\xeate; vraiment"] and dataset.labels == [1]


def test_table_delimiter_replaces_the_formats(tmp_path):
    path = tmp_path / "semicolons.csv"
    path.write_text('text;label\n"a, b; c";1\nplain;0\n', encoding="utf-8")
    assert read_table(path, "text", label_column="label", delimiter=";").texts == ["a, b; c", "plain"]
    with pytest.raises(DataError, match="one character"):
        read_table(path, "text", delimiter=";;")


def test_explain_reads_a_latin1_label_sep_file(tiny_folders, finance, tmp_path):
    out = tmp_path / "out"
    args = ["explain", "-m", str(tiny_folders["bert"]), "--methods", "gradient", "--input", str(finance),
            "--reader", "label_sep", "--delimiter", "@", "--encoding", "latin-1", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = (out / jobs.JSONL_NAME).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["text"] for line in lines] == [text for text, _ in FINANCE]
    without_encoding = [a for a in args[:-2] if a not in ("--encoding", "latin-1")]
    wrong = CliRunner().invoke(app, [*without_encoding, "--out", str(tmp_path / "wrong")])
    assert wrong.exit_code == 2 and "cannot read line 1 as utf-8" in wrong.output


def test_train_config_and_bench_data_sets_read_label_sep_files(finance, tmp_path):
    more = "".join(f"{text} ({k})@{label}\n" for k in range(7) for text, label in FINANCE)  # distinct texts
    finance.write_bytes(finance.read_bytes() + more.encode("latin-1"))
    data = DataConfig(task="classify", train=str(finance), reader="label_sep", delimiter="@", encoding="latin-1")
    splits = load_splits(data)
    assert len(splits.train) + len(splits.dev) + len(splits.test) == 24
    assert set(splits.train.label_names) == {"negative", "neutral", "positive"}
    spec = {"name": "finance", "kind": "label_sep", "path": str(finance),
            "options": {"delimiter": "@", "encoding": "latin-1"}}
    config = parse_config({"models": [{"name": "m", "path": "minilm"}], "datasets": [spec], "methods": ["random"]})
    loaded = load_examples(config.datasets[0], config)
    assert [e.text for e in loaded.examples[:3]] == [text for text, _ in FINANCE]
    with pytest.raises(FaithlabError, match=r"kind label_sep needs options\.delimiter"):
        parse_config({"models": [{"name": "m", "path": "minilm"}], "datasets": [spec | {"options": {}}]})
