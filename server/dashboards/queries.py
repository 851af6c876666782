"""Dashboard reads: the rollup tables joined to the hierarchy, scope in the WHERE clause.

The group and period names put into SQL text come from closed Literal sets checked at the edge, never
from free input; every value is a bind parameter.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple
from uuid import UUID

import msgspec
from asyncpg import Connection, Record

from server.assignments.queries import HELD_BACK, SERVES
from server.auth.models import SCOPE_SQL
from server.dashboards import rules
from server.dashboards.rollup import REPORTING_TZ

Scope = tuple[bool, list[UUID], list[UUID]]

_PERIODS = {"month": 1, "quarter": 3}

# The table each kind of group is named from.
_NAMES = {"station": "stations", "district": "districts", "region": "regions"}

# The figures per group id and period, read from the smallest rollup grain that answers: station
# figures from the station grain, district and region figures from the district grain (a row per
# district and month instead of one per station and month). Only ids and sums go through the
# aggregation; names are joined afterwards, to the rows that need them.
#
# Which rows are read depends on how much of the country is asked for. For all of it (an administrator,
# no region or district filter) the rows are one range of the primary key (period_start, group id,
# template), summed without a join. For part of it, the groups in scope are found first (a regional reviewer's few
# hundred stations of twenty thousand, through their districts) and their rows through the rollup's
# (group id, period_start) index, instead of reading every station's months and then dropping the other
# regions'. A station's months are summed in a LATERAL subquery of its own: its index range comes in
# period order, so each station's few rows are grouped as they arrive, where a join of all the
# stations' rows hashed some thousands of (station, month) groups (about a tenth of a region's chart).
# The parameters are the same in both: $1-$3 the scope, $4-$5 the months, $6 the template,
# $7 the region, $8 the district; the whole-country text names $1-$3, $7 and $8 without needing them,
# and needs no join either: every rollup row's station and district exist (each comes from an
# inspection, whose station is a foreign key; stations and districts are never deleted).
_IN_SCOPE = f"{SCOPE_SQL} AND ($7::uuid IS NULL OR d.region_id = $7) AND ($8::uuid IS NULL OR d.id = $8)"
_WHOLE_COUNTRY = (
    "$1::bool AND cardinality($2::uuid[]) >= 0 AND cardinality($3::uuid[]) >= 0 "
    "AND $7::uuid IS NULL AND $8::uuid IS NULL"
)
_MONTHS = "r.period_start >= $4 AND r.period_start < $5 AND ($6::uuid IS NULL OR r.template_id = $6)"
# A group with no inspection in the period has no row.
_HAVING = "HAVING sum(r.inspections) > 0"
_GROUPED = f"GROUP BY 2, 1 {_HAVING}"
# A regional reviewer's stations, with their names: found once, through the stations' district index,
# and used twice, to pick the rollup rows and to name them. Naming them from the stations table
# instead would read all twenty thousand stations (a hash join) or look up each of the thousands of
# rows by key, to name a few hundred. {extra} is where a JSON reply adds what it needs (see _figures).
_STATIONS_IN_SCOPE = f"""
        SELECT s.id, s.name_en, s.name_ur, s.code{{extra}} FROM stations s JOIN districts d ON d.id = s.district_id
         WHERE {_IN_SCOPE}"""
# A group's part of a JSON row, up to its period: the same for each of its periods.
_GROUP_HEAD = """concat('{{"group_id":"', {x}.id, '","group_name":', to_json({x}.name_en), ',"name_ur":',
                         to_json({x}.name_ur), ',"code":', to_json({x}.code), ',"period":"')"""
_FIGURES = {
    ("station", False): f"""
        SELECT g.id AS group_id, m.*
          FROM g CROSS JOIN LATERAL (
               SELECT {{period}} AS period_start, {{sums}}
                 FROM rollup_station_period r
                WHERE r.station_id = g.id AND {_MONTHS} GROUP BY 1 {_HAVING}) m""",
    ("station", True): f"""
        SELECT r.station_id AS group_id, {{period}} AS period_start, {{sums}}
          FROM rollup_station_period r
         WHERE {_WHOLE_COUNTRY} AND {_MONTHS} {_GROUPED}""",
    ("district", False): f"""
        SELECT r.district_id AS group_id, {{period}} AS period_start, {{sums}}
          FROM rollup_district_period r
         WHERE r.district_id IN (SELECT d.id FROM districts d WHERE {_IN_SCOPE}) AND {_MONTHS} {_GROUPED}""",
    ("district", True): f"""
        SELECT r.district_id AS group_id, {{period}} AS period_start, {{sums}}
          FROM rollup_district_period r
         WHERE {_WHOLE_COUNTRY} AND {_MONTHS} {_GROUPED}""",
    ("region", False): f"""
        SELECT d.region_id AS group_id, {{period}} AS period_start, {{sums}}
          FROM rollup_district_period r JOIN districts d ON d.id = r.district_id
         WHERE {_IN_SCOPE} AND {_MONTHS} {_GROUPED}""",
}
_FIGURES["region", True] = _FIGURES["region", False]
# The average is Σ percent / number of scored inspections, both summed from the months of the period.
_SUMS = """sum(r.inspections)::int AS inspections,
                   (sum(r.sum_percent) / NULLIF(sum(r.scored), 0))::float8 AS avg_percent,
                   sum(r.critical_failed)::int AS critical_failed"""
# A rollup row's period_start is the first day of its month (rollup.py truncates every submission's
# date to its month), so a month is read as it is and keeps the key's order; a quarter is truncated as a
# timestamp without time zone, so that no time zone is looked up per row.
_PERIOD_OF_ROW = {"month": "r.period_start", "quarter": "date_trunc('quarter', r.period_start::timestamp)::date"}


def _named(x: str) -> str:
    """The columns a JSON reply adds to a group named from `x`: its head, and its place in the order
    of names (the database's collation, then id)."""
    return f", {_GROUP_HEAD.format(x=x)} AS head, row_number() OVER (ORDER BY {x}.name_en, {x}.id) AS ord"


class _Sources(NamedTuple):
    figures: str  # the WITH items that define `f`
    names: str  # the relation to join as `x` to name the groups (id, name_en, name_ur, code; with
    #             `heads`, also head and ord from _named)


def _figures(
    group_by: str, period: str, scope: Scope, region_id: UUID | None, district_id: UUID | None, *, heads: bool = False
) -> _Sources:
    """Where `f` comes from: per group id and period in [$4, $5), inspections, the average percent and
    critical failures, in scope ($1-$3), for one template if $6, in one region if $7, in one district
    if $8, unordered; and how its groups are named and ordered.

    A regional reviewer's stations are named from the scope's own list. For a JSON reply (`heads`)
    every group named also carries its head and its place in the name order (_named), worked out
    once per group instead of once per group and period (a chart of a region's stations has
    thousands of rows, and comparing names in the collation was a good part of its cost); a
    regional reviewer's districts are named from the districts in scope."""
    whole_country = scope[0] and region_id is None and district_id is None
    figures = _FIGURES[group_by, whole_country].format(period=_PERIOD_OF_ROW[period], sums=_SUMS)
    if group_by == "station" and not whole_country:
        stations = _STATIONS_IN_SCOPE.format(extra=_named("s") if heads else "")
        return _Sources(f"g AS MATERIALIZED ({stations}), f AS ({figures})", "g")
    if heads:
        # Every group's text and place in the name order are worked out once, not once per row: the
        # whole country's station chart has a row per station and period, hundreds of thousands, and
        # even the chart of forty regions spent a third of its time writing the same heads again and
        # comparing the same names in the collation.
        if group_by == "district" and not whole_country:
            groups = f"SELECT d.id, d.name_en, d.name_ur, d.code{_named('d')} FROM districts d WHERE {_IN_SCOPE}"
        else:
            groups = f"SELECT x.id, x.name_en, x.name_ur, x.code{_named('x')} FROM {_NAMES[group_by]} x"
        return _Sources(f"g AS MATERIALIZED ({groups}), f AS ({figures})", "g")
    return _Sources(f"f AS ({figures})", _NAMES[group_by])


async def scores(
    conn: Connection,
    scope: Scope,
    *,
    group_by: str,
    period: str,
    start: date,
    end: date,
    template_id: UUID | None,
    region_id: UUID | None,
    district_id: UUID | None,
) -> list[Record]:
    """Per group and period in [start, end): inspections, average percent and critical failures, with the
    group's names, by period, group name and id.

    The bare rollup read of the scores and rankings (the benchmark's baseline for both); the replies
    themselves are built by scores_json and rankings_json below from the same _figures(). Like them, it
    expects a connection that plans every statement for its values (db.PLANNED_READS, the dashboard
    pool's): a generic plan of these statements is many times slower for some scopes."""
    figures, names = _figures(group_by, period, scope, region_id, district_id)
    return await conn.fetch(
        f"""WITH {figures}
            SELECT x.id AS group_id, x.name_en AS group_name, x.name_ur, x.code, f.period_start, f.inspections,
                   f.avg_percent, f.critical_failed
              FROM f JOIN {names} x ON x.id = f.group_id
             ORDER BY f.period_start, x.name_en, x.id""",
        *scope,
        start,
        end,
        template_id,
        region_id,
        district_id,
    )


def _json_float(expr: str) -> str:
    """A float8 as JSON text, as the app's encoder writes it: PostgreSQL's float8 output is the shortest
    text that reads back as the same double (extra_float_digits >= 1, the default since PostgreSQL 12),
    but it writes a whole number without its ".0" ("100" for 100.0), which a typed client would read as
    an integer; so whole numbers get their ".0" back. SQL null is JSON null."""
    return (
        f"CASE WHEN ({expr}) IS NULL THEN 'null' WHEN ({expr}) = trunc({expr}) AND abs({expr}) < 1e15 "
        f"THEN ({expr})::text || '.0' ELSE ({expr})::text END"
    )


# The replies' JSON text is put together by the database (a scores reply's rows, a rankings reply
# whole): every string goes through to_json(), which escapes it; ids and counts cannot need escaping,
# and the period labels and dates come from Python.
_HEAD = """concat('{{"group_by":', to_json($9::text), ',"period":', to_json($10::text), {middle}, ',"rows":[',
                  {rows}, ']}}')"""


def _periods(shown: date, end: date, period: str) -> tuple[list[date], list[str]]:
    """The periods shown, [shown, end), and for each the JSON text between a row's `"period":"` and its
    inspections count: its label (rules.label), its first day, and the next key."""
    starts: list[date] = []
    day = shown
    while day < end:
        starts.append(day)
        day = rules.add_periods(day, period, 1)
    return starts, [f'{rules.label(d, period)}","period_start":"{d.isoformat()}","inspections":' for d in starts]


async def scores_json(
    conn: Connection,
    scope: Scope,
    *,
    group_by: str,
    period: str,
    first: date,
    last: date,
    start: date,
    shown: date,
    end: date,
    template_id: UUID | None,
    region_id: UUID | None,
    district_id: UUID | None,
) -> bytes:
    """The whole /dashboard/scores reply (ScoresOut) as UTF-8 JSON: PostgreSQL writes each row's text,
    one result row per reply row in the reply's order, and they are joined here between the head and
    the tail.

    The figures cover [start, end), one period more than the periods shown, [shown, end), so that the
    first period shown has a trend too. A row's previous average is its group's figure for the period
    just before, when there is one: lag() finds the group's latest earlier row, which counts only if it
    is the adjacent period. Rows are ordered as the bare read orders them: by period, then group name
    (the database's collation) and id. The extra period's rows are dropped after the trend is taken.

    It is the bare read (scores() above) with the trend and the text added, and little more, since
    every step costs planning on each request too: the periods' text comes from Python as two arrays
    (_periods), looked up per row, instead of a generated series joined in; each group's text and
    place in the name order are worked out once, not once per period (_figures, _named).

    The rows are not aggregated into one value in the database: that made PostgreSQL build the whole
    reply as one string and copy it three times more (the document, its bytes, the message sent),
    each copy in fresh memory. A region's station chart (690 kB) cost about 1,500 page faults per
    request, a fifth of the statement's time; the whole country's (33 MB) held a backend at a quarter
    of a gigabyte. Row by row, the backend's memory stays flat.
    """
    figures, names = _figures(group_by, period, scope, region_id, district_id, heads=True)
    # Joined with || rather than concat(), which looks up every argument's output function again on
    # each call (about 1 ms of a region's 2,613-row station chart). No part can be null: the head and
    # the label always exist, the counts are sums of rows that exist, and _json_float writes 'null'.
    row = """convert_to(x.head || ($10::text[])[array_position($9::date[], t.period_start)] || t.inspections::text
                         || ',"avg_percent":' || {avg} || ',"critical_failed":' || t.critical_failed::text
                         || ',"previous_avg_percent":' || {previous} || ',"change":' || {change} || '}}', 'UTF8')""".format(
        avg=_json_float("t.avg_percent"),
        previous=_json_float("t.previous"),
        change=_json_float("t.avg_percent - t.previous"),
    )
    sql = f"""
        WITH {figures},
        t AS (SELECT f.*, CASE WHEN lag(f.period_start) OVER w = (f.period_start - interval '{_PERIODS[period]} months')::date
                               THEN lag(f.avg_percent) OVER w END AS previous
                FROM f WINDOW w AS (PARTITION BY f.group_id ORDER BY f.period_start))
        SELECT {row}
          FROM t JOIN {names} x ON x.id = t.group_id
         WHERE t.period_start >= $11
         ORDER BY t.period_start, x.ord"""
    rows = await conn.fetch(
        sql,
        *scope,
        start,
        end,
        template_id,
        region_id,
        district_id,
        *_periods(shown, end, period),
        shown,
    )
    head = b'{"group_by":%b,"period":%b,"from":%b,"to":%b,"rows":[' % tuple(
        msgspec.json.encode(value) for value in (group_by, period, first, last)
    )
    return b"".join((head, b",".join([r[0] for r in rows]), b"]}"))


async def rankings_json(
    conn: Connection,
    scope: Scope,
    *,
    group_by: str,
    period: str,
    current: date,
    previous: date,
    end: date,
    labels: tuple[str, str],
    template_id: UUID | None,
    region_id: UUID | None,
    district_id: UUID | None,
    limit: int,
) -> bytes:
    """The whole /dashboard/rankings reply (RankingsOut) as UTF-8 JSON, built by PostgreSQL in one statement.

    Groups are ranked in the period starting at `current` and in the one before (`previous`; together
    [previous, end)); `labels` are those two periods' labels. Competition ranking by average percent,
    best first ("1, 2, 2, 4": rank() over the average alone, so equal averages share a rank); groups
    without a scored inspection are not ranked. The first `limit` rows are shown, by average, then by
    name in code point order (COLLATE "C", as Python compares strings), then by id; only rows ranked
    within `limit` can be among them, so only those are named and sorted by name. Each shows its rank
    and average in the period before when it was ranked then.
    """
    head = _HEAD.format(
        middle="""',"current":', to_json($11::text), ',"previous":', to_json($12::text)""",
        rows="""
        string_agg(concat('{{"rank":', n.rank, ',"group_id":"', n.group_id, '","group_name":', to_json(n.name_en),
                          ',"name_ur":', to_json(n.name_ur), ',"code":', to_json(n.code), ',"inspections":',
                          n.inspections, ',"avg_percent":', {avg}, ',"critical_failed":', n.critical_failed,
                          ',"previous_rank":', COALESCE(p.rank::text, 'null'), ',"previous_avg_percent":', {previous},
                          ',"change":', {change}, '}}'),
                   ',' ORDER BY n.avg_percent DESC, n.name_en COLLATE "C", n.group_id)""".format(
            avg=_json_float("n.avg_percent"),
            previous=_json_float("p.avg_percent"),
            change=_json_float("n.avg_percent - p.avg_percent"),
        ),
    )
    figures, names = _figures(group_by, period, scope, region_id, district_id)
    sql = f"""
        WITH {figures},
        k AS (SELECT f.*, rank() OVER (PARTITION BY f.period_start ORDER BY f.avg_percent DESC) AS rank
                FROM f WHERE f.avg_percent IS NOT NULL),
        n AS (SELECT k.*, x.name_en, x.name_ur, x.code
                FROM k JOIN {names} x ON x.id = k.group_id
               WHERE k.period_start = $13 AND k.rank <= $15
               ORDER BY k.avg_percent DESC, x.name_en COLLATE "C", k.group_id
               LIMIT $15)
        SELECT convert_to({head}, 'UTF8')
          FROM n LEFT JOIN k p ON p.period_start = $14 AND p.group_id = n.group_id"""
    return await conn.fetchval(
        sql,
        *scope,
        previous,
        end,
        template_id,
        region_id,
        district_id,
        group_by,
        period,
        *labels,
        current,
        previous,
        limit,
    )


# Item failures are stored as arrays by item position per cell (schema 0008): the cells in scope are
# unnested and summed per template and position, and only the positions that failed anywhere are named
# from template_items, after the sum.
def _failed_items(cells: str, where: str) -> str:
    return f"""
    SELECT p.template_id, t.item_key, t.label_en, t.label_ur, p.failed, p.answered
      FROM (SELECT f.template_id, x.position, sum(x.failed)::int AS failed, sum(x.answered)::int AS answered
              FROM {cells}
              CROSS JOIN LATERAL unnest(f.failed, f.answered) WITH ORDINALITY AS x (failed, answered, position)
             WHERE {where}
             GROUP BY f.template_id, x.position
            HAVING sum(x.failed) > 0) p
      JOIN template_items t ON t.template_id = p.template_id AND t.position = p.position
     ORDER BY p.failed DESC, p.failed::float8 / p.answered DESC, t.item_key, p.template_id
     LIMIT $9"""


_FAILED_BY_DISTRICT = _failed_items(
    "rollup_item_counts f JOIN districts d ON d.id = f.district_id",
    f"""{SCOPE_SQL} AND f.period_start >= $4 AND f.period_start < $5 AND ($6::uuid IS NULL OR f.template_id = $6)
               AND ($7::uuid IS NULL OR d.region_id = $7) AND ($8::uuid IS NULL OR d.id = $8)""",
)

# For a whole region or the whole country: a row per region and month. $2 and $8 (district scope and
# filter) are never set when this one is chosen; they are bound for a uniform signature.
_FAILED_BY_REGION = _failed_items(
    "rollup_item_counts_region f",
    """($1::bool OR f.region_id = ANY($3::uuid[])) AND cardinality($2::uuid[]) >= 0 AND $8::uuid IS NULL
               AND f.period_start >= $4 AND f.period_start < $5
               AND ($6::uuid IS NULL OR f.template_id = $6) AND ($7::uuid IS NULL OR f.region_id = $7)""",
)


async def failed_items(
    conn: Connection,
    scope: Scope,
    *,
    start: date,
    end: date,
    template_id: UUID | None,
    region_id: UUID | None,
    district_id: UUID | None,
    limit: int,
) -> list[Record]:
    """Items by failures in [start, end), most failed first (then by rate).

    Users whose scope is made of whole regions (administrators, regional officers) read the region
    grain; anyone scoped to districts, or asking for one district, reads the district grain.
    """
    is_admin, district_ids, _ = scope
    whole_regions = district_id is None and (is_admin or not district_ids)
    return await conn.fetch(
        _FAILED_BY_REGION if whole_regions else _FAILED_BY_DISTRICT,
        *scope,
        start,
        end,
        template_id,
        region_id,
        district_id,
        limit,
    )


async def overdue_assignments(
    conn: Connection, scope: Scope, limit: int, *, region_id: UUID | None = None, district_id: UUID | None = None
) -> list[Record]:
    """Open assignments past their due date (Pakistan's calendar), most overdue first, in one region or
    district if given; `needs_inspector` when their inspector can no longer do them
    (assignments.queries.SERVES); `held_back` when their station is deactivated or their template
    archived (assignments.queries.HELD_BACK)."""
    today = f"(now() AT TIME ZONE '{REPORTING_TZ}')::date"
    return await conn.fetch(
        f"""SELECT a.id, a.due_date, {today} - a.due_date AS days_overdue, NOT {SERVES} AS needs_inspector,
                   {HELD_BACK} AS held_back,
                   s.id AS station_id, s.code AS station_code, s.name_en AS station_en, s.name_ur AS station_ur,
                   d.id AS district_id, d.name_en AS district_en, d.name_ur AS district_ur,
                   t.id AS template_id, t.title_en, t.title_ur, u.id AS inspector_id, u.display_name AS inspector_name
              FROM assignments a
              JOIN stations s ON s.id = a.station_id
              JOIN districts d ON d.id = s.district_id
              JOIN templates t ON t.id = a.template_id
              JOIN users u ON u.id = a.inspector_id
             WHERE {SCOPE_SQL} AND a.status = 'open' AND a.due_date < {today}
               AND ($5::uuid IS NULL OR d.region_id = $5) AND ($6::uuid IS NULL OR d.id = $6)
             ORDER BY a.due_date, a.id
             LIMIT $4""",
        *scope,
        limit,
        region_id,
        district_id,
    )
