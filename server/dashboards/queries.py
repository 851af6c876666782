"""Dashboard reads: the rollup tables joined to the hierarchy, scope in the WHERE clause.

The group and period names put into SQL text come from closed Literal sets checked at the edge, never
from free input; every value is a bind parameter.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from asyncpg import Connection, Record

from server.dashboards.rollup import REPORTING_TZ

Scope = tuple[bool, list[UUID], list[UUID]]
SCOPE = "($1::bool OR d.id = ANY($2::uuid[]) OR d.region_id = ANY($3::uuid[]))"

_GROUPS = {"station": "s", "district": "d", "region": "g"}
_PERIODS = ("month", "quarter")

# Station figures come from the station grain; district and region figures from the district grain,
# which holds a row per district and month instead of one per station and month.
_SOURCES = {
    "station": """rollup_station_period r JOIN stations s ON s.id = r.station_id
                  JOIN districts d ON d.id = s.district_id JOIN regions g ON g.id = d.region_id""",
    "district": "rollup_district_period r JOIN districts d ON d.id = r.district_id JOIN regions g ON g.id = d.region_id",
}


def _group(group_by: str) -> str:
    alias = _GROUPS[group_by]
    return (f"{alias}.id AS group_id, {alias}.name_en AS group_name, {alias}.name_ur AS name_ur, "
            f"{alias}.code AS code")


async def scores(conn: Connection, scope: Scope, *, group_by: str, period: str, start: date, end: date,
                 template_id: UUID | None, region_id: UUID | None, district_id: UUID | None) -> list[Record]:
    """Per group and period in [start, end): inspections, average percent and critical failures.

    The average is Σ percent / number of scored inspections, both summed from the months of the period.
    """
    if period not in _PERIODS:
        raise ValueError(period)
    source = _SOURCES["station" if group_by == "station" else "district"]
    return await conn.fetch(
        f"""SELECT {_group(group_by)}, date_trunc('{period}', r.period_start)::date AS period_start,
                   sum(r.inspections)::int AS inspections,
                   (sum(r.sum_percent) / NULLIF(sum(r.scored), 0))::float8 AS avg_percent,
                   sum(r.critical_failed)::int AS critical_failed
              FROM {source}
             WHERE {SCOPE} AND r.period_start >= $4 AND r.period_start < $5
               AND ($6::uuid IS NULL OR r.template_id = $6)
               AND ($7::uuid IS NULL OR g.id = $7) AND ($8::uuid IS NULL OR d.id = $8)
             GROUP BY 1, 2, 3, 4, 5
            HAVING sum(r.inspections) > 0
             ORDER BY period_start, group_name, group_id""",
        *scope, start, end, template_id, region_id, district_id,
    )


_FAILED_BY_DISTRICT = f"""
    SELECT f.template_id, f.item_key, sum(f.failed)::int AS failed, sum(f.answered)::int AS answered
      FROM rollup_item_failures f
      JOIN districts d ON d.id = f.district_id
     WHERE {SCOPE} AND f.period_start >= $4 AND f.period_start < $5
       AND ($6::uuid IS NULL OR f.template_id = $6)
       AND ($7::uuid IS NULL OR d.region_id = $7) AND ($8::uuid IS NULL OR d.id = $8)
     GROUP BY f.template_id, f.item_key
    HAVING sum(f.failed) > 0
     ORDER BY failed DESC, sum(f.failed)::float8 / sum(f.answered) DESC, f.item_key, f.template_id
     LIMIT $9"""

# For a whole region or the whole country: a row per region, item and month. $2 and $8 (district
# scope and filter) are never set when this one is chosen; they are bound for a uniform signature.
_FAILED_BY_REGION = """
    SELECT f.template_id, f.item_key, sum(f.failed)::int AS failed, sum(f.answered)::int AS answered
      FROM rollup_item_failures_region f
     WHERE ($1::bool OR f.region_id = ANY($3::uuid[])) AND cardinality($2::uuid[]) >= 0 AND $8::uuid IS NULL
       AND f.period_start >= $4 AND f.period_start < $5
       AND ($6::uuid IS NULL OR f.template_id = $6) AND ($7::uuid IS NULL OR f.region_id = $7)
     GROUP BY f.template_id, f.item_key
    HAVING sum(f.failed) > 0
     ORDER BY failed DESC, sum(f.failed)::float8 / sum(f.answered) DESC, f.item_key, f.template_id
     LIMIT $9"""


async def failed_items(conn: Connection, scope: Scope, *, start: date, end: date, template_id: UUID | None,
                       region_id: UUID | None, district_id: UUID | None, limit: int) -> list[Record]:
    """Items by failures in [start, end), most failed first (then by rate).

    Users whose scope is made of whole regions (administrators, regional officers) read the region
    grain; anyone scoped to districts, or asking for one district, reads the district grain.
    """
    is_admin, district_ids, _ = scope
    whole_regions = district_id is None and (is_admin or not district_ids)
    return await conn.fetch(_FAILED_BY_REGION if whole_regions else _FAILED_BY_DISTRICT,
                            *scope, start, end, template_id, region_id, district_id, limit)


async def definitions(conn: Connection, template_ids: list[UUID]) -> list[Record]:
    """Every published definition of these templates, newest first, to find each item's label."""
    return await conn.fetch(
        """SELECT template_id, definition FROM template_versions
            WHERE template_id = ANY($1::uuid[]) ORDER BY template_id, version DESC""",
        template_ids,
    )


async def overdue_assignments(conn: Connection, scope: Scope, limit: int) -> list[Record]:
    """Open assignments past their due date (Pakistan's calendar), most overdue first."""
    today = f"(now() AT TIME ZONE '{REPORTING_TZ}')::date"
    return await conn.fetch(
        f"""SELECT a.id, a.due_date, {today} - a.due_date AS days_overdue,
                   s.id AS station_id, s.code AS station_code, s.name_en AS station_en, s.name_ur AS station_ur,
                   d.id AS district_id, d.name_en AS district_en, d.name_ur AS district_ur,
                   t.id AS template_id, t.title_en, t.title_ur, u.id AS inspector_id, u.display_name AS inspector_name
              FROM assignments a
              JOIN stations s ON s.id = a.station_id
              JOIN districts d ON d.id = s.district_id
              JOIN templates t ON t.id = a.template_id
              JOIN users u ON u.id = a.inspector_id
             WHERE {SCOPE} AND a.status = 'open' AND a.due_date < {today}
             ORDER BY a.due_date, a.id
             LIMIT $4""",
        *scope, limit,
    )
