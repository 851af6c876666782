"""The process pool for CPU-heavy work (Pillow, PDF), which heals itself when a worker dies.

A worker can die under a hostile image (the kernel's OOM killer, a crash in a decoder). The standard
ProcessPoolExecutor then refuses every later job with BrokenProcessPool until the app restarts; here
the request that was running gets its error (503) and the next job gets a fresh pool.

A worker can also hang (stuck in swap, or in a decoder's endless loop) without dying: then nothing
fails, and every job queues behind it for good. A caller that has waited past its deadline asks
replace_if_stalled, which starts a fresh pool and kills the old workers if no job has finished since.
"""

from __future__ import annotations

import contextlib
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
        # When a job last finished, or the current pool started: how replace_if_stalled tells a hung
        # pool from a busy one.
        self._progress = time.monotonic()

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

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the current pool's workers (those started so far)."""
        return list(getattr(self._pool, "_processes", None) or {})

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        pool = self._pool
        try:
            future = pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    log.error("a CPU worker died; starting a fresh process pool")
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
                    self._progress = time.monotonic()
            future = self._pool.submit(fn, *args, **kwargs)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: Future) -> None:
        if not future.cancelled():  # a job given up on while it waited did not move the pool on
            self._progress = time.monotonic()

    def replace_if_stalled(self, seconds: float) -> bool:
        """Start a fresh pool and kill the old one's workers if no job has finished for `seconds`.

        Only a pool that has stopped moving is replaced: a job that waited long behind many others in
        a busy pool, while they kept finishing, is no sign of a hung worker. The jobs the old workers
        held fail with BrokenProcessPool (their requests answer 503). Returns whether it replaced.
        """
        with self._lock:
            if time.monotonic() - self._progress < seconds:
                return False
            old, self._pool = self._pool, self._new_pool()
            self._progress = time.monotonic()
        log.error("no CPU job has finished in %g s; killing the workers and starting a fresh pool", seconds)
        # ProcessPoolExecutor has no public way to end its workers before Python 3.14
        # (terminate_workers); SIGKILL ends a stopped worker too, where SIGTERM would wait for it to resume.
        for process in list((getattr(old, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError, ValueError):
                process.kill()
        # Not cancel_futures: a job still queued in the old pool fails with BrokenProcessPool once its
        # manager sees the workers gone (its request answers 503), where a cancelled one would cancel
        # the request's own task.
        old.shutdown(wait=False)
        return True

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
