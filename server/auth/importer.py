"""User import from CSV, shared by POST /api/v1/users/import and `muaina import-users`.

The file: a header naming the columns, then one account a row. `username`, `display_name` and `role`
are required columns; `region_codes` and `district_codes` are optional ones (a file of reviewers may
name regions only), each cell holding codes separated by spaces or `|`. Rows are numbered as a
spreadsheet shows them: the header is row 1.

Decisions:
- All or nothing, as the station import: every row is checked (the single-user API's own rules, from
  rules.py) and every problem reported by row and column (422); nothing is written unless there is
  none. A dry run checks the same way and writes nothing.
- Only reviewers and inspectors. An admin account can change everything, its password would travel
  in a downloaded file, and there are a handful of them: they are made one at a time.
- An existing account is never changed. A row naming one (case aside, as sign-in finds it) with the
  same role and area is "unchanged", so the same file can be imported again after a partial
  hand-out; with another role or area it is an error at that row: a file must not silently widen or
  narrow someone's access. Display name, password and state of an existing account stay as they are.
- Region and district codes are found whatever their case (`da` is the district `DA`), as the station
  import finds them (server/org/rules.Codes); the preview shows them as stored.
- Each new account gets a random first password (rules.new_password), given once in the real
  import's reply and nowhere else: not in the dry run, the database (only its hash), the log or the
  audit trail.
- A real import may carry an import id (the PWA makes one when the admin confirms a file): it is
  recorded with the file's SHA-256 and the accounts made, in the transaction that makes them
  (schema/0028_user_imports.sql). The same id again, from the same admin with the same bytes, is a
  retry whose reply was lost: nothing is made, and the reply names the same accounts, with fresh first
  passwords for those whose first one is still unused (the lost reply's were never seen, and no
  password is kept anywhere to send again) and the others marked `in_use`, left alone. The id with
  other bytes, another admin's, or older than IMPORT_RETRY_HOURS is refused (409). Two sends of one id
  at once take turns on the id's row (INSERT … ON CONFLICT): one makes the accounts, the other replays.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from asyncpg import Connection

from server.audit import queries as audit
from server.auth import queries
from server.auth.models import ImportedUser, NewPassword, UserImportCounts, UserImportPreview, UserOut
from server.auth.rules import display_name_problem, hash_password, new_password, scope_problem, username_problem
from server.csvfile import decode, read, refused, row_order
from server.errors import Conflict, FieldError, Invalid, TooLarge
from server.exports.rules import neutralise
from server.org.rules import Codes

REQUIRED_COLUMNS = ("username", "display_name", "role")
OPTIONAL_COLUMNS = ("region_codes", "district_codes")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
ROLES = ("reviewer", "inspector")
MAX_ROWS = 1500  # a province and a half; each new account costs ~0.15 s of a core to hash (~2.5 min a 1,000)
MAX_BYTES = 1024 * 1024  # ~2,000 rows of long names and many codes
IMPORT_LOCK_ID = 0x55534552  # "USER": imports one at a time, so the comparison holds when writing
_CODES = re.compile(r"[\s|]+")


@dataclass(frozen=True, slots=True)
class Row:
    row: int
    username: str
    display_name: str
    role: str
    region_codes: list[str]
    district_codes: list[str]
    region_ids: list[UUID]
    district_ids: list[UUID]


async def import_users(
    conn: Connection,
    data: bytes,
    *,
    dry_run: bool = False,
    actor: Any = None,
    ip: str | None = None,
    source: str = "api",
    import_id: UUID | None = None,
) -> UserImportCounts | UserImportPreview:
    if len(data) > MAX_BYTES:
        raise TooLarge(f"the file is larger than {MAX_BYTES // 1024} KiB; split it into smaller files")
    # A dry run records nothing: its id, if any, is not looked at.
    retry = _Retry(import_id, hashlib.sha256(data).digest(), actor, ip) if import_id and not dry_run else None
    if retry is not None and await queries.user_import(conn, retry.import_id) is not None:
        return await replay(conn, retry)
    text = decode(data)
    regions, districts = await queries.scope_codes(conn)
    rows, errors = parse_user_csv(text, regions, districts)
    new, unchanged, conflicts = await _compare(conn, rows, regions, districts)
    if errors or conflicts:
        # One reply lists every problem, in the order of the file's rows: a row that would change an
        # existing account beside a row with a typing mistake, not one and then, once it is mended, the other.
        raise refused(sorted(errors + conflicts, key=row_order))
    if dry_run:
        return UserImportPreview(created=[_shown(r) for r in new], unchanged=unchanged, rows=len(rows))
    passwords = [new_password() for _ in new]
    # Hashed before any lock is taken (argon2 takes ~0.2 s of a core, 1,000 accounts minutes of one),
    # and only a few at a time, one per core: the thread pool is shared with every sign-in, which
    # would otherwise queue behind the whole file.
    hashes = await _hash_all(passwords)
    try:
        await _create(conn, rows, new, hashes, regions, districts, retry, actor=actor, ip=ip, source=source)
    except _Recorded:
        # Another send of this id made the accounts while this one was hashing: this one is its retry.
        assert retry is not None
        return await replay(conn, retry)
    return UserImportCounts(
        created=len(new),
        unchanged=len(rows) - len(new),
        rows=len(rows),
        passwords=[
            NewPassword(username=r.username, display_name=r.display_name, password=p)
            for r, p in zip(new, passwords, strict=True)
        ],
    )


async def _create(
    conn: Connection,
    rows: list[Row],
    new: list[Row],
    hashes: list[str],
    regions: Mapping[str, UUID],
    districts: Mapping[str, UUID],
    retry: _Retry | None,
    *,
    actor: Any,
    ip: str | None,
    source: str,
) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", IMPORT_LOCK_ID)
        # The id is claimed first: a concurrent send of it that made the accounts meanwhile would
        # otherwise find them all "unchanged" below, and be refused as accounts changed while importing.
        if retry is not None and not await queries.record_user_import(
            conn, retry.import_id, actor.id, retry.sha256, len(rows)
        ):
            raise _Recorded
        # Compared again under the lock: an account made or changed while hashing is judged as it is now.
        again, unchanged, conflicts = await _compare(conn, rows, regions, districts)
        if conflicts:
            raise refused(conflicts)
        if [r.row for r in again] != [r.row for r in new]:
            raise Invalid("nothing was imported: accounts changed while importing; import the file again")
        made: list[UUID] = []
        for r, password_hash in zip(new, hashes, strict=True):
            created = await queries.insert_user(
                conn,
                username=r.username,
                display_name=r.display_name,
                password_hash=password_hash,
                role=r.role,
                region_ids=r.region_ids,
                district_ids=r.district_ids,
                active=True,
                # Its first password travels in the downloaded file: the owner is asked for their own.
                password_must_change=True,
            )
            if created is None:  # taken since the comparison, by a single-user creation
                raise Invalid(
                    "nothing was imported",
                    errors=[FieldError(field=f"row {r.row}.username", message="this username is taken")],
                )
            made.append(created.id)
            await audit_created(conn, created, actor=actor, ip=ip, via="import")
        if retry is not None:
            await queries.set_user_import_accounts(conn, retry.import_id, made)
        await audit.record(
            conn,
            "user.import",
            actor=actor,
            entity="user",
            data={"source": source, "created": len(new), "unchanged": len(unchanged), "rows": len(rows)}
            | ({"import_id": str(retry.import_id)} if retry is not None else {}),
            ip=ip,
        )


@dataclass(frozen=True, slots=True)
class _Retry:
    import_id: UUID
    sha256: bytes
    actor: Any
    ip: str | None


class _Recorded(Exception):
    """The import id was claimed by another send while this one was hashing."""


async def replay(conn: Connection, retry: _Retry) -> UserImportCounts:
    """The reply to a retry of a recorded import: its accounts, with a fresh first password for each
    whose first one is still unused, and the others marked in use and left as they are."""
    _check_retry(await queries.user_import(conn, retry.import_id), retry)
    accounts = await queries.user_import_accounts(conn, retry.import_id)
    fresh = {a["id"]: new_password() for a in accounts if a["unused"]}
    # Hashed before the row is locked, as a first import's passwords are.
    hashes = dict(zip(fresh, await _hash_all(list(fresh.values())), strict=True))
    async with conn.transaction():
        found = await queries.user_import(conn, retry.import_id, lock=True)
        _check_retry(found, retry)
        # Judged again under the locks: a sign-in or a reset that landed while hashing wins.
        accounts = await queries.user_import_accounts(conn, retry.import_id, lock=True)
        given = {a["id"] for a in accounts if a["unused"] and a["id"] in hashes}
        await queries.reissue_first_passwords(
            conn, retry.import_id, {i: hashes[i] for i in given}, [a["id"] for a in accounts if not a["unused"]]
        )
        for a in accounts:
            if a["id"] in given:
                await audit.record(
                    conn,
                    "user.import_replay",
                    actor=retry.actor,
                    entity="user",
                    entity_id=a["id"],
                    data={"import_id": str(retry.import_id), "username": a["username"], "password": "reissued"},
                    ip=retry.ip,
                )
        await audit.record(
            conn,
            "user.import_replay",
            actor=retry.actor,
            entity="user",
            data={
                "import_id": str(retry.import_id),
                "reissued": len(given),
                "in_use": len(accounts) - len(given),
                "rows": found["row_count"],
            },
            ip=retry.ip,
        )
    return UserImportCounts(
        created=len(accounts),
        unchanged=found["row_count"] - len(found["user_ids"]),
        rows=found["row_count"],
        passwords=[
            NewPassword(
                username=a["username"],
                display_name=a["display_name"],
                password=fresh[a["id"]] if a["id"] in given else None,
                in_use=a["id"] not in given,
            )
            for a in accounts
        ],
        replayed=True,
    )


def _check_retry(found: Any, retry: _Retry) -> None:
    field = "Idempotency-Key"
    if found["admin_id"] != getattr(retry.actor, "id", None):
        raise Conflict(
            "this import id belongs to another admin's import",
            errors=[FieldError(field=field, message="is another admin's import: choose the file again")],
        )
    if found["file_sha256"] != retry.sha256:
        raise Conflict(
            "this import id was sent with another file",
            errors=[FieldError(field=field, message="was sent with another file: choose the file again")],
        )
    if found["expired"]:
        raise Conflict(
            f"this import is older than {queries.IMPORT_RETRY_HOURS} hours: its retry has expired",
            errors=[
                FieldError(
                    field=field,
                    message=f"expired: the import was made over {queries.IMPORT_RETRY_HOURS} hours ago; its "
                    "accounts are on the Users page, where each password can be reset",
                )
            ],
        )


async def audit_created(
    conn: Connection, created: UserOut, *, actor: Any, ip: str | None, via: str | None = None
) -> None:
    """The audit entry of a new account, made one at a time (UsersController.create_user) or by an
    import (`via`): who it is and what it may reach, never its password."""
    data: dict[str, object] = {
        "username": created.username,
        "role": created.role,
        "region_ids": created.region_ids,
        "district_ids": created.district_ids,
    }
    if via is not None:
        data["via"] = via
    await audit.record(conn, "user.create", actor=actor, entity="user", entity_id=created.id, data=data, ip=ip)


async def _compare(
    conn: Connection, rows: list[Row], regions: Mapping[str, UUID], districts: Mapping[str, UUID]
) -> tuple[list[Row], list[str], list[FieldError]]:
    """(rows to create, usernames already there as the file says, problems): any other existing account
    is a problem at its row."""
    existing = await queries.users_by_name(conn, [r.username for r in rows])
    region_code = {v: k for k, v in regions.items()}
    district_code = {v: k for k, v in districts.items()}
    new, unchanged, errors = [], [], []
    for r in rows:
        user = existing.get(r.username.lower())
        if user is None:
            new.append(r)
        elif user.role == r.role and _same(user.region_ids, r.region_ids) and _same(user.district_ids, r.district_ids):
            unchanged.append(user.username)
        else:
            now = _area_words(user, region_code, district_code)
            errors.append(
                FieldError(
                    field=f"row {r.row}.username",
                    message=f"the account '{user.username}' already exists as {user.role} of {now}; an import never "
                    "changes an existing account: change it on its page, or take the row out",
                )
            )
    return new, unchanged, errors


def _same(a: list[UUID], b: list[UUID]) -> bool:
    return set(a) == set(b)


def _area_words(user: UserOut, region_code: Mapping[UUID, str], district_code: Mapping[UUID, str]) -> str:
    parts = [f"region {region_code.get(i, i)}" for i in user.region_ids]
    parts += [f"district {district_code.get(i, i)}" for i in user.district_ids]
    return ", ".join(map(str, parts)) or "no area"


def _shown(r: Row) -> ImportedUser:
    return ImportedUser(
        row=r.row,
        username=r.username,
        display_name=r.display_name,
        role=r.role,  # type: ignore[arg-type]
        region_codes=r.region_codes,
        district_codes=r.district_codes,
    )


async def _hash_all(passwords: list[str]) -> list[str]:
    gate = asyncio.Semaphore(max(1, os.cpu_count() or 1))

    async def one(password: str) -> str:
        async with gate:
            return await asyncio.to_thread(hash_password, password)

    return list(await asyncio.gather(*(one(p) for p in passwords)))


# Reading the file (no I/O) --------------------------------------------------------------------------


def parse_user_csv(
    text: str, regions: Mapping[str, UUID], districts: Mapping[str, UUID]
) -> tuple[list[Row], list[FieldError]]:
    """Every row read and checked; the caller writes nothing unless the list of problems is empty."""
    errors: list[FieldError] = []

    def err(field: str, message: str) -> None:
        errors.append(FieldError(field=field, message=message))

    rows: list[Row] = []
    first_row_of: dict[str, int] = {}
    known = {"region_codes": Codes("region", regions), "district_codes": Codes("district", districts)}
    for number, values in read(text, err, REQUIRED_COLUMNS, COLUMNS):
        found = len(errors)
        row = _parse_row(number, values, known, err)
        name = values["username"].lower()
        if name:
            if name in first_row_of:
                err(
                    f"row {number}.username", f"the username '{values['username']}' is also on row {first_row_of[name]}"
                )
            else:
                first_row_of[name] = number
        if len(errors) == found and row is not None:
            rows.append(row)
        if len(first_row_of) > MAX_ROWS:
            # Said before any problem in its rows: those would be mended in vain.
            raise TooLarge(
                f"the file has more than {MAX_ROWS} users; at most {MAX_ROWS} can be imported at once: split it",
                errors=[FieldError(field=f"row {number}", message=f"is past the {MAX_ROWS}th user")],
            )
    if not first_row_of and not errors:
        err("body", "the file has a header but no users")
    return rows, errors


def _parse_row(number: int, values: dict[str, str], known: Mapping[str, Codes[UUID]], err: Any) -> Row | None:
    at = f"row {number}"
    found: list[str] = []

    def problem(column: str, message: str) -> None:
        found.append(column)
        err(f"{at}.{column}", message)

    username = values["username"]
    if not username:
        problem("username", "is missing")
    elif said := username_problem(username):
        problem("username", said)
    display_name = values["display_name"]
    if said := display_name_problem(display_name):
        problem("display_name", said)
    role = values["role"].lower()
    if role not in ROLES:
        problem(
            "role",
            f"'{values['role']}' is not a role an import makes: reviewer or inspector "
            "(admins are added one at a time on the Users page)"
            if values["role"]
            else "is missing: reviewer or inspector",
        )
    # A code in another case is the stored region or district, as the station import finds them.
    written = {column: _codes(values.get(column, "")) for column in OPTIONAL_COLUMNS}
    area: dict[str, dict[str, UUID]] = {}
    for column, codes in known.items():
        unknown: list[str] = []
        ids: dict[str, UUID] = {}
        for code in written[column]:
            if isinstance(match := codes.find(code), tuple):
                ids.setdefault(match[0], match[1])
            elif match:
                problem(column, codes.twins(match))
            else:
                unknown.append(code)
        if unknown:
            problem(column, f"no {codes.what} has the code {', '.join(repr(c) for c in unknown)}")
        area[column] = ids
    if role in ROLES and (said := scope_problem(role, written["region_codes"], written["district_codes"])):
        problem("region_codes", said)
    if found:
        return None
    return Row(
        row=number,
        username=username,
        display_name=display_name,
        role=role,
        region_codes=list(area["region_codes"]),
        district_codes=list(area["district_codes"]),
        region_ids=list(area["region_codes"].values()),
        district_ids=list(area["district_codes"].values()),
    )


def _codes(cell: str) -> list[str]:
    return list(dict.fromkeys(c for c in _CODES.split(cell) if c))


# The command line -----------------------------------------------------------------------------------


async def import_users_file(
    conn: Connection, path: Path, passwords_out: Path | None, dry_run: bool = False
) -> tuple[bool, str]:
    """`muaina import-users FILE.csv --passwords-out FILE`: (ok, a message for the terminal).

    The passwords go to a new file only its owner can read (0600), never to the terminal, whose
    scroll-back, a script's log or cron's mail would keep them. The file is made before anything is
    imported, so an unwritable or already existing one (a previous import's passwords) stops the
    import instead of leaving accounts whose passwords nobody has."""
    try:
        data = await asyncio.to_thread(Path(path).read_bytes)
    except OSError as exc:
        return False, f"error: cannot read {path}: {exc.strerror or exc}"
    out = None
    if not dry_run:
        if passwords_out is None:
            return False, "error: say where the new passwords go: --passwords-out FILE (or --dry-run to check only)"
        try:
            out = os.open(passwords_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            return False, f"error: cannot create {passwords_out}: {exc.strerror or exc}; nothing was imported"
    try:
        result = await import_users(conn, data, dry_run=dry_run, source=f"command line: {Path(path).name}")
    except (Invalid, TooLarge) as exc:
        if out is not None:
            os.close(out)
            os.unlink(passwords_out)  # type: ignore[arg-type]
        lines = [f"error: {exc.detail}"] + [f"  {e.field}: {e.message}" for e in exc.errors]
        return False, "\n".join(lines)
    if isinstance(result, UserImportPreview):
        return True, (
            f"checked {result.rows} user(s) in {path}: {len(result.created)} would be created, "
            f"{len(result.unchanged)} unchanged; nothing was written"
        )
    assert out is not None
    with os.fdopen(out, "w", encoding="utf-8", newline="") as f:
        write_passwords(f, result.passwords)
    return True, (
        f"imported {result.rows} user(s) from {path}: {result.created} created, {result.unchanged} unchanged; "
        f"their passwords are in {passwords_out} (readable by you only): hand them out, then delete it"
    )


def write_passwords(f: Any, passwords: list[NewPassword]) -> None:
    """The sheet to hand out, as the PWA's "Download passwords" writes it: UTF-8 with a byte-order mark,
    so Excel shows Urdu names as written, and a name beginning = + - @ kept as text, not a formula."""
    f.write("\ufeff")
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(["username", "display_name", "password"])
    for p in passwords:
        w.writerow([p.username, neutralise(p.display_name), p.password])
