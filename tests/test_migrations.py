"""The migration runner: order, checksums, and two replicas starting at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server import db


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


async def test_migrations_apply_in_numeric_order_once(conn, tmp_path):
    d = _write(
        tmp_path / "m",
        {
            "0002_second.sql": "INSERT INTO t_order VALUES (2);",
            "0001_first.sql": "CREATE TABLE t_order (n int); INSERT INTO t_order VALUES (1);",
            "0010_tenth.sql": "INSERT INTO t_order VALUES (10);",
        },
    )
    await conn.execute("DROP TABLE IF EXISTS schema_migrations")
    assert await db.migrate(conn, d) == ["0001_first.sql", "0002_second.sql", "0010_tenth.sql"]
    assert await db.migrate(conn, d) == []
    assert [r["n"] for r in await conn.fetch("SELECT n FROM t_order")] == [1, 2, 10]


async def test_an_edited_applied_migration_is_refused(conn, tmp_path):
    d = _write(tmp_path / "m", {"0001_a.sql": "CREATE TABLE t_edit (n int);"})
    await conn.execute("DROP TABLE IF EXISTS schema_migrations")
    await db.migrate(conn, d)
    (d / "0001_a.sql").write_text("CREATE TABLE t_edit (n bigint);")
    with pytest.raises(db.MigrationError, match="edited"):
        await db.migrate(conn, d)


async def test_a_failing_migration_leaves_no_trace(conn, tmp_path):
    d = _write(
        tmp_path / "m",
        {
            "0001_ok.sql": "CREATE TABLE t_ok (n int);",
            "0002_bad.sql": "CREATE TABLE t_half (n int); SELECT no_such_function();",
        },
    )
    await conn.execute("DROP TABLE IF EXISTS schema_migrations")
    with pytest.raises(Exception, match="no_such_function"):
        await db.migrate(conn, d)
    assert await conn.fetchval("SELECT to_regclass('t_half')") is None
    assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 1


async def test_two_runners_at_once_apply_each_migration_once(database_url, tmp_path):
    d = _write(
        tmp_path / "m",
        {
            "0001_slow.sql": "CREATE TABLE t_race (n int); SELECT pg_sleep(0.3); INSERT INTO t_race VALUES (1);",
        },
    )
    conns = [await db.connect(database_url) for _ in range(2)]
    try:
        await conns[0].execute("DROP TABLE schema_migrations")
        results = await asyncio.gather(*[db.migrate(c, d) for c in conns])
        assert sorted(len(r) for r in results) == [0, 1]
        assert await conns[0].fetchval("SELECT count(*) FROM t_race") == 1
    finally:
        for c in conns:
            await c.close()


def test_badly_named_migration_files_are_refused(tmp_path):
    d = _write(tmp_path / "m", {"1_init.sql": "SELECT 1;"})
    with pytest.raises(db.MigrationError, match="NNNN_slug"):
        db.load_migrations(d)


def test_the_real_schema_directory_is_well_formed():
    migrations = db.load_migrations()
    assert migrations[0].name == "0001_init.sql"
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)
