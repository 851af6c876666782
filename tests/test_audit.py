"""The audit trail: written with each change, append-only in the database, and hash-chained."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from server import db
from server.audit import queries as audit
from tests.factories import make_world


async def _write(url: str, n: int, label: str) -> None:
    conn = await db.connect(url)
    try:
        for i in range(n):
            async with conn.transaction():
                await audit.record(conn, "test.write", data={"writer": label, "i": i, "text": "روزنامچہ"})
    finally:
        await conn.close()


async def test_concurrent_writers_keep_one_valid_chain(database_url, conn):
    await asyncio.gather(*[_write(database_url, 25, f"w{w}") for w in range(6)])
    result = await audit.verify(conn)
    assert result.ok and result.checked == 150 and result.first_bad is None
    links = await conn.fetch("SELECT prev_hash, hash FROM audit_log ORDER BY seq")
    assert all(links[i]["prev_hash"] == links[i - 1]["hash"] for i in range(1, len(links)))


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log",
                                       "TRUNCATE audit_log"])
async def test_the_database_refuses_to_change_audit_rows(database_url, conn, statement):
    await _write(database_url, 2, "x")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute(statement)
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'test.write'") == 2


async def test_verify_finds_the_first_row_a_superuser_altered(database_url, conn):
    await _write(database_url, 10, "x")
    seqs = [r["seq"] for r in await conn.fetch("SELECT seq FROM audit_log ORDER BY seq")]
    async with conn.transaction():
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute("""UPDATE audit_log SET data = jsonb_set(data, '{i}', '99') WHERE seq = $1""", seqs[6])
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    result = await audit.verify(conn)
    assert not result.ok and result.first_bad == seqs[6] and result.checked == 6


async def test_verify_finds_a_deleted_row(database_url, conn):
    await _write(database_url, 5, "x")
    seqs = [r["seq"] for r in await conn.fetch("SELECT seq FROM audit_log ORDER BY seq")]
    async with conn.transaction():
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute("DELETE FROM audit_log WHERE seq = $1", seqs[2])
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    result = await audit.verify(conn)
    assert not result.ok and result.first_bad == seqs[3]


async def test_an_audit_row_outside_a_transaction_is_refused(conn):
    with pytest.raises(RuntimeError):
        await audit.record(conn, "test.write")


async def test_logins_failures_and_user_changes_are_audited_and_verifiable_via_the_api(client):
    conn = await client.db()
    try:
        world = await make_world(conn)
    finally:
        await conn.close()
    await client.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong-pass"})
    admin = await client.login("admin")
    await client.patch(f"/api/v1/users/{world.users['inspector_a']}", admin, json={"active": False})
    rows = (await client.get("/api/v1/audit", admin)).json()
    actions = [r["action"] for r in rows]
    assert actions[:3] == ["user.update", "auth.login", "auth.login_failed"]
    assert rows[0]["data"]["changes"] == {"active": False} and rows[0]["entity_id"] == str(world.users["inspector_a"])
    filtered = (await client.get("/api/v1/audit", admin, params={"action": "auth.login_failed"})).json()
    assert [r["action"] for r in filtered] == ["auth.login_failed"]
    verify = (await client.get("/api/v1/audit/verify", admin)).json()
    assert verify == {"ok": True, "checked": 3, "first_bad": None}
