"""One worker thread for every model computation, and the cache of explanations it fills.

A classifier on CPU already uses every core for one pass, so requests run one at a time on a single thread instead
of competing for the cores; the event loop stays free to answer (and to refuse, once the queue is full).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class QueueFull(Exception):
    """More requests are waiting than the worker's queue admits."""


class Worker:
    """A single-thread executor with a bounded number of waiting jobs."""

    def __init__(self, max_queue: int):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faithlab-serve")
        self._max_queue = max_queue
        self._pending = 0
        self._lock = threading.Lock()

    async def run(self, job: Callable[[], T]) -> T:
        """Run `job` on the worker thread and wait for it without blocking the event loop."""
        with self._lock:
            if self._pending >= self._max_queue:
                raise QueueFull(f"{self._pending} requests are already waiting; try again shortly")
            self._pending += 1
        try:
            return await asyncio.wrap_future(self._executor.submit(job))
        finally:
            with self._lock:
                self._pending -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class Cache:
    """A least-recently-used mapping with a size bound; only the worker thread writes it, the lock covers readers."""

    def __init__(self, max_entries: int = 512):
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            if key not in self._entries:
                self.misses += 1
                return None
            self.hits += 1
            self._entries.move_to_end(key)
            return self._entries[key]

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
