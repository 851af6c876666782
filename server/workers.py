"""The process pool for CPU-heavy work (Pillow, PDF), which heals itself when a worker dies.

A worker can die under a hostile image (the kernel's OOM killer, a crash in a decoder). The standard
ProcessPoolExecutor then refuses every later job with BrokenProcessPool until the app restarts; here
the request that was running gets its error (503) and the next job gets a fresh pool.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

log = logging.getLogger("muaina.workers")


class HealingProcessPool(Executor):
    def __init__(self, max_workers: int) -> None:
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # forkserver: workers never inherit the event loop's threads, sockets or connection pool.
        return ProcessPoolExecutor(max_workers=self._max_workers, mp_context=multiprocessing.get_context("forkserver"))

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        pool = self._pool
        try:
            return pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    log.error("a CPU worker died; starting a fresh process pool")
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
            return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)
