"""The connection pool: what a released connection keeps, and the rules that make keeping it safe."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import asyncpg
import pytest

from server import db, http
from server.errors import Unavailable

ROOT = Path(__file__).resolve().parent.parent


async def test_a_released_connection_goes_back_without_a_reset_round_trip_but_rolled_back(database_url):
    pool = await db.create_pool(database_url, min_size=1, max_size=1)
    try:
        sent: list[str] = []
        async with pool.acquire() as conn:
            conn.add_query_logger(lambda record: sent.append(record.query))
            await conn.execute("CREATE TABLE released (n int)")
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO released VALUES (1)")
        # asyncpg still rolls back a transaction left open; only the session reset query is gone.
        assert sent[-1] == "ROLLBACK" and not any("RESET ALL" in q or "UNLISTEN" in q for q in sent)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM released") == 0
    finally:
        await pool.close()


async def test_a_request_that_cannot_get_a_connection_in_time_is_unavailable_and_the_pool_recovers(
    database_url, monkeypatch
):
    """http.pooled bounds the wait with asyncio.timeout: when it expires the request gets 503, and the
    abandoned acquire hands its place back, so the pool is whole once the busy connection returns."""
    monkeypatch.setattr(http, "_ACQUIRE_SECONDS", 0.2)
    pool = await db.create_pool(database_url, min_size=1, max_size=1)
    try:
        async with http.pooled(pool) as busy:
            for _ in range(3):  # more than the pool holds, one after another
                with pytest.raises(Unavailable):
                    async with http.pooled(pool):
                        pytest.fail("a connection was handed out twice")
            assert await busy.fetchval("SELECT 1") == 1
        async with asyncio.timeout(5):
            async with http.pooled(pool) as conn:
                assert await conn.fetchval("SELECT 2") == 2
        assert pool.get_idle_size() == 1
        # An error inside the block passes through unchanged, and the connection still goes back.
        with pytest.raises(asyncpg.DivisionByZeroError):
            async with http.pooled(pool) as conn:
                await conn.fetchval("SELECT 1 / 0")
        assert pool.get_idle_size() == 1
    finally:
        await pool.close()


# Session state a pooled connection must never be left with, since release no longer resets it.
SESSION_STATE = {
    # SQL here is written in capitals; a docstring that begins "Set the ..." is not a statement.
    "a session-level SET": re.compile(r"""["']\s*SET\s+(?!LOCAL\b)(SESSION\s+)?[a-z_.]+\s*(=|TO\b)"""),
    "a session-level set_config": re.compile(r"set_config\([^)]*,\s*false\s*\)", re.IGNORECASE),
    "LISTEN": re.compile(r"""["']\s*LISTEN\b""", re.IGNORECASE),
    "a cursor WITH HOLD": re.compile(r"WITH\s+HOLD", re.IGNORECASE),
    "a temporary table kept past its transaction": re.compile(
        r"CREATE\s+(TEMP|TEMPORARY)\s+TABLE(?![^;]*ON\s+COMMIT\s+DROP)", re.IGNORECASE
    ),
}


SESSION_LOCK = re.compile(r"pg_(try_)?advisory_lock(_shared)?\(", re.IGNORECASE)
SESSION_UNLOCK = re.compile(r"pg_advisory_unlock(_shared)?\(", re.IGNORECASE)


def test_no_code_on_a_pooled_connection_leaves_session_state_behind():
    found = []
    for path in sorted([*(ROOT / "server").rglob("*.py"), *(ROOT / "schema").glob("*.sql")]):
        text = path.read_text(encoding="utf-8")
        for what, pattern in SESSION_STATE.items():
            found += [f"{path.relative_to(ROOT)}: {what}" for _ in pattern.finditer(text)]
        # A session-level advisory lock (the migration lock, the demo history's) must be given back by
        # the code that took it; an unmatched one would stay with a pooled connection.
        if len(SESSION_LOCK.findall(text)) > len(SESSION_UNLOCK.findall(text)):
            found.append(f"{path.relative_to(ROOT)}: a session advisory lock never unlocked")
    assert found == []
