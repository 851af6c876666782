"""Gather everything one inspection's PDF shows, so the renderer in the process pool needs no I/O."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from uuid import UUID

import msgspec
from asyncpg import Connection

from server.auth.models import Principal
from server.errors import NotFound
from server.exports import queries
from server.exports.models import Lang, ReportAnswer, ReportData, ReportOverride, ReportPhoto, ReportReview
from server.inspections.rules import exact_station_fix
from server.storage import PhotoStore
from server.structs import inspection_clock_off, phone_time
from server.templates.models import Definition

log = logging.getLogger("muaina.exports")

# Thumbnails are small; a few at a time keeps the store busy without a burst of connections.
_THUMB_FETCHES = 8


async def gather(
    conn: Connection, store: PhotoStore, user: Principal, inspection_id: UUID, lang: Lang, presence_radius_m: float
) -> ReportData:
    """The report's data, or NotFound when the caller may not read the inspection.

    Readers are those of the inspection itself: reviewers and admins in scope, and its own inspector
    (who is not told what the fix gives away).
    """
    row = await queries.report_inspection(conn, user.scope_args(), inspection_id, user.own_id())
    if row is None:
        raise NotFound("no inspection with this id in your scope")
    answers = {
        a["item_key"]: ReportAnswer(
            value=a["value"], note=a["note"], score=a["score"], photo_ids=[str(p) for p in a["photo_ids"]]
        )
        for a in await queries.report_answers(conn, inspection_id)
    }
    reviews = [
        ReportReview(
            decision=r["decision"],
            reviewer=r["reviewer"],
            at=r["created_at"],
            revision=r["revision"],
            comment=r["comment"],
            item_comments=r["item_comments"] or {},
        )
        for r in await queries.report_reviews(conn, inspection_id)
    ]
    overrides = [
        ReportOverride(
            item_key=o["item_key"],
            original_score=o["original_score"],
            score=o["score"],
            reason=o["reason"],
            reviewer=o["reviewer"],
            at=o["created_at"],
        )
        for o in await queries.report_overrides(conn, inspection_id)
    ]
    referenced = {p for a in answers.values() for p in a.photo_ids}
    stored = [p for p in await queries.report_photos(conn, inspection_id) if str(p["id"]) in referenced]
    photos = await _thumbnails(store, stored)
    sections = (row["score"] or {}).get("sections") or []
    # The suspicions about the fix are the reviewer's to judge: the visit's own inspector reads the
    # report without them, as they read their reviews without the evidence (server/review/routes.py),
    # so that one who set the fix in a fake-GPS app does not learn what gave it away. Their presence
    # reads as their app showed it at the start: at or far from the station, and how far. So for one made
    # a reviewer since: it is still their visit.
    judged = user.own_id() is None and row["inspector_id"] != user.id
    return ReportData(
        lang=lang,
        inspection_id=str(row["id"]),
        status=row["status"],
        revision=row["revision"],
        station_code=row["station_code"],
        station_name_en=row["station_name_en"],
        station_name_ur=row["station_name_ur"],
        station_lat=row["station_lat"],
        station_lon=row["station_lon"],
        district_en=row["district_en"],
        district_ur=row["district_ur"],
        region_en=row["region_en"],
        region_ur=row["region_ur"],
        inspector_name=row["inspector_name"],
        inspector_username=row["inspector_username"],
        template_key=row["template_key"],
        template_version=row["template_version"],
        definition=msgspec.json.decode(row["definition"], type=Definition),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        submitted_at=row["submitted_at"],
        phone_clock_off=inspection_clock_off(
            row["started_at"], row["finished_at"], row["created_at"], row["submitted_at"], row["updated_at"]
        ),
        lat=row["lat"],
        lon=row["lon"],
        accuracy_m=row["accuracy_m"],
        distance_m=row["distance_m"],
        far_from_station=row["far_from_station"],
        location_exact=judged and exact_station_fix(row["distance_m"]),
        location_repeated=judged and bool(row["location_repeated"]),
        presence_radius_m=presence_radius_m,
        score_percent=row["score_percent"],
        grade=row["grade"],
        critical_failed=row["critical_failed"],
        section_percents={s["key"]: s.get("percent") for s in sections if isinstance(s, dict) and "key" in s},
        answers=answers,
        reviews=reviews,
        overrides=overrides,
        photos=photos,
        photos_missing=row["photos_missing"],
        generated_at=datetime.now(UTC),
    )


async def _thumbnails(store: PhotoStore, rows: list) -> list[ReportPhoto]:
    limit = asyncio.Semaphore(_THUMB_FETCHES)

    async def fetch(row) -> ReportPhoto | None:
        async with limit:
            try:
                jpeg = await store.get(row["thumb_key"])
            except NotFound:
                # The row says it is stored: a lost object is for operations to see, not a broken report.
                log.error("thumbnail %s of photo %s is missing from the store", row["thumb_key"], row["id"])
                return None
        return ReportPhoto(id=str(row["id"]), item_key=row["item_key"], jpeg=jpeg)

    found = await asyncio.gather(*(fetch(r) for r in rows))
    return [p for p in found if p is not None]


def report_date(data: ReportData) -> datetime:
    """The date in the file name: the day the inspector was at the station, as the phone recorded it
    when its clock could have been right (structs.phone_time); else the day the server first had it."""
    return phone_time(data.started_at, data.created_at)
