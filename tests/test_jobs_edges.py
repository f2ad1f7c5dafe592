"""Jobs, training runs and benchmarks on bad or conflicting output folders, broken model files and messy inputs:
each a `FaithlabError` that says what is wrong, never a traceback, two mixed runs or a silently lost row."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import torch
from rich.console import Console

from faithlab import jobs
from faithlab.bench.config import parse_config
from faithlab.bench.runner import run_benchmark
from faithlab.errors import FaithlabError
from faithlab.explain import get_explainer
from faithlab.models import Classifier, load_classifier
from faithlab.models.loading import weights_fingerprint
from faithlab.runs import LOCK_NAME, locked_out_dir, prepare_out_dir
from faithlab.train import TrainConfig, train

TEXTS = ["the movie was great and fun to watch", "a dull , boring film that is not good"]
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def bert(tiny_classifiers) -> Classifier:
    return tiny_classifiers["bert"]


def run_job(classifier: Classifier, out: Path, methods=("gradient",), **kwargs) -> jobs.JobSummary:
    return jobs.run_explain_job(classifier, jobs.check_texts(TEXTS), list(methods), out, progress=False, **kwargs)


def hold_lock_in_another_process(folder: Path) -> subprocess.Popen:
    """A second Python process that takes the folder's lock and keeps it until killed."""
    code = ("import sys, time; from faithlab.runs import locked_out_dir\n"
            "with locked_out_dir(sys.argv[1]):\n    print('locked', flush=True); time.sleep(600)\n")
    env = os.environ | {"PYTHONPATH": str(SRC)}
    holder = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout.readline().strip() == "locked"
    return holder


# ----- output folders -------------------------------------------------------------------------------------------------
def test_an_output_path_that_is_a_file_or_lies_under_one_is_refused(tmp_path):
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    with pytest.raises(FaithlabError, match=r"notes.txt' is an existing file"):
        prepare_out_dir(afile)
    with pytest.raises(FaithlabError, match=r"cannot create output folder .*notes.txt' is a file"):
        prepare_out_dir(afile / "sub" / "out")
    assert prepare_out_dir(tmp_path / "a" / "b").is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_output_folder_is_refused(tmp_path):
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o555)
    with pytest.raises(FaithlabError, match=r"cannot create output folder .*ro/out"):
        prepare_out_dir(locked / "out")
    with pytest.raises(FaithlabError, match="cannot write to output folder"):
        prepare_out_dir(locked)


def test_explain_train_and_bench_refuse_a_file_as_output_folder(bert, tiny_folders, tmp_path):
    afile = tmp_path / "taken"
    afile.write_text("x")
    with pytest.raises(FaithlabError, match="is an existing file"):
        run_job(bert, afile)
    data = tmp_path / "train.csv"
    data.write_text("text,label\n" + "".join(f"text number {i},{i % 2}\n" for i in range(20)))
    config = TrainConfig.from_dict({"model": str(tiny_folders["bert"]), "output_dir": str(afile),
                                    "data": {"task": "classify", "train": str(data)}})
    with pytest.raises(FaithlabError, match="is an existing file"):
        train(config)
    bench = parse_config({"models": [{"name": "tiny", "path": str(tiny_folders["bert"])}],
                          "datasets": [{"name": "planted", "kind": "planted", "path": str(data), "n": 6}]})
    with pytest.raises(FaithlabError, match="is an existing file"):
        run_benchmark(bench, afile, progress=False)
    assert afile.read_text() == "x"


# ----- one writer at a time ------------------------------------------------------------------------------------------
def test_a_folder_being_written_refuses_a_second_job_and_frees_when_the_writer_dies(bert, tmp_path):
    out = tmp_path / "out"
    holder = hold_lock_in_another_process(out)
    try:
        with pytest.raises(FaithlabError, match=rf"being written by another faithlab process \(pid {holder.pid}\)"):
            run_job(bert, out)
        assert not (out / jobs.JSONL_NAME).exists()
    finally:
        holder.kill()  # a crash: no cleanup runs, the kernel drops the lock
        holder.wait()
    assert run_job(bert, out).explained == len(TEXTS)


def test_train_and_bench_take_the_same_lock(tiny_folders, tmp_path):
    data = tmp_path / "train.csv"
    data.write_text("text,label\n" + "".join(f"text number {i},{i % 2}\n" for i in range(20)))
    run = tmp_path / "run"
    config = TrainConfig.from_dict({"model": str(tiny_folders["bert"]), "output_dir": str(run),
                                    "data": {"task": "classify", "train": str(data)}})
    bench = parse_config({"models": [{"name": "tiny", "path": str(tiny_folders["bert"])}],
                          "datasets": [{"name": "planted", "kind": "planted", "path": str(data), "n": 6}]})
    with locked_out_dir(run):
        with pytest.raises(FaithlabError, match=f"pid {os.getpid()}"):
            train(config, overwrite=True)
        with pytest.raises(FaithlabError, match="being written by another faithlab process"):
            run_benchmark(bench, run, progress=False)
    assert sorted(p.name for p in run.iterdir()) == [LOCK_NAME]  # the refused runs wrote nothing


# ----- what a resumed job must share with the first --------------------------------------------------------------
def test_the_manifest_records_every_resolved_setting_of_every_method(bert, tmp_path):
    methods = ["gradient", "ig", "occlusion", "ensemble"]
    run_job(bert, tmp_path / "out", methods, settings={"ig": {"n_steps": 7}})
    manifest = json.loads((tmp_path / "out" / jobs.MANIFEST_NAME).read_text())
    ig = get_explainer("ig", bert, n_steps=7).settings
    assert manifest["settings"]["ig"] == json.loads(json.dumps(ig))
    assert manifest["settings"]["occlusion"] == json.loads(json.dumps(get_explainer("occlusion", bert).settings))
    assert manifest["settings"]["ensemble"]["member_settings"]["ig"] == manifest["settings"]["ig"]
    assert set(ig) > {"n_steps"}  # the defaults are there, not only what was given


def test_a_resume_without_the_first_runs_settings_is_refused_naming_the_setting(bert, tmp_path):
    out = tmp_path / "out"
    run_job(bert, out, ["ig"], settings={"ig": {"n_steps": 7}})
    default = get_explainer("ig", bert).settings["n_steps"]
    with pytest.raises(FaithlabError, match=rf"ig explanations made with other settings: .*ig.n_steps was 7, now "
                                            rf"{default!r}"):
        run_job(bert, out, ["ig"])
    assert run_job(bert, out, ["ig"], settings={"ig": {"n_steps": 7}}).explained == 0


def test_a_resume_may_add_a_method_whose_settings_join_the_manifest(bert, tmp_path):
    out = tmp_path / "out"
    run_job(bert, out, ["gradient"])
    assert run_job(bert, out, ["gradient", "ig"], settings={"ig": {"n_steps": 5}}).explained == len(TEXTS)
    assert json.loads((out / jobs.MANIFEST_NAME).read_text())["settings"]["ig"]["n_steps"] == 5
    with pytest.raises(FaithlabError, match=r"ig\.n_steps was 5, now 'auto'"):
        run_job(bert, out, ["ig"])


def test_a_resume_with_other_weights_is_refused(bert, tiny_folders, tmp_path):
    out = tmp_path / "out"
    run_job(bert, out)
    assert json.loads((out / jobs.MANIFEST_NAME).read_text())["fingerprint"] == bert.fingerprint
    changed = Classifier(copy.deepcopy(bert.model), bert.tokenizer, bert.name)
    with torch.no_grad():
        next(changed.model.parameters())[0, 0] += 1e-3
    with pytest.raises(FaithlabError, match="holds explanations of other weights of model"):
        run_job(changed, out)
    same = Classifier(copy.deepcopy(bert.model), bert.tokenizer, bert.name)  # no fingerprint given: computed
    assert run_job(same, out).resumed == len(TEXTS)


# ----- model files ----------------------------------------------------------------------------------------------------
def test_the_fingerprint_is_the_hash_of_the_loaded_weights(tiny_folders, bert):
    again = load_classifier(tiny_folders["bert"])
    assert again.fingerprint == bert.fingerprint == weights_fingerprint(bert.model)
    assert len(bert.fingerprint) == 64
    assert load_classifier(tiny_folders["roberta"]).fingerprint != bert.fingerprint


@pytest.mark.parametrize("keep", [0, 7, 0.5])
def test_a_truncated_weights_file_is_named_as_corrupt(tiny_folders, tmp_path, keep):
    folder = tmp_path / "model"
    shutil.copytree(tiny_folders["bert"], folder)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    with pytest.raises(FaithlabError, match=rf"{weights}' is corrupt or truncated|{weights} is corrupt or truncated"):
        load_classifier(folder)


# ----- inputs ---------------------------------------------------------------------------------------------------------
def test_skipped_input_rows_are_reported_by_reason_with_their_lines(bert, tmp_path):
    table = tmp_path / "texts.csv"
    table.write_text('text,label\ngood one,1\n"",0\ntoo,many,fields\nfine text,0\n"two\nlines",0,x\n  ,1\n')
    with pytest.raises(FaithlabError, match=r"table reader skipped 4 of 6 rows .* \(66.7%, above max_skipped 0.05\)"):
        jobs.read_inputs(table, "text")
    inputs = jobs.read_inputs(table, "text", accept_skipped=True)
    console_text = StringIO()
    summary = jobs.run_explain_job(bert, inputs, ["gradient"], tmp_path / "out", progress=False,
                                   console=Console(file=console_text, width=200))
    expected = [{"reason": "empty or non-text 'text'", "malformed": True, "count": 2, "first_lines": [3, 8]},
                {"reason": "wrong number of fields", "malformed": True, "count": 2, "first_lines": [4, 6]}]
    assert json.loads((tmp_path / "out" / jobs.SUMMARY_NAME).read_text())["data"]["skipped"] == expected
    assert summary.data["malformed"] == 4 and summary.data["rows_read"] == 6 and summary.texts == 2
    assert "2 x wrong number of fields (lines 4, 6)" in console_text.getvalue()


def test_a_duplicated_column_is_refused_naming_it_and_the_file(tmp_path):
    table = tmp_path / "dup.csv"
    table.write_text("text,label,text\na,1,b\n")
    with pytest.raises(FaithlabError, match=r"dup.csv: the header names column 'text' 2 times"):
        jobs.read_inputs(table, "text")


def test_a_text_longer_than_csv_default_field_limit_is_explained(bert, tmp_path):
    table = tmp_path / "long.csv"
    long_text = "a fine film " * 20_000  # 240 KB
    table.write_text(f"text\n{long_text}\nshort one\n")
    assert jobs.read_inputs(table, "text").texts == [long_text.strip(), "short one"]

