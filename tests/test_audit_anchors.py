"""Copies of the audit trail's head kept in the photo store (server/audit/anchors.py): a trail rewritten in
the database with every hash recomputed, which the chain alone cannot tell, no longer matches them."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from server import db
from server.app import make_store
from server.audit import anchors
from server.audit import queries as audit
from server.s3store import S3Store
from server.storage import DirectoryStore
from tests.conftest import ROOT, s3_overrides
from tests.factories import make_world
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY
from tests.test_audit import _write


async def rewrite_from(conn, seq: int) -> None:
    """The database's owner changes entry `seq` and recomputes the hash of it and of every entry after it:
    the chain holds together again."""
    async with conn.transaction():
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute("UPDATE audit_log SET ip = '10.9.9.9' WHERE seq = $1", seq)
        prev = await conn.fetchval("SELECT hash FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT 1", seq)
        prev = bytes(prev) if prev is not None else audit.GENESIS
        for r in await conn.fetch("SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq", seq):
            content = audit.canonical(
                r["seq"],
                r["at"],
                r["actor_id"],
                r["actor"],
                r["action"],
                r["entity"],
                r["entity_id"],
                r["data"],
                r["ip"],
            )
            digest = audit.chain_hash(prev, content)
            await conn.execute("UPDATE audit_log SET prev_hash = $2, hash = $3 WHERE seq = $1", r["seq"], prev, digest)
            prev = digest
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


async def cut_after(conn, seq: int) -> None:
    """The owner removes every entry after `seq`: what is left is a whole chain."""
    async with conn.transaction():
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute("DELETE FROM audit_log WHERE seq > $1", seq)
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def kept_keys(photos: Path) -> list[str]:
    folder = photos / "audit-anchors"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


async def test_a_full_check_keeps_the_head_it_reached_in_the_photo_store(client, settings, conn):
    await make_world(conn)
    await _write(client.database_url, 3, "x")
    admin = await client.login("admin")
    first = (await client.get("/api/v1/audit/verify", admin)).json()
    assert first["ok"] is True
    assert first["anchors"] == {
        "ok": True,
        "kept": 0,
        "newest_seq": None,
        "newest_at": None,
        "written_seq": first["through"],
        "differ_count": 0,
        "differs": [],
        "set_aside": [],
    }
    [name] = kept_keys(settings.photos_dir)
    body = json.loads((settings.photos_dir / "audit-anchors" / name).read_bytes())
    assert body["seq"] == first["through"] and body["hash"] == first["head_hash"]
    assert name.startswith(f"{first['through']:020d}-") and name.endswith(first["head_hash"])

    # The next full check compares the trail with it, and keeps its own head (its walk reached the
    # first check's own entry).
    second = (await client.get("/api/v1/audit/verify", admin)).json()
    assert second["anchors"]["ok"] is True and second["anchors"]["kept"] == 1
    assert second["anchors"]["newest_seq"] == first["through"]
    assert second["anchors"]["written_seq"] == second["through"] > first["through"]
    assert len(kept_keys(settings.photos_dir)) == 2


async def test_a_trail_rewritten_with_every_hash_recomputed_no_longer_matches_its_kept_head(client, conn):
    await make_world(conn)
    await _write(client.database_url, 5, "x")
    admin = await client.login("admin")
    kept = (await client.get("/api/v1/audit/verify", admin)).json()
    target = kept["through"] - 2
    await rewrite_from(conn, target)

    # A full check, a quick one, and a full one again: the new head kept by the first does not hide the
    # copy that differs (heads are kept while one differs, so that what is written next is covered).
    for params in ({}, {"since_last_check": "true"}, {}):
        found = (await client.get("/api/v1/audit/verify", admin, params=params)).json()
        # The chain alone holds together: only the kept head tells.
        assert found["first_bad"] is None, params
        assert found["ok"] is False, params
        anchored = found["anchors"]
        assert anchored["ok"] is False and anchored["differ_count"] == 1
        assert (anchored["written_seq"] is None) == bool(params)  # a quick check right after keeps none
        [diff] = anchored["differs"]
        assert diff["seq"] == kept["through"] and diff["hash"] == kept["head_hash"]
        now = await conn.fetchval("SELECT hash FROM audit_log WHERE seq = $1", kept["through"])
        assert diff["found"] == bytes(now).hex() != kept["head_hash"]


async def test_entries_removed_from_the_end_are_missed_by_the_chain_and_found_by_the_kept_head(client, conn):
    await make_world(conn)
    await _write(client.database_url, 4, "x")
    admin = await client.login("admin")
    kept = (await client.get("/api/v1/audit/verify", admin)).json()
    await cut_after(conn, kept["through"] - 2)

    found = (await client.get("/api/v1/audit/verify", admin)).json()
    assert found["first_bad"] is None and found["ok"] is False
    assert [(d["seq"], d["found"]) for d in found["anchors"]["differs"]] == [(kept["through"], None)]


async def test_a_quick_check_keeps_a_head_at_most_every_ten_minutes(client, settings, conn):
    await make_world(conn)
    admin = await client.login("admin")
    await client.get("/api/v1/audit/verify", admin)
    assert len(kept_keys(settings.photos_dir)) == 1
    await _write(client.database_url, 2, "x")
    quick = (await client.get("/api/v1/audit/verify", admin, params={"since_last_check": "true"})).json()
    # The full check's head was kept a moment ago: the trail has grown, but no new copy yet.
    assert quick["ok"] is True and quick["anchors"]["kept"] == 1 and quick["anchors"]["written_seq"] is None
    store = DirectoryStore(settings.photos_dir)
    later = datetime.now(UTC) + anchors.QUICK_EVERY + timedelta(seconds=1)
    result = await audit.verify_since(conn, await audit.last_full_check(conn), store=store)
    assert result.anchors is not None and result.anchors.written_seq is None  # now, still too soon
    head = (result.through, bytes.fromhex(result.head_hash or ""))
    checked = await anchors.check_and_keep(conn, store, head, quick=True, now=later)
    assert checked.written_seq == result.through
    assert len(kept_keys(settings.photos_dir)) == 2


async def test_a_store_that_cannot_be_read_is_a_warning_and_the_chain_is_still_checked(conn):
    await make_world(conn)
    await _write_here(conn)
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = S3Store(f"127.0.0.1:{port}", ACCESS_KEY, SECRET_KEY, "photos", secure=False, region=REGION)
    try:
        result = await audit.verify_and_record(conn, store=down)
    finally:
        await down.close()
    assert result.ok is True and result.first_bad is None
    assert result.anchors is not None and result.anchors.ok is None and result.anchors.written_seq is None


async def _write_here(conn) -> None:
    async with conn.transaction():
        await audit.record(conn, "test.write", data={"i": 1})


@pytest.fixture
def s3_store_settings(s3_server, settings):
    return msgspec.structs.replace(settings, **s3_overrides(s3_server))


async def test_heads_are_kept_and_compared_in_an_s3_bucket_too(s3_store_settings, conn):
    await make_world(conn)
    await _write_here(conn)
    store = make_store(s3_store_settings)
    await store.start()
    try:
        first = await audit.verify_and_record(conn, store=store)
        assert first.anchors is not None and first.anchors.written_seq == first.through
        keys = [key async for key in store.list_keys(anchors.PREFIX)]
        assert [anchors.parse(k).seq for k in keys] == [first.through]
        await rewrite_from(conn, 1)
        found = await audit.verify_and_record(conn, store=store)
        assert found.first_bad is None and found.ok is False
        assert found.anchors is not None and [d.seq for d in found.anchors.differs] == [first.through]
    finally:
        await store.close()


def test_a_key_says_the_entry_the_time_and_the_hash_and_other_keys_are_not_heads():
    anchor = anchors.Anchor(42, datetime(2026, 11, 30, 23, 5, 1, 250000, tzinfo=UTC), "ab" * 32)
    assert anchors.parse(anchors.key_of(anchor)) == anchor
    assert anchors.parse("audit-anchors/README") is None
    assert anchors.parse(anchors.key_of(anchor) + "x") is None


def test_the_verify_audit_command_keeps_heads_and_fails_on_a_rewritten_trail(database_url, tmp_path: Path):
    async def rewrite_first() -> None:
        conn = await db.connect(database_url)
        try:
            await rewrite_from(conn, 1)
        finally:
            await conn.close()

    asyncio.run(_write(database_url, 3, "x"))
    (tmp_path / "photos").mkdir()
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "DATA_DIR": str(tmp_path)}
    env.pop("S3_ENDPOINT", None)

    def verify_audit() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server", "verify-audit"], cwd=ROOT, env=env, capture_output=True, text=True
        )

    assert verify_audit().returncode == 0
    asyncio.run(rewrite_first())
    done = verify_audit()
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout.startswith("the audit trail's hashes follow on: 4 entries checked; but it was rewritten")
    assert "the trail no longer matches 1 of the 1 head(s) kept in the photo store" in done.stderr
    assert "entry #3: kept " in done.stderr


def test_after_a_database_restore_the_operator_sets_aside_the_heads_it_explains(database_url, tmp_path: Path):
    """A database restored from a backup lacks the entries written after it, and new entries take their
    numbers again: the heads kept meanwhile differ, as for a rewrite. New heads are still kept; once the
    operator has checked, `verify-audit --accept-restore` sets the old ones aside (marked, not deleted:
    an object lock is no obstacle) and records it; the trail then matches again."""
    photos = tmp_path / "photos"
    photos.mkdir()
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "DATA_DIR": str(tmp_path)}
    env.pop("S3_ENDPOINT", None)

    def verify_audit(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server", "verify-audit", *extra], cwd=ROOT, env=env, capture_output=True, text=True
        )

    async def restore_to(seq: int) -> None:
        conn = await db.connect(database_url)
        try:
            await cut_after(conn, seq)
            await conn.execute("SELECT setval(pg_get_serial_sequence('audit_log', 'seq'), $1)", seq)
        finally:
            await conn.close()

    async def actions() -> list[str]:
        conn = await db.connect(database_url)
        try:
            return [r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY seq")]
        finally:
            await conn.close()

    asyncio.run(_write(database_url, 3, "before the backup"))
    assert verify_audit().returncode == 0  # keeps entry #3; its own record is #4 (the backup ends there)
    asyncio.run(_write(database_url, 3, "after the backup"))
    assert verify_audit().returncode == 0  # keeps entry #7
    asyncio.run(restore_to(4))
    asyncio.run(_write(database_url, 5, "after the restore"))  # entries #5.. again, other contents

    done = verify_audit()
    assert done.returncode == 1
    assert "entry #7: kept " in done.stderr and "--accept-restore" in done.stderr
    # A head was kept all the same (the chain itself is whole): what is written from now on is covered.
    assert len(list((photos / "audit-anchors").iterdir())) == 3

    async def moves() -> int:
        conn = await db.connect(database_url)
        try:
            return await conn.fetchval("SELECT moves FROM sync_state")
        finally:
            await conn.close()

    moved = asyncio.run(moves())
    done = verify_audit("--accept-restore")
    assert done.returncode == 0, done.stderr
    # Every phone's cursor is void too (server/sync/rules.py): a whole fresh bundle at the next sync.
    assert asyncio.run(moves()) == moved + 1
    assert "every phone gets a whole fresh bundle" in done.stdout
    assert "set aside 1 head(s) the restored trail no longer matches (entries #7)" in done.stdout
    assert [p.name[:20] for p in (photos / "audit-anchors-set-aside").iterdir()] == [f"{7:020d}"]
    assert len(list((photos / "audit-anchors").iterdir())) == 4  # nothing deleted
    assert asyncio.run(actions()).count("audit.anchors_set_aside") == 1

    done = verify_audit()
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("the audit trail is intact")
