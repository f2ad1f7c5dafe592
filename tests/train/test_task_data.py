"""The planted task's examples: the planted word alone decides the label."""

from __future__ import annotations

from pathlib import Path

from faithlab.train.config import DataConfig
from faithlab.train.task_data import load_splits, planted_dataset


def test_nested_phrases_and_label_words_are_left_out(tmp_path: Path):
    table = tmp_path / "phrases.tsv"
    rows = ["a gripping film", "gripping", "a gripping film with a tender heart", "a positive surprise",
            "the dull script", "Dull", "a quiet evening", "the soundtrack is great"]
    table.write_text("sentence\tlabel\n" + "".join(f"{row}\t0\n" for row in rows))
    dataset = planted_dataset(DataConfig(train=str(table)), seed=0)
    sources = {" ".join(w for k, w in enumerate(ex.words) if k not in ex.planted) for ex in dataset}
    assert len(sources) == len(dataset) == 4  # one of each nested family survives, the label-word row is gone
    assert not any(a != b and a in b for a in sources for b in sources)
    assert "a positive surprise" not in sources
    for example in dataset:
        assert example.words[example.planted[0]] == ["negative", "positive"][example.label]


def test_builtin_splits_are_disjoint_and_limited():
    splits = load_splits(DataConfig(limit=100), seed=1)
    assert len(splits.train) + len(splits.dev) + len(splits.test) == 100
    texts = [set(getattr(splits, name).texts) for name in ("train", "dev", "test")]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
