"""Whether a stored original is still the upload whose SHA-256 its row recorded.

The original is evidence: a file replaced in the store (by hand, by a restore from the wrong backup, by
someone with access to the bucket) must never be handed out as what the inspector sent. Both the
download route (service.original) and `muaina verify-photos` read it through `read_original`, which
answers the bytes only when they hash to the recorded value.

Originals are read whole, as the stores read every object, and the row's `size_bytes` bounds what is
read: the upload limit (MAX_PHOTO_BYTES) was checked when the row was written, and an object that is
now larger than its row says is a mismatch found by its size alone, without reading it. Memory per
check therefore stays within one accepted upload, whatever was put in the store since.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Literal
from uuid import UUID

import msgspec
from asyncpg import Connection, Record

from server.errors import NotFound
from server.storage import PhotoStore

# How many originals `verify_originals` reads at once, and how many rows it fetches per page.
PARALLEL = 4
PAGE = 500


class Mismatch(msgspec.Struct, frozen=True, kw_only=True):
    """A stored original that is not the recorded upload. `stored_sha256` is None when the object was
    not read: it is larger than the recorded upload, and its size alone says it is another file."""

    recorded_sha256: str
    stored_sha256: str | None
    recorded_size: int
    stored_size: int

    def audit_data(self) -> dict[str, object]:
        return msgspec.structs.asdict(self)


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


async def read_original(store: PhotoStore, key: str, recorded_sha256: bytes, recorded_size: int) -> bytes | Mismatch:
    """The original's bytes if they hash to the recorded SHA-256, else what differs; NotFound when
    the store has no object under `key`."""
    found = await store.stat(key)
    if found is None:
        raise NotFound(f"no stored object {key}")
    if found.size > recorded_size:
        return Mismatch(
            recorded_sha256=recorded_sha256.hex(),
            stored_sha256=None,
            recorded_size=recorded_size,
            stored_size=found.size,
        )
    data = await store.get(key)
    # Hashing 25 MB holds the CPU for ~50 ms: in a thread (hashlib releases the GIL), as uploads do.
    digest = await asyncio.to_thread(_digest, data)
    if digest != recorded_sha256:
        return Mismatch(
            recorded_sha256=recorded_sha256.hex(),
            stored_sha256=digest.hex(),
            recorded_size=recorded_size,
            stored_size=len(data),
        )
    return data


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    photo_id: UUID
    inspection_id: UUID
    key: str
    problem: Literal["mismatch", "missing"]
    mismatch: Mismatch | None = None


class VerifyReport(msgspec.Struct, kw_only=True):
    checked: int = 0
    mismatched: int = 0
    missing: int = 0


async def _originals(conn: Connection, page: int) -> AsyncIterator[list[Record]]:
    """Every photo's original, a keyset page at a time (on the primary key), so a million photos are
    never held at once and a page is never skipped or read twice however long the walk takes."""
    after: UUID | None = None
    while True:
        rows = await conn.fetch(
            """SELECT id, inspection_id, original_key, sha256, size_bytes FROM photos
                WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2""",
            after,
            page,
        )
        if not rows:
            return
        yield rows
        after = rows[-1]["id"]


async def _check(store: PhotoStore, row: Record, gate: asyncio.Semaphore) -> Finding | None:
    async with gate:
        try:
            result = await read_original(store, row["original_key"], bytes(row["sha256"]), row["size_bytes"])
        except NotFound:
            return Finding(
                photo_id=row["id"], inspection_id=row["inspection_id"], key=row["original_key"], problem="missing"
            )
    if isinstance(result, Mismatch):
        return Finding(
            photo_id=row["id"],
            inspection_id=row["inspection_id"],
            key=row["original_key"],
            problem="mismatch",
            mismatch=result,
        )
    return None


async def verify_originals(
    conn: Connection,
    store: PhotoStore,
    on_finding: Callable[[Finding], None],
    *,
    page: int = PAGE,
    parallel: int = PARALLEL,
) -> VerifyReport:
    """Hash every stored original against its row; each one missing or different is handed to
    `on_finding` as it is found (nothing is collected, so memory stays bounded), in the order of the
    photos' ids."""
    report = VerifyReport()
    gate = asyncio.Semaphore(parallel)
    async for rows in _originals(conn, page):
        for finding in await asyncio.gather(*(_check(store, row, gate) for row in rows)):
            report.checked += 1
            if finding is None:
                continue
            if finding.problem == "missing":
                report.missing += 1
            else:
                report.mismatched += 1
            on_finding(finding)
    return report
