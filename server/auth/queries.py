"""SQL for users, sessions and login throttling."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from asyncpg import Connection, Record

from server.auth.models import COVERS_SQL, Principal, UserOut

_USER_COLS = (
    "u.id, u.username, u.display_name, u.role, u.region_ids, u.district_ids, u.active, u.created_at, u.updated_at,"
    " u.password_must_change"
)


def user_out(row: Record) -> UserOut:
    return UserOut(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        region_ids=list(row["region_ids"]),
        district_ids=list(row["district_ids"]),
        active=row["active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        password_must_change=row["password_must_change"],
    )


# The signed-in caller of a session token ($1), one row or none. A route that reads something else
# anyway may run this as a CTE of its own statement (one round trip for both), then call signed_in.
SESSION_PRINCIPAL = """SELECT u.id, u.username, u.display_name, u.role, u.region_ids, u.district_ids,
                  s.last_seen_at < now() - interval '5 minutes' AS stale
             FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.active"""


async def principal_for_token(conn: Connection, token_hash: bytes) -> Principal | None:
    row = await conn.fetchrow(SESSION_PRINCIPAL, token_hash)
    if row is None:
        return None
    return await signed_in(conn, token_hash, row)


async def signed_in(conn: Connection, token_hash: bytes, row: Record, prefix: str = "") -> Principal:
    """The Principal of a SESSION_PRINCIPAL row (its columns named `prefix` + name)."""
    if row[prefix + "stale"]:
        # Touch the session at most every few minutes: a write per request would cost more than the request.
        await conn.execute("UPDATE sessions SET last_seen_at = now() WHERE token_hash = $1", token_hash)
    return principal_from(row, prefix)


def principal_from(row: Record, prefix: str = "") -> Principal:
    """The Principal of a row holding a user's id, names, role and scope (columns named `prefix` + name)."""
    return Principal(
        id=row[prefix + "id"],
        username=row[prefix + "username"],
        display_name=row[prefix + "display_name"],
        role=row[prefix + "role"],
        region_ids=tuple(row[prefix + "region_ids"]),
        district_ids=tuple(row[prefix + "district_ids"]),
    )


async def active_principal(conn: Connection, user_id: UUID) -> Principal | None:
    """The Principal of an active account, for work done on its behalf without a session (a command)."""
    row = await conn.fetchrow(
        "SELECT id, username, display_name, role, region_ids, district_ids FROM users WHERE id = $1 AND active", user_id
    )
    return None if row is None else principal_from(row)


async def user_for_login(conn: Connection, username: str) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {_USER_COLS}, u.password_hash FROM users u WHERE lower(u.username) = lower($1)", username
    )


async def create_session(
    conn: Connection,
    token_hash: bytes,
    user_id: UUID,
    password_hash: str,
    ttl_hours: int,
    ip: str | None,
    user_agent: str | None,
) -> datetime | None:
    """A session for the user, made only while the password that was verified (`password_hash`) is
    still theirs and the account active; None otherwise. Verifying takes a while (argon2): a password
    reset or a deactivation that lands meanwhile revokes the sessions that exist, and must not be
    outlived by one made right after it with the old password. FOR SHARE makes the statement wait for
    such a change still being saved and judge the row as it commits it: without it, the sign-in read
    the row as it was, and its session came after the change had revoked every other one."""
    return await conn.fetchval(
        """INSERT INTO sessions (token_hash, user_id, expires_at, ip, user_agent)
           SELECT $1, u.id, now() + make_interval(hours => $3), $4, $5
             FROM users u WHERE u.id = $2 AND u.password_hash = $6 AND u.active
              FOR SHARE
           RETURNING expires_at""",
        token_hash,
        user_id,
        ttl_hours,
        ip,
        (user_agent or "")[:300],
        password_hash,
    )


async def password_hash(conn: Connection, user_id: UUID) -> str | None:
    return await conn.fetchval("SELECT password_hash FROM users WHERE id = $1 AND active", user_id)


async def replace_password(conn: Connection, user_id: UUID, verified_hash: str, new_hash: str) -> bool:
    """Set the user's own new password, only while the one they just proved (`verified_hash`) is still
    theirs and the account active: an admin's reset or a deactivation saved while argon2 was checking
    wins, and this change is refused rather than undoing it."""
    result = await conn.execute(
        """UPDATE users SET password_hash = $3, password_must_change = false, updated_at = now()
            WHERE id = $1 AND password_hash = $2 AND active""",
        user_id,
        verified_hash,
        new_hash,
    )
    return result == "UPDATE 1"


async def revoke_session(conn: Connection, token_hash: bytes) -> None:
    await conn.execute(
        "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL", token_hash
    )


async def revoke_user_sessions(conn: Connection, user_id: UUID, *, keep: bytes | None = None) -> int:
    """End the user's sessions, all of them or all but the one whose token hashes to `keep`."""
    result = await conn.execute(
        """UPDATE sessions SET revoked_at = now()
            WHERE user_id = $1 AND revoked_at IS NULL AND token_hash IS DISTINCT FROM $2""",
        user_id,
        keep,
    )
    return int(result.split()[-1])


async def claim_attempt(conn: Connection, key: str, max_failures: int, lockout_seconds: int) -> bool:
    """Count a sign-in attempt against `key` before its password is checked; False when the key is
    locked, and then nothing is counted.

    Counting first, in one statement, is what makes the limit hold for attempts sent together: each
    one takes its number under the row's lock, and the one that reaches the limit sets the lock, so no
    more than `max_failures` of them are ever checked. A successful attempt gives its count back
    (clear_failures, refund_attempt). The count restarts when its window (`lockout_seconds`) is over.
    """
    failures = await conn.fetchval(
        """INSERT INTO login_failures AS f (key, failures, first_at, locked_until)
           VALUES ($1, 1, now(), CASE WHEN 1 >= $2 THEN now() + make_interval(secs => $3) END)
           ON CONFLICT (key) DO UPDATE SET
               failures = CASE WHEN f.first_at < now() - make_interval(secs => $3) THEN 1 ELSE f.failures + 1 END,
               first_at = CASE WHEN f.first_at < now() - make_interval(secs => $3) THEN now() ELSE f.first_at END,
               locked_until = CASE
                   WHEN (CASE WHEN f.first_at < now() - make_interval(secs => $3) THEN 1 ELSE f.failures + 1 END) >= $2
                   THEN now() + make_interval(secs => $3) ELSE f.locked_until END
           WHERE f.locked_until IS NULL OR f.locked_until <= now()
           RETURNING f.failures""",
        key,
        max_failures,
        float(lockout_seconds),
    )
    return failures is not None and failures <= max_failures


async def refund_attempt(conn: Connection, key: str, max_failures: int) -> None:
    """Give back the count a successful attempt took (claim_attempt), and the lock if it set it."""
    await conn.execute(
        """UPDATE login_failures SET failures = failures - 1,
                  locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END
            WHERE key = $1 AND failures > 0""",
        key,
        max_failures,
    )


async def known_device(conn: Connection, device_hash: bytes, user_id: UUID) -> bool:
    """Whether this device token was given to this account at a sign-in, and has not expired."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM known_devices WHERE token_hash = $1 AND user_id = $2 AND expires_at > now())",
        device_hash,
        user_id,
    )


async def remember_device(conn: Connection, device_hash: bytes, user_id: UUID, days: int, most: int) -> None:
    """Keep (or extend) a device token of this account for `days` from now, and only the `most` newest
    of its tokens: each one has its own budget of guesses (login_limits), so however often someone once
    signed in, they do not collect a budget per sign-in."""
    await conn.execute(
        """WITH kept AS (
               INSERT INTO known_devices (token_hash, user_id, expires_at)
               VALUES ($1, $2, now() + make_interval(days => $3))
               ON CONFLICT (token_hash) DO UPDATE SET expires_at = EXCLUDED.expires_at
                WHERE known_devices.user_id = EXCLUDED.user_id
               RETURNING token_hash)
           DELETE FROM known_devices d
            WHERE d.user_id = $2 AND d.token_hash NOT IN (SELECT token_hash FROM kept)
              AND d.token_hash NOT IN (SELECT token_hash FROM known_devices WHERE user_id = $2
                                        ORDER BY expires_at DESC LIMIT $4 - 1)""",
        device_hash,
        user_id,
        days,
        most,
    )


async def forget_devices(conn: Connection, user_id: UUID) -> None:
    """A password reset or a deactivation: the account's devices are strangers again."""
    await conn.execute("DELETE FROM known_devices WHERE user_id = $1", user_id)


async def clear_failures(conn: Connection, key: str) -> None:
    await conn.execute("DELETE FROM login_failures WHERE key = $1", key)


def like_pattern(text: str) -> str:
    """A LIKE pattern (escape character backslash) for names containing `text` as it is written: `%`
    and `_` in it are letters to look for, not wildcards."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def list_users(
    conn: Connection,
    q: str | None,
    role: str | None,
    active: bool | None,
    *,
    serving: Principal | None = None,
    region_id: UUID | None = None,
    district_id: UUID | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[UserOut]:
    """Users by name (or the code of a region or district of theirs), role and state; with
    `region_id`, those whose area lies in that region (the region or one of its districts); with
    `district_id`, those whose area takes in that district (it, or its region); with `serving`, only
    those covering a district in that user's scope."""
    is_admin, district_ids, region_ids = serving.scope_args() if serving else (True, [], [])
    rows = await conn.fetch(
        f"""SELECT {_USER_COLS} FROM users u
             WHERE ($1::text IS NULL OR u.username ILIKE $1 ESCAPE '\\' OR u.display_name ILIKE $1 ESCAPE '\\'
                    OR EXISTS (SELECT 1 FROM regions r WHERE r.id = ANY(u.region_ids) AND r.code ILIKE $1 ESCAPE '\\')
                    OR EXISTS (SELECT 1 FROM districts d WHERE d.id = ANY(u.district_ids) AND d.code ILIKE $1 ESCAPE '\\'))
               AND ($2::text IS NULL OR u.role = $2) AND ($3::bool IS NULL OR u.active = $3)
               AND ($4::bool OR EXISTS (
                    SELECT 1 FROM districts d
                     WHERE (d.id = ANY($5::uuid[]) OR d.region_id = ANY($6::uuid[]))
                       AND {COVERS_SQL}))
               AND ($7::uuid IS NULL OR $7 = ANY(u.region_ids)
                    OR EXISTS (SELECT 1 FROM districts d WHERE d.id = ANY(u.district_ids) AND d.region_id = $7))
               AND ($8::uuid IS NULL OR EXISTS (SELECT 1 FROM districts d WHERE d.id = $8 AND {COVERS_SQL}))
             ORDER BY lower(u.username), u.id
             LIMIT $9 OFFSET $10""",
        None if q is None else like_pattern(q),
        role,
        active,
        is_admin,
        district_ids,
        region_ids,
        region_id,
        district_id,
        limit,
        offset,
    )
    return [user_out(r) for r in rows]


async def scope_codes(conn: Connection) -> tuple[dict[str, UUID], dict[str, UUID]]:
    """Every region's and district's code with its id, for naming an area in a file by its codes."""
    regions = await conn.fetch("SELECT code, id FROM regions")
    districts = await conn.fetch("SELECT code, id FROM districts")
    return {r["code"]: r["id"] for r in regions}, {d["code"]: d["id"] for d in districts}


async def users_by_name(conn: Connection, usernames: list[str]) -> dict[str, UserOut]:
    """The accounts these usernames name, found as sign-in finds them (case aside), keyed lower-case."""
    rows = await conn.fetch(
        f"SELECT {_USER_COLS} FROM users u WHERE lower(u.username) = ANY($1::text[])", [n.lower() for n in usernames]
    )
    return {r["username"].lower(): user_out(r) for r in rows}


async def get_user(conn: Connection, user_id: UUID) -> UserOut | None:
    row = await conn.fetchrow(f"SELECT {_USER_COLS} FROM users u WHERE u.id = $1", user_id)
    return user_out(row) if row else None


async def insert_user(
    conn: Connection,
    *,
    username: str,
    display_name: str,
    password_hash: str,
    role: str,
    region_ids: list[UUID],
    district_ids: list[UUID],
    active: bool,
    password_must_change: bool = False,
) -> UserOut | None:
    """A new account, or None when the username is taken. `password_must_change` when someone other than
    its owner chose the password (an admin, an import); not for `muaina create-admin`, whose operator
    typed their own."""
    row = await conn.fetchrow(
        f"""INSERT INTO users AS u
                   (username, display_name, password_hash, role, region_ids, district_ids, active, password_must_change)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (lower(username)) DO NOTHING
            RETURNING {_USER_COLS}""",
        username,
        display_name,
        password_hash,
        role,
        region_ids,
        district_ids,
        active,
        password_must_change,
    )
    return user_out(row) if row else None


async def update_user(conn: Connection, user_id: UUID, changes: dict[str, object]) -> UserOut | None:
    allowed = ("display_name", "password_hash", "password_must_change", "role", "region_ids", "district_ids", "active")
    names = [k for k in allowed if k in changes]
    sets = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(names))
    row = await conn.fetchrow(
        f"UPDATE users AS u SET {sets + ', ' if sets else ''}updated_at = now() WHERE u.id = $1 RETURNING {_USER_COLS}",
        user_id,
        *[changes[n] for n in names],
    )
    return user_out(row) if row else None


async def lock_user(conn: Connection, user_id: UUID) -> tuple[UserOut | None, int]:
    """The user as it is now, and how many active admins there are besides them, all of their rows
    locked until the transaction ends. A change to a user is judged on this (its scope must not end
    up empty, the last admin must stay), so two changes at once are serialised and the second one is
    judged on what the first left. The rows are locked in id order, the same in every transaction,
    so two admins deactivating each other wait for each other rather than deadlock, and the second
    one sees that the first is gone."""
    rows = await conn.fetch(
        f"""SELECT {_USER_COLS} FROM users u
             WHERE u.id = $1 OR (u.role = 'admin' AND u.active)
             ORDER BY u.id FOR UPDATE""",
        user_id,
    )
    found = next((user_out(r) for r in rows if r["id"] == user_id), None)
    # A row locked after waiting is read again as it is now, so a role or state changed meanwhile shows.
    admins = sum(1 for r in rows if r["id"] != user_id and r["role"] == "admin" and r["active"])
    return found, admins


async def unknown_scope_ids(conn: Connection, region_ids: list[UUID], district_ids: list[UUID]) -> tuple[list, list]:
    regions = await conn.fetch(
        "SELECT x FROM unnest($1::uuid[]) x WHERE NOT EXISTS (SELECT 1 FROM regions r WHERE r.id = x)", region_ids
    )
    districts = await conn.fetch(
        "SELECT x FROM unnest($1::uuid[]) x WHERE NOT EXISTS (SELECT 1 FROM districts d WHERE d.id = x)", district_ids
    )
    return [r["x"] for r in regions], [r["x"] for r in districts]


async def prune_sign_ins(conn: Connection, keep_days: int, lockout_seconds: int) -> tuple[int, int, int]:
    """Delete sessions that ended (expired or revoked) more than `keep_days` ago, sign-in failure
    counters whose window and lock are both over, and expired device tokens; returns how many of each.

    Both tables otherwise only grow: a session row is written at every sign-in, and a counter for
    every username anyone tries, made-up ones included. An ended session is kept a while for who
    signed in from where; a counter past its window counts nothing (claim_attempt restarts it)."""
    sessions = await conn.execute(
        """DELETE FROM sessions
            WHERE LEAST(expires_at, COALESCE(revoked_at, expires_at)) < now() - make_interval(days => $1)""",
        keep_days,
    )
    counters = await conn.execute(
        """DELETE FROM login_failures
            WHERE first_at < now() - make_interval(secs => $1) AND (locked_until IS NULL OR locked_until <= now())""",
        float(lockout_seconds),
    )
    devices = await conn.execute("DELETE FROM known_devices WHERE expires_at < now()")
    return int(sessions.split()[-1]), int(counters.split()[-1]), int(devices.split()[-1])


# User imports sent with an import id (schema/0028_user_imports.sql, server/auth/importer.py) ------

IMPORT_RETRY_HOURS = 24  # a retry later than this is refused: the admin resets the accounts one by one


async def record_user_import(
    conn: Connection, import_id: UUID, admin_id: UUID, file_sha256: bytes, row_count: int
) -> bool:
    """Claim the import id for this import, in its transaction; False when it is already taken. A
    concurrent send of the same id waits here for the first one's transaction, and then sees its row."""
    return (
        await conn.fetchval(
            """INSERT INTO user_imports (id, admin_id, file_sha256, row_count) VALUES ($1, $2, $3, $4)
               ON CONFLICT (id) DO NOTHING RETURNING true""",
            import_id,
            admin_id,
            file_sha256,
            row_count,
        )
        is not None
    )


async def set_user_import_accounts(conn: Connection, import_id: UUID, user_ids: list[UUID]) -> None:
    await conn.execute("UPDATE user_imports SET user_ids = $2 WHERE id = $1", import_id, user_ids)


async def user_import(conn: Connection, import_id: UUID, *, lock: bool = False) -> Record | None:
    """The recorded import, with whether its retries are over (`expired`); `lock` makes retries of one
    id take turns, until the caller's transaction ends."""
    return await conn.fetchrow(
        f"""SELECT id, admin_id, file_sha256, row_count, user_ids, created_at,
                   created_at < now() - make_interval(hours => $2) AS expired
              FROM user_imports WHERE id = $1 {"FOR UPDATE" if lock else ""}""",
        import_id,
        IMPORT_RETRY_HOURS,
    )


async def user_import_accounts(conn: Connection, import_id: UUID, *, lock: bool = False) -> list[Record]:
    """The accounts an import created, in the file's order, each with whether its first password is
    still unused: never signed in with (a session is made only with the current password), not changed
    since it was issued (no reset, deactivation or password of the owner's own: updated_at), still to
    be changed by its owner, active, and not found in use by an earlier retry. `lock`: the accounts
    stay as judged until the caller's transaction ends (a sign-in waits, as for a reset)."""
    if lock:
        await conn.execute(
            """SELECT 1 FROM users WHERE id = ANY((SELECT user_ids FROM user_imports WHERE id = $1)::uuid[])
                ORDER BY id FOR UPDATE""",
            import_id,
        )
    return await conn.fetch(
        """SELECT u.id, u.username, u.display_name,
                  (u.id <> ALL (i.used_ids) AND u.active AND u.password_must_change AND u.updated_at <= i.issued_at
                   AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = u.id)) AS unused
             FROM user_imports i
            CROSS JOIN LATERAL unnest(i.user_ids) WITH ORDINALITY AS a (user_id, n)
             JOIN users u ON u.id = a.user_id
            WHERE i.id = $1
            ORDER BY a.n""",
        import_id,
    )


async def reissue_first_passwords(
    conn: Connection, import_id: UUID, hashes: dict[UUID, str], used_ids: list[UUID]
) -> None:
    """New first passwords (their hashes) for an import's unused accounts, and the ones found in use
    kept as such for good; the time of the change becomes the import's issued_at."""
    await conn.execute(
        """UPDATE users AS u SET password_hash = c.hash, updated_at = now()
             FROM unnest($1::uuid[], $2::text[]) AS c (id, hash) WHERE u.id = c.id""",
        list(hashes),
        list(hashes.values()),
    )
    await conn.execute(
        """UPDATE user_imports SET issued_at = now(),
                  used_ids = ARRAY(SELECT DISTINCT x FROM unnest(used_ids || $2::uuid[]) x)
            WHERE id = $1""",
        import_id,
        used_ids,
    )
