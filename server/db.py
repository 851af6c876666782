"""PostgreSQL: the connection pool, the JSON codec and the migration runner."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import msgspec

from server import approle

log = logging.getLogger("muaina.db")

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
# Any constant works as long as every replica uses the same one: it serialises migrations.
MIGRATION_LOCK_ID = 0x6D7561696E61  # "muaina"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    pass


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb travels as msgspec-encoded text: faster than the json module and one codec everywhere.
    for typename in ("jsonb", "json"):
        await conn.set_type_codec(
            typename, schema="pg_catalog", encoder=_encode_json, decoder=msgspec.json.decode, format="text"
        )


def _encode_json(value: object) -> str:
    return msgspec.json.encode(value).decode()


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What the pool runs on a released connection, after asyncpg has rolled back any open transaction.

    asyncpg's default sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on
    every release: a round trip per request, for session state this app never leaves behind. No code
    that uses a pooled connection changes session settings (only transaction-local ones, such as the
    sync stamp's set_config(..., true), which end with the transaction), LISTENs, keeps a session-level
    advisory lock (the audit lock is transaction-level; the migration and demo-history locks are given
    back in a finally by the code that takes them), or keeps a cursor or temporary table past its
    transaction (cursors live in a transaction; temporary tables are ON COMMIT DROP). tests/test_db.py
    checks those rules in the source. A connection that breaks them must be closed, not released.
    """


# Session settings of the connections that serve the dashboards' scores and rankings (app.state.planned_read_pool).
# - plan_cache_mode: every statement is planned for the values it runs with, while it stays prepared
#   (one round trip per read: no Parse, no Close). How many groups a scope holds and how many rows a
#   range of months holds decide these plans; the generic plan PostgreSQL would cache after five runs
#   took seconds instead of milliseconds for some scopes.
# - random_page_cost: the rollups and the hierarchy they are read with are small and stay in memory,
#   so a page read out of order costs about what one read in order does. With the default (4, for a
#   disk) the planner read all twenty thousand stations to find a region's five hundred instead of
#   using their district index.
PLANNED_READS = {"plan_cache_mode": "force_custom_plan", "random_page_cost": "1.1"}


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, server_settings: dict[str, str] | None = None
) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings=server_settings,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=60,
        # A restarted PostgreSQL leaves dead connections behind; the pool discards them on release
        # and opens new ones, so the app recovers without a restart.
        max_inactive_connection_lifetime=60,
    )


async def connect(dsn: str, *, server_settings: dict[str, str] | None = None) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings=server_settings)
    await _init_connection(conn)
    return conn


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = SCHEMA_DIR) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file name {path.name!r} is not NNNN_slug.sql")
        found.append(Migration(int(match.group(1)), path.name, path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return found


async def pending_migrations(conn: asyncpg.Connection, directory: Path = SCHEMA_DIR) -> list[str]:
    """The migrations this code has that the database has not applied (all of them on a bare database)."""
    names = {m.version: m.name for m in load_migrations(directory)}
    if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NULL"):
        return list(names.values())
    applied = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    return [name for version, name in names.items() if version not in applied]


async def migrate(conn: asyncpg.Connection, directory: Path = SCHEMA_DIR) -> list[str]:
    """Apply pending migrations in order; returns the names applied.

    A session-level advisory lock makes replicas that start together take turns: the second one
    waits, then finds nothing left to do. Each file runs in its own transaction, so a failing file
    leaves the schema as it was before that file.
    """
    migrations = load_migrations(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
    try:
        # Created only when missing: an application role (server/approle.py) may not create, yet runs
        # this at start-up, where it finds nothing to do.
        if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NULL"):
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version    integer PRIMARY KEY,
                       name       text NOT NULL,
                       checksum   text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
        applied = {r["version"]: r for r in await conn.fetch("SELECT version, name, checksum FROM schema_migrations")}
        done: list[str] = []
        for m in migrations:
            row = applied.get(m.version)
            if row is not None:
                if row["checksum"] != m.checksum:
                    raise MigrationError(
                        f"migration {m.name} was edited after it was applied (checksum differs); "
                        "add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    m.version,
                    m.name,
                    m.checksum,
                )
            log.info("applied migration %s", m.name)
            done.append(m.name)
        if done:
            # Tables the migrations added are granted to the application roles too.
            await approle.grant_again(conn)
        unknown = set(applied) - {m.version for m in migrations}
        if unknown:
            log.warning("database has migrations this code does not know: %s", sorted(unknown))
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
