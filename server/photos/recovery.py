"""Recovering photos an inspection waits for from objects already in the store.

A database restored from a backup loses the rows of photos received after the backup, but not
their objects. Once a phone sends such an inspection again, its answers name photos the server
lists as missing, and the phone deleted its copies when they were first acknowledged. The original
object of each such photo (its key holds the photo id, rules.object_keys) is then the evidence
itself. The sweeper keeps it (sweeper.py). `muaina recover-photos` stores it again through the upload
path, as its inspector would: processed in the pool, new renditions, the row, the reuse check, the
inspection's counters and an audit entry (photo.recover, by its inspector, who took it). What the
phone reported at capture (the time and place of its own clock and GPS) travelled beside the
bytes and is gone; what the image itself carries stays.

Run it once after a restore, after the phones have synced; `--dry-run` reports what it would store.
A photo whose inspector may no longer upload to that inspection (account deactivated, moved away)
is reported and left.

What a restore loses entirely (inspections a phone had delivered, and deleted, after the backup)
leaves *unclaimed originals*: objects of photo ids that nothing in the database names. The sweeper
keeps them (sweeper.py); `muaina recover-photos --unclaimed-to DIR` copies each into DIR, byte for
byte, with a manifest of what is known of it (export_unclaimed): when its upload began, its SHA-256,
and when and where its EXIF says it was taken, so that an officer can tell which station and
inspection it belongs to.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import logging
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import msgspec
from asyncpg import Connection

from server.auth.models import Principal
from server.auth.queries import active_principal
from server.errors import DomainError, Forbidden
from server.photos import queries, rules, service
from server.photos.pipeline import capture_evidence
from server.photos.rules import EXTENSIONS, parse_key
from server.photos.sweeper import unclaimed_originals
from server.storage import PhotoStore, write_atomically

log = logging.getLogger("muaina.photos.recovery")


class RecoveryReport(msgspec.Struct, kw_only=True):
    # Photos inspections wait for, of them those with an original in the store, and those stored again
    # (in a dry run: that would be). `failed` names each photo that could not be, with why.
    awaited: int = 0
    found: int = 0
    recovered: int = 0
    failed: list[str] = msgspec.field(default_factory=list)
    dry_run: bool = False


async def recover_photos(
    conn: Connection, store: PhotoStore, executor: Executor, *, radius_m: float, dry_run: bool = False
) -> RecoveryReport:
    report = RecoveryReport(dry_run=dry_run)
    awaited = {row["photo_id"]: row for row in await queries.awaited_photos(conn)}
    report.awaited = len(awaited)
    if not awaited:
        return report
    # The newest original of each awaited photo: a later attempt of the same upload is as whole.
    originals: dict[UUID, tuple[datetime, str]] = {}
    async for key in store.list_keys("originals/"):
        meta = parse_key(key)
        if meta is not None and meta[0] in awaited and (meta[0] not in originals or meta[1] > originals[meta[0]][0]):
            originals[meta[0]] = (meta[1], key)
    report.found = len(originals)
    for photo_id, (_, key) in sorted(originals.items()):
        row = awaited[photo_id]
        try:
            user = await _uploader(conn, row["inspector_id"])
            target = await service.upload_target(
                conn, user, row["inspection_id"], row["item_key"], photo_id, radius_m=radius_m
            )
            if not dry_run:
                data = await store.get(key)
                await service.save_upload(
                    _same(conn),
                    store,
                    executor,
                    user,
                    photo_id,
                    target,
                    rules.device_evidence(None, None, None, None),
                    data,
                    None,
                    action="photo.recover",
                )
        except DomainError as exc:
            report.failed.append(f"{photo_id}: {exc.detail}")
            log.warning("photo %s not recovered from %s: %s", photo_id, key, exc.detail)
            continue
        report.recovered += 1
        log.info("%s photo %s from %s", "would recover" if dry_run else "recovered", photo_id, key)
    return report


class UnclaimedReport(msgspec.Struct, kw_only=True):
    # Unclaimed originals past the grace period, and the files written for them this time (a file
    # already in the directory with the same bytes is left as it is).
    found: int = 0
    written: int = 0
    dry_run: bool = False


MANIFEST = "unclaimed-photos.csv"
_MANIFEST_COLUMNS = (
    "file",
    "photo_id",
    "upload_began_utc",
    "sha256",
    "bytes",
    "format",
    "exif_taken_at",
    "exif_lat",
    "exif_lon",
    "object_key",
)


async def export_unclaimed(
    conn: Connection,
    store: PhotoStore,
    directory: Path,
    *,
    older_than: timedelta,
    dry_run: bool = False,
    now: datetime | None = None,
) -> UnclaimedReport:
    """Copy every unclaimed original into `directory` as <photo id>.<upload stamp>.<nonce>.<ext> (the
    key's own name, so two attempts of one photo never collide) and write MANIFEST beside them, one
    row per file in upload order. Nothing in the store or the database changes."""
    report = UnclaimedReport(dry_run=dry_run)
    rows: list[tuple[object, ...]] = []
    async for key, photo_id, began in unclaimed_originals(conn, store, older_than=older_than, now=now):
        report.found += 1
        if dry_run:
            log.info("would copy unclaimed original %s", key)
            continue
        data = await store.get(key)
        fmt, taken_at, gps = capture_evidence(data)
        name = f"{key.rsplit('/', 1)[-1]}.{EXTENSIONS.get(fmt or '', 'bin')}"
        if await asyncio.to_thread(_write_once, directory / name, data):
            report.written += 1
        rows.append(
            (
                name,
                photo_id,
                began.isoformat(),
                hashlib.sha256(data).hexdigest(),
                len(data),
                fmt or "",
                taken_at or "",
                "" if gps is None else gps.lat,
                "" if gps is None else gps.lon,
                key,
            )
        )
    if rows:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_MANIFEST_COLUMNS)
        writer.writerows(sorted(rows, key=lambda row: (row[2], row[0])))
        await asyncio.to_thread(write_atomically, directory / MANIFEST, out.getvalue().encode())
    return report


def _write_once(path: Path, data: bytes) -> bool:
    """Write `path` whole; False when it already held these bytes (a second run of the export)."""
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    write_atomically(path, data)
    return True


async def _uploader(conn: Connection, user_id: UUID) -> Principal:
    user = await active_principal(conn, user_id)
    if user is None:
        raise Forbidden("its inspector's account is no longer active")
    return user


def _same(conn: Connection) -> service.Connect:
    """save_upload's `connect`, for the one connection this command holds."""

    @asynccontextmanager
    async def connect() -> AsyncIterator[Connection]:
        yield conn

    return connect
