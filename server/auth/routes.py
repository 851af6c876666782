"""Sign-in, sign-out, the current user, and user administration (admins only)."""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID

import msgspec
from asyncpg import Connection
from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter

from server.assignments import queries as assignment_queries
from server.audit import queries as audit
from server.auth import queries
from server.auth.importer import MAX_BYTES as IMPORT_MAX_BYTES
from server.auth.importer import audit_created, import_users
from server.auth.models import (
    LoginIn,
    LoginOut,
    PasswordChange,
    Principal,
    Role,
    UserCreate,
    UserImportCounts,
    UserImportPreview,
    UserOut,
    UserPatch,
)
from server.auth.rules import (
    display_name_problem,
    hash_password,
    new_token,
    scope_problem,
    token_hash,
    username_problem,
    verify_password,
)
from server.dashboards.rollup import take_sync_state
from server.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unsupported,
)
from server.http import Conn, Offset, User, bearer_token, client_ip, csv_body, csv_import

_BAD_LOGIN = "the username or password is not correct"
LOGIN_MAX_BYTES = 16 * 1024  # a name and a password; the only body read without a session
KNOWN_DEVICE_DAYS = 90  # a device not signed in from for this long is a stranger again (login_limits)
KNOWN_DEVICES_PER_ACCOUNT = 5  # a phone, a laptop, a spare: the newest ones are kept


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @post("/auth/login", status_code=200, request_max_body_size=LOGIN_MAX_BYTES)
    async def login(self, data: LoginIn, request: Request, conn: Conn, state: State) -> LoginOut:
        if request.content_type[0] != "application/json":
            # A browser sends a text/plain POST from any web site without asking this server first
            # (a "simple" request): a page opened in a police office could spend the office's
            # sign-in budget and lock everyone there out. JSON needs the server's consent (CORS),
            # which it never gives.
            raise Unsupported("send the sign-in as application/json")
        settings = state.settings
        ip = client_ip(request)
        name = data.username.lower()
        # Usernames are ASCII (auth.models.Username), which Python and PostgreSQL lower alike; other
        # letters they lower differently (U+0130 "İ"), which gave one account several counters. A
        # name with them names no account, and is counted as it is.
        row = await queries.user_for_login(conn, name) if name.isascii() else None
        device = data.device if row and data.device else None
        if device and not await queries.known_device(conn, token_hash(device), row["id"]):
            device = None  # made up, expired, or another account's: this device is a stranger to the name
        # Limits (see login_limits): this account's own device alone; or else the name from this
        # address, the name from anywhere, and the address.
        limits = login_limits(name, ip, settings.login_max_failures, device=token_hash(device) if device else None)
        if not await _claim_attempts(conn, limits, settings.login_lockout_seconds):
            async with conn.transaction():
                await audit.record(conn, "auth.login_throttled", data=_attempted(row), ip=ip)
            raise TooManyRequests(
                "too many failed sign-ins; wait a few minutes and try again",
                extra={"retry_after": settings.login_lockout_seconds},
            )
        ok = await asyncio.to_thread(verify_password, row["password_hash"] if row else None, data.password)
        if ok and not row["active"]:
            # Said only to someone who knows the password: a phone holding this person's unsent work
            # can then say why it cannot send it and who can mend that, not "wrong password" for ever.
            async with conn.transaction():
                await audit.record(conn, "auth.login_failed", data={**_attempted(row), "inactive": True}, ip=ip)
            raise Forbidden("this account is switched off; ask your administrator to switch it on again")
        expires_at = None
        token = new_token()
        if ok:  # and the account is active: a switched-off one was answered above
            async with conn.transaction():
                expires_at = await queries.create_session(
                    conn,
                    token_hash(token),
                    row["id"],
                    row["password_hash"],
                    settings.session_ttl_hours,
                    ip,
                    request.headers.get("user-agent"),
                )
                if expires_at is not None:
                    await _give_back_attempt(conn, limits)
                    device = device or new_token()
                    await queries.remember_device(
                        conn, token_hash(device), row["id"], KNOWN_DEVICE_DAYS, KNOWN_DEVICES_PER_ACCOUNT
                    )
                    await audit.record(
                        conn, "auth.login", actor=_principal(row), entity="user", entity_id=row["id"], ip=ip
                    )
        if expires_at is None:
            # The attempt stays counted. The same answer for an unknown user, a wrong password, a
            # deactivated account, and a password reset or deactivation that landed while checking.
            async with conn.transaction():
                await audit.record(conn, "auth.login_failed", data=_attempted(row), ip=ip)
            raise Unauthorized(_BAD_LOGIN)
        return LoginOut(token=token, user=queries.user_out(row), expires_at=expires_at, device=device)

    @post("/auth/logout", status_code=204)
    async def logout(self, request: Request, user: User, conn: Conn) -> None:
        async with conn.transaction():
            await queries.revoke_session(conn, token_hash(bearer_token(request) or ""))
            await audit.record(conn, "auth.logout", actor=user, entity="user", entity_id=user.id, ip=client_ip(request))

    @post(
        "/auth/password",
        status_code=204,
        request_max_body_size=LOGIN_MAX_BYTES,
        description="The signed-in user changes their own password. Every other session of theirs ends.",
    )
    async def change_password(
        self, data: PasswordChange, request: Request, user: User, conn: Conn, state: State
    ) -> None:
        if data.new_password == data.current_password:
            raise Invalid(
                "the new password is the current one",
                errors=[FieldError(field="new_password", message="must differ from the current password")],
            )
        settings = state.settings
        ip = client_ip(request)
        # Checking the current password is a guess at it, counted on this session as a sign-in is on its
        # name: LOGIN_MAX_FAILURES in LOGIN_LOCKOUT_SECONDS, then locked that long (a session found open
        # on someone's phone guesses no faster than sign-ins at the name may). Not on the sign-in's
        # counters of the name: guesses at sign-ins elsewhere must not stop the owner changing it, nor a
        # stranger's guesses here lock the owner's sign-ins.
        lockout = settings.login_lockout_seconds
        limits = [(f"s:{_this_session(request).hex()}", settings.login_max_failures)]
        if not await _claim_attempts(conn, limits, lockout):
            async with conn.transaction():
                await audit.record(
                    conn, "auth.password_change_throttled", actor=user, entity="user", entity_id=user.id, ip=ip
                )
            raise TooManyRequests(
                "too many wrong passwords; wait a few minutes and try again",
                extra={"retry_after": lockout},
            )
        current = await queries.password_hash(conn, user.id)
        if current is None or not await asyncio.to_thread(verify_password, current, data.current_password):
            async with conn.transaction():
                await audit.record(
                    conn, "auth.password_change_failed", actor=user, entity="user", entity_id=user.id, ip=ip
                )
            raise Invalid(
                "the current password is not correct",
                errors=[FieldError(field="current_password", message="is not correct")],
            )
        new_hash = await asyncio.to_thread(hash_password, data.new_password)
        async with conn.transaction():
            if not await queries.replace_password(conn, user.id, current, new_hash):
                raise Conflict("the password was reset or the account switched off meanwhile; sign in again")
            await _give_back_attempt(conn, limits)
            # As an admin's reset of their own password: this session, just proven, goes on; every
            # other one ends, and devices made known with the old password are strangers again.
            revoked = await queries.revoke_user_sessions(conn, user.id, keep=_this_session(request))
            await queries.forget_devices(conn, user.id)
            # `user.update` with a `password` change, as a reset is written: what tells the demo's
            # banner (cli._demo_sign_ins) that a password it would print no longer works.
            await audit.record(
                conn,
                "user.update",
                actor=user,
                entity="user",
                entity_id=user.id,
                data={"changes": {"password": "changed"}, "sessions_revoked": revoked},
                ip=ip,
            )

    @get("/me")
    async def me(self, user: User, conn: Conn) -> UserOut:
        found = await queries.get_user(conn, user.id)
        if found is None:
            raise NotFound("user not found")
        return found


def login_limits(name: str, ip: str | None, most: int, *, device: bytes | None = None) -> list[tuple[str, int]]:
    """The counters a sign-in attempt is claimed against, and how many failures lock each.

    From a device the account has signed in from before (`device`, the hash of the token a
    successful sign-in gave it), only that device's own count (`most`): guesses at the name from
    anywhere else, however many addresses they come from, cannot lock its owner out of the phone
    they always use; and someone holding the device gets `most` guesses at one account, no more.

    From anywhere else:
    - the name from this address (`most`): someone guessing one account from one place;
    - the name from anywhere (3 × `most`): guessing spread over many addresses;
    - the address (4 × `most`): guessing over many names. An office signs many people in from one
      address, so it is looser.

    A name locked from one address can still sign in from another until the wider limit, so one
    stranger's five wrong passwords no longer lock its owner out everywhere for the lockout time.
    """
    if device is not None:
        return [(f"d:{device.hex()}", most)]
    return [(f"p:{name}@{ip}", most), (f"u:{name}", most * 3), (f"ip:{ip}", most * 4)]


def _attempted(row) -> dict[str, object]:
    """What the audit log keeps of a failed sign-in's name: the account's, when it names one. A name
    that names no one is often a password typed into the wrong box, and the log is kept for good."""
    return {"username": row["username"]} if row else {"unknown_name": True}


class _Throttled(Exception):
    """Rolls back the attempts claimed so far when one of the keys is locked."""


async def _claim_attempts(conn: Connection, limits: list[tuple[str, int]], lockout_seconds: int) -> bool:
    """Count this attempt against every key, or (when one is locked) against none of them."""
    try:
        async with conn.transaction():
            for key, max_failures in limits:
                if not await queries.claim_attempt(conn, key, max_failures, lockout_seconds):
                    raise _Throttled
    except _Throttled:
        return False
    return True


async def _give_back_attempt(conn: Connection, limits: list[tuple[str, int]]) -> None:
    """The attempt was no failure: it gives back what it counted (an address's count only its own
    part: others may be guessing from the same address)."""
    for key, most in limits:
        if key.startswith("ip:"):
            await queries.refund_attempt(conn, key, most)
        else:
            await queries.clear_failures(conn, key)


def _this_session(request: Request) -> bytes:
    """The hash of the session the request was made with (what revoke_user_sessions may keep)."""
    return token_hash(bearer_token(request) or "")


def _principal(row) -> Principal:
    return Principal(id=row["id"], username=row["username"], display_name=row["display_name"], role=row["role"])


async def _check_scope(
    conn: Connection,
    role: Role,
    region_ids: list[UUID],
    district_ids: list[UUID],
    errors: list[FieldError] | None = None,
) -> None:
    """Raise every problem of the user's scope, with `errors` found before it (the username's)."""
    errors = list(errors or [])
    bad_regions, bad_districts = await queries.unknown_scope_ids(conn, region_ids, district_ids)
    if bad_regions:
        errors.append(FieldError(field="region_ids", message=f"unknown region ids: {', '.join(map(str, bad_regions))}"))
    if bad_districts:
        errors.append(
            FieldError(field="district_ids", message=f"unknown district ids: {', '.join(map(str, bad_districts))}")
        )
    if said := scope_problem(role, region_ids, district_ids):
        errors.append(FieldError(field="region_ids", message=said))
    if errors:
        raise Invalid(
            "the user is not valid" if any(e.field == "username" for e in errors) else "the user's scope is not valid",
            errors=errors,
        )


def _refuse_removing_the_last_admin(data: UserPatch) -> None:
    """Without an active admin nobody can manage users, templates or the hierarchy any more, and only
    someone with a shell on the server (`muaina create-admin`) could put that right."""
    errors = []
    if data.active is False:
        errors.append(FieldError(field="active", message="this is the last active admin"))
    if data.role is not None and data.role != "admin":
        errors.append(FieldError(field="role", message="this is the last active admin"))
    if errors:
        raise Conflict("the last active admin cannot be deactivated or given another role", errors=errors)


class UsersController(Controller):
    path = "/api/v1/users"
    tags = ["users"]

    @get(
        "/",
        description="Admins: every user. Reviewers: the inspectors who can serve a station in their scope (to "
        "assign visits to), whatever `role` says.",
    )
    async def list_users(
        self,
        user: User,
        conn: Conn,
        q: str | None = None,
        role: Role | None = None,
        active: bool | None = None,
        region_id: UUID | None = None,
        district_id: UUID | None = None,
        limit: Annotated[int | None, Parameter(ge=1, le=10_000)] = None,
        offset: Offset = 0,
    ) -> list[UserOut]:
        """`q` matches a username, a display name, or the code of a region or district of the user's
        area; `region_id` keeps users whose area lies in that region, `district_id` those whose area
        takes that district in (it or its region). Sorted by username; `limit` and `offset` page it."""
        user.require("admin", "reviewer")
        where = {"region_id": region_id, "district_id": district_id, "limit": limit, "offset": offset}
        if not user.is_admin:
            found = await queries.list_users(conn, q, "inspector", active, serving=user, **where)
            # Whose password is still the one an admin handed out is the admin's to know, not a reviewer's.
            return [msgspec.structs.replace(u, password_must_change=False) for u in found]
        return await queries.list_users(conn, q, role, active, **where)

    @get("/{user_id:uuid}")
    async def get_user(self, user_id: UUID, user: User, conn: Conn) -> UserOut:
        user.require("admin")
        found = await queries.get_user(conn, user_id)
        if found is None:
            raise NotFound("user not found")
        return found

    @post("/")
    async def create_user(self, data: UserCreate, request: Request, user: User, conn: Conn) -> UserOut:
        user.require("admin")
        said = username_problem(data.username)
        username_errors = [FieldError(field="username", message=said)] if said else []
        await _check_scope(conn, data.role, data.region_ids, data.district_ids, username_errors)
        password_hash = await asyncio.to_thread(hash_password, data.password)
        async with conn.transaction():
            created = await queries.insert_user(
                conn,
                username=data.username,
                display_name=_display_name(data.display_name),
                password_hash=password_hash,
                role=data.role,
                region_ids=data.region_ids,
                district_ids=data.district_ids,
                active=data.active,
                # The admin chose this password and hands it over: its owner is asked for their own.
                password_must_change=True,
            )
            if created is None:
                raise Invalid("username taken", errors=[FieldError(field="username", message="this username is taken")])
            await audit_created(conn, created, actor=user, ip=client_ip(request))
        return created

    @csv_import(IMPORT_MAX_BYTES)
    async def import_csv(
        self,
        request: Request,
        user: User,
        conn: Conn,
        dry_run: bool = False,
        import_id: Annotated[
            UUID | None,
            Parameter(
                header="Idempotency-Key",
                required=False,
                description="A UUID the client makes once per confirmed file and sends again with every retry "
                "of it (ignored by a dry run). The same key with the same file within 24 hours replays the "
                "import: nothing is created, and the reply names the same accounts, marked `replayed`.",
            ),
        ] = None,
    ) -> UserImportCounts | UserImportPreview:
        """Body: the CSV file itself (text/csv); its columns and the decisions are in server/auth/importer.py.
        The real import's reply holds each new account's first password, once.

        Retrying safely: send a fresh UUID as `Idempotency-Key` with the real import, and the same key
        and the same bytes again if the reply was lost (a timeout, a dropped connection). The retry's
        reply has the same shape, names the same accounts, and holds a fresh first password for each
        account whose first one is still unused (never signed in, not reset or deactivated since);
        the others have `in_use: true` and no password. Without the header an import works as before.
        409 names `Idempotency-Key` when the key was sent with another file, is another admin's, or is
        older than 24 hours; 422 when it is not a UUID."""
        user.require("admin")
        return await import_users(
            conn, await csv_body(request), dry_run=dry_run, actor=user, ip=client_ip(request), import_id=import_id
        )

    @patch("/{user_id:uuid}")
    async def update_user(self, user_id: UUID, data: UserPatch, request: Request, user: User, conn: Conn) -> UserOut:
        user.require("admin")
        changes = {
            k: v
            for k in ("display_name", "role", "region_ids", "district_ids", "active")
            if (v := getattr(data, k)) is not None
        }
        if "display_name" in changes:
            changes["display_name"] = _display_name(data.display_name)
        if data.password is not None:
            # Hashed before the row is locked: argon2 takes a while and must not hold others up.
            changes["password_hash"] = await asyncio.to_thread(hash_password, data.password)
            # Someone else's new password is the admin's knowledge until its owner chooses their own; an
            # admin who resets their own has just chosen it.
            changes["password_must_change"] = user_id != user.id
        async with conn.transaction():
            if {"role", "region_ids", "district_ids", "active"} & changes.keys():
                # Who may do the work changes: _follow_work may make a visit, which stamps the bundle's
                # change order (sync_state). A submission closing a visit stamps first and then
                # share-locks its inspector (advance_schedule): the stamp first here too, or each waits
                # on the other (rollup.LOCK_ORDER).
                await take_sync_state(conn)
            # Judged on the row as it is under its lock: two changes at once (one emptying the
            # regions, the other the districts) must not each pass on what the other is removing.
            current, other_admins = await queries.lock_user(conn, user_id)
            if current is None:
                raise NotFound("user not found")
            if not changes:
                return current  # nothing asked for: nothing written, nothing audited
            reach = {"role", "region_ids", "district_ids", "active"} & changes.keys()
            if {"role", "region_ids", "district_ids"} & reach:
                await _check_scope(
                    conn,
                    changes.get("role", current.role),
                    changes.get("region_ids", current.region_ids),
                    changes.get("district_ids", current.district_ids),
                )
            if current.role == "admin" and current.active and not other_admins:
                _refuse_removing_the_last_admin(data)
            updated = await queries.update_user(conn, user_id, changes)
            revoked = 0
            # Deactivation, a password reset or a change of role or scope ends every session at once:
            # the next request of that user is refused, not the one after some cache expires. An
            # admin who only resets their own password keeps the session they did it from (it is
            # theirs, proven just now); every other session of theirs ends.
            if data.active is False or data.password is not None or {"role", "region_ids", "district_ids"} & reach:
                own_reset_only = user_id == user.id and not reach
                keep = _this_session(request) if own_reset_only else None
                revoked = await queries.revoke_user_sessions(conn, user_id, keep=keep)
            if data.active is False or data.password is not None:
                # Whoever knew the old password could have made their devices known: no longer.
                await queries.forget_devices(conn, user_id)
            # Said by the `password` entry ("reset"), as the audit page reads it.
            logged: dict[str, object] = {
                k: v for k, v in changes.items() if k not in ("password_hash", "password_must_change")
            }
            if data.password is not None:
                logged["password"] = "reset"
            audited: dict[str, object] = {"changes": logged, "sessions_revoked": revoked}
            if reach:
                audited.update(await _follow_work(conn, user_id))
            await audit.record(
                conn, "user.update", actor=user, entity="user", entity_id=user_id, data=audited, ip=client_ip(request)
            )
        assert updated is not None
        return updated


def _display_name(value: str | None) -> str | None:
    """The name as shown in lists and reports, without the spaces around it; a blank one is refused
    (a length check passes a string of spaces)."""
    if value is None:
        return None
    name = value.strip()
    if said := display_name_problem(name):
        raise Invalid("the display name is not valid", errors=[FieldError(field="display_name", message=said)])
    return name


async def _follow_work(conn: Connection, user_id: UUID) -> dict[str, object]:
    """What a change of role, scope or state did to the user's inspection work, for the audit row.

    Visits and schedules the user can no longer serve stay open under their name and are listed as
    needing an inspector (a reviewer reassigns them); schedules held back for want of an inspector
    that the user can serve again make their next visit now."""
    resumed = await assignment_queries.resume_schedules(conn, inspector_id=user_id)
    assignments, schedules = await assignment_queries.work_needing_inspector(conn, user_id)
    return {
        "needs_inspector": {"assignment_ids": assignments, "schedule_ids": schedules},
        "resumed_schedules": [{"schedule_id": k, "assignment_id": v} for k, v in resumed.items()],
    }


ROUTES = [AuthController, UsersController]
