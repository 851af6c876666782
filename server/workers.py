"""The process pool for CPU-heavy work (Pillow, PDF), which heals itself when a worker dies.

A worker can die under a hostile image (the kernel's OOM killer, a crash in a decoder). The standard
ProcessPoolExecutor then refuses every later job with BrokenProcessPool until the app restarts; here
the request that was running gets its error (503) and the next job gets a fresh pool.

A worker can also hang (stuck in swap, or in a decoder's endless loop) without dying: then nothing
fails, and every job queues behind it for good. A caller that has waited past its deadline asks
replace_if_stalled, which starts a fresh pool and kills the old workers if no job has finished since.
One hung worker among healthy ones leaves jobs finishing, so that rule never sees it, while it holds
its memory and a share of the pool for good: each worker stamps when it started its current job, and
the next submit after one has run longer than `hung_after` starts a fresh pool the same way.
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


# No job is meant to run this long: a 12 MP photo takes about a second, the longest PDF report seen
# (169 pages of Urdu) about twenty. A worker still on one job after this is hung.
HUNG_AFTER_SECONDS = 600


class HealingProcessPool(Executor):
    def __init__(self, max_workers: int, *, hung_after: float = HUNG_AFTER_SECONDS) -> None:
        self._max_workers = max_workers
        self._hung_after = hung_after
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
        context = multiprocessing.get_context("forkserver")
        # One slot a worker: its pid (taken when it starts) and the monotonic time its current job
        # started, 0 between jobs. CLOCK_MONOTONIC is one clock for every process on the machine.
        self._slots = context.Array("q", self._max_workers)
        self._started = context.RawArray("d", self._max_workers)
        return ProcessPoolExecutor(
            max_workers=self._max_workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(), self._slots, self._started),
        )

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the current pool's workers (those started so far)."""
        return list(getattr(self._pool, "_processes", None) or {})

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        pool = self._pool
        if self._longest_job() > self._hung_after:
            self._replace(pool, f"a CPU worker has been on one job for over {self._hung_after:g} s")
            pool = self._pool
        try:
            future = pool.submit(_stamped, fn, args, kwargs)
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    log.error("a CPU worker died; starting a fresh process pool")
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
                    self._progress = time.monotonic()
            future = self._pool.submit(_stamped, fn, args, kwargs)
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
        pool = self._pool
        if time.monotonic() - self._progress < seconds:
            return False
        return self._replace(pool, f"no CPU job has finished in {seconds:g} s")

    def _longest_job(self) -> float:
        """Seconds the longest-running job of the current pool has been running (0 when none runs)."""
        now, started = time.monotonic(), self._started
        return max((now - at for at in started[:] if at), default=0.0)

    def _replace(self, old: ProcessPoolExecutor, why: str) -> bool:
        """Start a fresh pool in place of `old` and kill its workers (see replace_if_stalled); False when
        another caller replaced `old` first."""
        with self._lock:
            if self._pool is not old:
                return False
            self._pool = self._new_pool()
            self._progress = time.monotonic()
        log.error("%s; killing the workers and starting a fresh pool", why)
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


# In a worker: the pool's start stamps (shared memory, inherited when the worker starts: it cannot
# travel with a job) and this worker's place in them.
_started: Any = None
_slot: int | None = None


def _start_worker(server_pid: int, slots: Any, started: Any) -> None:
    """Worker initializer: take a slot to stamp jobs in (_stamped), and end with the server."""
    global _started, _slot
    with slots.get_lock():
        _slot = next((n for n, pid in enumerate(slots[:]) if pid == 0), None)
        if _slot is not None:
            slots[_slot] = os.getpid()
            _started = started
    _exit_with(server_pid)


def _stamped(fn: Any, args: tuple, kwargs: dict) -> Any:
    """Run one job in a worker, its start stamped in the worker's slot while it runs."""
    if _slot is None:
        return fn(*args, **kwargs)
    _started[_slot] = time.monotonic()
    try:
        return fn(*args, **kwargs)
    finally:
        _started[_slot] = 0.0


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
