"""The photo upload and download flows: the order of steps that keeps storage and rows in step.

An upload is stored so that no failure can leave half of it behind: the image is processed in
the process pool, its three objects (original, display, thumb) are written first, and only then
is the row inserted, in one transaction with the reuse check, the inspection's counters and the
audit entry. If the store fails, the objects already written are deleted and no row is written;
if the database fails, the objects are deleted. Whatever a crash leaves behind is unreferenced
and the orphan sweeper removes it after its grace period (see sweeper.py and rules.object_keys).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Literal, NoReturn
from uuid import UUID

import msgspec
from asyncpg import Connection, Record

from server.audit import queries as audit
from server.auth.models import Principal
from server.errors import Conflict, DomainError, FieldError, Invalid, NotFound, Unavailable
from server.http import etag_listed
from server.inspections.queries import refresh_missing_photos
from server.photos import queries, rules
from server.photos.integrity import Mismatch, read_original
from server.photos.models import PhotoOut
from server.photos.pipeline import REUSE_MAX_DISTANCE, Processed, process
from server.review import evidence as photo_evidence
from server.storage import PhotoStore
from server.workers import HealingProcessPool

log = logging.getLogger("muaina.photos")

Connect = Callable[[], AbstractAsyncContextManager[Connection]]


class Target(msgspec.Struct, frozen=True, kw_only=True):
    inspection_id: UUID
    item_key: str
    station_lat: float | None
    station_lon: float | None
    # The presence radius in metres (PRESENCE_RADIUS_M): the photo evidence is judged against it.
    radius_m: float


def _approved() -> Conflict:
    return Conflict("the inspection is approved: only the photos its answers name can be added to it")


async def upload_target(
    conn: Connection, user: Principal, inspection_id: UUID, item_key: str, photo_id: UUID, *, radius_m: float
) -> Target:
    """Checked before a byte of the body is read: the inspector's own inspection, one that takes this
    photo (queries.upload_target), and a real item."""
    user.require("inspector")
    row = await queries.upload_target(conn, user, inspection_id, item_key, photo_id)
    if row is None:
        raise NotFound("no such inspection")
    if not row["takes_photo"]:
        # An approved inspection is final: its evidence is what it names, and a photo it does not name
        # would only take up storage (and count in the reuse checks of other inspections).
        raise _approved()
    if not row["item_ok"]:
        raise Invalid(
            "the item is not part of this inspection's template version",
            errors=[FieldError("item_key", f"{item_key!r} is not an item of the inspection's template")],
        )
    return Target(
        inspection_id=inspection_id,
        item_key=item_key,
        station_lat=row["station_lat"],
        station_lon=row["station_lon"],
        radius_m=radius_m,
    )


async def save_upload(
    connect: Connect,
    store: PhotoStore,
    executor: Executor,
    user: Principal,
    photo_id: UUID,
    target: Target,
    device: rules.Device,
    data: bytes,
    ip: str | None,
    *,
    action: str = "photo.upload",
) -> tuple[PhotoOut, bool]:
    """Store one upload; returns the reply and whether this call created the photo. `action` names
    the audit entry: photo.recover when recovery.py stores a photo again from its object."""
    sha256 = await asyncio.to_thread(lambda: hashlib.sha256(data).digest())
    # A replay is answered from the row without decoding anything or writing any object.
    async with connect() as conn:
        existing = await queries.photo_by_id(conn, photo_id)
        if existing is not None:
            return await _replay(conn, user, existing, sha256, target), False
    processed = await _process(executor, data)
    keys = rules.object_keys(photo_id, processed.sha256, datetime.now(UTC))
    await _put_objects(store, keys, data, processed)
    try:
        async with connect() as conn:
            created = await _insert(conn, user, photo_id, target, device, processed, keys, len(data), ip, action)
    except BaseException:
        # The row refers to these objects only if the transaction committed, which it did not
        # unless the failure came after COMMIT; deleting them leaves no half-stored upload.
        if not await _committed(connect, photo_id, keys):
            await _delete_objects(store, keys)
        raise
    async with connect() as conn:
        if created:
            return await reply_for(conn, user, await queries.photo_by_id(conn, photo_id)), True
        # A simultaneous upload of the same id won the insert; its objects are its own, ours go.
        await _delete_objects(store, keys)
        existing = await queries.photo_by_id(conn, photo_id)
        return await _replay(conn, user, existing, sha256, target), False


OTHER_PHOTO = "a different photo is already stored under this id"


async def _replay(conn: Connection, user: Principal, row: Record, sha256: bytes, target: Target) -> PhotoOut:
    if bytes(row["sha256"]) != sha256:
        raise Conflict(OTHER_PHOTO)
    if conflict := filed_elsewhere(row["inspection_id"], row["item_key"], target):
        raise conflict
    return await reply_for(conn, user, row)


def filed_elsewhere(inspection_id: UUID, item_key: str, target: Target) -> Conflict | None:
    """The answer to a photo id stored for an inspection and item other than `target` names (a PUT's
    replay, a resumable upload's declaration), naming each that differs; None when it is where asked.

    The phone binds a photo id to its inspection and item when the picture is taken and never changes
    them, so a replay naming others is not a retry: answering 200 would tell the client its photo is
    filed where it asked when it is not. Nothing is moved."""
    differs = [
        (name, label)
        for name, label, stored, sent in (
            ("inspection_id", "inspection", inspection_id, target.inspection_id),
            ("item_key", "item", item_key, target.item_key),
        )
        if stored != sent
    ]
    if not differs:
        return None
    return Conflict(
        "this photo id is already stored for another " + " and ".join(label for _, label in differs),
        errors=[FieldError(name, f"this photo id is already stored for another {label}") for name, label in differs],
    )


# How long an upload waits for its image to be processed, queueing included. A 12 MP photo takes about
# a second here; a worker that has not answered in two minutes is stuck (in swap, or in a decoder), and
# without a deadline every upload queued behind it would wait with it, while phones time out and retry.
PROCESS_DEADLINE_SECONDS = 120
# The same pool renders PDF reports, which have no deadline and may take minutes on a long checklist:
# the pool counts as hung only once no job at all has finished for this long, never because reports
# kept every worker busy past one upload's deadline (their reviewers would get a 503 for nothing).
STALLED_AFTER_SECONDS = 600


async def _process(executor: Executor, data: bytes) -> Processed:
    loop = asyncio.get_running_loop()
    job = functools.partial(
        process, data, max_pixels=rules.MAX_PIXELS, display_px=rules.DISPLAY_PX, thumb_px=rules.THUMB_PX
    )
    try:
        async with asyncio.timeout(PROCESS_DEADLINE_SECONDS) as deadline:
            return await loop.run_in_executor(executor, job)
    except TimeoutError as exc:
        if not deadline.expired():
            raise
        # A pool that finished nothing meanwhile is hung, not busy: its workers are replaced, so the
        # uploads after this one are processed again.
        replaced = isinstance(executor, HealingProcessPool) and executor.replace_if_stalled(STALLED_AFTER_SECONDS)
        log.error(
            "an image was not processed within %d s (worker pool replaced: %s)", PROCESS_DEADLINE_SECONDS, replaced
        )
        raise Unavailable("image processing is taking too long; try again shortly") from exc
    except BrokenProcessPool as exc:
        # A worker died (killed for memory, or crashed in a decoder); this upload cannot be judged.
        log.error("image worker pool is broken: %s", exc)
        raise Unavailable("image processing is unavailable; try again shortly") from exc


async def _put_objects(store: PhotoStore, keys: rules.Keys, data: bytes, processed: Processed) -> None:
    results = await asyncio.gather(
        store.put(keys.original, data, "application/octet-stream"),
        store.put(keys.display, processed.display, "image/jpeg"),
        store.put(keys.thumb, processed.thumb, "image/jpeg"),
        return_exceptions=True,
    )
    failure = next((r for r in results if isinstance(r, BaseException)), None)
    if failure is not None:
        await _delete_objects(store, keys)
        if isinstance(failure, Unavailable):
            raise failure
        log.error("photo store failed while writing %s: %r", keys.original, failure)
        raise Unavailable("the photo store could not save the photo; try again") from failure


async def _delete_objects(store: PhotoStore, keys: rules.Keys) -> None:
    # Best effort: when the store is down these fail too, and the sweeper finds them later. The three
    # go together, so a hung store delays the upload's 503 by one store deadline, not three.
    results = await asyncio.gather(*(store.delete(key) for key in keys.all()), return_exceptions=True)
    for key, result in zip(keys.all(), results, strict=True):
        if isinstance(result, Exception):
            log.warning("could not delete %s after a failed upload (the sweeper will): %r", key, result)


async def _committed(connect: Connect, photo_id: UUID, keys: rules.Keys) -> bool:
    # An error after COMMIT (building the reply, a dropped connection) must not delete the
    # objects of a stored photo; when the database cannot tell, keep them for the sweeper.
    try:
        async with connect() as conn:
            row = await queries.photo_by_id(conn, photo_id)
    except Exception:  # noqa: BLE001
        return True
    return row is not None and row["original_key"] == keys.original


# How often an upload tries to take its rows without waiting, letting go of its locks to wait for a busy
# inspection in between. Each wait lasts until that transaction ends, but a writer that locks the row again
# in the moment before the retry wins it; so the last try waits in line for the rows instead, as every
# upload did before: it cannot be starved into a 503, and a deadlock is left possible only there, where
# PostgreSQL ends it (503, and the phone sends the photo again).
LOCK_ATTEMPTS = 5


class _Busy(Exception):
    """Another transaction holds one of the rows the upload locks: roll back, wait for it, try again."""

    def __init__(self, inspection_id: UUID) -> None:
        self.inspection_id = inspection_id


async def _insert(
    conn: Connection,
    user: Principal,
    photo_id: UUID,
    target: Target,
    device: rules.Device,
    processed: Processed,
    keys: rules.Keys,
    size: int,
    ip: str | None,
    action: str,
) -> bool:
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            async with conn.transaction():
                matches = await _lock(conn, target, photo_id, processed, wait=attempt == LOCK_ATTEMPTS)
                return await _write(conn, user, photo_id, target, device, processed, keys, size, ip, action, matches)
        except _Busy as busy:
            # Rolled back: the reuse lock and every row are let go of before waiting for the busy one.
            await queries.wait_for_inspection(conn, busy.inspection_id)
    raise AssertionError("the last attempt waits for its rows and is never busy")


async def _lock(
    conn: Connection, target: Target, photo_id: UUID, processed: Processed, *, wait: bool = False
) -> list[Record]:
    """Take the upload's locks and find the photos of other inspections it copies (the closest
    queries.MATCHES_KEPT); raises _Busy when another transaction holds one of the rows.

    Why this cannot deadlock (but for the last try, `wait`: LOCK_ATTEMPTS): the reuse lock is the first
    lock of every transaction that takes it (only uploads do), so it is taken holding nothing; and every
    row is taken here, in one statement that never waits (queries.lock_inspections), before anything is
    written. An upload therefore waits for a row
    only outside its transaction (wait_for_inspection), holding nothing, and once it holds its rows it
    waits for nothing a submission holds while wanting one of them: a submission that holds its own row
    and wants an overlapping visit's (schema 0022) waits for the upload, never the other way round.
    The search comes before the rows are locked, so it cannot know them first; it needs only the reuse
    lock, which keeps every other upload's photos out until this one commits, and the new photo's
    own inspection is not searched."""
    await queries.lock_reuse_check(conn)
    matches = await queries.find_near_duplicates(
        conn,
        phash=processed.phash,
        mirrored=processed.phash_mirrored,
        sha256=bytes.fromhex(processed.sha256),
        inspection_id=target.inspection_id,
        probes=_probes([processed.phash, processed.phash_mirrored]),
        max_distance=REUSE_MAX_DISTANCE,
    )
    busy, takes_photo = await queries.lock_inspections(
        conn, target.inspection_id, photo_id, (m["inspection_id"] for m in matches), wait=wait
    )
    if busy is not None:
        raise _Busy(busy)
    if not takes_photo:
        raise _approved()
    return matches


async def _write(
    conn: Connection,
    user: Principal,
    photo_id: UUID,
    target: Target,
    device: rules.Device,
    processed: Processed,
    keys: rules.Keys,
    size: int,
    ip: str | None,
    action: str,
    matches: list[Record],
) -> bool:
    """The photo row, the inspection's counters, the reuse pairs and the audit entry, with every row
    they touch locked already (_lock)."""
    exif = processed.exif_gps
    gps, _ = rules.chosen_gps(exif.lat if exif else None, exif.lon if exif else None, device.lat, device.lon)
    created = await queries.insert_photo(
        conn,
        {
            "id": photo_id,
            "inspection_id": target.inspection_id,
            "item_key": target.item_key,
            "uploaded_by": user.id,
            "sha256": bytes.fromhex(processed.sha256),
            "phash": processed.phash,
            "phash_centre": processed.phash_centre,
            "size_bytes": size,
            "format": processed.format,
            "width": processed.width,
            "height": processed.height,
            "original_key": keys.original,
            "display_key": keys.display,
            "thumb_key": keys.thumb,
            "exif_taken_at": processed.exif_taken_at,
            "exif_lat": exif.lat if exif else None,
            "exif_lon": exif.lon if exif else None,
            "device_taken_at": device.taken_at,
            "device_lat": device.lat,
            "device_lon": device.lon,
            "device_accuracy_m": device.accuracy_m,
            "source": device.source,
            "distance_m": rules.distance_from_station(gps, target.station_lat, target.station_lon),
        },
    )
    if not created:
        return False  # a simultaneous upload of the same id won the insert
    await refresh_missing_photos(conn, target.inspection_id)
    await photo_evidence.refresh(conn, target.inspection_id, target.radius_m)
    if matches:
        await queries.record_reuse(conn, photo_id, matches)
        await queries.recount_reused(conn, [target.inspection_id, *(m["inspection_id"] for m in matches)])
    await audit.record(
        conn,
        action,
        actor=user,
        entity="photo",
        entity_id=photo_id,
        ip=ip,
        data={
            "inspection_id": str(target.inspection_id),
            "item_key": target.item_key,
            "sha256": processed.sha256,
            "size_bytes": size,
            "format": processed.format,
            "source": device.source,
            "reused_in": len(matches),
        },
    )
    return True


def _probes(hashes: list[int]) -> list[list[int]]:
    """The index probes of every band of these hashes together (rules.band_probes)."""
    merged: list[set[int]] = [set(), set(), set(), set()]
    for value in hashes:
        for band, probes in zip(merged, rules.band_probes(value, REUSE_MAX_DISTANCE), strict=True):
            band.update(probes)
    return [sorted(band) for band in merged]


async def reply_for(conn: Connection, user: Principal, row: Record) -> PhotoOut:
    reuse = await queries.reuse_in_scope(conn, user, row["id"])
    hidden = await queries.reuse_out_of_scope(conn, user, row["id"])
    return rules.photo_out(row, reuse, hidden)


async def readable(conn: Connection, user: Principal, photo_id: UUID) -> Record:
    row = await queries.readable_photo(conn, user, photo_id)
    if row is None:
        raise NotFound("no such photo")
    return row


class Served(msgspec.Struct, frozen=True, kw_only=True):
    """What a read route answers: 304 (`not_modified`), or the headers of a 200 and, unless the
    request was a HEAD, its bytes."""

    etag: str
    not_modified: bool = False
    size: int = 0
    data: bytes | None = None
    extension: str = "bin"
    # An original whose stored bytes are not the recorded upload (integrity.read_original); then `data`
    # is never sent.
    mismatch: Mismatch | None = None


async def rendition(
    conn: Connection,
    store: PhotoStore,
    user: Principal,
    photo_id: UUID,
    kind: Literal["display", "thumb"],
    *,
    head: bool = False,
    if_none_match: str | None = None,
) -> Served:
    row = await readable(conn, user, photo_id)
    return await _serve(store, row, kind, head, if_none_match)


class IntegrityFailed(DomainError):
    """The stored original is not the upload its row recorded.

    409, not a 5xx: nothing about it is transient, and clients (the PWA, scripts, the phones' outbox)
    take a 5xx as "try again shortly", which here would only repeat the failure; a 409 says the photo
    as stored conflicts with its record, and carries what an investigator needs (both fingerprints and
    the name of the audit entry written). The server's log says it too, at ERROR."""

    status = 409
    title = "Stored original failed its integrity check"


async def original(
    conn: Connection,
    store: PhotoStore,
    user: Principal,
    photo_id: UUID,
    ip: str | None,
    *,
    head: bool = False,
    if_none_match: str | None = None,
) -> Served:
    """The untouched upload; every time its bytes leave the server, the access is audited.

    A HEAD or a 304 sends none of them: what they tell (that the photo exists, its size, its ETag)
    is what the unaudited metadata route already tells the same reader, and auditing them would
    only bury the real downloads under revalidations. A 304 also means the client still holds a
    copy, which it could only have from an earlier, audited download (the original is no-store).

    A GET sends the bytes only once they hash to the SHA-256 recorded at upload (integrity.py): a
    file replaced in the store is refused (IntegrityFailed) and the refusal audited, never served, or
    audited, as the original.
    """
    row = await readable(conn, user, photo_id)
    served = await _serve(store, row, "original", head, if_none_match, verified=True)
    if served.mismatch is not None:
        await _integrity_failed(conn, user, row, served.mismatch, ip)
    if served.data is None:
        return served
    await _audit_original(conn, "photo.original", user, row, ip, sha256=bytes(row["sha256"]).hex())
    return served


async def _audit_original(conn: Connection, action: str, user: Principal, row: Record, ip: str | None, **data) -> None:
    """The audit entry of a request for a photo's original (served, or refused as not the upload), in a
    transaction of its own."""
    async with conn.transaction():
        await audit.record(
            conn,
            action,
            actor=user,
            entity="photo",
            entity_id=row["id"],
            ip=ip,
            data={"inspection_id": str(row["inspection_id"]), **data},
        )


async def _integrity_failed(
    conn: Connection, user: Principal, row: Record, mismatch: Mismatch, ip: str | None
) -> NoReturn:
    """The refusal is audited (committed before the error is raised) with both fingerprints: who asked
    for the original, when, and what the store held instead."""
    photo_id = row["id"]
    log.error(
        "photo %s: the stored original %s does not match its recorded SHA-256 %s (stored: %s, %d bytes)",
        photo_id,
        row["original_key"],
        mismatch.recorded_sha256,
        mismatch.stored_sha256 or "not read",
        mismatch.stored_size,
    )
    await _audit_original(
        conn, "photo.integrity_failed", user, row, ip, key=row["original_key"], **mismatch.audit_data()
    )
    raise IntegrityFailed(
        "the stored original of this photo is not the file that was uploaded (its SHA-256 differs from the one "
        "recorded at upload), so it is not served; this has been recorded in the audit trail",
        extra={"photo_id": str(photo_id), "audit_action": "photo.integrity_failed", **mismatch.audit_data()},
    )


async def _serve(
    store: PhotoStore,
    row: Record,
    kind: Literal["original", "display", "thumb"],
    head: bool,
    if_none_match: str | None,
    *,
    verified: bool = False,
) -> Served:
    # Scope was decided before this (readable): out of scope is 404 whatever If-None-Match says.
    key = row[f"{kind}_key"]
    tag = rules.etag(kind, key)
    extension = rules.EXTENSIONS.get(row["format"], "bin") if kind == "original" else "jpg"
    if etag_listed(if_none_match, tag, weak=True):
        # The client's copy is current; the store is not asked, which is the point of revalidating.
        return Served(etag=tag, not_modified=True, extension=extension)
    if head:
        # The object's size is its Content-Length; asking the store also makes a lost object 404, as for GET.
        return Served(etag=tag, size=await _size(store, key), extension=extension)
    if verified:
        found = await _fetch_verified(store, key, bytes(row["sha256"]), row["size_bytes"])
        if isinstance(found, Mismatch):
            return Served(etag=tag, mismatch=found, extension=extension)
        return Served(etag=tag, size=len(found), data=found, extension=extension)
    data = await _fetch(store, key)
    return Served(etag=tag, size=len(data), data=data, extension=extension)


async def _size(store: PhotoStore, key: str) -> int:
    found = await store.stat(key)
    if found is None:
        log.error("photo object %s is referenced but missing from the store", key)
        raise NotFound("the stored image is missing")
    return found.size


async def _fetch(store: PhotoStore, key: str) -> bytes:
    try:
        return await store.get(key)
    except NotFound:
        raise _missing(key) from None


async def _fetch_verified(store: PhotoStore, key: str, sha256: bytes, size: int) -> bytes | Mismatch:
    try:
        return await read_original(store, key, sha256, size)
    except NotFound:
        raise _missing(key) from None


def _missing(key: str) -> NotFound:
    # The row says the object exists: losing it is an operations problem worth a loud log.
    log.error("photo object %s is referenced but missing from the store", key)
    return NotFound("the stored image is missing")
