"""The CPU worker pool recovers when a worker process dies."""

from __future__ import annotations

import os
import signal

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
