"""The orphan sweeper: delete stored objects that no photo row refers to.

Objects become orphans when an upload fails in a way its own cleanup cannot undo: the store went
down between writing and deleting, the process was killed between writing the objects and
committing the row, or the database failed and then the cleanup failed too. Uploads write their
objects before their row, so an object without a row is also what an upload in flight looks like;
the grace period tells them apart. Every key this server makes carries the UTC time its upload
attempt began (rules.object_keys), and an upload cannot outlive its timeouts (the store's 30 s
reads, the database's 60 s commands) by anything close to the default hour, so an unreferenced
object older than that can never be claimed by a row. This needs no clock from the store (the
PhotoStore interface has none) and no extra table written on every upload.

A write the process did not live to finish can leave part of an object behind: in the directory
store a temporary file next to its target, which no listing shows. Those older than the same grace
period go too (the S3 store sends each object in one PUT, which leaves nothing partial).

What is never deleted: an object whose key a photos row holds, an object inside the grace period,
any key this server did not make (it may belong to an operator; we do not guess), an object of a
photo an inspection still waits for (its answers name the photo id, no photo row holds it), and an
*unclaimed original*: the original of a photo id that no photos row holds at all. The last two are
what a database restored from a backup leaves of the photos received after that backup: an awaited
one once a phone sends its inspection again (`muaina recover-photos` stores it again), an unclaimed
one when the phone had delivered the whole inspection before the restore and deleted its copy, so
that nothing names the photo any more. Either object may be the only copy of the evidence left.
An original of a photo id that a row does hold is a failed attempt of an upload that a later one
stored, and goes; so do renditions, which are made again from an original. Unclaimed originals are
counted in the report; `muaina recover-photos --unclaimed-to DIR` copies them out with what their
EXIF says of when and where each was taken, and `--unclaimed-older-than-days N` lets the sweeper
delete those whose upload began over N days ago, once an operator has decided they are not needed.

Run it from cron or a systemd timer, for example hourly:
    muaina sweep-photos --older-than-minutes 60
(`--dry-run` reports without deleting). It is safe to run on several machines at once: deleting
an already deleted object is not an error.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

from asyncpg import Connection

from server.photos import queries
from server.photos.models import SweepReport
from server.photos.rules import PREFIXES, parse_key
from server.storage import PhotoStore

log = logging.getLogger("muaina.photos.sweeper")

BATCH = 500

# An unclaimed original: its key, its photo id, and when its upload attempt began.
Unclaimed = tuple[str, UUID, datetime]


def least_grace_minutes(store_timeout_seconds: int) -> int:
    """The shortest grace period that cannot catch an upload still writing: its three objects, each
    bounded by the store's timeout (S3_TIMEOUT_SECONDS, up to ten minutes), and a database command
    (60 s), with a minute to spare; never under five minutes."""
    return max(5, math.ceil((3 * store_timeout_seconds + 60) / 60) + 1)


async def sweep_orphans(
    conn: Connection,
    store: PhotoStore,
    *,
    older_than: timedelta = timedelta(hours=1),
    unclaimed_older_than: timedelta | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> SweepReport:
    """Delete the orphans past the grace period (`older_than`); unclaimed originals only when
    `unclaimed_older_than` is given and their upload began longer ago than that."""
    now = now or datetime.now(UTC)
    cutoff = now - older_than
    purge_before = None if unclaimed_older_than is None else now - unclaimed_older_than
    report = SweepReport(dry_run=dry_run)
    for prefix in PREFIXES:
        async for orphans, unclaimed, checked in _orphan_batches(conn, store, prefix, cutoff):
            report.checked += checked
            purged = [key for key, _, began in unclaimed if purge_before is not None and began <= purge_before]
            report.unclaimed += len(unclaimed) - len(purged)
            for key in [*orphans, *purged]:
                if not dry_run:
                    await store.delete(key)
                log.info("%s orphaned photo object %s", "would delete" if dry_run else "deleted", key)
                report.deleted += 1
    report.kept = report.checked - report.deleted
    report.partial = await store.remove_partial_writes(cutoff, dry_run=dry_run)
    report.stale_uploads = await _stale_uploads(conn, now - timedelta(days=UPLOAD_MAX_DAYS), dry_run=dry_run)
    log.info(
        "photo sweep%s: checked %d, deleted %d, kept %d (unclaimed originals %d), partial writes removed %d",
        " (dry run)" if dry_run else "",
        report.checked,
        report.deleted,
        report.kept,
        report.unclaimed,
        report.partial,
    )
    return report


# A resumable upload (resumable.py) begun this long ago is given up, finished or not (counted from its
# start, so that parts trickling in cannot keep one for ever): its parts are only a copy, in the
# database, of what the phone still holds and will send again from the start.
UPLOAD_MAX_DAYS = 7


async def _stale_uploads(conn: Connection, before: datetime, *, dry_run: bool) -> int:
    if dry_run:
        return await conn.fetchval("SELECT count(*) FROM photo_uploads WHERE created_at < $1", before)
    return await conn.fetchval(
        "WITH gone AS (DELETE FROM photo_uploads WHERE created_at < $1 RETURNING 1) SELECT count(*) FROM gone", before
    )


async def unclaimed_originals(
    conn: Connection, store: PhotoStore, *, older_than: timedelta, now: datetime | None = None
) -> AsyncIterator[Unclaimed]:
    """Each unclaimed original past the grace period."""
    cutoff = (now or datetime.now(UTC)) - older_than
    async for _, unclaimed, _ in _orphan_batches(conn, store, "originals/", cutoff):
        for entry in unclaimed:
            yield entry


async def _orphan_batches(
    conn: Connection, store: PhotoStore, prefix: str, cutoff: datetime
) -> AsyncIterator[tuple[list[str], list[Unclaimed], int]]:
    """The objects under `prefix`, judged a batch at a time: per batch, the orphans the sweeper deletes,
    the unclaimed originals it keeps, and how many keys it held.

    The listing is paginated by the store; keys are judged a batch at a time so the sweep needs one
    query per few hundred objects and never holds the whole listing in memory."""
    batch: list[str] = []
    async for key in store.list_keys(prefix):
        batch.append(key)
        if len(batch) >= BATCH:
            yield (*await _judge(conn, batch, cutoff), len(batch))
            batch = []
    if batch:
        yield (*await _judge(conn, batch, cutoff), len(batch))


async def _judge(conn: Connection, keys: list[str], cutoff: datetime) -> tuple[list[str], list[Unclaimed]]:
    parsed = {key: parse_key(key) for key in keys}
    referenced, with_rows = await queries.stored_keys(conn, {p[0] for p in parsed.values() if p is not None})
    candidates = {meta[0] for key, meta in parsed.items() if meta and key not in referenced and meta[1] <= cutoff}
    awaited = {row["photo_id"] for row in await queries.awaited_photos(conn, candidates)} if candidates else set()
    orphans: list[str] = []
    unclaimed: list[Unclaimed] = []
    for key, meta in parsed.items():
        if meta is None or key in referenced or meta[1] > cutoff or meta[0] in awaited:
            continue
        if key.startswith("originals/") and meta[0] not in with_rows:
            unclaimed.append((key, *meta))
        else:
            orphans.append(key)
    return orphans, unclaimed
