"""Whether an inspection's photos back its visit: the photo-evidence judgement behind the queue's flags.

An inspection's own GPS fix says where the phone was when the visit began; its photos say where and when
the evidence was made. A fix at the station with every photo taken 50 km away three weeks earlier is not
a visit, and neither is a fix whose reported accuracy is wider than the presence radius. The judgement
counts, over the photos the inspection's current answers name (a photo taken and then removed is not
evidence of anything):
- far: the photo's chosen position (photos.rules.chosen_gps) farther from the station than the radius;
- off_time: its capture time (photos.rules.chosen_taken_at) before started_at - 1 h, after
  finished_at + 1 h, or in the future; a camera wall clock without a zone may be in any zone, so it
  counts only when it is outside that window in every zone (14 hours either way);
- unproven: neither a position nor a time at all.
The counts live on the inspection (schema 0020) and are made again, in the same transaction, when a
photo is stored (photos.service) and when the inspection is submitted (review.hooks).

The inspection's own fix repeated exactly on another visit (location_repeated) is judged by the database
at the first submission (schema 0026); this module reads it, and names those visits for the reviewer.

The radius is the server's PRESENCE_RADIUS_M, handed down by whoever judges: the submission hooks
have it in hooks.Submission, a photo upload in its photos.service.Target, the reviewer's page from the
settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from asyncpg import Connection

from server.auth.models import scope_sql
from server.inspections.rules import exact_station_fix
from server.photos.rules import chosen_gps, chosen_taken_at
from server.review.models import PhotoEvidence, PhotoJudgementOut, RepeatedFix, seen_station
from server.structs import PHONE_CLOCK_AHEAD_MINUTES

TIME_SLACK = timedelta(hours=1)
# A phone's clock ahead of the server's is not a photo from the future: as far ahead as the server
# believes an inspection's own times (structs.PHONE_CLOCK_AHEAD_MINUTES), or a phone 20 minutes fast
# would have its last photos flagged while its inspection is not (phone_clock_off).
FUTURE_SLACK = timedelta(minutes=PHONE_CLOCK_AHEAD_MINUTES)
# A zone-less camera clock may be anywhere from UTC-12 to UTC+14.
WALL_CLOCK_SLACK = timedelta(hours=14)


def capture_moment(exif_taken_at: str | None, device_taken_at: datetime | None) -> tuple[datetime | None, timedelta]:
    """The photo's capture instant and how far it may be off (a zone-less camera clock's unknown zone)."""
    text, _ = chosen_taken_at(exif_taken_at, device_taken_at)
    if text is None:
        return None, timedelta(0)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, timedelta(0)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC), WALL_CLOCK_SLACK
    return moment, timedelta(0)


def off_by(
    moment: datetime, slack: timedelta, started: datetime | None, finished: datetime | None, now: datetime
) -> float | None:
    """Seconds from the visit to a capture time outside it (negative before, positive after), else None."""
    if started is not None and moment + slack < started - TIME_SLACK:
        return (moment - started).total_seconds()
    end = now if finished is None or finished > now else finished
    latest = min(finished + TIME_SLACK, now + FUTURE_SLACK) if finished is not None else now + FUTURE_SLACK
    if moment - slack > latest:
        return (moment - end).total_seconds()
    return None


def judge_photo(
    row: Mapping[str, Any], started: datetime | None, finished: datetime | None, now: datetime, radius: float
) -> PhotoJudgementOut:
    problems: list[str] = []
    distance = row["distance_m"]
    if distance is not None and distance > radius:
        problems.append("far")
    gps, _ = chosen_gps(row["exif_lat"], row["exif_lon"], row["device_lat"], row["device_lon"])
    moment, slack = capture_moment(row["exif_taken_at"], row["device_taken_at"])
    outside = None if moment is None else off_by(moment, slack, started, finished, now)
    if outside is not None:
        problems.append("off_time")
    if moment is None and gps is None:
        problems.append("unproven")
    return PhotoJudgementOut(
        photo_id=row["id"],
        problems=problems,
        distance_m=None if distance is None else round(distance, 1),
        off_by_s=outside,
    )


def judge(
    inspection: Mapping[str, Any], photos: list[Mapping[str, Any]], now: datetime, radius: float
) -> PhotoEvidence:
    per_photo = [judge_photo(p, inspection["started_at"], inspection["finished_at"], now, radius) for p in photos]
    accuracy = inspection["accuracy_m"]
    return PhotoEvidence(
        radius_m=radius,
        photos=len(per_photo),
        photos_far=sum("far" in p.problems for p in per_photo),
        photos_off_time=sum("off_time" in p.problems for p in per_photo),
        photos_unproven=sum("unproven" in p.problems for p in per_photo),
        location_imprecise=inspection["lat"] is not None and accuracy is not None and accuracy > radius,
        per_photo=per_photo,
        location_exact=exact_station_fix(inspection["fix_distance_m"]),
        location_repeated=bool(inspection["location_repeated"]),
    )


# The inspection's row with each photo its answers name, one row per photo (a single row of nulls
# for the photo columns when it names none), and the database's now(): one round trip.
_JUDGED = """
    SELECT i.started_at, i.finished_at, i.lat, i.accuracy_m, i.distance_m AS fix_distance_m, i.location_repeated,
           now() AS now,
           p.id, p.exif_taken_at, p.exif_lat, p.exif_lon, p.device_taken_at, p.device_lat, p.device_lon,
           p.distance_m
      FROM inspections i
      LEFT JOIN photos p
        ON p.inspection_id = i.id
       AND p.id IN (SELECT unnest(a.photo_ids) FROM answers a WHERE a.inspection_id = i.id)
     WHERE i.id = $1
     ORDER BY p.created_at, p.id"""


async def judgement(conn: Connection, inspection_id: UUID, radius: float) -> PhotoEvidence | None:
    """The judgement as of now, from the inspection's row and the photos its answers name (None when no
    such inspection). The caller has checked that the inspection is visible."""
    rows = await conn.fetch(_JUDGED, inspection_id)
    if not rows:
        return None
    first = rows[0]
    photos = [row for row in rows if row["id"] is not None]
    return judge(first, photos, first["now"], radius)


# The other inspections with exactly this fix, as the trigger finds them (schema 0026,
# repeated_fix_partners), the first twenty submitted; each named only when its station's district is in
# scope ($2..$4: Principal.scope_args()). One probe of inspections_fix_idx; sorting reads every
# partner, a handful unless one fake fix was sent on hundreds of visits.
_REPEATED_WITH = f"""
SELECT o.id, o.submitted_at, s.id AS station_id, s.code, s.name_en, s.name_ur, {scope_sql(2)} AS in_scope
  FROM inspections i
 CROSS JOIN LATERAL repeated_fix_partners(i.id, i.inspector_id, i.started_at, i.lat, i.lon, i.accuracy_m) p
  JOIN inspections o ON o.id = p.id
  JOIN stations s ON s.id = o.station_id
  JOIN districts d ON d.id = s.district_id
 WHERE i.id = $1
 ORDER BY o.submitted_at, o.id
 LIMIT 20"""


async def for_reviewer(
    conn: Connection, scope: tuple[bool, list[UUID], list[UUID]], inspection_id: UUID, radius: float
) -> PhotoEvidence | None:
    """The judgement as of now with, when its fix is another visit's, those visits (the first twenty)."""
    found = await judgement(conn, inspection_id, radius)
    if found is None or not found.location_repeated:
        return found
    for r in await conn.fetch(_REPEATED_WITH, inspection_id, *scope):
        found.repeated_with.append(
            RepeatedFix(
                inspection_id=r["id"] if r["in_scope"] else None,
                station=seen_station(r),
                submitted_at=r["submitted_at"],
            )
        )
    return found


async def refresh(conn: Connection, inspection_id: UUID, radius: float) -> None:
    """Judge the inspection again and store the counts (schema 0020). Inside the caller's transaction,
    which has the inspection's row locked already (a submission, a photo upload)."""
    found = await judgement(conn, inspection_id, radius)
    if found is None:
        return
    await conn.execute(
        """UPDATE inspections
              SET photos_far = $2, photos_off_time = $3, photos_unproven = $4, location_imprecise = $5
            WHERE id = $1
              AND (photos_far, photos_off_time, photos_unproven, location_imprecise)
                  IS DISTINCT FROM ($2::int, $3::int, $4::int, $5::bool)""",
        inspection_id,
        found.photos_far,
        found.photos_off_time,
        found.photos_unproven,
        found.location_imprecise,
    )
