"""The `faithlab` command: explains texts and files, resumes interrupted jobs without duplicates or losses, and
answers every kind of bad input with one line on stderr and exit code 2."""

from __future__ import annotations

import csv
import json
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

pytestmark = pytest.mark.skipif(
    any(m not in EXPLAINERS for m in METHODS), reason=f"methods {METHODS} are not all registered yet"
)


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
                    "--out", out, "--quiet")
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
    "bad choice": (["--methods", "occlusion", "--set", "occlusion.unit=sentence"], "error: bad settings for method "
                   "'occlusion': unknown unit 'sentence'; choose one of token, word"),
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
