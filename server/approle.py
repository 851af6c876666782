"""An application role that cannot rewrite the audit trail: what `muaina grant-app-role ROLE` grants.

The role that owns the tables may disable audit_log's guard triggers and rewrite history, so anyone
holding the app's database password could forge the trail. Run the app as a role of its own instead:
it reads and writes every table the app uses, may only read audit_log (it appends through
audit_queue, whose trigger calls the SECURITY DEFINER audit_append, schema/0024), and owns nothing,
so it can neither alter, disable, drop nor truncate anything. Never TRUNCATE, TRIGGER, REFERENCES or
ownership. The grants are remembered in app_roles, and `muaina migrate` grants them again after it
adds tables (db.migrate).
"""

from __future__ import annotations

import logging

import asyncpg

log = logging.getLogger("muaina.approle")

# Tables the application role may only read: the trail itself, and the owner's bookkeeping.
READ_ONLY = frozenset({"audit_log", "schema_migrations", "app_roles"})
# Relation kinds granted: tables (unlogged ones too), partitioned tables, views, materialized views, sequences.
_KINDS = ["r", "p", "v", "m", "S"]


class Refused(Exception):
    """The role cannot be made the app's role: said in one line."""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _place(conn: asyncpg.Connection) -> asyncpg.Record:
    """The schema audit_log lives in and the role that owns it (the tables' owner)."""
    row = await conn.fetchrow(
        """SELECT c.relnamespace, n.nspname, o.rolname AS owner
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles o ON o.oid = c.relowner
            WHERE c.oid = to_regclass('audit_log')"""
    )
    if row is None:
        raise Refused("the database has no audit_log table: run `muaina migrate` first")
    return row


async def check(conn: asyncpg.Connection, role: str) -> None:
    """Refuse a role that does not exist, or that could change the schema (a superuser, the tables'
    owner or a member of it, the database's owner), and a caller who is not the owner.

    The attributes are those of every role it may SET ROLE to, itself included: a member of a group
    with CREATEROLE (or of a superuser) becomes that group with one statement."""
    place = await _place(conn)
    found = await conn.fetchrow(
        """SELECT r.rolsuper AS superuser, bool_or(g.rolsuper) AS rolsuper, bool_or(g.rolcreaterole) AS rolcreaterole,
                  bool_or(g.rolbypassrls) AS rolbypassrls, bool_or(g.rolreplication) AS rolreplication,
                  pg_has_role(r.oid, $2::name, 'MEMBER') AS owns_tables,
                  pg_has_role(r.oid, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER')
                      AS owns_database
             FROM pg_roles r JOIN pg_roles g ON pg_has_role(r.oid, g.oid, 'MEMBER')
            WHERE r.rolname = $1
            GROUP BY r.oid, r.rolsuper""",
        role,
        place["owner"],
    )
    if found is None:
        raise Refused(f"there is no role {role!r}: create it first (CREATE ROLE {_ident(role)} LOGIN PASSWORD '…')")
    if found["superuser"]:
        raise Refused(f"{role!r} is a superuser, who may rewrite the audit trail: choose a role of its own")
    if found["owns_tables"]:
        raise Refused(
            f"{role!r} owns the tables (or is a member of {place['owner']!r}, who does), and may rewrite the audit"
            " trail: choose a role that owns nothing"
        )
    if found["rolsuper"]:
        raise Refused(f"{role!r} is a member of a superuser, who may rewrite the audit trail: choose a role of its own")
    if found["rolcreaterole"]:
        # Up to PostgreSQL 15, CREATEROLE may grant itself membership in any role but a superuser: the
        # tables' owner too, and then disable the trail's guards.
        raise Refused(
            f"{role!r} has CREATEROLE (itself or through a role it belongs to), which can make it a member of"
            " the tables' owner and so rewrite the audit trail: ALTER ROLE ... NOCREATEROLE, or choose another role"
        )
    if found["rolbypassrls"] or found["rolreplication"]:
        raise Refused(
            f"{role!r} has BYPASSRLS or REPLICATION (itself or through a role it belongs to), which the app"
            " does not need: choose a plain role"
        )
    if found["owns_database"]:
        raise Refused(f"{role!r} owns the database, and may drop the audit trail: choose a role that owns nothing")
    if not await conn.fetchval("SELECT pg_has_role(current_user, $1::name, 'MEMBER')", place["owner"]):
        raise Refused(f"run this as the role that owns the tables ({place['owner']!r})")


async def grant(conn: asyncpg.Connection, role: str) -> None:
    """Grant `role` what the app needs, in the caller's transaction; safe to repeat.

    Everything is first revoked and then granted again, so a privilege granted by hand that the app
    does not need (TRUNCATE, TRIGGER, a write to audit_log) is taken back."""
    place = await _place(conn)
    who = _ident(role)
    # audit_log's own sequence is left out: audit_append (as the owner) is the only one to take from it.
    rows = await conn.fetch(
        """SELECT c.relname, c.relkind = 'S' AS sequence,
                  c.relname = ANY($4::name[])
                  OR EXISTS (SELECT 1 FROM pg_depend d
                              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                AND d.refobjid = to_regclass('audit_log')) AS read_only
             FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner
            WHERE c.relnamespace = $1 AND c.relkind::text = ANY($2::text[]) AND o.rolname = $3
            ORDER BY c.relname""",
        place["relnamespace"],
        _KINDS,
        place["owner"],
        sorted(READ_ONLY),
    )
    schema = _ident(place["nspname"])

    def listed(sequence: bool, read_only: bool | None = None) -> str:
        return ", ".join(
            f"{schema}.{_ident(r['relname'])}"
            for r in rows
            if r["sequence"] == sequence and read_only in (None, r["read_only"])
        )

    database = await conn.fetchval("SELECT current_database()")
    statements = [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {_ident(database)} TO {who}",
        f"GRANT USAGE ON SCHEMA {schema} TO {who}",
        f"REVOKE ALL ON TABLE {listed(False)} FROM {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {listed(False, False)} TO {who}",
        f"GRANT SELECT ON TABLE {listed(False, True)} TO {who}",
        f"REVOKE ALL ON SEQUENCE {listed(True)} FROM {who}",
        f"GRANT USAGE, SELECT, UPDATE ON SEQUENCE {listed(True, False)} TO {who}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {who}",
    ]
    for sql in statements:
        await conn.execute(sql)
    await conn.execute("INSERT INTO app_roles (role) VALUES ($1) ON CONFLICT (role) DO NOTHING", role)


async def grant_app_role(conn: asyncpg.Connection, role: str) -> None:
    """`muaina grant-app-role ROLE`: check the role, then grant it in one transaction."""
    async with conn.transaction():
        await check(conn, role)
        await grant(conn, role)


async def grant_again(conn: asyncpg.Connection) -> list[str]:
    """Grant every recorded role again (after migrations added tables); a role dropped since is skipped."""
    if await conn.fetchval("SELECT to_regclass('app_roles') IS NULL"):
        return []
    granted = []
    async with conn.transaction():
        for row in await conn.fetch(
            "SELECT a.role, r.oid IS NOT NULL AS exists FROM app_roles a LEFT JOIN pg_roles r ON r.rolname = a.role"
            " ORDER BY a.role"
        ):
            if not row["exists"]:
                log.warning("app role %s no longer exists: not granted", row["role"])
                continue
            await grant(conn, row["role"])
            granted.append(row["role"])
    return granted
