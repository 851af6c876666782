"""An event-loop lag monitor for load tests, switched on by MUAINA_LOOP_MONITOR=1 (never in production).

Everything in the server shares one event loop, so anything that blocks it (a decode, a hash, a
synchronous call that should have gone to a thread) delays every other request. The monitor
measures that from inside: a task asks to wake up every 50 ms and records how late it woke. The
worst lateness is what a request could have waited on top of its own work.

A late wake-up has two causes, and the monitor tells them apart. Either the loop was busy running
other callbacks (our code: the lag every request pays), or the process was waiting for a CPU that
other processes held (the machine: on a shared test machine this can dwarf the first). The loop
thread's own CPU time over the interval says which: `busy` is the part of the lag during which the
loop thread was running, `lag` is the whole wall-clock lateness.

GET /debug/loop-lag answers `{"max_ms", "p99_ms", "busy_max_ms", "busy_p99_ms", "samples"}` for the
window since the previous call and starts a new window, so a test brackets the burst it wants to
measure with two calls. The route and the task exist only when the variable is set; the worst lag
of the whole run is also logged when the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, get
from litestar.datastructures import State

log = logging.getLogger("muaina.loop")

INTERVAL = 0.05


def enabled() -> bool:
    return os.environ.get("MUAINA_LOOP_MONITOR", "").lower() in {"1", "true", "yes"}


class LoopMonitor:
    def __init__(self) -> None:
        self.lags: list[float] = []
        self.busy: list[float] = []
        self.worst = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + INTERVAL
            cpu = time.thread_time()
            await asyncio.sleep(INTERVAL)
            lag = max(0.0, loop.time() - due)
            self.lags.append(lag)
            self.busy.append(min(lag, time.thread_time() - cpu))
            self.worst = max(self.worst, lag)

    def take(self) -> dict[str, Any]:
        lags, busy = sorted(self.lags), sorted(self.busy)
        self.lags, self.busy = [], []
        return {
            "max_ms": _ms(lags, 1.0),
            "p99_ms": _ms(lags, 0.99),
            "busy_max_ms": _ms(busy, 1.0),
            "busy_p99_ms": _ms(busy, 0.99),
            "samples": len(lags),
        }


def _ms(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000, 2)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
    monitor = app.state.loop_monitor = LoopMonitor()
    task = asyncio.create_task(monitor.run(), name="loop-monitor")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        log.warning("event loop lag: worst %.1f ms", monitor.worst * 1000)


@get("/debug/loop-lag", include_in_schema=False, sync_to_thread=False)
def loop_lag(state: State) -> dict[str, Any]:
    return state.loop_monitor.take()
