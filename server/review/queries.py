"""SQL of the review capability: the locked inspection, reviews, overrides, and the inspection lists.

`scope` is Principal.scope_args() — (is_admin, district_ids, region_ids) — bound as $1..$3 and applied
to the inspection's station's district `d` in the WHERE clause of each query.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from asyncpg import Connection, Record

from server.auth.models import SCOPE_SQL, readable_inspection_sql
from server.errors import FieldError, Invalid
from server.inspections.queries import OVERRIDDEN_SQL
from server.inspections.rules import EXACT_STATION_FIX_M, exact_station_fix
from server.review.models import (
    DistrictRef,
    Flags,
    LocalName,
    OverrideOut,
    Person,
    QueueRow,
    ReviewOut,
    StationRef,
)
from server.structs import plausible_moment

Scope = tuple[bool, list[UUID], list[UUID]]


async def lock_inspection(conn: Connection, scope: Scope, inspection_id: UUID) -> Record | None:
    """The inspection with its pinned definition, locked until the review's transaction ends."""
    return await conn.fetchrow(
        f"""SELECT i.id, i.station_id, i.inspector_id, i.status, i.revision, i.body_hash, i.document,
                   i.score, i.score_percent, i.grade, i.critical_failed, i.submitted_at, i.updated_at,
                   tv.definition
              FROM inspections i
              JOIN stations s ON s.id = i.station_id
              JOIN districts d ON d.id = s.district_id
              JOIN template_versions tv ON tv.id = i.template_version_id
             WHERE i.id = $4 AND {SCOPE_SQL}
             FOR NO KEY UPDATE OF i""",
        *scope,
        inspection_id,
    )


async def readable_inspection(
    conn: Connection, scope: Scope, inspection_id: UUID, inspector_id: UUID | None
) -> UUID | None:
    """The inspection's inspector when it is visible (readable_inspection_sql): in scope, or the caller's
    own when `inspector_id` (Principal.own_id) is given; else None."""
    return await conn.fetchval(
        f"""SELECT i.inspector_id FROM inspections i
              JOIN stations s ON s.id = i.station_id JOIN districts d ON d.id = s.district_id
             WHERE i.id = $4 AND {readable_inspection_sql(1, own_at=5)}""",
        *scope,
        inspection_id,
        inspector_id,
    )


async def insert_review(
    conn: Connection,
    *,
    inspection_id: UUID,
    reviewer_id: UUID,
    decision: str,
    revision: int,
    new_revision: int,
    comment: str,
    item_comments: dict[str, str],
    percent_before: float | None,
    percent_after: float | None,
) -> Record:
    return await conn.fetchrow(
        """INSERT INTO reviews (inspection_id, reviewer_id, decision, revision, new_revision, comment,
                                item_comments, percent_before, percent_after)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id, created_at""",
        inspection_id,
        reviewer_id,
        decision,
        revision,
        new_revision,
        comment,
        item_comments,
        percent_before,
        percent_after,
    )


async def insert_overrides(
    conn: Connection,
    *,
    review_id: UUID,
    inspection_id: UUID,
    reviewer_id: UUID,
    rows: Sequence[tuple[str, float | None, float, str]],
) -> None:
    """rows: (item_key, original_score, score, reason). Earlier overrides of the same items give way."""
    keys = [r[0] for r in rows]
    await conn.execute(
        """UPDATE score_overrides SET superseded_at = now()
            WHERE inspection_id = $1 AND item_key = ANY($2::text[]) AND superseded_at IS NULL""",
        inspection_id,
        keys,
    )
    await conn.executemany(
        """INSERT INTO score_overrides (review_id, inspection_id, item_key, reviewer_id, original_score, score, reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [(review_id, inspection_id, key, reviewer_id, original, new, reason) for key, original, new, reason in rows],
    )


async def overrides_in_force(conn: Connection, inspection_id: UUID) -> dict[str, float]:
    rows = await conn.fetch(
        "SELECT item_key, score FROM score_overrides WHERE inspection_id = $1 AND superseded_at IS NULL",
        inspection_id,
    )
    return {r["item_key"]: r["score"] for r in rows}


async def apply_decision(
    conn: Connection,
    *,
    inspection_id: UUID,
    status: str,
    revision: int,
    percent: float | None,
    grade: str | None,
    critical_failed: bool,
    score: dict[str, Any],
    body_hash: bytes,
    document: Any,
    actor_id: UUID,
) -> None:
    """Move the inspection to its new status and revision, and keep the revision row the phone will see.

    The document and its hash are unchanged: the inspector's words stay theirs; only status,
    revision and the (possibly overridden) score move.
    """
    await conn.execute(
        """UPDATE inspections
              SET status = $2, revision = $3, score_percent = $4, grade = $5, critical_failed = $6,
                  score = $7, updated_at = now()
            WHERE id = $1""",
        inspection_id,
        status,
        revision,
        percent,
        grade,
        critical_failed,
        score,
    )
    await conn.execute(
        """INSERT INTO inspection_revisions (inspection_id, revision, status, body_hash, document, actor_id)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        inspection_id,
        revision,
        status,
        body_hash,
        document,
        actor_id,
    )


# Review history ---------------------------------------------------------------------------------

_REVIEW_COLUMNS = """r.id, r.inspection_id, r.decision, r.revision, r.new_revision, r.comment, r.item_comments,
       r.percent_before, r.percent_after, r.created_at, u.id AS reviewer_id, u.display_name AS reviewer_name,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('item_key', o.item_key, 'original_score', o.original_score,
                                                     'score', o.score, 'reason', o.reason,
                                                     'superseded_at', o.superseded_at) ORDER BY o.item_key)
                   FROM score_overrides o WHERE o.review_id = r.id), '[]'::jsonb) AS overrides"""


def review_out(row: Record) -> ReviewOut:
    return ReviewOut(
        id=row["id"],
        inspection_id=row["inspection_id"],
        decision=row["decision"],
        revision=row["revision"],
        new_revision=row["new_revision"],
        reviewer=Person(id=row["reviewer_id"], display_name=row["reviewer_name"]),
        comment=row["comment"],
        item_comments=row["item_comments"],
        overrides=[
            OverrideOut(
                item_key=o["item_key"],
                original_score=o["original_score"],
                score=o["score"],
                reason=o["reason"],
                superseded_at=_time(o["superseded_at"]),
            )
            for o in row["overrides"]
        ],
        percent_before=row["percent_before"],
        percent_after=row["percent_after"],
        created_at=row["created_at"],
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def get_review(conn: Connection, review_id: UUID) -> ReviewOut:
    row = await conn.fetchrow(
        f"SELECT {_REVIEW_COLUMNS} FROM reviews r JOIN users u ON u.id = r.reviewer_id WHERE r.id = $1", review_id
    )
    return review_out(row)


async def list_reviews(conn: Connection, inspection_id: UUID) -> list[ReviewOut]:
    """Newest first. The caller has already checked that the inspection is visible to the user."""
    rows = await conn.fetch(
        f"""SELECT {_REVIEW_COLUMNS} FROM reviews r JOIN users u ON u.id = r.reviewer_id
             WHERE r.inspection_id = $1 ORDER BY r.created_at DESC, r.new_revision DESC""",
        inspection_id,
    )
    return [review_out(r) for r in rows]


async def latest_review(conn: Connection, inspection_id: UUID) -> dict[str, Any] | None:
    """The latest review as a plain dict, for the `review` field of the inspection reply (or None).

    {id, decision, revision, new_revision, reviewer: {id, display_name}, comment, item_comments, at,
     score_overridden, overrides: {item_key: {original, score, reason, reviewer_id, at}}}
    The overrides are those in force, so whoever reads an inspection sees, per overridden item, the
    inspector's original score next to the reviewer's, and the reason.
    """
    return (await latest_reviews(conn, [inspection_id])).get(inspection_id)


async def latest_reviews(conn: Connection, inspection_ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
    """latest_review for many inspections in two queries (the bundle's returned inspections)."""
    if not inspection_ids:
        return {}
    rows = await conn.fetch(
        f"""SELECT DISTINCT ON (r.inspection_id) {_REVIEW_COLUMNS}
              FROM reviews r JOIN users u ON u.id = r.reviewer_id
             WHERE r.inspection_id = ANY($1::uuid[])
             ORDER BY r.inspection_id, r.created_at DESC, r.new_revision DESC""",
        list(inspection_ids),
    )
    in_force: dict[UUID, dict[str, Any]] = {}
    for o in await conn.fetch(
        """SELECT inspection_id, item_key, original_score, score, reason, reviewer_id, created_at
             FROM score_overrides WHERE inspection_id = ANY($1::uuid[]) AND superseded_at IS NULL
            ORDER BY inspection_id, item_key""",
        list(inspection_ids),
    ):
        in_force.setdefault(o["inspection_id"], {})[o["item_key"]] = {
            "original": o["original_score"],
            "score": o["score"],
            "reason": o["reason"],
            "reviewer_id": str(o["reviewer_id"]),
            "at": o["created_at"].isoformat(),
        }
    out: dict[UUID, dict[str, Any]] = {}
    for row in rows:
        review = review_out(row)
        overrides = in_force.get(review.inspection_id, {})
        out[review.inspection_id] = {
            "id": str(review.id),
            "decision": review.decision,
            "revision": review.revision,
            "new_revision": review.new_revision,
            "reviewer": {"id": str(review.reviewer.id), "display_name": review.reviewer.display_name},
            "comment": review.comment,
            "item_comments": review.item_comments,
            "at": review.created_at.isoformat(),
            "score_overridden": bool(overrides),
            "overrides": overrides,
        }
    return out


# The queue and the flagged list -------------------------------------------------------------------

# The fix is the station's recorded position to the centimetre (inspections.rules.EXACT_STATION_FIX_M):
# set by hand or by an app, not read off the sky. No column of its own: distance_m is stored already.
_EXACT_SQL = f"i.distance_m < {EXACT_STATION_FIX_M}"

_ROW_SELECT = f"""
SELECT i.id, i.status, i.revision, i.submitted_at, i.made_at, i.score_percent, i.grade, i.critical_failed, {OVERRIDDEN_SQL},
       i.far_from_station, i.distance_m, i.reused_photos, i.photos_missing,
       i.photos_far, i.photos_off_time, i.photos_unproven, i.location_imprecise, i.accuracy_m,
       i.too_fast, i.overlaps_other, i.location_repeated,
       s.id AS station_id, s.code AS station_code, s.name_en AS station_en, s.name_ur AS station_ur,
       d.id AS district_id, d.name_en AS district_en, d.name_ur AS district_ur,
       u.id AS inspector_id, u.display_name AS inspector_name
  FROM inspections i
  JOIN stations s ON s.id = i.station_id
  JOIN districts d ON d.id = s.district_id
  JOIN users u ON u.id = i.inspector_id
 WHERE {SCOPE_SQL}
   AND ($4::uuid IS NULL OR d.id = $4) AND ($5::uuid IS NULL OR s.id = $5) AND ($6::uuid IS NULL OR d.region_id = $6)
   AND ($7::text IS NULL OR ($7 = 'far' AND i.far_from_station) OR ($7 = 'reused' AND i.reused_photos > 0)
        OR ($7 = 'critical' AND i.critical_failed) OR ($7 = 'missing' AND i.photos_missing > 0)
        OR ($7 = 'photos_far' AND i.photos_far > 0) OR ($7 = 'photos_off_time' AND i.photos_off_time > 0)
        OR ($7 = 'photos_unproven' AND i.photos_unproven > 0) OR ($7 = 'imprecise' AND i.location_imprecise)
        OR ($7 = 'too_fast' AND i.too_fast) OR ($7 = 'overlaps' AND i.overlaps_other)
        OR ($7 = 'exact' AND {_EXACT_SQL}) OR ($7 = 'repeated' AND i.location_repeated))
"""

# Oldest first: the inspection that has waited longest is reviewed first.
_QUEUE = (
    _ROW_SELECT
    + """
   AND i.status = 'submitted'
   AND ($8::timestamptz IS NULL OR (i.submitted_at, i.id) > ($8, $9::uuid))
 ORDER BY i.submitted_at, i.id
 LIMIT $10
"""
)

# Newest first, any status a reviewer has seen; the partial index holds just these rows (its predicate
# is this condition word for word: schema 0026).
_FLAGGED = (
    _ROW_SELECT
    + f"""
   AND i.status <> 'draft' AND (i.far_from_station OR i.critical_failed OR i.reused_photos > 0 OR i.photos_far > 0
                                OR i.photos_off_time > 0 OR i.photos_unproven > 0 OR i.location_imprecise
                                OR i.too_fast OR i.overlaps_other OR {_EXACT_SQL} OR i.location_repeated)
   AND ($8::timestamptz IS NULL OR (i.submitted_at, i.id) < ($8, $9::uuid))
   AND ($11::timestamptz IS NULL OR i.submitted_at >= $11) AND ($12::timestamptz IS NULL OR i.submitted_at < $12)
 ORDER BY i.submitted_at DESC, i.id DESC
 LIMIT $10
"""
)


def queue_row(r: Record) -> QueueRow:
    return QueueRow(
        id=r["id"],
        status=r["status"],
        revision=r["revision"],
        station=StationRef(
            id=r["station_id"], code=r["station_code"], name=LocalName(en=r["station_en"], ur=r["station_ur"])
        ),
        district=DistrictRef(id=r["district_id"], name=r["district_en"], name_ur=r["district_ur"]),
        inspector=Person(id=r["inspector_id"], display_name=r["inspector_name"]),
        submitted_at=r["submitted_at"],
        made_at=r["made_at"],
        score_percent=r["score_percent"],
        grade=r["grade"],
        score_overridden=r["score_overridden"],
        critical_failed=r["critical_failed"],
        distance_m=r["distance_m"],
        reused_photo_count=r["reused_photos"],
        photos_missing=r["photos_missing"],
        flags=Flags(
            far_from_station=r["far_from_station"],
            reused_photos=r["reused_photos"] > 0,
            critical_failed=r["critical_failed"],
            missing_photos=r["photos_missing"] > 0,
            photos_far=(r["photos_far"] or 0) > 0,
            photos_off_time=(r["photos_off_time"] or 0) > 0,
            photos_unproven=(r["photos_unproven"] or 0) > 0,
            location_imprecise=bool(r["location_imprecise"]),
            too_fast=bool(r["too_fast"]),
            overlaps_other=bool(r["overlaps_other"]),
            location_exact=exact_station_fix(r["distance_m"]),
            location_repeated=bool(r["location_repeated"]),
        ),
        photos_far_count=r["photos_far"],
        photos_off_time_count=r["photos_off_time"],
        photos_unproven_count=r["photos_unproven"],
        accuracy_m=r["accuracy_m"],
    )


async def list_inspections(
    conn: Connection,
    scope: Scope,
    *,
    flagged: bool,
    district_id: UUID | None,
    station_id: UUID | None,
    region_id: UUID | None,
    flag: str | None,
    cursor: tuple[datetime, UUID] | None,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[QueueRow], str | None]:
    """One page of the queue (flagged=False) or of the flagged list, and the cursor of the next page."""
    at, last_id = cursor or (None, None)
    args: list[Any] = [*scope, district_id, station_id, region_id, flag, at, last_id, limit + 1]
    if flagged:
        args += [since, until]
    rows = await conn.fetch(_FLAGGED if flagged else _QUEUE, *args)
    page = [queue_row(r) for r in rows[:limit]]
    more = len(rows) > limit and page[-1].submitted_at is not None
    return page, encode_cursor(page[-1].submitted_at, page[-1].id) if more else None


def encode_cursor(at: datetime, row_id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(raw: str | None, field: str = "after") -> tuple[datetime, UUID] | None:
    if not raw:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        at, _, row_id = text.partition("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("cursor time without zone")
        # A time the database cannot take (year 1 east of UTC has no UTC equivalent) failed in the
        # driver, answered as a 422 that named no field; no cursor this server gives out is outside this range.
        if not plausible_moment(moment):
            raise ValueError("cursor time out of range")
        return moment, UUID(row_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(
            "the page cursor is not one this server gave out",
            errors=[FieldError(field=field, message="is not a valid page cursor")],
        ) from exc
