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
any key this server did not make (it may belong to an operator; we do not guess), and an object of a
photo an inspection still waits for (its answers name the photo id, no photo row holds it). The last
is what a database restored from a backup leaves of the photos received after that backup, when a
phone sends its inspection again: the object may then be the only copy of the evidence left.

Run it from cron or a systemd timer, for example hourly:
    muaina sweep-photos --older-than-minutes 60
(`--dry-run` reports without deleting). It is safe to run on several machines at once: deleting
an already deleted object is not an error.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

from asyncpg import Connection

from server.photos import queries
from server.photos.models import SweepReport
from server.photos.rules import PREFIXES, parse_key
from server.storage import PhotoStore

log = logging.getLogger("muaina.photos.sweeper")

BATCH = 500


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
    dry_run: bool = False,
    now: datetime | None = None,
) -> SweepReport:
    cutoff = (now or datetime.now(UTC)) - older_than
    report = SweepReport(dry_run=dry_run)
    for prefix in PREFIXES:
        batch: list[str] = []
        # The listing is paginated by the store; keys are judged a batch at a time so the sweep
        # needs one query per few hundred objects and never holds the whole listing in memory.
        async for key in store.list_keys(prefix):
            batch.append(key)
            if len(batch) >= BATCH:
                await _judge(conn, store, batch, cutoff, dry_run, report)
                batch = []
        if batch:
            await _judge(conn, store, batch, cutoff, dry_run, report)
    report.partial = await store.remove_partial_writes(cutoff, dry_run=dry_run)
    log.info(
        "photo sweep%s: checked %d, deleted %d, kept %d, partial writes removed %d",
        " (dry run)" if dry_run else "",
        report.checked,
        report.deleted,
        report.kept,
        report.partial,
    )
    return report


async def _judge(
    conn: Connection, store: PhotoStore, keys: list[str], cutoff: datetime, dry_run: bool, report: SweepReport
) -> None:
    parsed = {key: parse_key(key) for key in keys}
    referenced = await queries.stored_keys(conn, {p[0] for p in parsed.values() if p is not None})
    candidates = {meta[0] for key, meta in parsed.items() if meta and key not in referenced and meta[1] <= cutoff}
    awaited = {row["photo_id"] for row in await queries.awaited_photos(conn, candidates)} if candidates else set()
    for key, meta in parsed.items():
        report.checked += 1
        if meta is None or key in referenced or meta[1] > cutoff or meta[0] in awaited:
            report.kept += 1
            continue
        if not dry_run:
            await store.delete(key)
        log.info("%s orphaned photo object %s", "would delete" if dry_run else "deleted", key)
        report.deleted += 1
