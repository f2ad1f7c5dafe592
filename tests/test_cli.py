"""The `faithlab` command: explains texts and files, resumes interrupted jobs without duplicates or losses, and
answers every kind of bad input with one line on stderr and exit code 2."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.core import TyperCommand, TyperGroup
from typer.testing import CliRunner

from faithlab import jobs
from faithlab.cli import app
from faithlab.data import read_emotion
from faithlab.explain import EXPLAINERS
from faithlab.models import Classifier, load_classifier

METHODS = ["attention_sum", "gradient"]
SENTENCES = [
    "the movie was great and fun to watch",
    "a dull , boring film that is not good",
    "i loved every minute of it !",
    "terrible acting but great music",
    "it is fine , nothing special",
]
REPO = Path(__file__).resolve().parents[1]

@pytest.fixture(scope="module")
def bert(tiny_folders) -> str:
    return str(tiny_folders["bert"])


@pytest.fixture
def table(tmp_path) -> Path:
    path = tmp_path / "texts.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "sentence", "label"])
        writer.writerows([i, s, i % 2] for i, s in enumerate(SENTENCES))
    return path


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def records(out: Path) -> list[dict]:
    lines = (out / jobs.JSONL_NAME).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def key(record: dict) -> tuple[int, str, int]:
    return record["meta"]["row"], record["method"], record["target"]


def test_special_tokens_are_hidden_unless_asked_for(bert, tmp_path):
    hidden = invoke("explain", "-m", bert, "--methods", "lrp", SENTENCES[0])
    shown = invoke("explain", "-m", bert, "--methods", "lrp", "--show-special", "--out", tmp_path, SENTENCES[0])
    assert hidden.exit_code == 0 and shown.exit_code == 0, hidden.output + shown.output
    assert "special tokens: hidden" in hidden.stdout and "[CLS]" not in hidden.stdout
    assert "special tokens: shown" in shown.stdout and "[CLS]" in shown.stdout
    assert "[CLS]" in (tmp_path / jobs.HTML_NAME).read_text(encoding="utf-8")


def test_explain_texts_prints_coloured_tokens_per_method(bert):
    result = invoke("explain", "-m", bert, "--methods", ",".join(METHODS), SENTENCES[0], SENTENCES[1])
    assert result.exit_code == 0, result.output
    assert SENTENCES[0] in result.stdout and SENTENCES[1] in result.stdout
    assert result.stdout.count("prediction:") == 2
    for method in METHODS:
        assert result.stdout.count(f"{method} → ") == 2


def test_explain_a_csv_writes_a_line_per_text_and_method_and_a_report(bert, table, tmp_path):
    out = tmp_path / "out"
    result = invoke("explain", "-m", bert, "--methods", ",".join(METHODS), "--input", table,
                    "--text-col", "sentence", "--out", out, "--chunk-size", 2)
    assert result.exit_code == 0, result.output
    lines = records(out)
    assert len(lines) == len(SENTENCES) * len(METHODS)
    assert [r["text"] for r in lines if r["method"] == METHODS[0]] == SENTENCES
    assert all(r["faithlab_version"] and r["model"] == bert for r in lines)
    html = (out / jobs.HTML_NAME).read_text(encoding="utf-8")
    assert html.count('<section class="text">') == len(SENTENCES)
    summary = json.loads((out / jobs.SUMMARY_NAME).read_text(encoding="utf-8"))
    assert summary["texts"] == len(SENTENCES) and summary["written_lines"] == len(lines)


def test_resume_after_a_crash_completes_without_duplicates(bert, table, tmp_path):
    out = tmp_path / "out"
    args = ("explain", "-m", bert, "--methods", ",".join(METHODS), "--input", table, "--text-col", "sentence",
            "--out", out, "--chunk-size", 2)
    assert invoke(*args).exit_code == 0
    complete = {key(r): r for r in records(out)}
    lines = (out / jobs.JSONL_NAME).read_text(encoding="utf-8").splitlines(keepends=True)
    # a crash: the last three lines never made it (one text half done) and a line was cut mid-write
    (out / jobs.JSONL_NAME).write_text("".join(lines[:-3]) + '{"text": "i loved ev', encoding="utf-8")

    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "already done" in result.stdout
    resumed = records(out)
    assert len(resumed) == len({key(r) for r in resumed}) == len(complete)
    for record in resumed:
        before = complete[key(record)]
        assert (record["text"], record["tokens"]) == (before["text"], before["tokens"])
        assert np.allclose(record["scores"], before["scores"], rtol=1e-4, atol=1e-6)  # batch padding differs


def test_resume_with_all_targets_adds_only_the_missing_class(bert, tmp_path):
    out = tmp_path / "out"
    args = ("explain", "-m", bert, "--methods", ",".join(METHODS), "--target", "all", "--out", out, *SENTENCES[:2])
    assert invoke(*args).exit_code == 0
    complete = {key(r) for r in records(out)}
    assert len(complete) == 2 * len(METHODS) * 2
    lines = (out / jobs.JSONL_NAME).read_text(encoding="utf-8").splitlines(keepends=True)
    (out / jobs.JSONL_NAME).write_text("".join(lines[:-1]), encoding="utf-8")
    assert invoke(*args).exit_code == 0
    assert sorted(key(r) for r in records(out)) == sorted(complete)


def test_a_finished_job_reruns_without_writing(bert, tmp_path):
    out = tmp_path / "out"
    args = ("explain", "-m", bert, "--methods", METHODS[0], "--out", out, SENTENCES[0])
    assert invoke(*args).exit_code == 0
    before = (out / jobs.JSONL_NAME).read_bytes()
    result = invoke(*args)
    assert result.exit_code == 0 and "explained 0 of 1 texts (1 already done)" in result.stdout
    assert (out / jobs.JSONL_NAME).read_bytes() == before


BAD_INPUTS = {
    "unknown method": (["--methods", "nope", "some text"], "unknown method 'nope'"),
    "unknown label": (["--methods", METHODS[0], "--target", "maybe", "some text"], "unknown label 'maybe'"),
    "missing column": (["--methods", METHODS[0], "--input", "{table}", "--text-col", "review", "--out", "{out}"],
                       "'review' not found; the columns are: 'id', 'sentence', 'label'"),
    "missing file": (["--methods", METHODS[0], "--input", "{missing}", "--out", "{out}"], "no such file"),
    "undecodable file": (["--methods", METHODS[0], "--input", "{binary}", "--out", "{out}"], "cannot read"),
    "empty text": (["--methods", METHODS[0], "  "], "text 1 is empty"),
    "no text": (["--methods", METHODS[0]], "no texts given"),
    "input without out": (["--methods", METHODS[0], "--input", "{table}", "--text-col", "sentence"], "--out"),
    "bad chunk size": (["--methods", METHODS[0], "--chunk-size", "0", "--out", "{out}", "hi"], "chunk size"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_on_stderr_and_exit_code_2(case, bert, table, tmp_path):
    args, message = BAD_INPUTS[case]
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"text\n\xff\xfe\xfa broken\n")
    paths = {"table": table, "out": tmp_path / "out", "missing": tmp_path / "missing.csv", "binary": binary}
    result = invoke("explain", "-m", bert, *(a.format(**paths) for a in args))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_model_folder_is_exit_code_2(tmp_path):
    result = invoke("explain", "-m", tmp_path / "no-model", "--methods", METHODS[0], "some text")
    assert result.exit_code == 2 and "cannot load model" in result.stderr and "Traceback" not in result.output


def test_an_output_folder_of_other_texts_is_refused(bert, tmp_path):
    out = tmp_path / "out"
    assert invoke("explain", "-m", bert, "--methods", METHODS[0], "--out", out, SENTENCES[0]).exit_code == 0
    result = invoke("explain", "-m", bert, "--methods", METHODS[0], "--out", out, SENTENCES[1])
    assert result.exit_code == 2 and "other texts" in result.stderr


def test_methods_lists_every_registered_method():
    result = invoke("methods")
    assert result.exit_code == 0
    assert all(name in result.stdout for name in EXPLAINERS)


def test_demo_runs_every_method_and_says_the_head_is_untrained(tiny_classifiers, tmp_path, monkeypatch):
    tiny = tiny_classifiers["bert"]
    untrained = Classifier(tiny.model, tiny.tokenizer, "tiny-bert", head_trained=False)
    monkeypatch.setattr(jobs, "load_classifier", lambda *args, **kwargs: untrained)
    out = tmp_path / "demo"
    result = invoke("demo", "--out", out, "--sample", 2, "--untrained")
    assert result.exit_code == 0, result.output
    assert "UNTRAINED" in result.stdout
    assert {r["method"] for r in records(out)} == set(EXPLAINERS)
    html = (out / jobs.HTML_NAME).read_text(encoding="utf-8")
    assert "tiny-bert is untrained" in html and html.count('<section class="text">') == 2


def test_a_target_index_explains_that_class(bert, tmp_path):
    labels = load_classifier(bert).labels
    result = invoke("explain", "-m", bert, "--methods", METHODS[0], "--max-batch-tokens", 64, "--target", "0",
                    "--out", tmp_path / "out", SENTENCES[0])
    assert result.exit_code == 0, result.output
    assert [r["target_name"] for r in records(tmp_path / "out")] == [labels[0]]


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    command = next(line.strip() for line in readme if "pytest" in line and line.strip().startswith("python3 -m venv"))
    assert command in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_method_settings_from_the_command_line(tiny_folders, tmp_path):
    out = tmp_path / "set"
    result = invoke("explain", "--model", tiny_folders["bert"], "--methods", "ig", "--set", "ig.n_steps=7",
                    "--out", out, "a fine film")
    assert result.exit_code == 0, result.output
    assert [r["settings"]["n_steps"] for r in records(out)] == [7]
    bad = invoke("explain", "--model", tiny_folders["bert"], "--methods", "ig", "--set", "ig.n_steps=0", "x y")
    assert bad.exit_code == 2 and "n_steps" in bad.stderr
    wrong = invoke("explain", "--model", tiny_folders["bert"], "--methods", "ig", "--set", "lime.n_samples=9", "x")
    assert wrong.exit_code == 2 and "lime" in wrong.stderr
    malformed = invoke("explain", "--model", tiny_folders["bert"], "--methods", "ig", "--set", "n_steps", "x")
    assert malformed.exit_code == 2 and "method.key=value" in malformed.stderr


def _commands(group: TyperGroup, prefix: str = "") -> dict[str, TyperCommand]:
    out = {}
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            out |= _commands(command, f"{prefix}{name} ")
        else:
            out[f"{prefix}{name}"] = command
    return out


def test_the_same_thing_has_the_same_flag_on_every_command():
    commands = _commands(typer.main.get_command(app))
    assert {"explain", "train", "ablate", "bench", "zoo build", "zoo train", "demo", "methods"} <= set(commands)
    spelled: dict[str, set[tuple[str, ...]]] = {}
    for command in commands.values():
        for param in command.params:
            if param.param_type_name == "option":
                spelled.setdefault(param.name, set()).add(tuple(sorted(param.opts + param.secondary_opts)))
    expected = {"out": ("--out", "-o"), "model": ("--model", "-m"), "text_col": ("--text-col",),
                "pair_col": ("--pair-col",), "label_col": ("--label-col",), "reader": ("--reader",),
                "quiet": ("--quiet", "-q")}
    for name, flags in expected.items():
        assert spelled[name] == {tuple(sorted(flags))}, name
    assert spelled["setting"] | spelled["settings"] == {("--set",)}
    all_flags = {flag for spellings in spelled.values() for flags in spellings for flag in flags}
    assert not all_flags & {"--output", "--text-column", "--pair-column", "--label-column"}
    for name in ("explain", "train"):  # the commands that read a data file take the same reader choices
        assert {"--reader", "--input", "--text-col"} <= {o for p in commands[name].params for o in p.opts}


def test_the_emotion_set_can_be_explained(bert, tmp_path):
    out = tmp_path / "emotion"
    data = REPO / "tests" / "data" / "fixtures" / "emotion_small.txt"
    result = invoke("explain", "--model", bert, "--methods", METHODS[0], "--input", data, "--reader", "emotion",
                    "--out", out, "--quiet", "--accept-skipped")  # the fixture's 2 of 5 rows are malformed
    assert result.exit_code == 0, result.output
    texts = read_emotion(data).texts  # `text;label` lines, split on the last ';'
    assert [r["text"] for r in records(out)] == texts and "i feel great; really great" in texts


BAD_SETTINGS = {
    "too small a budget": (["--methods", "lime", "--set", "lime.n_samples=1"], "error: bad settings for method "
                           "'lime': n_samples: 1 is too small to fit a surrogate"),
    "unknown key": (["--methods", "ig", "--set", "ig.steps=3"], "error: bad settings for method 'ig': unknown "
                    "setting 'steps'; valid settings: baseline, n_steps, method, target_delta, max_steps, output"),
    "wrong type": (["--methods", "lime", "--set", "lime.kernel_width=wide"], "error: bad settings for method "
                   "'lime': kernel_width must be a number, got 'wide'"),
    "bad choice": (["--methods", "occlusion", "--set", "occlusion.unit=paragraph"], "error: bad settings for method "
                   "'occlusion': unknown unit 'paragraph'; choose one of token, word"),
    "malformed YAML": (["--methods", "lime", "--set", "lime.seed=[1"], "error: setting 'lime.seed': invalid YAML at "
                       "line 1, column 3"),
    "unknown reader": (["--methods", "lime", "--input", "{table}", "--reader", "csv", "--out", "{out}"],
                       "error: unknown reader 'csv'; choose one of table, sst2, mnli, emotion"),
}


@pytest.mark.parametrize("case", list(BAD_SETTINGS))
def test_bad_method_settings_are_one_line_before_the_model_loads(case, table, tmp_path):
    args, message = BAD_SETTINGS[case]
    paths = {"table": table, "out": tmp_path / "out"}
    text = [] if "--input" in args else ["a fine film"]
    result = invoke("explain", "-m", tmp_path / "no-model", *(a.format(**paths) for a in args), *text)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message)


def test_a_long_error_stays_on_one_line(tmp_path):
    config = tmp_path / "bench.yaml"
    config.write_text("models: [{name: m, path: x}]\ndatasets: [{name: d, kind: planted, path: builtin}]\n"
                      "samples: {examples: 5, colour: red}\n")
    result = invoke("bench", config, "--out", tmp_path / "run")
    assert result.exit_code == 2
    assert result.stderr == (f"error: benchmark config {config}: unknown setting 'samples.colour'; valid settings of "
                             "samples: examples, randomization, adversarial\n")


def test_methods_name_shows_the_docstring_and_every_setting():
    result = invoke("methods", "kernel_shap")
    assert result.exit_code == 0
    assert "KernelSHAP" in result.stdout
    for setting in ("n_samples", "target_spearman", "replacement", "output", "contrast", "seed"):
        assert setting in result.stdout
    assert "mask, pad, unk, delete" in result.stdout
    assert invoke("methods", "nope").exit_code == 2


# ----- bad output folders, broken models, messy inputs and conflicting resumes: one error line each --------------
def assert_one_error_line(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def test_an_input_field_over_128_kib_is_explained(bert, tmp_path):
    table = tmp_path / "long.csv"
    long_text = "a fine film with a long review " * 5000  # 155 KB, over csv's default field limit
    table.write_text(f"text\n{long_text}\n", encoding="utf-8")
    result = invoke("explain", "-m", bert, "--methods", METHODS[0], "--input", table, "--out", tmp_path / "out",
                    "--max-batch-tokens", 100_000)
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in records(tmp_path / "out")] == [long_text.strip()]


def test_a_truncated_weights_file_is_one_error_naming_it(bert, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(bert, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    result = invoke("explain", "-m", folder, "--methods", METHODS[0], "some text")
    assert_one_error_line(result, str(weights), "corrupt or truncated")


def test_an_output_path_that_is_a_file_or_under_one_is_one_error(bert, tmp_path):
    afile = tmp_path / "taken.txt"
    afile.write_text("keep me")
    result = invoke("explain", "-m", bert, "--methods", METHODS[0], "--out", afile, "some text")
    assert_one_error_line(result, "taken.txt' is an existing file")
    result = invoke("explain", "-m", bert, "--methods", METHODS[0], "--out", afile / "out", "some text")
    assert_one_error_line(result, "cannot create output folder", "taken.txt' is a file")
    assert afile.read_text() == "keep me"


def test_a_header_naming_a_column_twice_is_one_error(bert, tmp_path):
    table = tmp_path / "dup.csv"
    table.write_text("sentence,label,sentence\nfirst text,1,second text\n")
    result = invoke("explain", "-m", bert, "--methods", METHODS[0], "--input", table, "--text-col", "sentence",
                    "--out", tmp_path / "out")
    assert_one_error_line(result, "dup.csv", "column 'sentence' 2 times")


def test_a_resume_without_the_first_runs_settings_is_one_error_naming_them(bert, tmp_path):
    out = tmp_path / "out"
    first = invoke("explain", "-m", bert, "--methods", "ig", "--set", "ig.n_steps=7", "--out", out, SENTENCES[0])
    assert first.exit_code == 0, first.output
    before = (out / jobs.JSONL_NAME).read_bytes()
    result = invoke("explain", "-m", bert, "--methods", "ig", "--out", out, SENTENCES[0], SENTENCES[1])
    assert_one_error_line(result, "ig.n_steps was 7, now 'auto'")
    assert (out / jobs.JSONL_NAME).read_bytes() == before


def test_a_resume_after_the_weights_changed_is_one_error(bert, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "model"
    shutil.copytree(bert, folder)
    out = tmp_path / "out"
    assert invoke("explain", "-m", folder, "--methods", METHODS[0], "--out", out, SENTENCES[0]).exit_code == 0
    tensors = load_file(folder / "model.safetensors")
    name = next(iter(tensors))
    tensors[name] = tensors[name] + 0.01  # fine-tuned a little further, same folder
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    result = invoke("explain", "-m", folder, "--methods", METHODS[0], "--out", out, SENTENCES[0], SENTENCES[1])
    assert_one_error_line(result, "holds explanations of other weights", "fingerprint")


def test_a_folder_another_process_is_writing_is_one_error_with_its_pid(bert, tmp_path):
    out = tmp_path / "out"
    code = ("import sys, time; from faithlab.runs import locked_out_dir\n"
            "with locked_out_dir(sys.argv[1]):\n    print('locked', flush=True); time.sleep(600)\n")
    env = os.environ | {"PYTHONPATH": str(REPO / "src")}
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = invoke("explain", "-m", bert, "--methods", METHODS[0], "--out", out, SENTENCES[0])
        assert_one_error_line(result, f"being written by another faithlab process (pid {holder.pid})", "--out")
    finally:
        holder.kill()
        holder.wait()
    assert invoke("explain", "-m", bert, "--methods", METHODS[0], "--out", out, SENTENCES[0]).exit_code == 0


def test_skipped_input_rows_are_shown_with_their_reasons_and_lines(bert, tmp_path):
    table = tmp_path / "texts.csv"
    table.write_text('sentence,label\nfine text,1\n"",0\ntoo,many,fields\n"second\nfine text",0\nbad,1,2\n')
    result = invoke("explain", "-m", bert, "--methods", METHODS[0], "--input", table, "--text-col", "sentence",
                    "--out", tmp_path / "out", "--accept-skipped")
    assert result.exit_code == 0, result.output
    assert "2 x wrong number of fields (lines 4, 7)" in result.stderr
    assert "1 x empty or non-text 'sentence' (line 3)" in result.stderr
    summary = json.loads((tmp_path / "out" / jobs.SUMMARY_NAME).read_text(encoding="utf-8"))
    assert summary["data"]["skipped"] == [
        {"reason": "empty or non-text 'sentence'", "malformed": True, "count": 1, "first_lines": [3]},
        {"reason": "wrong number of fields", "malformed": True, "count": 2, "first_lines": [4, 7]},
    ]
