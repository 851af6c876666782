"""The audit trail: an append-only, hash-chained log written in the same transaction as the change.

Each row's hash is SHA-256(previous row's hash || canonical JSON of the row's own content). Writers
take a transaction-level advisory lock before reading the chain's head, so concurrent transactions
append one after the other and the chain never forks; the lock is released at commit.

record() queues the row (one INSERT into audit_queue) and the database appends it while the
transaction commits (schema/0007_audit_at_commit.sql): a deferred trigger calls audit_append
(schema/0006_write_path.sql), which takes the lock, reads the head, assigns seq and the time, and
hashes. The lock is then held only for the commit itself, never across a round trip to the app, so
record() may come anywhere in the transaction.
Python writes the canonical JSON except the two values only the database knows (the time and seq),
and verify() recomputes all of it in Python.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from asyncpg import Connection

from server.audit import anchors, records
from server.audit.models import AuditRow, FullCheck, RecordCheck, SeqGap, VerifyResult
from server.storage import PhotoStore

AUDIT_LOCK_ID = 0x61756469  # "audi"; audit_append takes the same lock
GENESIS = b"\x00" * 32


def canonical(
    seq: int,
    at: datetime | str,
    actor_id: UUID | None,
    actor: str | None,
    action: str,
    entity: str | None,
    entity_id: str | None,
    data: Any,
    ip: str | None,
) -> bytes:
    content = {
        "seq": seq,
        "at": at if isinstance(at, str) else at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": str(actor_id) if actor_id else None,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "data": data,
        "ip": ip,
    }
    return msgspec.json.encode(content, order="sorted")


def chain_hash(prev_hash: bytes, content: bytes) -> bytes:
    return hashlib.sha256(prev_hash + content).digest()


_SORTED = msgspec.json.Encoder(order="sorted")


def canonical_parts(
    actor_id: UUID | None,
    actor: str | None,
    action: str,
    entity: str | None,
    entity_id: str | None,
    data: Any,
    ip: str | None,
) -> tuple[bytes, bytes]:
    """canonical() without the time and seq: (head, tail) such that, for any seq and time,

        canonical(seq, at, ...) == head + at_text + tail + str(seq) + "}"

    where at_text is the time as canonical() writes it. Keys sort as action, actor, actor_id, at |
    data, entity, entity_id, ip | seq, so the time splits the object in two and seq is its last value.
    """
    first = _SORTED.encode({"action": action, "actor": actor, "actor_id": str(actor_id) if actor_id else None})
    rest = _SORTED.encode({"data": data, "entity": entity, "entity_id": entity_id, "ip": ip})
    return first[:-1] + b',"at":"', b'",' + rest[1:-1] + b',"seq":'


# The columns of an audit_queue row, in the order queued() gives their values, and each one's type.
_QUEUE_COLUMNS = ("actor_id", "actor", "action", "entity", "entity_id", "data", "ip", "head", "tail")
_QUEUE_TYPES = ("uuid", "text", "text", "text", "text", "jsonb", "text", "bytea", "bytea")

AuditValues = tuple[UUID | None, str | None, str, str | None, str | None, Any, str | None, bytes, bytes]


def queued(
    action: str,
    *,
    actor: Any = None,
    entity: str | None = None,
    entity_id: object = None,
    data: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditValues:
    """The audit_queue row that records `action`: what record() inserts, and what a write that queues
    its own audit row binds (queue_sql)."""
    actor_id = getattr(actor, "id", None)
    actor_name = getattr(actor, "username", None) if actor is not None else None
    entity_id_text = str(entity_id) if entity_id is not None else None
    # Stored and hashed as JSON gives it back, so verify() reads what was hashed. jsonb keeps numbers
    # as numeric, which has no negative zero: a -0.0 (a coordinate, a score) comes back as 0.0, and
    # hashed as sent it would make verify() report the row as altered.
    encoded = msgspec.json.encode(data or {})
    payload = msgspec.json.decode(encoded)
    if b"-0.0" in encoded:
        payload = _without_negative_zero(payload)
    head, tail = canonical_parts(actor_id, actor_name, action, entity, entity_id_text, payload, ip)
    return actor_id, actor_name, action, entity, entity_id_text, payload, ip, head, tail


def _without_negative_zero(value: Any) -> Any:
    if isinstance(value, float):
        return 0.0 if value == 0.0 else value
    if isinstance(value, dict):
        return {k: _without_negative_zero(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_negative_zero(v) for v in value]
    return value


def queue_sql(first: int, source: str) -> str:
    """SQL that queues one audit row (queued()'s values, bound as $first to $first + 8) for each row of
    `source`: for a write statement that records itself, as a data-modifying WITH item selecting from
    what it wrote, so a write that changes nothing records nothing. The row is appended at commit,
    exactly as record()'s is; the write saves the round trip record() would take."""
    values = ", ".join(f"${first + n}::{kind}" for n, kind in enumerate(_QUEUE_TYPES))
    return f"INSERT INTO audit_queue ({', '.join(_QUEUE_COLUMNS)}) SELECT {values} FROM {source}"


_RECORD = (
    f"INSERT INTO audit_queue ({', '.join(_QUEUE_COLUMNS)}) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(_QUEUE_COLUMNS) + 1))})"
)


async def record(conn: Connection, action: str, **fields: Any) -> None:
    """Record one audit row, `fields` as queued() takes them (actor, entity, entity_id, data, ip); must
    run inside the caller's transaction, and is appended (seq, time and hash assigned) when that
    transaction commits, or not at all if it rolls back."""
    if not conn.is_in_transaction():
        raise RuntimeError("audit.record must run inside the transaction of the change it records")
    await conn.execute(_RECORD, *queued(action, **fields))


async def list_rows(
    conn: Connection,
    *,
    action: str | None,
    entity: str | None,
    entity_id: str | None,
    actor_id: UUID | None,
    before: int | None,
    limit: int,
) -> list[AuditRow]:
    rows = await conn.fetch(
        """SELECT seq, at, actor_id, actor, action, entity, entity_id, data, ip, encode(hash, 'hex') AS hash
             FROM audit_log
            WHERE ($1::text IS NULL OR action = $1) AND ($2::text IS NULL OR entity = $2)
              AND ($3::text IS NULL OR entity_id = $3) AND ($4::uuid IS NULL OR actor_id = $4)
              AND ($5::bigint IS NULL OR seq < $5)
            ORDER BY seq DESC LIMIT $6""",
        action,
        entity,
        entity_id,
        actor_id,
        before,
        limit,
    )
    return [AuditRow(**dict(r)) for r in rows]


# A row's time as canonical() writes it (UTC, microseconds, "+00:00"), by the same expression that
# audit_append hashes (schema/0006): the walk below then neither decodes the time nor formats it again,
# a third of its cost per row.
_AT_TEXT = """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00'"""

# A full check of the chain, recorded in the chain itself: where the walk stopped (`through`, the
# last row checked, and its hash), how many rows it checked, and what it found.
VERIFIED = "audit.verified"
# Kept heads that a database restore explains, set aside by `muaina verify-audit --accept-restore`.
ANCHORS_SET_ASIDE = "audit.anchors_set_aside"


async def _rows_in_order(conn: Connection, after: int, batch: int = 2000) -> AsyncIterator[Any]:
    """The rows after seq `after`, in order. A batch's rows are checked between two reads, so the
    event loop is held for a few milliseconds at a time, not for the whole chain."""
    last = after
    while True:
        rows = await conn.fetch(
            f"""SELECT seq, {_AT_TEXT} AS at, actor_id, actor, action, entity, entity_id, data, ip, prev_hash, hash
                  FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2""",
            last,
            batch,
        )
        if not rows:
            return
        for row in rows:
            yield row
        last = rows[-1]["seq"]


async def verify(conn: Connection) -> VerifyResult:
    """Walk the whole chain, then check every inspection's record against it (records.check_all); the
    first row whose stored hashes do not follow is reported, and every record that is not as written."""
    result, _ = await _walk(conn)
    return _with_records(result, await records.check_all(conn))


def _with_records(result: VerifyResult, found: RecordCheck) -> VerifyResult:
    return msgspec.structs.replace(result, ok=result.ok and found.ok, records=found)


# Gaps listed in a result; past these they are only counted (`missing`).
_GAPS_LISTED = 100


async def _walk(
    conn: Connection, *, after: int = 0, prev: bytes = GENESIS, written: set[UUID] | None = None
) -> tuple[VerifyResult, bytes]:
    """Walk the chain from the row after seq `after` (0: from the start), whose hash is `prev`; the
    first row whose stored hashes do not follow is reported. Also returns the hash of the last row
    checked (`prev` when there was none). With `written`, the ids of the inspections the rows walked
    are about are added to it.

    Numbers missing between the rows walked are listed as a warning, not as a break: seq is taken from
    a sequence when a transaction commits (audit_append), and a number taken by a commit that then
    fails, or skipped by a sequence recovering from a crash, is never used. A row deleted and its
    successor re-linked also leaves one, so gaps are worth a look, but the chain alone decides `ok`."""
    checked = 0
    through = after
    gaps: list[SeqGap] = []
    missing = 0
    async for r in _rows_in_order(conn, after):
        seq = r["seq"]
        content = canonical(
            seq, r["at"], r["actor_id"], r["actor"], r["action"], r["entity"], r["entity_id"], r["data"], r["ip"]
        )
        if bytes(r["prev_hash"]) != prev or chain_hash(prev, content) != bytes(r["hash"]):
            bad = VerifyResult(
                ok=False, checked=checked, first_bad=seq, after=after, through=through, gaps=gaps, missing=missing
            )
            return msgspec.structs.replace(bad, head_hash=prev.hex() if through else None), prev
        if seq != through + 1:
            missing += seq - through - 1
            if len(gaps) < _GAPS_LISTED:
                gaps.append(SeqGap(after=through, next=seq))
        if written is not None and r["entity"] == "inspection" and r["entity_id"]:
            with contextlib.suppress(ValueError):
                written.add(UUID(r["entity_id"]))
        prev = bytes(r["hash"])
        checked += 1
        through = seq
    head = prev.hex() if through else None
    return VerifyResult(
        ok=True,
        checked=checked,
        first_bad=None,
        after=after,
        through=through,
        head_hash=head,
        gaps=gaps,
        missing=missing,
    ), prev


class _Recorded(msgspec.Struct):
    """What a VERIFIED row records of a full walk (its `data`): `ok` of the chain alone, and what the
    check of the records found (absent from a check recorded before records were checked)."""

    ok: bool
    checked: int
    first_bad: int | None
    through: int
    hash: str
    records_ok: bool | None = None
    record_problems: int = 0


async def _with_anchors(
    conn: Connection,
    store: PhotoStore | None,
    result: VerifyResult,
    last_hash: bytes | None,
    *,
    quick: bool,
    accept_restore: bool = False,
) -> VerifyResult:
    """`result` with the trail compared against the copies of its head kept in the photo store, keeping
    the head this walk reached when it found the chain intact (anchors.check_and_keep). Without a store
    (a command run where the photos are not), nothing is compared and `anchors` stays null."""
    if store is None:
        return result
    head = (result.through, last_hash) if result.first_bad is None and result.through and last_hash else None
    found = await anchors.check_and_keep(conn, store, head, quick=quick, accept_restore=accept_restore)
    return msgspec.structs.replace(result, ok=result.ok and found.ok is not False, anchors=found)


async def verify_and_record(
    conn: Connection,
    *,
    store: PhotoStore | None = None,
    actor: Any = None,
    ip: str | None = None,
    accept_restore: bool = False,
) -> VerifyResult:
    """Walk the whole chain and record the check in it (VERIFIED, by `actor`, or the system when None):
    where it stopped, with that row's hash, for later checks to go on from (verify_since). With `store`,
    also compare the trail with the heads kept there and keep this one (_with_anchors); with
    `accept_restore`, set aside the kept heads that differ, and record that in the trail too."""
    result, last_hash = await _walk(conn)
    found = await records.check_all(conn)
    recorded = _Recorded(
        ok=result.ok,
        checked=result.checked,
        first_bad=result.first_bad,
        through=result.through,
        hash=last_hash.hex(),
        records_ok=found.ok,
        record_problems=found.problem_count,
    )
    async with conn.transaction():
        await record(conn, VERIFIED, actor=actor, data=msgspec.to_builtins(recorded), ip=ip)
    result = await _with_anchors(
        conn, store, _with_records(result, found), last_hash, quick=False, accept_restore=accept_restore
    )
    if result.anchors is not None and result.anchors.set_aside:
        aside = result.anchors.set_aside
        async with conn.transaction():
            await record(
                conn, ANCHORS_SET_ASIDE, actor=actor, data={"count": len(aside), "entries": aside[:100]}, ip=ip
            )
    return result


async def last_full_check(conn: Connection) -> tuple[FullCheck, bytes] | None:
    """The newest recorded full check and the hash of the last row it checked, or None when none was
    recorded or its record does not hold together. A record names rows before its own (a check is
    recorded after its walk), so a walk from where it stopped always checks the record's row too.

    Only a check recorded by the command line (no actor) or by an administrator counts: any code that
    can record a row could otherwise record a "check" that lets the quick walk skip what it names."""
    row = await conn.fetchrow(
        """SELECT a.seq, a.at, a.data FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
            WHERE a.action = $1 AND (a.actor_id IS NULL OR u.role = 'admin')
            ORDER BY a.seq DESC LIMIT 1""",
        VERIFIED,
    )
    found = _full_check(row)
    if found is None or not found[0].through < row["seq"]:
        return None
    return found


async def first_break(conn: Connection) -> FullCheck | None:
    """The first recorded full check that found the chain broken. Rows are never changed or removed by
    Muaina, so a broken chain stays broken: a later record saying otherwise (one written into the
    queue by whoever altered the trail, say) must not hide the finding."""
    row = await conn.fetchrow(
        "SELECT seq, at, data FROM audit_log WHERE action = $1 AND (data ->> 'ok') = 'false' ORDER BY seq LIMIT 1",
        VERIFIED,
    )
    found = _full_check(row)
    return found[0] if found else None


def _full_check(row: Any) -> tuple[FullCheck, bytes] | None:
    if row is None:
        return None
    try:
        check = msgspec.convert(row["data"], _Recorded)
        last_hash = bytes.fromhex(check.hash)
    except (msgspec.ValidationError, ValueError):
        return None
    if check.through < 0 or len(last_hash) != 32:
        return None
    full = FullCheck(
        at=row["at"],
        ok=check.ok,
        checked=check.checked,
        first_bad=check.first_bad,
        through=check.through,
        records_ok=check.records_ok,
        record_problems=check.record_problems,
    )
    return full, last_hash


async def verify_since(
    conn: Connection, last: tuple[FullCheck, bytes], *, store: PhotoStore | None = None
) -> VerifyResult:
    """The rows after the last full check, walked from the hash it recorded; `last_full` says which check
    that was. Once any full check has found the trail broken, its finding is the answer (first_break).
    With `store`, the whole trail is also compared with the heads kept there (_with_anchors): a quick
    check trusts the full check's record for the rows before it, a record whoever rewrote the trail
    could rewrite too, but not the copies outside the database."""
    full, last_hash = last
    if (broken := await first_break(conn)) is not None:
        result = VerifyResult(
            ok=False, checked=broken.checked, first_bad=broken.first_bad, after=0, through=None, last_full=full
        )
        return await _with_anchors(conn, store, result, None, quick=True)
    written: set[UUID] = set()
    result, head_hash = await _walk(conn, after=full.through, prev=last_hash, written=written)
    # The records written since, and what the full check found of the others.
    result = _with_records(result, await records.check_some(conn, written))
    result = msgspec.structs.replace(result, ok=result.ok and full.records_ok is not False, last_full=full)
    return await _with_anchors(conn, store, result, head_hash, quick=True)
