"""The process pool for CPU-heavy work (Pillow, PDF), which heals itself when a worker dies.

A worker can die under a hostile image (the kernel's OOM killer, a crash in a decoder). The standard
ProcessPoolExecutor then refuses every later job with BrokenProcessPool until the app restarts; here
the request that was running gets its error (503) and the next job gets a fresh pool.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import select
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

log = logging.getLogger("muaina.workers")


class HealingProcessPool(Executor):
    def __init__(self, max_workers: int) -> None:
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    @property
    def size(self) -> int:
        """How many worker processes the pool runs."""
        return self._max_workers

    def _new_pool(self) -> ProcessPoolExecutor:
        # forkserver: workers never inherit the event loop's threads, sockets or connection pool.
        return ProcessPoolExecutor(
            max_workers=self._max_workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_exit_with,
            initargs=(os.getpid(),),
        )

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


def _exit_with(server_pid: int) -> None:
    """Worker initializer: end this worker when the server process ends, however it ends.

    A server killed with SIGKILL (the OOM killer, a crash, `kill -9`) never shuts its pool down, and a
    worker waiting for its next job never notices: it holds both ends of its own job queue's pipe, so
    the read never ends. It also keeps the forkserver and the resource tracker alive. Without this,
    every crash of the server leaves three idle processes behind for good (tests/reliability/test_kill9).
    """
    try:
        handle: int | None = os.pidfd_open(server_pid)
    except ProcessLookupError:
        os._exit(0)  # the server is already gone
    except (AttributeError, OSError):
        handle = None  # no pidfd (not Linux, or a kernel before 5.3): poll instead

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])  # a pidfd turns readable when its process ends
        else:
            while _alive(server_pid):
                time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-server", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
