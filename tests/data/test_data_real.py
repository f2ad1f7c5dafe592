"""Smoke checks against the project's real data under ../shared/data; skipped where it is absent."""



from faithlab.data import (
    read_emotion,
    read_eraser,
    read_esnli_csv,
    read_esnli_jsonl,
    read_hatexplain,
    read_mnli,
    read_sst2,
)


def test_sst2_dev(shared_file):
    data = read_sst2(shared_file("sst2/dev.tsv"), on_error="raise")
    assert len(data) == 872 and sum(data.labels) == 444


def test_mnli_tsv_and_line_files_agree(shared_file):
    tsv = read_mnli(shared_file("mnli/dev_matched.tsv"), on_error="raise")
    lines = read_mnli(
        shared_file("mnli/cl_multinli_dev_matched_source_file"),
        labels_path=shared_file("mnli/cl_multinli_dev_matched_lbl_file"),
        on_error="raise",
    )
    assert len(tsv) == len(lines) == 9815
    assert tsv.labels[:50] == lines.labels[:50]


def test_emotion_validation(shared_file):
    data = read_emotion(shared_file("emotion/val.txt"), on_error="raise")
    assert len(data) == 2000 and data.labels.count(1) == 704


def test_esnli_csv_annotator_one_matches_the_jsonl_words(shared_file):
    csv = read_esnli_csv(shared_file("esnli/esnli_dev_highlights_first123.csv"), on_error="raise")
    assert len(csv) == 123
    assert csv[0].id == "4705552913.jpg#2r1n"
    assert [w for w, bit in zip(csv[0].pair_words, csv[0].pair_rationale, strict=True) if bit] == ["lunch."]
    jsonl = read_esnli_jsonl(shared_file("rationales/esnli/esnli_dev_annot1_highlights.jsonl"), on_error="raise")
    assert len(jsonl) == 9842 and jsonl[0].id == csv[0].id


def test_eraser_movies_val(shared_file):
    data = read_eraser(shared_file("rationales/movies/val.jsonl"), on_error="raise")
    assert len(data) == 200 and sum(data.labels) == 100
    assert all(ex.rationale is not None and any(ex.rationale) for ex in data)


def test_hatexplain_val(shared_file):
    data = read_hatexplain(shared_file("rationales/hatexplain/hatexplain_val.jsonl"), on_error="raise")
    assert len(data) == 1922
    assert data.labels.count(1) == 781
    assert all((ex.rationale is None) == (ex.label == 1) for ex in data)
