"""uvicorn against granian for a Muaina-shaped Litestar app: throughput, p99, memory, shutdown.

Run `python tests/benchmarks/bench_asgi.py [--duration 5] [--concurrency 8] [--rounds 1]`.
Each server runs this module's `app` on 127.0.0.1 with one worker and is loaded by
a lean keep-alive client (asyncio protocols, one connection per concurrent caller)
so that the client, which shares the machine, costs as little CPU as possible.
Server CPU per request is printed next to req/s because on a small machine the
client and the server compete for cores and CPU time is the steadier figure.

The same module is the app the servers import, so nothing below `main()` may start
work at import time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import msgspec
from litestar import Litestar, get, put

# ---------------------------------------------------------------- the app under test


class Base(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class StationSummary(Base):
    id: str
    name: str
    district: str
    last_score: float | None
    open_findings: int


class Answer(Base):
    question_id: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    value: str | int | float | bool | None
    note: str | None = None


class Submission(Base):
    client_id: str
    station_id: str
    template_version: int
    started_at: str
    answers: Annotated[list[Answer], msgspec.Meta(max_length=2000)]


class Ack(Base):
    client_id: str
    answers: int
    answered_yes: int


SUMMARY = StationSummary(id="st-0042", name="Saddar Police Station", district="Rawalpindi", last_score=87.5,
                         open_findings=3)  # fmt: skip


@get("/station", sync_to_thread=False)
def station() -> StationSummary:
    return SUMMARY


@put("/submission", sync_to_thread=False)
def submission(data: Submission) -> Ack:
    yes = sum(1 for a in data.answers if a.value == "yes")
    return Ack(client_id=data.client_id, answers=len(data.answers), answered_yes=yes)


@get("/slow")
async def slow() -> dict[str, str]:
    # An in-flight request for the shutdown check: does the server let it finish?
    await asyncio.sleep(1.0)
    return {"finished": "yes"}


def _mark_shutdown() -> None:
    # Tells the shutdown check that the lifespan shutdown hook (where the real app
    # closes its database pool) actually ran.
    marker = os.environ.get("BENCH_MARKER")
    if marker:
        Path(marker).write_text("shutdown")


app = Litestar(route_handlers=[station, submission, slow], on_shutdown=[_mark_shutdown], openapi_config=None)


def submission_body() -> bytes:
    answers = [
        {"question_id": f"q{i:04d}", "value": ["yes", "no", 3, None][i % 4], "note": None if i % 10 else "checked"}
        for i in range(300)
    ]
    doc = {
        "client_id": "0b7e3f5c-5d55-4bb8-9c1a-2f7d8e6a9b10",
        "station_id": "st-0042",
        "template_version": 3,
        "started_at": "2025-03-01T09:30:00+05:00",
        "answers": answers,
    }
    return msgspec.json.encode(doc)


# ---------------------------------------------------------------- servers

HERE = Path(__file__).resolve().parent


def server_command(name: str, port: int) -> list[str]:
    py = sys.executable
    if name == "uvicorn":
        return [py, "-m", "uvicorn", "bench_asgi:app", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]  # fmt: skip
    if name == "granian":
        return [py, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1", "--loop", "uvloop", "--no-access-log", "--log-level", "warning",
                "bench_asgi:app"]  # fmt: skip
    raise ValueError(name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# With --pin the server (all its processes and threads) gets CPU 0 and the client
# CPU 1: that compares the two per core, as a deployment with one worker per core
# would run them, and keeps the client from stealing the server's time.
SERVER_CPUS: set[int] | None = None


def _pin_server() -> None:
    if SERVER_CPUS is not None:
        os.sched_setaffinity(0, SERVER_CPUS)


def start_server(name: str, env_extra: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(HERE), **(env_extra or {})}
    proc = subprocess.Popen(server_command(name, port), cwd=HERE, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_pin_server)  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} while starting")
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /station HTTP/1.1\r\nHost: b\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc, port
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{name} did not answer within 20 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def process_tree(pid: int):
    import psutil

    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_rss(pid: int) -> int:
    total = 0
    for proc in process_tree(pid):
        with contextlib.suppress(Exception):
            total += proc.memory_info().rss
    return total


def tree_pss(pid: int) -> int:
    # PSS splits pages shared between granian's supervisor and its worker (and
    # with other processes) fairly, so it is what the server costs a machine.
    total = 0
    for proc in process_tree(pid):
        with contextlib.suppress(Exception):
            total += proc.memory_full_info().pss
    return total


def tree_cpu(pid: int) -> float:
    total = 0.0
    for proc in process_tree(pid):
        with contextlib.suppress(Exception):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


# ---------------------------------------------------------------- load client


@dataclass
class Stats:
    latencies_ns: list[int] = field(default_factory=list)
    errors: int = 0


class KeepAliveCaller(asyncio.Protocol):
    """One connection sending one request at a time, timing each until its last byte."""

    def __init__(self, request: bytes, deadline: float, stats: Stats, done: asyncio.Future[None]):
        self.request, self.deadline, self.stats, self.done = request, deadline, stats, done
        self.buf = bytearray()
        self.sent_at = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.send()

    def send(self) -> None:
        if time.monotonic() >= self.deadline:
            self.transport.close()
            return
        self.buf.clear()
        self.sent_at = time.perf_counter_ns()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(self.buf[:head_end]).lower()
        start = head.find(b"content-length:")
        if start < 0:
            self.stats.errors += 1
            self.transport.close()
            return
        end = head.find(b"\r\n", start)
        length = int(head[start + 15 : end if end >= 0 else len(head)])
        if len(self.buf) < head_end + 4 + length:
            return
        if self.buf.startswith(b"HTTP/1.1 200") or self.buf.startswith(b"HTTP/1.1 201"):
            self.stats.latencies_ns.append(time.perf_counter_ns() - self.sent_at)
        else:
            self.stats.errors += 1
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def load(port: int, request: bytes, seconds: float, concurrency: int) -> tuple[Stats, float]:
    loop = asyncio.get_running_loop()
    stats = Stats()
    deadline = time.monotonic() + seconds
    started = time.perf_counter()
    finished = []
    for _ in range(concurrency):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(lambda d=done: KeepAliveCaller(request, deadline, stats, d), "127.0.0.1", port)
        finished.append(done)
    await asyncio.gather(*finished)
    return stats, time.perf_counter() - started


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


@dataclass
class Result:
    server: str
    round_no: int
    endpoint: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us_per_req: float
    client_cpu_pct: float
    rss_peak_mb: float
    pss_mb: float


async def measure(
    name: str, round_no: int, endpoints: dict[str, bytes], seconds: float, concurrency: int
) -> list[Result]:
    proc, port = start_server(name)
    results = []
    try:
        for endpoint, request in endpoints.items():
            # One second of warm-up lets first-request imports and caches settle before measuring.
            await load(port, request, 1.0, concurrency)
            peak = tree_rss(proc.pid)
            cpu_before, client_before = tree_cpu(proc.pid), time.process_time()
            task = asyncio.create_task(load(port, request, seconds, concurrency))
            while not task.done():
                await asyncio.sleep(0.25)
                peak = max(peak, tree_rss(proc.pid))
            stats, elapsed = task.result()
            cpu = tree_cpu(proc.pid) - cpu_before
            client_cpu = time.process_time() - client_before
            lat = sorted(stats.latencies_ns)
            count = len(lat)
            results.append(
                Result(
                    server=name,
                    round_no=round_no,
                    endpoint=endpoint,
                    rps=count / elapsed,
                    p50_ms=lat[count // 2] / 1e6 if count else float("nan"),
                    p99_ms=lat[min(count - 1, int(count * 0.99))] / 1e6 if count else float("nan"),
                    errors=stats.errors,
                    cpu_us_per_req=cpu / max(count, 1) * 1e6,
                    # The client's CPU share shows whether it, not the server, was the limit.
                    client_cpu_pct=client_cpu / elapsed * 100,
                    rss_peak_mb=peak / 2**20,
                    pss_mb=tree_pss(proc.pid) / 2**20,
                )
            )
    finally:
        stop_server(proc)
    return results


# ---------------------------------------------------------------- shutdown behaviour


def shutdown_check(name: str, sig: signal.Signals) -> str:
    """Signal the server while a 1 s request is in flight and report what happened to it."""
    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp, "marker")
        proc, port = start_server(name, {"BENCH_MARKER": str(marker)})
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(http_request("GET", "/slow"))
            time.sleep(0.2)
            signalled = time.monotonic()
            proc.send_signal(sig)
            time.sleep(0.1)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    new_conn = "accepted"
            except OSError:
                new_conn = "refused"
            try:
                reply = sock.recv(4096)
                in_flight = "completed 200" if reply.startswith(b"HTTP/1.1 200") else f"got {reply[:20]!r}"
            except OSError as exc:
                in_flight = f"failed ({type(exc).__name__})"
            finally:
                sock.close()
            try:
                code = proc.wait(15)
                exited = f"exit {code} after {time.monotonic() - signalled:.2f} s"
            except subprocess.TimeoutExpired:
                exited = "still running after 15 s"
            hook = "ran" if marker.exists() else "NOT run"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return f"in-flight request {in_flight}; new connection {new_conn}; shutdown hook {hook}; {exited}"


# ---------------------------------------------------------------- main


def print_medians(results: list[Result]) -> None:
    # Other work on a shared machine makes single rounds noisy; the median of the
    # alternated rounds, and server CPU per request, are the figures to compare.
    print(f"\nmedian of {max(r.round_no for r in results)} alternated rounds")
    header = f"{'server':8} {'endpoint':28} {'req/s':>7} {'p99 ms':>7} {'srv CPU µs/req':>14} {'PSS MB':>7}"
    print(header)
    print("-" * len(header))
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        groups.setdefault((r.endpoint, r.server), []).append(r)
    for (endpoint, server), rows in sorted(groups.items()):
        print(f"{server:8} {endpoint:28} {statistics.median(r.rps for r in rows):7.0f} "
              f"{statistics.median(r.p99_ms for r in rows):7.2f} "
              f"{statistics.median(r.cpu_us_per_req for r in rows):14.0f} "
              f"{statistics.median(r.pss_mb for r in rows):7.1f}")  # fmt: skip


async def run(args: argparse.Namespace) -> list[Result]:
    body = submission_body()
    endpoints = {
        "GET /station": http_request("GET", "/station"),
        f"PUT /submission ({len(body) / 1024:.1f} KiB)": http_request("PUT", "/submission", body),
    }
    results: list[Result] = []
    for round_no in range(1, args.rounds + 1):
        for name in args.servers:
            results += await measure(name, round_no, endpoints, args.duration, args.concurrency)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of measured load per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the servers this many times")
    parser.add_argument("--servers", nargs="+", default=["uvicorn", "granian"])
    parser.add_argument("--no-shutdown-check", action="store_true")
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, client on CPU 1")
    args = parser.parse_args()
    if args.pin:
        global SERVER_CPUS
        SERVER_CPUS = {0}
        os.sched_setaffinity(0, {1})

    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    results = runner(run(args))

    print(f"\nLitestar app, 1 worker each, {args.concurrency} keep-alive connections, {args.duration:.0f} s per row, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n")  # fmt: skip
    header = f"{'server':8} {'rnd':>3} {'endpoint':28} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'err':>4} "
    header += f"{'srv CPU µs/req':>14} {'client CPU %':>12} {'RSS peak MB':>11} {'PSS MB':>7}"
    print(header)
    print("-" * len(header))
    for r in sorted(results, key=lambda r: (r.endpoint, r.server, r.round_no)):
        print(f"{r.server:8} {r.round_no:3d} {r.endpoint:28} {r.rps:7.0f} {r.p50_ms:7.2f} {r.p99_ms:7.2f} {r.errors:4d} "
              f"{r.cpu_us_per_req:14.0f} {r.client_cpu_pct:12.0f} {r.rss_peak_mb:11.1f} {r.pss_mb:7.1f}")  # fmt: skip
    if args.rounds > 1:
        print_medians(results)

    if not args.no_shutdown_check:
        print()
        for name in args.servers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                print(f"{name:8} {sig.name:7} {shutdown_check(name, sig)}")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
