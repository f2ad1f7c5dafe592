"""The Ray backend of `faithlab bench`: units run as tasks on Ray actors that keep their model loaded.

Each model gets `workers` actors (one per device slot: a CPU share, or one GPU when the device is cuda); every actor
loads the model once and runs units handed to it until the model's units are done. A killed actor is restarted and
its unfinished units are retried (`max_restarts`, `max_task_retries`), so a run survives lost workers. Results come
back to the driver, which alone writes the SQLite store: resuming works exactly as in-process.

Ray is imported only when the backend is created (the `ray` extra), never at import time.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import torch

from faithlab.bench.config import BenchConfig
from faithlab.bench.runner import LoadedModel, UnitResult, UnitSpec, timed_execute
from faithlab.data import Example
from faithlab.errors import FaithlabError
from faithlab.models import load_classifier

IN_FLIGHT_PER_WORKER = 2  # a queued unit per actor hides the round trip between two units
MAX_RESTARTS = 3  # a worker may die this many times per model before the run stops


def import_ray() -> ModuleType:
    """The `ray` module, or one FaithlabError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise FaithlabError("--backend ray needs Ray: pip install 'faithlab[ray]'") from None
    return ray


class BenchWorker:
    """The actor: one model loaded once, then any number of units of it."""

    def __init__(self, path: str, device: str, dtype: str, threads: int):
        torch.set_num_threads(threads)  # its CPU share; other thread counts change float summation order (~1e-9)
        self.classifier = load_classifier(path, device=device, dtype=dtype)

    def fingerprint(self) -> str:
        return self.classifier.fingerprint

    def execute(self, spec: UnitSpec, config: BenchConfig, examples: list[Example]) -> UnitResult:
        return timed_execute(spec, config, self.classifier, examples)


class RayBackend:
    """Runs units on a Ray cluster; use as a context manager around `run_benchmark(..., backend=...)`.

    Args:
        address: a running cluster's address (`ray start --head` prints it; "auto" finds a local one); None starts
            a private local Ray instance with `num_cpus` CPUs.
        workers: actors per model, each with its own copy of the model.
        device: where the actors put the model ("cpu", or "cuda": then each actor asks Ray for one GPU); None (the
            default): the device type the driver loaded the model on (the config's `device`).
        cpus_per_worker: CPUs Ray reserves for each actor; its torch uses as many threads (at least one). Scores
            equal the in-process ones bit for bit when the thread counts agree, else to float rounding.
        num_cpus: CPUs of the local instance (None: all of this machine's); ignored with an address.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int = 1,
        device: str | None = None,
        cpus_per_worker: float = 1,
        num_cpus: int | None = None,
    ):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise FaithlabError(f"workers must be an integer >= 1, got {workers!r}")
        if device is not None and device != "cpu" and not device.startswith("cuda"):
            raise FaithlabError(f"unknown device {device!r} for the Ray backend; choose one of cpu, cuda")
        self.ray = import_ray()
        self.address, self.workers, self.device = address, workers, device
        self.cpus_per_worker, self.num_cpus = cpus_per_worker, num_cpus
        self._started = False
        self._examples: dict[int, tuple[list[Example], Any]] = {}  # id of an example list -> (it, its object ref)

    def __enter__(self) -> RayBackend:
        if not self.ray.is_initialized():
            if self.address is None:
                self.ray.init(num_cpus=self.num_cpus, include_dashboard=False, logging_level="warning")
            else:
                self.ray.init(address=self.address, logging_level="warning")
            self._started = True
        return self

    def __exit__(self, *_: object) -> None:
        self._examples.clear()
        if self._started:
            self.ray.shutdown()
            self._started = False

    def run(
        self, config: BenchConfig, model: LoadedModel, units: list[UnitSpec], data: dict[str, list[Example]]
    ) -> Iterator[UnitResult]:
        """Yield each unit's result as soon as a worker finishes it (not in plan order).

        Raises:
            FaithlabError: a unit raised one on a worker, or a worker kept dying (e.g. the model path is missing on
                a node).
        """
        if not units:
            return
        if not self.ray.is_initialized():
            raise FaithlabError("RayBackend.run outside its `with` block: Ray is not started")
        device = self.device or model.classifier.device.type
        actors = self._start_workers(model.path, device, config.dtype, min(self.workers, len(units)))
        config_ref = self.ray.put(config)
        try:
            self._check_same_weights(actors, model)
            yield from self._schedule(actors, units, config_ref, data, model.spec.name)
        finally:
            for actor in actors:
                self.ray.kill(actor)

    def _start_workers(self, path: str, device: str, dtype: str, count: int) -> list[Any]:
        if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
            raise FaithlabError(f"the Ray backend runs models on cpu or cuda, not {device!r}")
        gpus = 1 if device.startswith("cuda") else 0
        # Ray shows each actor only its own GPU, so every actor's model goes to "cuda" (its device 0)
        device = "cuda" if gpus else "cpu"
        actor = self.ray.remote(BenchWorker).options(
            num_cpus=self.cpus_per_worker, num_gpus=gpus, max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS
        )
        threads = max(1, int(self.cpus_per_worker))
        return [actor.remote(path, device, dtype, threads) for _ in range(count)]

    def _check_same_weights(self, actors: list[Any], model: LoadedModel) -> None:
        """Refuse a model that loads differently on a worker than here (e.g. an untrained head, drawn at random in
        each process): its results would not be the in-process ones."""
        for reply in [actor.fingerprint.remote() for actor in actors]:
            if self._get(reply, model.spec.name) != model.classifier.fingerprint:
                raise FaithlabError(
                    f"model '{model.spec.name}' ({model.path}) loads with other weights on a Ray worker than on the "
                    "driver (an untrained head is initialised at random in each process); save it to a folder first "
                    "(e.g. train it with a `train:` entry) or use the in-process backend"
                )

    def _schedule(
        self, actors: list[Any], units: list[UnitSpec], config_ref: Any, data: dict[str, list[Example]], name: str
    ) -> Iterator[UnitResult]:
        """Keep every actor fed with up to IN_FLIGHT_PER_WORKER units; yield results as they arrive."""
        queue = list(reversed(units))
        in_flight: dict[Any, Any] = {}  # result ref -> the actor computing it
        load = {id(actor): 0 for actor in actors}
        while queue or in_flight:
            for actor in actors:
                while queue and load[id(actor)] < IN_FLIGHT_PER_WORKER:
                    spec = queue.pop()
                    in_flight[actor.execute.remote(spec, config_ref, self._put_examples(spec.dataset, data))] = actor
                    load[id(actor)] += 1
            [ready], _ = self.ray.wait(list(in_flight), num_returns=1)
            load[id(in_flight.pop(ready))] -= 1
            yield self._get(ready, name)

    def _put_examples(self, dataset: str, data: dict[str, list[Example]]) -> Any:
        """The data set's examples in Ray's object store, put once per list (not per name: a backend may serve
        several runs; the list is kept so that its id stays its own)."""
        examples = data[dataset]
        if id(examples) not in self._examples:
            self._examples[id(examples)] = (examples, self.ray.put(examples))
        return self._examples[id(examples)][1]

    def _get(self, ref: Any, model: str) -> Any:
        exceptions = self.ray.exceptions
        try:
            return self.ray.get(ref)
        except exceptions.RayTaskError as error:
            if isinstance(error.cause, FaithlabError):
                raise error.cause from None
            raise
        except exceptions.RayActorError as error:
            raise FaithlabError(
                f"the Ray worker of model '{model}' died {MAX_RESTARTS + 1} times or could not start (is its model "
                f"path reachable from every node?): {error}"
            ) from None
