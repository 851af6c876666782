"""`muaina serve` with no settings: the embedded PostgreSQL, the demo, a clean stop and a restart."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import ROOT, run_muaina
from tests.s3server import free_port


def _serve(data_dir: Path, port: int) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "S3_ENDPOINT"}}
    env.update({"DATA_DIR": str(data_dir), "PORT": str(port), "LOG_LEVEL": "WARNING"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--demo", "--no-history"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not come up")


def _postgres_running(data_dir: Path) -> bool:
    pg = str((data_dir / "pg").resolve())
    for p in psutil.process_iter(["name", "cmdline"]):
        if p.info["name"] == "postgres" and any(pg in part for part in p.info["cmdline"] or []):
            return True
    return False


@pytest.fixture
def data_dir():
    # Not pytest's tmp_path: as root the embedded server runs as an unprivileged user that must be able
    # to traverse every parent directory, and pytest keeps /tmp/pytest-of-root private (0700).
    path = Path(tempfile.mkdtemp(prefix="muaina-cli-", dir="/tmp"))
    path.chmod(0o755)
    yield path / "var"
    shutil.rmtree(path, ignore_errors=True)


def test_serve_with_no_settings_runs_the_demo_stops_cleanly_and_keeps_data(data_dir):
    proc, url = _serve(data_dir, free_port())
    try:
        login = httpx.post(url + "/api/v1/auth/login", json={"username": "admin", "password": "admin-demo-2026"})
        assert login.status_code == 200
        token = login.json()["token"]
        created = httpx.post(
            url + "/api/v1/regions",
            headers={"Authorization": f"Bearer {token}"},
            json={"code": "KEEP", "name": "Survives restart"},
        )
        assert created.status_code == 201, created.text
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert "admin-demo-2026" in out and f"{url}/" in out
    assert proc.returncode == 0
    # As root the embedded server's package makes a system user and opens the folders above var/: said.
    assert ("running as root" in out) == (os.geteuid() == 0), out[:2000]
    assert not _postgres_running(data_dir), "SIGTERM must stop the embedded PostgreSQL too"

    proc, url = _serve(data_dir, free_port())
    try:
        token = httpx.post(
            url + "/api/v1/auth/login", json={"username": "admin", "password": "admin-demo-2026"}
        ).json()["token"]
        regions = httpx.get(url + "/api/v1/regions", headers={"Authorization": f"Bearer {token}"}).json()
        assert "KEEP" in [r["code"] for r in regions]
        assert sum(1 for r in regions if r["code"] == "LHR") == 1, "the demo is loaded once, not twice"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    # Ctrl-C, as `make run` is stopped: a clean stop, no traceback.
    assert proc.returncode == 0 and "Traceback" not in out and "KeyboardInterrupt" not in out, out[-2000:]
    assert not _postgres_running(data_dir)


def test_the_server_process_freezes_its_startup_objects_and_collects_the_young_generation_less_often():
    # Run in a child process: freezing is for a server process, never for the test process itself.
    code = (
        "import gc; from server.cli import GC_THRESHOLDS, freeze_startup_objects; freeze_startup_objects(); "
        "print(gc.get_freeze_count(), gc.get_threshold() == GC_THRESHOLDS, GC_THRESHOLDS[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    frozen, applied, young = out.split()
    assert int(frozen) > 10_000  # the modules and objects start-up built
    assert applied == "True"
    assert int(young) > 700  # above Python's default, or a 300-answer sync collects several times


@pytest.mark.parametrize(("cores", "workers", "each"), [(8, 1, 8), (8, 4, 2), (2, 4, 1), (None, 1, 1)])
def test_app_processes_share_the_cores_for_photo_processing(monkeypatch, cores, workers, each):
    from server.cli import image_workers_per_process

    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert image_workers_per_process(workers) == each


def test_a_database_that_cannot_be_reached_stops_a_command_with_one_line_naming_it():
    nobody = f"postgresql://muaina:secret-word@127.0.0.1:{free_port()}/muaina"
    for args in (["migrate"], ["serve", "--port", str(free_port())], ["prune-sessions"]):
        done = run_muaina(args, DATABASE_URL=nobody)
        assert done.returncode == 1, done.stderr
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("muaina: cannot connect to the database DATABASE_URL names (127.0.0.1:"), line
        assert "secret-word" not in line and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["sweep-photos"], ["recover-photos", "--dry-run"]])
def test_a_photo_store_that_cannot_be_reached_stops_a_command_with_one_line_naming_it(database_url: str, command):
    args = [str(free_port()) if a == "0" else a for a in command]
    done = run_muaina(
        args,
        DATABASE_URL=database_url,
        S3_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        S3_ACCESS_KEY="muaina",
        S3_SECRET_KEY="muaina-secret",
        S3_TIMEOUT_SECONDS="3",
    )
    assert done.returncode == 1, done.stderr
    # The store client's own warnings come first (what it tried, at LOG_LEVEL); the last line says it all.
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("muaina: cannot use the photo store (S3_ENDPOINT 127.0.0.1:"), line
    assert "Traceback" not in done.stderr


def test_a_read_replica_that_cannot_be_reached_stops_serve_before_it_says_it_is_running(database_url: str):
    nobody = f"postgresql://muaina:secret-word@127.0.0.1:{free_port()}/muaina"
    done = run_muaina(["serve", "--port", str(free_port())], DATABASE_URL=database_url, DATABASE_READ_URL=nobody)
    assert done.returncode == 1, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("muaina: cannot connect to the database DATABASE_READ_URL names (127.0.0.1:"), line
    assert "is running" not in done.stdout and "Traceback" not in done.stderr and "secret-word" not in done.stderr


def test_a_failover_url_of_several_hosts_is_named_in_one_line_too():
    hosts = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    done = run_muaina(["migrate"], DATABASE_URL=f"postgresql://muaina:secret-word@{hosts}/muaina")
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"muaina: cannot connect to the database DATABASE_URL names ({hosts}/muaina)"), line
    assert "Traceback" not in done.stderr and "secret-word" not in line


def test_photo_maintenance_says_in_one_line_when_there_is_no_photo_directory(database_url: str, tmp_path):
    # Run from cron in another directory, the directory store is not found: nothing is "all well".
    for args in (["sweep-photos"], ["recover-photos", "--dry-run"]):
        done = run_muaina(args, DATABASE_URL=database_url, DATA_DIR=str(tmp_path / "elsewhere"))
        assert done.returncode == 1, done.stderr
        line = done.stderr.strip().splitlines()[-1]
        assert line.startswith(f"muaina: there is no photo directory at {tmp_path / 'elsewhere' / 'photos'}"), line
        assert "Traceback" not in done.stderr


async def test_create_admin_reads_the_password_from_stdin_not_the_command_line(database_url: str):
    from server import db
    from server.auth.rules import verify_password

    def create(username: str, stdin: str, *extra: str) -> subprocess.CompletedProcess:
        return run_muaina(["create-admin", "--username", username, *extra], stdin=stdin, DATABASE_URL=database_url)

    # Piped, as a script or `read -s` gives it: the password is never on the command line.
    done = create("it.officer", "a long passphrase\n")
    assert done.returncode == 0, done.stderr
    assert "created admin it.officer" in done.stdout and "warning" not in done.stderr
    # Refused before anything is created: too short, a username the API would refuse.
    short = create("it.short", "short\n")
    assert short.returncode == 2 and "8 to 256 characters" in short.stderr, short.stderr
    bad = create("it officer", "a long passphrase\n")
    assert bad.returncode == 2 and "a username is 3 to 64" in bad.stderr, bad.stderr
    # The old flag still works, with a warning that the shell keeps it.
    flagged = create("it.flagged", "", "--password", "another long one")
    assert flagged.returncode == 0 and "stays in the shell's history" in flagged.stderr, flagged.stderr

    conn = await db.connect(database_url)
    try:
        rows = {
            r["username"]: r
            for r in await conn.fetch("SELECT username, role, password_hash FROM users WHERE username LIKE 'it%'")
        }
    finally:
        await conn.close()
    assert set(rows) == {"it.officer", "it.flagged"}
    assert rows["it.officer"]["role"] == "admin"
    assert verify_password(rows["it.officer"]["password_hash"], "a long passphrase")
    assert verify_password(rows["it.flagged"]["password_hash"], "another long one")


def test_an_address_in_use_is_one_line_before_anything_says_it_is_running(database_url: str):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        for workers in ("1", "2"):
            done = run_muaina(["serve", "--port", str(port), "--workers", workers], DATABASE_URL=database_url)
            assert done.returncode == 1, done.stderr
            line = done.stderr.strip().splitlines()[-1]
            assert line.startswith(f"muaina: cannot listen on 127.0.0.1:{port}: Address already in use"), line
            assert "is running" not in done.stdout and "Traceback" not in done.stderr
    finally:
        taken.close()


def test_workers_that_cannot_start_stop_the_server_with_a_failing_status(database_url: str):
    # The supervisor `serve --workers N` runs, with workers whose settings are wrong: uvicorn stopped
    # them all and returned as after a clean stop (`muaina serve --workers 4` exited 0), and an app
    # factory's exception was restarted for ever.
    code = (
        "import sys, uvicorn\n"
        "from server.cli import _listen, serve_workers\n"
        "sock = _listen('127.0.0.1', 0)\n"
        "config = uvicorn.Config('server.asgi:create', factory=True, workers=2, log_level='error')\n"
        "sys.exit(serve_workers(config, sock))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "S3_ENDPOINT"}
    env.update({"DATABASE_URL": database_url, "SESSION_TTL_HOURS": "not a number"})
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "SESSION_TTL_HOURS" in done.stderr and "this worker process cannot start" in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "muaina: a worker process could not start (its error is above); stopped"
    ), done.stderr


@pytest.mark.parametrize("command", [["verify-audit"], ["prune-sessions"], ["verify-photos"], ["sweep-photos"]])
def test_a_maintenance_command_where_there_is_no_database_says_so_and_makes_none(tmp_path, command):
    # Cron starts in the home directory: the embedded default would have made a new, empty PostgreSQL
    # there (46 MB) and then failed with a traceback about a missing table.
    done = run_muaina(command, DATA_DIR=str(tmp_path / "var"))
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"muaina: there is no database at {tmp_path / 'var' / 'pg'}"), line
    assert not (tmp_path / "var" / "pg").exists()


async def test_a_maintenance_command_on_a_database_not_migrated_says_so_in_one_line(pg_admin_url: str, tmp_path):
    from server.embedded import with_database
    from tests.conftest import _admin_exec, drop_database

    name = f"bare_{uuid.uuid4().hex[:12]}"
    await _admin_exec(pg_admin_url, f'CREATE DATABASE "{name}"')
    try:
        for command in (["verify-audit"], ["prune-sessions"]):
            done = await asyncio.to_thread(run_muaina, command, DATABASE_URL=with_database(pg_admin_url, name))
            assert done.returncode == 1, done.stderr
            [line] = done.stderr.strip().splitlines()
            assert "of this version's migrations, from 0001_" in line and "muaina migrate" in line, line
    finally:
        await drop_database(pg_admin_url, name)


async def test_the_banner_lists_only_demo_sign_ins_that_still_work(demo_database_url: str):
    from server import db
    from server.audit import queries as audit
    from server.cli import _banner, _demo_sign_ins
    from server.config import load_settings
    from server.demo.content import DEMO_USERS

    conn = await db.connect(demo_database_url)
    try:
        usernames = [u["username"] for u in DEMO_USERS]
        assert await _demo_sign_ins(conn, usernames) == set(usernames)
        # An admin resets the reviewer's password (audited as the API does) and switches an inspector off.
        reviewer = await conn.fetchval("SELECT id FROM users WHERE username = 'rpo.lahore'")
        async with conn.transaction():
            await audit.record(
                conn, "user.update", entity="user", entity_id=reviewer, data={"changes": {"password": "reset"}}
            )
            await conn.execute("UPDATE users SET active = false WHERE username = 'inspector.ali'")
        unchanged = await _demo_sign_ins(conn, usernames)
    finally:
        await conn.close()
    assert unchanged == set(usernames) - {"rpo.lahore", "inspector.ali"}
    banner = _banner(load_settings({}), True, unchanged=unchanged)
    assert "rpo.lahore" not in banner and "inspector.ali" not in banner and "admin-demo-2026" in banner
    assert "2 demo account(s) not listed" in banner
