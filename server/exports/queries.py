"""SQL of the exports: the streamed inspection table, the template's item columns, one report's rows.

Scope is in every WHERE clause, in the form Principal.scope_args() documents, on the district `d` of
the inspection's station.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import anyio
from asyncpg import Connection, InterfaceError, InternalClientError, Pool, PostgresError, Record

from server.auth.models import SCOPE_SQL, readable_inspection_sql
from server.exports.models import ExportFilters
from server.inspections.queries import OVERRIDDEN_SQL

Scope = tuple[bool, list[UUID], list[UUID]]


# An inspection's date for the from/to filters: when it was made, as the dashboards count it (made_at,
# schema 0016), or for one never submitted, when the server first received it. Downloading a month
# gives the inspections that month's figures are made of.
_WHERE = f"""WHERE {SCOPE_SQL}
   AND ($4::uuid IS NULL OR i.station_id = $4)
   AND ($5::uuid IS NULL OR d.id = $5)
   AND ($6::uuid IS NULL OR d.region_id = $6)
   AND ($7::text IS NULL OR i.status = $7)
   AND ($8::uuid IS NULL OR tv.template_id = $8)
   AND ($9::timestamptz IS NULL OR COALESCE(i.made_at, i.created_at) >= $9)
   AND ($10::timestamptz IS NULL OR COALESCE(i.made_at, i.created_at) < $10)"""

_COLUMNS = f"""i.id, i.template_version_id,
       s.code AS station_code, s.name_en AS station_name_en, s.name_ur AS station_name_ur,
       d.code AS district_code, d.name_en AS district_name_en, d.name_ur AS district_name_ur,
       r.code AS region_code, r.name_en AS region_name_en, r.name_ur AS region_name_ur,
       u.username AS inspector_username, u.display_name AS inspector_name,
       t.key AS template_key, tv.version AS template_version,
       i.status, i.revision, i.started_at, i.submitted_at, i.finished_at, i.created_at, i.updated_at, i.made_at,
       i.score_percent, i.grade, i.critical_failed,
       {OVERRIDDEN_SQL},
       i.lat, i.lon, i.accuracy_m, i.far_from_station, i.distance_m,
       i.photos_expected, i.photos_missing, i.reused_photos"""

# The answers as the inspector sent them: the stored document holds one JSON object per inspection,
# which costs a fraction of aggregating its answer rows (about 0.5 ms per 95-answer inspection).
_ANSWERS = "(i.document -> 'answers')::text AS answers"


def _args(scope: Scope, f: ExportFilters) -> tuple[Any, ...]:
    return (*scope, f.station_id, f.district_id, f.region_id, f.status, f.template_id, f.since, f.until)


def export_sql(with_answers: bool) -> str:
    # Oldest first on (created_at, id), which an index already holds: rows come out as they are read.
    return f"""SELECT {_COLUMNS}{"," + _ANSWERS if with_answers else ""}
      FROM inspections i
      JOIN stations s ON s.id = i.station_id
      JOIN districts d ON d.id = s.district_id
      JOIN regions r ON r.id = d.region_id
      JOIN users u ON u.id = i.inspector_id
      JOIN template_versions tv ON tv.id = i.template_version_id
      JOIN templates t ON t.id = tv.template_id
      {_WHERE}
     ORDER BY i.created_at, i.id"""


_COUNT = f"""SELECT count(*) FROM inspections i
      JOIN stations s ON s.id = i.station_id
      JOIN districts d ON d.id = s.district_id
      JOIN template_versions tv ON tv.id = i.template_version_id
      {_WHERE}"""


class ExportCursor:
    """One export's rows, read through a server-side cursor in a snapshot of its own.

    The count and the rows come from the same REPEATABLE READ snapshot, so the number audited before
    the first byte leaves is exactly the number of rows sent. The connection is the export's own (a
    request's pooled connection is given back before a streamed body is sent) and is released by
    `close`, which is safe to call more than once.
    """

    def __init__(self, pool: Pool, scope: Scope, filters: ExportFilters, *, with_answers: bool):
        self._pool = pool
        self._args = _args(scope, filters)
        self._sql = export_sql(with_answers)
        self._conn: Connection | None = None
        self._tx: Any = None

    async def open(self) -> int:
        """Take the snapshot; returns the number of rows the export will hold."""
        self._conn = await self._pool.acquire(timeout=10)
        try:
            self._tx = self._conn.transaction(isolation="repeatable_read", readonly=True)
            await self._tx.start()
            return await self._conn.fetchval(_COUNT, *self._args)
        except BaseException:
            await self.close()
            raise

    async def batches(self, size: int) -> AsyncIterator[list[Record]]:
        if self._conn is None:
            raise RuntimeError("ExportCursor.open() first")
        cursor = await self._conn.cursor(self._sql, *self._args)
        while rows := await cursor.fetch(size):
            yield rows

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        # A client that goes away cancels the stream, and the cancellation is delivered again at every
        # await inside the cancelled scope: unshielded, the rollback would be cut short and the
        # connection never go back to the pool.
        with anyio.CancelScope(shield=True):
            try:
                if self._tx is not None:
                    await self._tx.rollback()
            except (InterfaceError, InternalClientError, PostgresError, OSError):
                # The connection died under the export, whose own error is the one to report. A closed
                # connection has already gone back to the pool, which replaces it; one left mid-statement
                # is closed here so that it is never handed out again.
                with contextlib.suppress(InterfaceError):
                    conn.terminate()
            finally:
                await self._pool.release(conn)


async def template_versions(conn: Connection, template_id: UUID) -> list[Record]:
    """Every published version of a template, newest first, with its definition."""
    return await conn.fetch(
        """SELECT tv.id, tv.version, tv.definition::text AS definition
             FROM template_versions tv WHERE tv.template_id = $1 ORDER BY tv.version DESC""",
        template_id,
    )


async def template_exists(conn: Connection, template_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM templates WHERE id = $1", template_id))


# One inspection's report ----------------------------------------------------------------------


async def report_inspection(conn: Connection, scope: Scope, inspection_id: UUID, own: UUID | None) -> Record | None:
    """The inspection with its station, district, region, inspector and pinned version, when readable.

    `own` is the caller's id when the caller is an inspector: an inspector reads only their own.
    """
    return await conn.fetchrow(
        f"""SELECT i.id, i.status, i.revision, i.created_at, i.updated_at, i.started_at, i.finished_at, i.submitted_at,
                   i.lat, i.lon, i.accuracy_m, i.distance_m, i.far_from_station, i.score_percent, i.grade,
                   i.critical_failed, i.score, i.photos_missing, i.location_repeated, i.inspector_id,
                   s.code AS station_code, s.name_en AS station_name_en, s.name_ur AS station_name_ur,
                   s.lat AS station_lat, s.lon AS station_lon,
                   d.name_en AS district_en, d.name_ur AS district_ur, r.name_en AS region_en,
                   r.name_ur AS region_ur, u.username AS inspector_username, u.display_name AS inspector_name,
                   t.key AS template_key, tv.version AS template_version, tv.definition::text AS definition
              FROM inspections i
              JOIN stations s ON s.id = i.station_id
              JOIN districts d ON d.id = s.district_id
              JOIN regions r ON r.id = d.region_id
              JOIN users u ON u.id = i.inspector_id
              JOIN template_versions tv ON tv.id = i.template_version_id
              JOIN templates t ON t.id = tv.template_id
             WHERE i.id = $4 AND {readable_inspection_sql(1, own_at=5)}""",
        *scope,
        inspection_id,
        own,
    )


async def report_answers(conn: Connection, inspection_id: UUID) -> list[Record]:
    return await conn.fetch(
        "SELECT item_key, value, note, score, photo_ids FROM answers WHERE inspection_id = $1", inspection_id
    )


async def report_reviews(conn: Connection, inspection_id: UUID) -> list[Record]:
    """Every review decision, oldest first, with the reviewer's name."""
    return await conn.fetch(
        """SELECT r.decision, r.revision, r.comment, r.item_comments, r.created_at, u.display_name AS reviewer
             FROM reviews r JOIN users u ON u.id = r.reviewer_id
            WHERE r.inspection_id = $1 ORDER BY r.created_at, r.new_revision""",
        inspection_id,
    )


async def report_overrides(conn: Connection, inspection_id: UUID) -> list[Record]:
    """The score overrides in force (a resubmission supersedes them)."""
    return await conn.fetch(
        """SELECT o.item_key, o.original_score, o.score, o.reason, o.created_at, u.display_name AS reviewer
             FROM score_overrides o JOIN users u ON u.id = o.reviewer_id
            WHERE o.inspection_id = $1 AND o.superseded_at IS NULL ORDER BY o.item_key""",
        inspection_id,
    )


async def report_photos(conn: Connection, inspection_id: UUID) -> list[Record]:
    return await conn.fetch(
        "SELECT id, item_key, thumb_key FROM photos WHERE inspection_id = $1 ORDER BY created_at, id", inspection_id
    )
