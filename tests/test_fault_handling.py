"""Faults outside the request's control: a read-only database, a dead or hung CPU worker, a full photo
disk. Each is answered with a 503 the client can retry, /ready says which part is wrong, and the app
works again once the fault is gone, without a restart."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psutil
import pytest
from litestar.testing import AsyncTestClient

from server import db
from server.app import create_app
from server.embedded import with_database
from server.exports import render
from server.photos import service
from server.workers import HealingProcessPool
from tests.conftest import app_in_this_loop, clone_database, drop_database, make_settings
from tests.factories import PASSWORD, ApiClient, make_world
from tests.photo_corpus import make_phone_jpeg
from tests.test_exports import full_answers
from tests.test_exports import make_env as make_report_env
from tests.test_photos_api import make_env as make_photo_env
from tests.test_photos_api import make_inspection, upload

# A guard against waiting forever on a broken build, far beyond what any step takes.
GUARD_SECONDS = 60


def _database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


async def _set_read_only(admin_url: str, name: str, on: bool) -> None:
    """Make new sessions of database `name` read-only (or not) and end its open ones, so that every
    connection the app opens from now on finds the database as a standby would leave it."""
    admin = await db.connect(admin_url)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()


async def _ready_until(api: ApiClient, status: int, saying: str = "") -> Any:
    """/ready once it answers `status` with `saying` in its body: the pool first meets the
    connections that were ended (a "not answering" on the way is no answer yet)."""
    deadline = asyncio.get_running_loop().time() + GUARD_SECONDS
    while True:
        response = await api.get("/ready")
        if (response.status_code == status and saying in response.text) or asyncio.get_running_loop().time() > deadline:
            return response
        await asyncio.sleep(0.1)


def _region(code: str) -> dict[str, Any]:
    return {"code": code, "name": {"en": f"Region {code}", "ur": "ریجن"}}


async def test_a_read_only_database_answers_writes_503_and_ready_says_so_until_it_is_writable_again(
    client: ApiClient, pg_admin_url: str, caplog: pytest.LogCaptureFixture
):
    conn = await client.db()
    try:
        await make_world(conn)
    finally:
        await conn.close()
    token = await client.login("admin")
    assert (await client.post("/api/v1/regions", token, json=_region("RW"))).status_code == 201
    name = _database_name(client.database_url)

    await _set_read_only(pg_admin_url, name, True)
    try:
        ready = await _ready_until(client, 503, "read-only")
        assert ready.status_code == 503, ready.text
        assert "database is read-only" in ready.json()["detail"]
        with caplog.at_level(logging.WARNING, logger="muaina"):
            refused = [
                await client.post("/api/v1/regions", token, json=_region("RX")),
                await client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}),
            ]
        for response in refused:
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert int(response.headers["retry-after"]) > 0
            assert "read-only" in response.json()["detail"]
        # Logged as the outage it is, one line each, not as a bug with its stack trace.
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
        assert sum("read-only" in r.getMessage() for r in caplog.records) == 2, caplog.text
    finally:
        await _set_read_only(pg_admin_url, name, False)

    ready = await _ready_until(client, 200)
    assert ready.status_code == 200, ready.text
    assert (await client.post("/api/v1/regions", token, json=_region("RX"))).status_code == 201


async def test_a_read_replica_is_not_required_to_take_writes_to_be_ready(
    database_url: str, pg_admin_url: str, template_db: str, tmp_path: Path, executor: HealingProcessPool
):
    replica = await clone_database(pg_admin_url, template_db)
    try:
        await _set_read_only(pg_admin_url, replica, True)
        settings = make_settings(database_url, tmp_path / "var", database_read_url=with_database(pg_admin_url, replica))
        app = create_app(settings, executor=executor, run_migrations=False)
        async with AsyncTestClient(app, raise_server_exceptions=False) as http:
            ready = await http.get("/ready")
        assert ready.status_code == 200, ready.text
    finally:
        await drop_database(pg_admin_url, replica)


def _statvfs_reporting(free_bytes: int, root: Path):
    real = os.statvfs

    def statvfs(path: Any) -> Any:
        st = real(path)
        if Path(path) != root:
            return st
        fields = list(st)
        fields[0] = fields[1] = 4096  # f_bsize, f_frsize
        fields[4] = free_bytes // 4096  # f_bavail
        return os.statvfs_result(fields)

    return statvfs


async def test_a_nearly_full_photo_disk_makes_ready_503_naming_the_space_left(
    client: ApiClient, monkeypatch: pytest.MonkeyPatch
):
    store = client.http.app.state.store
    # Room for two of the largest photos, not the three the server keeps in hand.
    almost_full = 2 * client.http.app.state.settings.max_photo_bytes
    monkeypatch.setattr(os, "statvfs", _statvfs_reporting(almost_full, store.root))
    response = await client.get("/ready")
    assert response.status_code == 503, response.text
    assert f"photo disk full: {almost_full // 2**20} MB free" in response.json()["detail"]

    monkeypatch.setattr(os, "statvfs", _statvfs_reporting(4 * 2**30, store.root))
    assert (await client.get("/ready")).status_code == 200


@pytest.fixture
async def own_pool() -> AsyncIterator[HealingProcessPool]:
    """A pool of one worker for a test that kills or stops it (the session's pool stays untouched)."""
    pool = HealingProcessPool(max_workers=1)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


def _die_rendering(data: Any) -> bytes:
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


async def test_a_worker_killed_while_rendering_a_report_is_a_503_and_the_next_report_renders(
    settings, own_pool: HealingProcessPool, monkeypatch: pytest.MonkeyPatch
):
    app = create_app(settings, executor=own_pool, run_migrations=False)
    async with AsyncTestClient(app, raise_server_exceptions=False) as http:
        env = await make_report_env(ApiClient(http, settings.database_url or ""))
        inspection_id = await env.sync("A", full_answers(), location={"lat": 31.5, "lon": 74.35, "accuracy_m": 8})
        path = f"/api/v1/inspections/{inspection_id}/report.pdf"

        monkeypatch.setattr(render, "render_report", _die_rendering)
        killed = await env.get(path)
        assert killed.status_code == 503, killed.text
        assert killed.headers["content-type"].startswith("application/problem+json")
        assert killed.headers["retry-after"]

        monkeypatch.undo()
        again = await env.get(path)
        assert again.status_code == 200, again.text
        assert again.content.startswith(b"%PDF")


async def test_a_hung_image_worker_gives_uploads_a_503_and_a_fresh_pool_processes_the_next(
    settings, own_pool: HealingProcessPool, monkeypatch: pytest.MonkeyPatch
):
    stopped: list[int] = []
    try:
        async with app_in_this_loop(settings, own_pool) as api:
            env = await make_photo_env(api)
            inspection_id = await make_inspection(api, env.world, env.version_id)
            photo = make_phone_jpeg(1200, 900)
            assert (await upload(env, photo, inspection_id=inspection_id)).status_code == 201

            # The worker stops as one stuck in swap or in a decoder would: alive, and answering nothing.
            workers = [p for p in psutil.Process().children(recursive=True) if p.pid in own_pool.worker_pids]
            assert workers, "the pool's worker is not a process of this test"
            for worker in workers:
                worker.send_signal(signal.SIGSTOP)
                stopped.append(worker.pid)
            # (raising=False: on a build without the deadline, the guard below fails the test instead.)
            monkeypatch.setattr(service, "PROCESS_DEADLINE_SECONDS", 2, raising=False)
            monkeypatch.setattr(service, "STALLED_AFTER_SECONDS", 2, raising=False)
            # Five at once: one on the stuck worker, two handed to it next, two still queued in the pool.
            hung = await asyncio.wait_for(
                asyncio.gather(
                    *(upload(env, make_phone_jpeg(640, 480, seed=n), inspection_id=inspection_id) for n in range(1, 6))
                ),
                GUARD_SECONDS,
            )
            for response in hung:
                assert response.status_code == 503, response.text
                assert response.headers["content-type"].startswith("application/problem+json")
            # The stuck worker is ended, not left behind holding its memory.
            gone, alive = psutil.wait_procs(workers, timeout=GUARD_SECONDS)
            assert not alive

            monkeypatch.undo()
            later = await asyncio.wait_for(
                upload(env, make_phone_jpeg(1200, 900, seed=9), inspection_id=inspection_id),
                GUARD_SECONDS,
            )
            assert later.status_code == 201, later.text
            assert not set(own_pool.worker_pids) & set(stopped)
    finally:
        for pid in stopped:  # a worker the code under test failed to end
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def _square(n: int) -> int:
    return n * n


def test_a_pool_that_keeps_finishing_jobs_is_not_replaced_as_hung():
    pool = HealingProcessPool(max_workers=1)
    try:
        assert pool.submit(_square, 3).result(timeout=GUARD_SECONDS) == 9
        workers = pool.worker_pids
        assert not pool.replace_if_stalled(GUARD_SECONDS)
        assert pool.worker_pids == workers
        assert pool.submit(_square, 4).result(timeout=GUARD_SECONDS) == 16
    finally:
        pool.shutdown(cancel_futures=True)


async def test_an_upload_timed_out_behind_a_long_report_does_not_kill_the_report(monkeypatch):
    """The pool renders reports too, with no deadline. An upload that waits past its own deadline behind
    one answers 503, but the busy pool is not taken for a hung one: the report finishes."""
    import time

    pool = HealingProcessPool(max_workers=1)
    try:
        assert pool.submit(_square, 2).result(timeout=GUARD_SECONDS) == 4
        workers = pool.worker_pids
        report = asyncio.wrap_future(pool.submit(time.sleep, 4))
        monkeypatch.setattr(service, "PROCESS_DEADLINE_SECONDS", 1)
        with pytest.raises(service.Unavailable):
            await service._process(pool, make_phone_jpeg(320, 240))
        assert await asyncio.wait_for(report, GUARD_SECONDS) is None
        assert pool.worker_pids == workers
    finally:
        pool.shutdown(cancel_futures=True)
