"""The audit trail: written with each change, append-only in the database, and hash-chained."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from server import db
from server.audit import queries as audit
from tests.conftest import ROOT
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


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log", "TRUNCATE audit_log"]
)
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
    assert verify == {
        "ok": True,
        "checked": 3,
        "first_bad": None,
        "after": 0,
        "through": verify["through"],
        "last_full": None,
        # Extensions of the reply: the head to keep, gaps in the numbering, the inspection records.
        "head_hash": verify["head_hash"],
        "gaps": [],
        "missing": 0,
        "records": {"ok": True, "inspections": 0, "problem_count": 0, "problems": []},
        # The trail against the heads kept in the photo store (tests/test_audit_anchors.py): none yet.
        "anchors": {
            "ok": True,
            "kept": 0,
            "newest_seq": None,
            "newest_at": None,
            "written_seq": verify["through"],
            "differ_count": 0,
            "differs": [],
            "set_aside": [],
        },
    }


async def _alter(conn, seq: int) -> None:
    """A superuser changes one row behind the application's back."""
    async with conn.transaction():
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute("UPDATE audit_log SET ip = '10.9.9.9' WHERE seq = $1", seq)
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


async def test_a_full_check_is_recorded_and_the_next_one_walks_only_what_was_written_since(client, database_url, conn):
    await make_world(conn)
    await _write(database_url, 6, "before")
    admin = await client.login("admin")
    full = (await client.get("/api/v1/audit/verify", admin)).json()
    head = await conn.fetchrow("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    assert full["ok"] and full["after"] == 0 and full["through"] == head["seq"] - 1  # the check's own row follows
    recorded = await conn.fetchrow("SELECT actor, data FROM audit_log WHERE seq = $1", head["seq"])
    walked_to = await conn.fetchval("SELECT hash FROM audit_log WHERE seq = $1", full["through"])
    assert recorded["actor"] == "admin"
    assert recorded["data"] == {
        "ok": True,
        "checked": full["checked"],
        "first_bad": None,
        "through": full["through"],
        "hash": walked_to.hex(),
        "records_ok": True,
        "record_problems": 0,
    }

    await _write(database_url, 4, "after")
    recent = (await client.get("/api/v1/audit/verify", admin, params={"since_last_check": "true"})).json()
    # The check's own row and the four written since; nothing before.
    assert (recent["ok"], recent["after"], recent["checked"]) == (True, full["through"], 5)
    assert recent["last_full"]["through"] == full["through"] and recent["last_full"]["checked"] == full["checked"]
    # Only a full check is recorded: the quick one added nothing.
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'audit.verified'") == 1

    # A row written since the full check, altered: the quick check finds it.
    newest = await conn.fetchval("SELECT max(seq) FROM audit_log WHERE action = 'test.write'")
    await _alter(conn, newest)
    recent = (await client.get("/api/v1/audit/verify", admin, params={"since_last_check": "true"})).json()
    assert (recent["ok"], recent["first_bad"], recent["checked"]) == (False, newest, 4)


async def test_a_row_altered_before_the_last_full_check_is_found_by_the_next_full_one_and_then_always(
    client, database_url, conn
):
    await make_world(conn)
    await _write(database_url, 5, "x")
    admin = await client.login("admin")
    assert (await client.get("/api/v1/audit/verify", admin)).json()["ok"]
    oldest = await conn.fetchval("SELECT min(seq) FROM audit_log WHERE action = 'test.write'")
    await _alter(conn, oldest)
    # What the quick check cannot see: it starts where the last full check stopped.
    assert (await client.get("/api/v1/audit/verify", admin, params={"since_last_check": "true"})).json()["ok"]
    full = (await client.get("/api/v1/audit/verify", admin)).json()
    assert (full["ok"], full["first_bad"]) == (False, oldest)
    # From then on, the quick check gives the full check's finding: the trail stays broken.
    recent = (await client.get("/api/v1/audit/verify", admin, params={"since_last_check": "true"})).json()
    assert (recent["ok"], recent["first_bad"], recent["after"]) == (False, oldest, 0)
    assert recent["last_full"]["first_bad"] == oldest
    # A record of a passing full check written after it (into the queue, by whoever altered the trail)
    # does not hide the finding: the first break found stands.
    head = await conn.fetchrow("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    async with conn.transaction():
        await audit.record(
            conn,
            audit.VERIFIED,
            data={
                "ok": True,
                "checked": head["seq"],
                "first_bad": None,
                "through": head["seq"],
                "hash": head["hash"].hex(),
            },
        )
    recent = (await client.get("/api/v1/audit/verify", admin, params={"since_last_check": "true"})).json()
    assert (recent["ok"], recent["first_bad"]) == (False, oldest)
    # A full check run since is the one the page dates (its warning of an old check goes by it), while
    # the first break found stays the finding.
    again = (await client.get("/api/v1/audit/verify", admin)).json()
    newest = await conn.fetchrow("SELECT at FROM audit_log WHERE action = 'audit.verified' ORDER BY seq DESC LIMIT 1")
    recent = (await client.get("/api/v1/audit/verify", admin, params={"since_last_check": "true"})).json()
    assert (again["ok"], recent["ok"], recent["first_bad"]) == (False, False, oldest)
    assert datetime.fromisoformat(recent["last_full"]["at"]) == newest["at"]


async def test_a_recorded_check_that_does_not_hold_together_is_not_gone_on_from(client, database_url, conn):
    """A check names rows before its own record; one naming a later row (or a malformed hash) would let
    a quick check skip the rows it names, so the whole chain is walked instead, and that is recorded."""
    await make_world(conn)
    await _write(database_url, 3, "x")
    async with conn.transaction():
        await audit.record(
            conn,
            audit.VERIFIED,
            data={"ok": True, "checked": 1, "first_bad": None, "through": 10**9, "hash": "00" * 32},
        )
    admin = await client.login("admin")
    reply = (await client.get("/api/v1/audit/verify", admin, params={"since_last_check": "true"})).json()
    assert reply["ok"] and reply["after"] == 0 and reply["last_full"] is None
    assert reply["checked"] == await conn.fetchval("SELECT count(*) FROM audit_log") - 1
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'audit.verified'") == 2


async def _hash_of(url: str, seq: int) -> str:
    conn = await db.connect(url)
    try:
        return (await conn.fetchval("SELECT hash FROM audit_log WHERE seq = $1", seq)).hex()
    finally:
        await conn.close()


def test_the_verify_audit_command_records_a_full_check_and_fails_on_an_altered_trail(database_url, tmp_path):
    async def write_and_count(after_check) -> int:
        conn = await db.connect(database_url)
        try:
            await after_check(conn)
            return await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'audit.verified'")
        finally:
            await conn.close()

    async def nothing(conn) -> None:
        pass

    async def alter_first(conn) -> None:
        await _alter(conn, await conn.fetchval("SELECT min(seq) FROM audit_log"))

    asyncio.run(_write(database_url, 3, "x"))
    (tmp_path / "photos").mkdir()
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "DATA_DIR": str(tmp_path)}
    env.pop("S3_ENDPOINT", None)
    done = subprocess.run(
        [sys.executable, "-m", "server", "verify-audit"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "the audit trail is intact: 3 entries checked"
    # The head, for the officer to keep outside the database: the last entry checked and its hash.
    assert lines[1].startswith(f"head: entry #3 sha256 {asyncio.run(_hash_of(database_url, 3))} ")
    # ... and kept in the photo store by the command itself (tests/test_audit_anchors.py).
    assert lines[-1] == "the trail matches the 0 head(s) kept in the photo store; kept entry #3"
    assert [p.name[:20] for p in (tmp_path / "photos" / "audit-anchors").iterdir()] == [f"{3:020d}"]
    assert asyncio.run(write_and_count(nothing)) == 1
    asyncio.run(write_and_count(alter_first))
    done = subprocess.run(
        [sys.executable, "-m", "server", "verify-audit"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "broken at entry #" in done.stderr and "Traceback" not in done.stderr


async def test_a_failed_sign_in_keeps_the_accounts_name_and_never_a_name_no_account_has(client):
    """A name that names no one is often a password typed into the wrong box: the log, kept for good,
    says only that the name was unknown."""
    conn = await client.db()
    try:
        await make_world(conn)
    finally:
        await conn.close()
    for name in ("ADMIN", "Tr0ub4dor&3-typed-as-a-name"):
        await client.post("/api/v1/auth/login", json={"username": name, "password": "wrong-pass"})
    admin = await client.login("admin")
    rows = (await client.get("/api/v1/audit", admin, params={"action": "auth.login_failed"})).json()
    assert [r["data"] for r in rows] == [{"unknown_name": True}, {"username": "admin"}]
    assert "Tr0ub4dor" not in (await client.get("/api/v1/audit", admin)).text


@pytest.mark.parametrize(
    "row",
    [
        dict(actor_id=None, actor=None, action="auth.login_failed", entity=None, entity_id=None, data={}, ip=None),
        dict(
            actor_id=uuid.UUID(int=7),
            actor="inspector_a",
            action="inspection.submit",
            entity="inspection",
            entity_id=str(uuid.UUID(int=9)),
            ip="10.0.0.1",
            data={"z": [1, 2.5, None], "a": {"y": "روزنامچہ", "b": True}, "quote": 'say "hi"\n'},
        ),
    ],
)
def test_the_two_canonical_parts_around_time_and_seq_make_the_canonical_form(row):
    head, tail = audit.canonical_parts(**row)
    at = datetime(2026, 11, 28, 1, 2, 3, 4005, tzinfo=UTC)
    for seq in (1, 42, 9_876_543_210):
        whole = head + b"2026-11-28T01:02:03.004005+00:00" + tail + str(seq).encode() + b"}"
        assert whole == audit.canonical(seq, at, **row)


async def test_rows_appended_in_the_database_hash_as_verify_recomputes_and_keep_time_in_seq_order(conn):
    async with conn.transaction():
        await audit.record(conn, "test.first", data={"n": 1.5, "text": "روزنامچہ"}, ip="127.0.0.1")
        await audit.record(conn, "test.second", entity="x", entity_id=uuid.UUID(int=3), data={"n": [None]})
    rows = await conn.fetch("SELECT * FROM audit_log ORDER BY seq")
    assert [r["action"] for r in rows] == ["test.first", "test.second"] and rows[1]["seq"] == rows[0]["seq"] + 1
    prev = audit.GENESIS
    for r in rows:
        content = audit.canonical(
            r["seq"], r["at"], r["actor_id"], r["actor"], r["action"], r["entity"], r["entity_id"], r["data"], r["ip"]
        )
        assert bytes(r["prev_hash"]) == prev and bytes(r["hash"]) == audit.chain_hash(prev, content)
        prev = bytes(r["hash"])
    assert rows[0]["at"] <= rows[1]["at"]
    assert (await audit.verify(conn)).ok


async def test_a_row_is_appended_when_its_transaction_commits_and_never_if_it_rolls_back(conn):
    async with conn.transaction():
        await audit.record(conn, "test.kept")
        assert await conn.fetchval("SELECT count(*) FROM audit_log") == 0  # queued, not chained yet
    with pytest.raises(ZeroDivisionError):
        async with conn.transaction():
            await audit.record(conn, "test.dropped")
            raise ZeroDivisionError
    assert [r["action"] for r in await conn.fetch("SELECT action FROM audit_log")] == ["test.kept"]
    assert await conn.fetchval("SELECT count(*) FROM audit_queue") == 0


async def test_the_chain_lock_is_taken_only_while_committing(database_url, conn):
    """A writer that has recorded its row but not committed holds no lock: another writer records and
    commits past it. The chain then follows commit order."""
    other = await db.connect(database_url)
    try:
        slow = conn.transaction()
        await slow.start()
        await audit.record(conn, "test.slow")

        async def quick() -> None:
            async with other.transaction():
                await audit.record(other, "test.quick")

        await asyncio.wait_for(quick(), timeout=10)  # with the lock held since record(), this waits for good
        await slow.commit()
    finally:
        await other.close()
    assert [r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY seq")] == [
        "test.quick",
        "test.slow",
    ]
    assert (await audit.verify(conn)).ok


async def test_a_record_is_one_round_trip(conn):
    sent = []
    conn.add_query_logger(lambda record: sent.append(record.query))
    async with conn.transaction():
        await audit.record(conn, "test.write", data={"i": 1})
    audited = [q for q in sent if "audit" in q]
    assert len(audited) == 1
    assert audited[0].startswith("INSERT INTO audit_queue (actor_id, actor, action, entity, entity_id, data, ip, ")
    assert "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)" in audited[0]


def _js_value(module: str, expr: str) -> object:
    """`expr` of the PWA module imported as `m`, computed by Node (pure data modules only)."""
    script = f"const m = await import({json.dumps(module)}); console.log(JSON.stringify({expr}));"
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout)


async def test_every_action_the_server_audits_is_named_in_the_admin_log_in_english_and_urdu(demo_database_url):
    """The admin's audit log shows each entry's action in words and offers each in its filter; one
    the console does not know shows as a code. The actions: every literal the server passes, the
    f-string ones expanded, and whatever the demo's history wrote."""
    source = (ROOT / "pwa/js/views/admin/audit.js").read_text(encoding="utf-8")
    listed = set(re.findall(r"'([a-z]+\.[a-z_]+)'", source.split("export const ACTIONS = [", 1)[1].split("];", 1)[0]))
    domains = "audit|auth|user|template|region|district|circle|station|assignment|schedule|inspection|review|action|photo|export|demo"
    written: set[str] = set()
    for path in (ROOT / "server").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        written |= set(re.findall(rf'"((?:{domains})\.[a-z_]+)"', text))
        for prefix in re.findall(rf'f"((?:{domains})\.)\{{', text):
            written.add(prefix)  # expanded below
    expansions = {
        "review.": {"review.approve", "review.return"},
        "export.": {"export.csv", "export.xlsx", "export.pdf"},
        "inspection.": {"inspection.create", "inspection.update"},
    }
    assert {w for w in written if w.endswith(".")} <= set(expansions), written
    written = {w for w in written if not w.endswith(".")} | set().union(*expansions.values())
    written |= {
        f"{what}.update" for what in ("region", "district", "circle", "station")
    }  # org routes: f"{_WHAT[t]}.update"
    conn = await db.connect(demo_database_url)
    try:
        written |= {r["action"] for r in await conn.fetch("SELECT DISTINCT action FROM audit_log")}
    finally:
        await conn.close()
    assert written - listed == set()
    words = _js_value("./pwa/js/views/admin/strings.js", "m.default")
    for lang in ("en", "ur"):
        missing = [a for a in sorted(listed) if f"admin.action.{a}" not in words[lang]]
        assert missing == [], (lang, missing)


async def test_a_negative_zero_in_an_audited_change_does_not_make_the_chain_look_altered(client, conn):
    """jsonb stores numbers as numeric, which has no -0.0: hashed as sent, verify() saw a changed row."""
    await make_world(conn)
    async with conn.transaction():
        await audit.record(conn, "test.write", data={"lat": -0.0, "at": [{"x": -0.0, "y": -1.5}], "z": 0.0})
    # (The station API no longer takes -0.0: no station lies at 0° — see server/org/rules.check_station_point.)
    async with conn.transaction():
        await audit.record(conn, "test.write", data={"lat": -0.0, "lon": -0.0, "score": -0.0})
    token = await client.login("admin")
    result = await audit.verify(conn)
    assert result.ok, result
    assert result.checked >= 2
    assert (await client.get("/api/v1/audit/verify", token)).json()["ok"] is True
