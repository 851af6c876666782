"""Whether an inspection's own times say the visit did not happen as recorded: the timing flags.

Two flags, judged by the database as a submission writes the inspection (schema 0022, the trigger
inspections_visit_timing), so a submission stays the statements it was (tests/test_sync_hot_path.py):
- too_fast: fewer than MIN_SECONDS_PER_ANSWER seconds per answered item between started_at and
  finished_at, once MIN_ANSWERS items are answered. Reading an item and tapping yes or no takes a second
  or two; three leave no time to look at anything. A short yes/no checklist can honestly be done in a
  minute, so fewer answers are never flagged.
- overlaps_other: another non-draft inspection of the same inspector, at a different station, overlaps
  it in time or is too far away to reach in the gap between them at 120 km/h (SQL visit_timing_partners).
  Both of the pair are flagged.
Neither is raised when the phone's clock was off (server.structs.phone_clock_off): the times are not
facts then, and saying nothing is better than saying something false.

A visit's times are those of its first submission: started_at to made_at (the finish its phone gave
then, schema 0016). A returned inspection sent again keeps its start and gets a new finish, the moment
it was sent again, which is no visit; the flags keep their first judgement, and this page reads the
same times.

This module reads the detail for the reviewer's page: the pace, and the other inspections, named only
when in the reader's scope.
"""

from __future__ import annotations

from uuid import UUID

from asyncpg import Connection

from server.auth.models import scope_sql
from server.review.models import OtherVisit, VisitTiming, seen_station

# Kept equal to the numbers in schema/0022_visit_timing_flags.sql (tests/test_visit_timing_flags.py).
MIN_SECONDS_PER_ANSWER = 3.0
MIN_ANSWERS = 20

_SELF = """
SELECT i.started_at, COALESCE(i.made_at, i.finished_at) AS finished_at, i.too_fast,
       extract(epoch FROM COALESCE(i.made_at, i.finished_at) - i.started_at)::float8 AS seconds,
       phone_clock_off(i.started_at, COALESCE(i.made_at, i.finished_at), i.created_at,
                       COALESCE(i.submitted_at, i.updated_at)) AS clock_off,
       (SELECT count(*) FROM answers a WHERE a.inspection_id = i.id)::int AS answered
  FROM inspections i WHERE i.id = $1"""

# The partners, as the trigger finds them, the first twenty (as many as the trigger marks); each named
# only when its station's district is in scope ($2..$4: Principal.scope_args()).
_PARTNERS = f"""
SELECT o.id, o.started_at, COALESCE(o.made_at, o.finished_at) AS finished_at, p.distance_km,
       (o.started_at < COALESCE(i.made_at, i.finished_at) AND i.started_at < COALESCE(o.made_at, o.finished_at))
           AS overlapping,
       {scope_sql(2)} AS in_scope,
       s.id AS station_id, s.code, s.name_en, s.name_ur
  FROM inspections i
 CROSS JOIN LATERAL visit_timing_partners(i.inspector_id, i.id, i.station_id, i.started_at,
                                           COALESCE(i.made_at, i.finished_at)) p
  JOIN inspections o ON o.id = p.id
  JOIN stations s ON s.id = o.station_id
  JOIN districts d ON d.id = s.district_id
 WHERE i.id = $1
 ORDER BY o.started_at, o.id
 LIMIT 20"""


async def timing(
    conn: Connection, scope: tuple[bool, list[UUID], list[UUID]], inspection_id: UUID
) -> VisitTiming | None:
    """The timing of a visible inspection as of now (None when there is no such inspection)."""
    me = await conn.fetchrow(_SELF, inspection_id)
    if me is None:
        return None
    overlaps: list[OtherVisit] = []
    # Judged as the trigger judged it at the first submission: a null flag is a visit it said nothing of
    # (its phone's clock was off then, a time was missing, or it was submitted before schema 0022).
    judged = not me["clock_off"] and me["too_fast"] is not None
    if judged:
        for r in await conn.fetch(_PARTNERS, inspection_id, *scope):
            seen = r["in_scope"]
            overlaps.append(
                OtherVisit(
                    inspection_id=r["id"] if seen else None,
                    station=seen_station(r),
                    started_at=r["started_at"],
                    finished_at=r["finished_at"],
                    distance_km=None if not seen or r["distance_km"] is None else round(r["distance_km"], 1),
                    overlapping=r["overlapping"],
                )
            )
    return VisitTiming(
        answered=me["answered"],
        seconds=me["seconds"],
        phone_clock_off=bool(me["clock_off"]),
        too_fast=judged and bool(me["too_fast"]),
        min_seconds_per_answer=MIN_SECONDS_PER_ANSWER,
        min_answers=MIN_ANSWERS,
        overlaps=overlaps,
    )
