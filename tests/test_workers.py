"""The CPU worker pool recovers when a worker process dies or hangs."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import psutil
import pytest

from server.workers import HealingProcessPool


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _square(n: int) -> int:
    return n * n


def test_a_dead_worker_fails_its_job_and_the_next_job_gets_a_fresh_pool():
    pool = HealingProcessPool(max_workers=1)
    try:
        assert pool.submit(_square, 3).result(timeout=30) == 9
        with pytest.raises(Exception, match="terminated abruptly|BrokenProcessPool"):
            pool.submit(_die).result(timeout=30)
        assert pool.submit(_square, 4).result(timeout=30) == 16
    finally:
        pool.shutdown(cancel_futures=True)


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _stick(pid_file: str) -> None:
    """A job that never ends, as one stuck in swap or in a decoder's endless loop, saying where it runs."""
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(3600)


def test_one_hung_worker_among_healthy_ones_is_ended_and_the_pool_carries_on(tmp_path):
    """A worker stuck on one job while the others keep finishing theirs: the pool never stops moving,
    so only the job's own age tells. The next job after it outgrows `hung_after` gets a fresh pool, and
    the stuck worker is ended rather than left holding its memory and its share of the pool."""
    pool = HealingProcessPool(max_workers=2, hung_after=3)
    pid_file = tmp_path / "stuck.pid"
    stuck: psutil.Process | None = None
    try:
        hung = pool.submit(_stick, str(pid_file))
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
        stuck = psutil.Process(int(pid_file.read_text()))

        # The other worker keeps finishing jobs: the pool is busy, not stalled.
        assert [pool.submit(_square, n).result(timeout=30) for n in range(6)] == [n * n for n in range(6)]
        assert not pool.replace_if_stalled(2)
        assert stuck.is_running()

        time.sleep(3.5)
        assert pool.submit(_square, 7).result(timeout=30) == 49
        with pytest.raises(BrokenProcessPool):
            hung.result(timeout=30)
        gone, alive = psutil.wait_procs([stuck], timeout=10)
        assert not alive, "the hung worker was left running"
        assert stuck.pid not in pool.worker_pids
    finally:
        if stuck is not None:
            with contextlib.suppress(psutil.Error):
                stuck.kill()
        pool.shutdown(cancel_futures=True)


def test_a_long_job_under_the_limit_is_not_taken_for_a_hung_worker():
    pool = HealingProcessPool(max_workers=2, hung_after=30)
    try:
        workers = {f.result(timeout=30) for f in [pool.submit(_pid_after, 0.5) for _ in range(2)]}
        long_job = pool.submit(_pid_after, 2)
        time.sleep(0.5)
        assert pool.submit(_square, 5).result(timeout=30) == 25
        assert long_job.result(timeout=30) in workers
        assert set(pool.worker_pids) == workers
    finally:
        pool.shutdown(cancel_futures=True)
