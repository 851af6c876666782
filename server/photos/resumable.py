"""Resumable photo uploads: one photo sent in parts, each kept as it arrives (schema 0029).

A single PUT of a 4 MB picture over a link that drops every minute or two began again from the first
byte at every attempt, and could fail for ever. Here the phone declares the photo (POST, with the PUT's
query parameters, the size and, if it has it, the SHA-256), then sends parts at the offset the server
has (PATCH ?offset=N); after a drop it asks how much arrived (GET) and goes on from there. The part
that makes the size whole stores the photo exactly as the PUT does (service.save_upload: the same
checks, pipeline, objects, row and audit entry), and the parts go. A PATCH at the end with no body
asks again for a whole upload whose storing failed (the photo store down: 503).

Every step is the inspector's own: an upload in progress is theirs only (404 to anyone else, as an
inspection out of scope is). The target (the inspection, taking photos, a real item) is checked when
the upload is declared and again when it is whole: an inspection approved meanwhile takes no photo.
A part's body is read with no database connection held, as the PUT's is (routes.py).
"""

from __future__ import annotations

import hashlib
from uuid import UUID

import msgspec
from asyncpg import Connection, Record

from server.auth.models import Principal
from server.errors import Conflict, DomainError, FieldError, Invalid, NotFound, TooLarge, Unavailable
from server.photos import queries, rules, service
from server.photos.models import PhotoOut
from server.storage import PhotoStore

# The largest part a PATCH may carry. The phone sends smaller ones (pwa/js/outbox.js), so that each
# arrives within a minute or so on a weak link; this bounds what one request holds in memory.
PART_MAX_BYTES = 2 * 1024 * 1024
# What one inspector's uploads under way may hold in the database, as photos of MAX_PHOTO_BYTES: a
# phone sends its photos one at a time, and one it gave up on (deleted with its inspection, say) stays
# until the sweeper's week is up. Declaring one past this lets go of their least recently touched ones
# first, rather than refuse the inspector: those are only copies of what a phone holds and can send
# again from the start. So no account, a stolen phone's included, can fill the database's disk.
OPEN_PHOTOS = 4
# A lock per inspector (two-int advisory key space, namespace "upld"), so that concurrent declarations
# count what is under way one after the other.
_DECLARE_LOCK = 0x75706C64


class UploadState(msgspec.Struct, kw_only=True):
    """`received` of `size` bytes have arrived; `photo` is the stored photo once the upload is whole."""

    photo_id: UUID
    size: int
    received: int
    photo: PhotoOut | None = None


def _done(photo: PhotoOut) -> UploadState:
    return UploadState(photo_id=photo.id, size=photo.size_bytes, received=photo.size_bytes, photo=photo)


def _state(row: Record) -> UploadState:
    return UploadState(photo_id=row["photo_id"], size=row["size"], received=row["received"])


async def _stored(conn: Connection, user: Principal, photo_id: UUID) -> UploadState | None:
    """The photo, stored already (an upload whose last reply was lost), as its inspector reads it."""
    row = await queries.readable_photo(conn, user, photo_id)
    return _done(await service.reply_for(conn, user, row)) if row is not None else None


def parse_sha256(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        digest = bytes.fromhex(value)
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise Invalid("sha256 is not a SHA-256", errors=[FieldError("sha256", "expected 64 hexadecimal digits")])
    return digest


async def begin(
    conn: Connection,
    user: Principal,
    photo_id: UUID,
    target: service.Target,
    device: rules.Device,
    size: int,
    sha256: bytes | None,
    limit: int,
) -> tuple[UploadState, bool]:
    """Declare an upload (or find the one declared before, or the photo stored already); whether this
    call declared it."""
    if size > limit:
        raise TooLarge(f"a photo may be at most {limit} bytes", errors=[FieldError("size", f"must be at most {limit}")])
    if (stored := await _stored(conn, user, photo_id)) is not None:
        if (photo := stored.photo) is not None:
            # Other bytes under a stored photo's id are another picture, as a PUT of them is refused:
            # answering with the stored one would tell the phone its picture is kept when it is not.
            if sha256 is not None and photo.sha256 != sha256.hex():
                raise Conflict(service.OTHER_PHOTO, errors=[FieldError("sha256", service.OTHER_PHOTO)])
            if photo.size_bytes != size:
                raise Conflict(service.OTHER_PHOTO, errors=[FieldError("size", service.OTHER_PHOTO)])
            if conflict := service.filed_elsewhere(photo.inspection_id, photo.item_key, target):
                raise conflict
        return stored, False
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _DECLARE_LOCK, str(user.id))
        await _make_room(conn, user, photo_id, size, OPEN_PHOTOS * limit)
        created = await conn.fetchval(
            """INSERT INTO photo_uploads (photo_id, uploaded_by, inspection_id, item_key, size, sha256, device)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (photo_id) DO NOTHING RETURNING true""",
            photo_id,
            user.id,
            target.inspection_id,
            target.item_key,
            size,
            sha256,
            msgspec.to_builtins(device),
        )
    row = await _open(conn, user, photo_id)
    if row is None:
        # Another inspector's upload (photo ids are the phones' own UUIDs): as if there were none.
        raise NotFound("no such upload")
    differs = [
        FieldError(name, f"the upload under way has another {name}")
        for name, stored, sent in (
            ("inspection_id", row["inspection_id"], target.inspection_id),
            ("item_key", row["item_key"], target.item_key),
            ("size", row["size"], size),
            ("sha256", row["sha256"] and bytes(row["sha256"]), sha256),
        )
        if stored != sent and not (name == "sha256" and sent is None)
    ]
    if differs:
        raise Conflict("an upload of this photo id with other details is under way", errors=differs)
    return _state(row), bool(created)


async def _make_room(conn: Connection, user: Principal, photo_id: UUID, size: int, room: int) -> None:
    """Let go of the inspector's least recently touched uploads under way (other than this photo's) until
    this one's `size` fits in `room` beside the others."""
    await conn.execute(
        """DELETE FROM photo_uploads WHERE photo_id IN (
               SELECT photo_id FROM (
                   SELECT photo_id, sum(size) OVER (ORDER BY touched_at DESC, photo_id) AS held
                     FROM photo_uploads WHERE uploaded_by = $1 AND photo_id <> $2) u
                WHERE held > $3::bigint - $4::bigint)""",
        user.id,
        photo_id,
        room,
        size,
    )


async def _open(conn: Connection, user: Principal, photo_id: UUID, *, lock: bool = False) -> Record | None:
    return await conn.fetchrow(
        f"""SELECT photo_id, inspection_id, item_key, size, sha256, device, received
              FROM photo_uploads WHERE photo_id = $1 AND uploaded_by = $2 {"FOR UPDATE" if lock else ""}""",
        photo_id,
        user.id,
    )


async def current(conn: Connection, user: Principal, photo_id: UUID) -> UploadState:
    """How much of the upload has arrived, or the photo once stored; 404 when there is neither."""
    row = await _open(conn, user, photo_id)
    if row is not None:
        return _state(row)
    if (stored := await _stored(conn, user, photo_id)) is not None:
        return stored
    raise NotFound("no such upload")


async def expect(
    conn: Connection, user: Principal, photo_id: UUID, offset: int, *, radius_m: float
) -> UploadState | None:
    """Checked before a part's body is read: the upload is the caller's, its inspection still takes the
    photo (approved meanwhile, it never will: the upload goes), and it goes on at `offset`. The stored
    photo when the upload was whole already (the last reply was lost); None to go on."""
    row = await _open(conn, user, photo_id)
    if row is None:
        if (stored := await _stored(conn, user, photo_id)) is not None:
            return stored
        raise NotFound("no such upload")
    try:
        await service.upload_target(conn, user, row["inspection_id"], row["item_key"], photo_id, radius_m=radius_m)
    except DomainError:
        await discard(conn, photo_id)
        raise
    _at(row, offset)
    return None


def _at(row: Record, offset: int) -> None:
    if offset != row["received"]:
        raise Conflict(
            f"{row['received']} bytes of this upload have arrived: send from there",
            errors=[FieldError("offset", f"must be {row['received']}")],
            extra={"received": row["received"]},
        )


async def append(conn: Connection, user: Principal, photo_id: UUID, offset: int, part: bytes) -> Record:
    """Keep `part` at `offset`, in one transaction with the check that it follows what arrived."""
    async with conn.transaction():
        row = await _open(conn, user, photo_id, lock=True)
        if row is None:
            raise NotFound("no such upload")
        _at(row, offset)
        if offset + len(part) > row["size"]:
            raise Invalid(
                "the part goes past the photo's size",
                errors=[FieldError("body", f"at most {row['size'] - offset} bytes are left of {row['size']}")],
            )
        if not part and offset < row["size"]:
            raise Invalid("an empty part", errors=[FieldError("body", "a part carries at least one byte")])
        if part:
            await conn.execute(
                "INSERT INTO photo_upload_parts (photo_id, start, data) VALUES ($1, $2, $3)", photo_id, offset, part
            )
        return await conn.fetchrow(
            """UPDATE photo_uploads SET received = received + $2, touched_at = now() WHERE photo_id = $1
               RETURNING photo_id, inspection_id, item_key, size, sha256, device, received""",
            photo_id,
            len(part),
        )


async def whole(conn: Connection, row: Record) -> bytes:
    parts = await conn.fetch("SELECT data FROM photo_upload_parts WHERE photo_id = $1 ORDER BY start", row["photo_id"])
    return b"".join(p["data"] for p in parts)


async def discard(conn: Connection, photo_id: UUID) -> None:
    await conn.execute("DELETE FROM photo_uploads WHERE photo_id = $1", photo_id)


async def complete(
    connect: service.Connect,
    store: PhotoStore,
    executor,
    user: Principal,
    row: Record,
    *,
    radius_m: float,
    ip: str | None,
) -> tuple[UploadState, bool]:
    """Store the whole upload as the PUT would, then let go of its parts. Refused bytes (not an image,
    a bomb, another photo's id) or a target that no longer takes the photo discard the upload: sending
    them again cannot help. A store or database that is down keeps it, for a PATCH at the end to retry."""
    photo_id = row["photo_id"]
    async with connect() as conn:
        data = await whole(conn, row)
    try:
        if len(data) != row["size"]:
            raise Unavailable("the upload's parts changed while it was being stored; ask again")
        if row["sha256"] is not None and hashlib.sha256(data).digest() != bytes(row["sha256"]):
            raise Invalid(
                "the photo that arrived is not the one declared: its SHA-256 differs",
                errors=[FieldError("sha256", "the bytes received do not have this SHA-256")],
            )
        async with connect() as conn:
            target = await service.upload_target(
                conn, user, row["inspection_id"], row["item_key"], photo_id, radius_m=radius_m
            )
        device = msgspec.convert(row["device"], rules.Device)
        photo, created = await service.save_upload(connect, store, executor, user, photo_id, target, device, data, ip)
    except DomainError as exc:
        if exc.status < 500:
            async with connect() as conn:
                await discard(conn, photo_id)
        raise
    async with connect() as conn:
        await discard(conn, photo_id)
    return _done(photo), created
