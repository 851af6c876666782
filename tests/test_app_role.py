"""The app run as a role that cannot rewrite the audit trail (server/approle.py, schema/0024).

Under the role `muaina grant-app-role` prepares, the app signs in, takes a submission, a photo and a
review and checks the trail, while every way to change or remove what the trail holds is refused.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from server import approle, cli, db
from server.app import create_app
from server.org.importer import import_stations_file
from tests.conftest import make_settings, run_muaina
from tests.factories import ApiClient, make_world
from tests.review_fixtures import make_ctx

PASSWORD = "app-role-secret"
ROOT = Path(__file__).resolve().parent.parent


def with_user(url: str, user: str, password: str) -> str:
    """The same database as `url`, signed in as `user`."""
    parts = urlsplit(url)
    place = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}:{password}@{place}", parts.path, parts.query, parts.fragment))


async def _as_owner(url: str, *statements: str) -> None:
    conn = await db.connect(url)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def role(pg_admin_url: str, database_url: str) -> AsyncIterator[str]:
    """A login role of its own on the test cluster, owning nothing and granted nothing yet."""
    name = f"muaina_app_{uuid.uuid4().hex[:8]}"
    await _as_owner(pg_admin_url, f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'")
    yield name
    # Its privileges in the test's database go first; the role is the cluster's, so it is dropped too.
    await _as_owner(database_url, f"DROP OWNED BY {name}")
    await _as_owner(pg_admin_url, f"DROP ROLE {name}")


@pytest.fixture
async def app_url(database_url: str, role: str) -> str:
    """The test database's URL as the application role, granted as `muaina grant-app-role` grants."""
    conn = await db.connect(database_url)
    try:
        await approle.grant_app_role(conn, role)
    finally:
        await conn.close()
    return with_user(database_url, role, PASSWORD)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "DROP TRIGGER audit_log_append_only ON audit_log",
        "DROP TABLE audit_log",
        "INSERT INTO audit_log (at, action, prev_hash, hash) VALUES (now(), 'forged', '\\x00', '\\x00')",
        "SELECT setval(pg_get_serial_sequence('audit_log', 'seq'), 1)",
        "CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN OLD; END'",
        "ALTER FUNCTION audit_append(uuid, text, text, text, text, jsonb, text, bytea, bytea) SECURITY INVOKER",
        "ALTER TABLE audit_queue DISABLE TRIGGER ALL",
        "GRANT UPDATE ON audit_log TO CURRENT_USER; UPDATE audit_log SET actor = 'someone else'",
    ],
)
async def test_the_app_role_may_not_change_the_audit_trail(app_url, conn, statement):
    await conn.execute("SELECT audit_append(NULL, 'test', 'test.write', NULL, NULL, '{}', NULL, '\\x7b', '\\x7d')")
    before = await conn.fetch("SELECT * FROM audit_log ORDER BY seq")
    app = await db.connect(app_url)
    try:
        # Not the guard trigger's "append-only" refusal (it raises the same code): the privilege itself.
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied|must be owner"):
            await app.execute(statement)
        # Reading it stays allowed: the app shows and checks the trail.
        assert await app.fetchval("SELECT count(*) FROM audit_log") == len(before)
    finally:
        await app.close()
    assert await conn.fetch("SELECT * FROM audit_log ORDER BY seq") == before
    assert await conn.fetchval("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass") == 2


async def test_the_app_role_has_no_truncate_trigger_or_references_anywhere(app_url, conn, role):
    granted = await conn.fetch(
        """SELECT table_name, privilege_type FROM information_schema.role_table_grants
            WHERE grantee = $1 ORDER BY 1, 2""",
        role,
    )
    by_table: dict[str, set[str]] = {}
    for row in granted:
        by_table.setdefault(row["table_name"], set()).add(row["privilege_type"])
    assert by_table["audit_log"] == {"SELECT"}
    assert by_table["schema_migrations"] == by_table["app_roles"] == {"SELECT"}
    assert by_table["inspections"] == by_table["audit_queue"] == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert not {p for privileges in by_table.values() for p in privileges} & {"TRUNCATE", "TRIGGER", "REFERENCES"}
    assert not await conn.fetchval(
        "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)", role
    )


async def test_the_app_runs_a_whole_inspection_as_the_app_role_and_the_trail_checks_out(
    app_url, database_url, tmp_path, executor, conn
):
    settings = make_settings(app_url, tmp_path / "var")
    # With migrations at start-up, as `muaina serve` runs them: with none pending it needs no DDL.
    app = create_app(settings, executor=executor, run_migrations=True)
    async with AsyncTestClient(app, raise_server_exceptions=False) as test_client:
        # The test's own rows (users, stations) go in as the owner; the app writes as the role.
        client = ApiClient(test_client, database_url)
        ctx = await make_ctx(client)  # signs in; creates and publishes a template
        seq_before = await conn.fetchval("SELECT max(seq) FROM audit_log")
        inspection_id, revision = await ctx.submit()
        await ctx.upload_photo(inspection_id)
        reviewed = await ctx.review(
            inspection_id,
            "approve",
            revision,
            score_overrides={"l_water": {"score": 0, "reason": "The tap in the lock-up is dry (photo 3)"}},
        )
        assert reviewed.status_code == 200, reviewed.text
        assert await conn.fetchval("SELECT count(*) FROM actions WHERE inspection_id = $1", inspection_id) == 1
        verify = await ctx.client.get("/api/v1/audit/verify", await ctx.token("admin"))
        assert verify.status_code == 200, verify.text
        assert verify.json()["ok"] is True and verify.json()["first_bad"] is None
    written = await conn.fetch("SELECT action, entity_id FROM audit_log WHERE seq > $1 ORDER BY seq", seq_before)
    actions = [row["action"] for row in written]
    assert any(row["entity_id"] == str(inspection_id) for row in written), actions
    assert actions[-1] == "audit.verified"
    assert await conn.fetchval("SELECT count(*) FROM audit_queue") == 0


async def test_grant_app_role_can_be_repeated_and_takes_back_what_was_added_by_hand(app_url, database_url, role):
    await _as_owner(database_url, f"GRANT TRUNCATE, UPDATE ON audit_log, inspections TO {role}")
    conn = await db.connect(database_url)
    try:
        await approle.grant_app_role(conn, role)
        await approle.grant_app_role(conn, role)
        assert await conn.fetchval("SELECT count(*) FROM app_roles WHERE role = $1", role) == 1
        assert not await conn.fetchval("SELECT has_table_privilege($1, 'audit_log', 'UPDATE')", role)
        assert not await conn.fetchval("SELECT has_table_privilege($1, 'inspections', 'TRUNCATE')", role)
        assert await conn.fetchval("SELECT has_table_privilege($1, 'inspections', 'UPDATE')", role)
    finally:
        await conn.close()


def _grant(role: str, database_url: str) -> subprocess.CompletedProcess:
    """`python -m server grant-app-role ROLE`, as the owner."""
    return run_muaina(["grant-app-role", role], DATABASE_URL=database_url)


async def test_grant_app_role_refuses_an_unknown_role_and_the_owner(database_url):
    done = await asyncio.to_thread(_grant, "nobody_at_all", database_url)
    assert done.returncode == 1 and "there is no role 'nobody_at_all'" in done.stderr, done.stderr
    done = await asyncio.to_thread(_grant, await _owner(database_url), database_url)
    assert done.returncode == 1 and "superuser" in done.stderr, done.stderr  # the test cluster's owner is one
    conn = await db.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM app_roles") == 0
    finally:
        await conn.close()


async def test_grant_app_role_refuses_a_member_of_the_owner(pg_admin_url, database_url, role):
    await _as_owner(pg_admin_url, f"GRANT {await _owner(database_url)} TO {role}")
    conn = await db.connect(database_url)
    try:
        with pytest.raises(approle.Refused, match="owns the tables"):
            await approle.grant_app_role(conn, role)
    finally:
        await conn.close()
        await _as_owner(pg_admin_url, f"REVOKE {await _owner(database_url)} FROM {role}")


@pytest.mark.parametrize(
    ("attribute", "said"),
    [
        ("CREATEROLE", "CREATEROLE"),
        ("BYPASSRLS", "BYPASSRLS or REPLICATION"),
        ("REPLICATION", "BYPASSRLS or REPLICATION"),
    ],
)
async def test_grant_app_role_refuses_a_role_that_could_make_itself_more(
    pg_admin_url, database_url, role, attribute, said
):
    """Up to PostgreSQL 15 a CREATEROLE role may GRANT itself the tables' owner and then disable the
    trail's guards: such a role is no safer than the owner."""
    await _as_owner(pg_admin_url, f"ALTER ROLE {role} {attribute}")
    conn = await db.connect(database_url)
    try:
        with pytest.raises(approle.Refused, match=said):
            await approle.grant_app_role(conn, role)
        assert await conn.fetchval("SELECT count(*) FROM app_roles") == 0
    finally:
        await conn.close()


@pytest.mark.parametrize("attribute", ["CREATEROLE", "SUPERUSER"])
async def test_grant_app_role_refuses_a_member_of_a_group_that_could_make_it_more(
    pg_admin_url, database_url, role, attribute
):
    """A member of a group role with CREATEROLE (or of a superuser) becomes that group with SET ROLE, and
    then as much as the attribute allows: checking the role's own attributes is not enough."""
    group = f"{role}_group"
    await _as_owner(pg_admin_url, f"CREATE ROLE {group} NOLOGIN {attribute}", f"GRANT {group} TO {role}")
    conn = await db.connect(database_url)
    try:
        with pytest.raises(approle.Refused, match="CREATEROLE" if attribute == "CREATEROLE" else "superuser"):
            await approle.grant_app_role(conn, role)
        assert await conn.fetchval("SELECT count(*) FROM app_roles") == 0
    finally:
        await conn.close()
        await _as_owner(pg_admin_url, f"REVOKE {group} FROM {role}", f"DROP ROLE {group}")


async def _owner(url: str) -> str:
    conn = await db.connect(url)
    try:
        return await conn.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'")
    finally:
        await conn.close()


async def test_grant_app_role_from_the_command_line(database_url, role):
    for _ in range(2):  # and again: nothing changes
        done = await asyncio.to_thread(_grant, role, database_url)
        assert done.returncode == 0 and f"granted {role}" in done.stdout, done.stderr
    conn = await db.connect(with_user(database_url, role, PASSWORD))
    try:
        assert await conn.fetchval("SELECT count(*) FROM inspections") == 0
    finally:
        await conn.close()


async def test_a_table_a_later_migration_adds_is_granted_by_migrate(app_url, database_url, role, tmp_path: Path):
    later = tmp_path / "schema"
    shutil.copytree(db.SCHEMA_DIR, later)
    (later / "0999_later_table.sql").write_text("CREATE TABLE later_things (id int PRIMARY KEY);\n")
    conn = await db.connect(database_url)
    try:
        assert await db.migrate(conn, later) == ["0999_later_table.sql"]
    finally:
        await conn.close()
    app = await db.connect(app_url)
    try:
        await app.execute("INSERT INTO later_things VALUES (1)")
        assert await app.fetchval("UPDATE later_things SET id = 2 RETURNING id") == 2
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.execute("TRUNCATE later_things")
        # Nothing pending: the app's own start-up migrate needs no privilege it lacks.
        assert await db.migrate(app, later) == []
    finally:
        await app.close()


async def test_a_pending_migration_run_as_the_app_role_says_the_owner_must_run_it(app_url, tmp_path: Path, monkeypatch):
    later = tmp_path / "schema"
    shutil.copytree(db.SCHEMA_DIR, later)
    (later / "0999_later_table.sql").write_text("CREATE TABLE later_things (id int PRIMARY KEY);\n")
    app = await db.connect(app_url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await db.migrate(app, later)
    finally:
        await app.close()
    # And through the command line (start-up, `muaina migrate`): one line naming who must run it.
    migrate = db.migrate
    monkeypatch.setattr(db, "migrate", lambda conn: migrate(conn, later))
    with pytest.raises(cli.Unreachable, match="run `muaina migrate` with the owner's DATABASE_URL"):
        await cli._migrate(app_url)


async def test_the_maintenance_commands_run_as_the_app_role(app_url, conn, tmp_path: Path):
    (tmp_path / "var" / "photos").mkdir(parents=True)
    for command in (["verify-audit"], ["prune-sessions"], ["sweep-photos", "--dry-run"]):
        done = await asyncio.to_thread(run_muaina, command, DATABASE_URL=app_url, DATA_DIR=str(tmp_path / "var"))
        assert done.returncode == 0, (command, done.stderr)
    # verify-audit recorded its check in the trail, through the queue.
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'audit.verified'") == 1
    done = await asyncio.to_thread(
        lambda: run_muaina(
            ["create-admin", "--username", "it.officer"], stdin="a-long-password\n", DATABASE_URL=app_url
        )
    )
    assert done.returncode == 0, done.stderr
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'user.create'") == 1


async def test_a_station_import_runs_as_the_app_role(app_url, conn, tmp_path: Path):
    # Through a temporary table filled by COPY: the role may make temporary tables, not tables.
    await make_world(conn)
    path = tmp_path / "stations.csv"
    path.write_text(
        "code,name_en,name_ur,district_code,circle_code,lat,lon,sips,kind\nAPP1,PS App,تھانہ,DA,,31.5,74.3,,\n"
    )
    app = await db.connect(app_url)
    try:
        ok, message = await import_stations_file(app, path)
    finally:
        await app.close()
    assert ok and "1 created" in message, message
