"""Dashboard rollups, kept up to date inside the transaction of every change to an inspection.

The rule is simple on purpose: every transition of an inspection is "take it out, change it, put it
back". `apply_inspection(conn, id, -1)` takes out exactly what the rollup_ledger says the inspection
added; `apply_inspection(conn, id, +1)` adds the inspection's current stored state if it counts
(submitted or approved) and is not counted yet. Both are idempotent, so a hook that runs twice, or a
transition that does not change whether the inspection counts, cannot double-count or drift.

What counts (decided here, see DESIGN §7 dashboards):
- an inspection counts while its status is `submitted` or `approved`, in the month it was made, in
  Pakistan time (the province's calendar, not UTC's): `made_at`, the time its phone said it was
  finished when that clock could have been right, else the time its first submission reached the
  server (schema 0016). A returned inspection is being corrected, so a return takes it out and the
  resubmission puts it back, in the same month: correcting an inspection never moves it;
- its percent is the stored `score_percent`, which already includes a reviewer's overrides;
- an item is "answered" when its effective score (the override in force, else the inspector's
  score) is not null, and "failed" when that score is exactly 0 — the same test that makes a
  critical item fail in the scoring engine. A quarter is the sum of its three months.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from asyncpg import Connection

REPORTING_TZ = "Asia/Karachi"

# LOCK_ORDER. Every transaction that changes an inspection takes its row locks in this order, so that two
# of them wait for each other instead of deadlocking:
#   1. the inspection's own row (FOR UPDATE / FOR NO KEY UPDATE), and, writing it, the lock of its GPS fix
#      (a precise fix's first submission, schema 0027) and the rows of the earlier visits it marks;
#   2. the single sync_state row, taken by the first sync_stamp() of the transaction (completing an
#      assignment, opening or reopening a corrective action); every submission and review that may
#      stamp takes it before step 3 (see take_sync_state);
#   3. the rollup rows of its station, district and region, in key order (_APPLY);
#   4. the audit chain's advisory lock, taken at commit (schema 0007).
# A transaction may skip a step, never go back to an earlier one. A move in the hierarchy (follow_hierarchy)
# takes no inspection row and no sync_state: it locks the whole ledger table, then the rollup rows.
COUNTED_STATUSES = ("submitted", "approved")

# The item scores that count for an inspection: the reviewer's override where one is in force,
# otherwise the inspector's own score; plus overridden items that have no answer row at all.
EFFECTIVE_SCORES = """
    SELECT a.item_key, COALESCE(o.score, a.score) AS s
      FROM answers a
      LEFT JOIN score_overrides o
             ON o.inspection_id = a.inspection_id AND o.item_key = a.item_key AND o.superseded_at IS NULL
     WHERE a.inspection_id = $1
    UNION ALL
    SELECT o.item_key, o.score
      FROM score_overrides o
     WHERE o.inspection_id = $1 AND o.superseded_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.inspection_id = $1 AND a.item_key = o.item_key)
"""

_LEDGER_COLUMNS = (
    "inspection_id, station_id, district_id, region_id, template_id, period_start, percent, critical_failed, overridden"
)

# What an inspection adds: its current stored state, if it counts. Also used by rebuild_all.
_COUNTED = f"""
    SELECT i.id, i.station_id, s.district_id, d.region_id, tv.template_id,
           date_trunc('month', i.made_at AT TIME ZONE '{REPORTING_TZ}')::date,
           i.score_percent, i.critical_failed,
           EXISTS (SELECT 1 FROM score_overrides o WHERE o.inspection_id = i.id AND o.superseded_at IS NULL)
      FROM inspections i
      JOIN stations s ON s.id = i.station_id
      JOIN districts d ON d.id = s.district_id
      JOIN template_versions tv ON tv.id = i.template_version_id
     WHERE i.status IN ('submitted', 'approved') AND i.made_at IS NOT NULL"""

_ADD_LEDGER = f"""
    INSERT INTO rollup_ledger ({_LEDGER_COLUMNS})
    {_COUNTED} AND i.id = $1
    ON CONFLICT (inspection_id) DO NOTHING
    RETURNING *"""

_TAKE_LEDGER = "DELETE FROM rollup_ledger WHERE inspection_id = $1 RETURNING *"


def _period_upsert(table: str, key: str) -> str:
    return f"""
    INSERT INTO {table} AS r
           (period_start, {key}, template_id, inspections, scored, sum_percent, critical_failed, overridden)
    SELECT l.period_start, l.{key}, l.template_id, $2::int, $2::int * (l.percent IS NOT NULL)::int,
           $2::int * COALESCE(l.percent::numeric, 0), $2::int * l.critical_failed::int, $2::int * l.overridden::int
      FROM l
    ON CONFLICT (period_start, {key}, template_id) DO UPDATE
       SET inspections = r.inspections + EXCLUDED.inspections, scored = r.scored + EXCLUDED.scored,
           sum_percent = r.sum_percent + EXCLUDED.sum_percent,
           critical_failed = r.critical_failed + EXCLUDED.critical_failed,
           overridden = r.overridden + EXCLUDED.overridden"""


def _counts_upsert(table: str, key: str) -> str:
    # One row per cell: the inspection's item counts, as arrays by item position (schema 0008), added
    # element by element to the cell's.
    return f"""
    INSERT INTO {table} AS r (period_start, template_id, {key}, failed, answered)
    SELECT l.period_start, l.template_id, l.{key}, c.failed, c.answered
      FROM l CROSS JOIN c
    ON CONFLICT (period_start, template_id, {key}) DO UPDATE
       SET failed = int_array_add(r.failed, EXCLUDED.failed),
           answered = int_array_add(r.answered, EXCLUDED.answered)"""


# One statement (one round trip inside the submit transaction) moves the ledger and every rollup.
# `c` holds the inspection's item counts times the sign, at every position of its template (zero for
# an item it has no score for); it has no row when the ledger moved nothing. The scores meet the
# template's positions in a FULL JOIN, which PostgreSQL can only run as a hash or merge join: as a LEFT
# JOIN, with a young database's statistics or in the generic plan a pooled connection keeps, it chose a
# nested loop comparing every key with every other (90,000 comparisons for a 300-item template, about
# 6 ms of CPU on every submission). The aggregates' FILTER drops a score with no position (an
# override of an item the template lacks) without a WHERE that would turn the join back into a LEFT one.
_APPLY = f"""
WITH l AS ({{ledger}}),
e AS (SELECT item_key, s FROM ({EFFECTIVE_SCORES}) x WHERE s IS NOT NULL AND EXISTS (SELECT 1 FROM l)),
c AS (SELECT array_agg(CASE WHEN e.s = 0 THEN $2::int ELSE 0 END ORDER BY t.position)
                 FILTER (WHERE t.position IS NOT NULL) AS failed,
             array_agg(CASE WHEN e.s IS NOT NULL THEN $2::int ELSE 0 END ORDER BY t.position)
                 FILTER (WHERE t.position IS NOT NULL) AS answered
        FROM (SELECT t.item_key, t.position FROM l JOIN template_items t ON t.template_id = l.template_id) t
        FULL JOIN e ON e.item_key = t.item_key
      HAVING count(t.position) > 0),
st AS ({_period_upsert("rollup_station_period", "station_id")}),
dt AS ({_period_upsert("rollup_district_period", "district_id")}),
ri AS ({_counts_upsert("rollup_item_counts_region", "region_id")})
{_counts_upsert("rollup_item_counts", "district_id")}
"""

_ADD = _APPLY.format(ledger=_ADD_LEDGER)
_SUBTRACT = _APPLY.format(ledger=_TAKE_LEDGER)


async def take_sync_state(conn: Connection) -> None:
    """Take the sync_state row lock now, for a transaction that may stamp a row after it has touched
    the rollups (LOCK_ORDER, step 2). A later sync_stamp() in the same transaction already holds it."""
    await conn.execute("SELECT 1 FROM sync_state FOR UPDATE")


async def apply_inspection(conn: Connection, inspection_id: UUID, sign: int) -> None:
    """Add (+1) the inspection's current state to the rollups, or take out (-1) what it added."""
    if sign not in (1, -1):
        raise ValueError("sign must be +1 or -1")
    await conn.execute(_ADD if sign > 0 else _SUBTRACT, inspection_id, sign)


# Counted inspections of the given stations, or of every station of the given districts, whose ledger
# row names another district or region than the station is in now.
_MISATTRIBUTED = """
    SELECT l.inspection_id
      FROM rollup_ledger l
      JOIN stations s ON s.id = l.station_id
      JOIN districts d ON d.id = s.district_id
     WHERE (s.id = ANY($1::uuid[]) OR s.district_id = ANY($2::uuid[]))
       AND (l.district_id, l.region_id) IS DISTINCT FROM (s.district_id, d.region_id)
     ORDER BY l.inspection_id"""


# Every region a district's counted inspections are counted under, and whether it is the district's now.
_COUNTED_REGIONS = """
    SELECT DISTINCT l.region_id, l.region_id = d.region_id AS current
      FROM rollup_ledger l JOIN districts d ON d.id = l.district_id
     WHERE l.district_id = $1"""

# A district's counted inspections from region $2 to the region it is in now: its cells of the item
# counts out of $2's and into the new region's, and its ledger rows relabelled. Its district grain
# (scores, item counts) is keyed by the district alone and stays as it is. Ends with the ledger's
# UPDATE, whose row count is the number of inspections moved.
_NEGATED = "ARRAY(SELECT -x FROM unnest({a}) WITH ORDINALITY AS u (x, n) ORDER BY n)"
_MOVE_DISTRICT = f"""
WITH c AS (SELECT k.period_start, k.template_id, k.failed, k.answered, d.region_id AS new_region
             FROM rollup_item_counts k JOIN districts d ON d.id = k.district_id
            WHERE k.district_id = $1),
out AS (UPDATE rollup_item_counts_region r
           SET failed = int_array_add(r.failed, {_NEGATED.format(a="c.failed")}),
               answered = int_array_add(r.answered, {_NEGATED.format(a="c.answered")})
          FROM c
         WHERE r.region_id = $2 AND r.period_start = c.period_start AND r.template_id = c.template_id),
ins AS (INSERT INTO rollup_item_counts_region AS r (period_start, template_id, region_id, failed, answered)
        SELECT c.period_start, c.template_id, c.new_region, c.failed, c.answered FROM c
        ON CONFLICT (period_start, template_id, region_id) DO UPDATE
           SET failed = int_array_add(r.failed, EXCLUDED.failed),
               answered = int_array_add(r.answered, EXCLUDED.answered))
UPDATE rollup_ledger l SET region_id = d.region_id
  FROM districts d
 WHERE l.district_id = $1 AND d.id = $1 AND l.region_id = $2"""


async def follow_hierarchy(
    conn: Connection, *, station_ids: Sequence[UUID] = (), district_ids: Sequence[UUID] = ()
) -> int:
    """Count the inspections of these stations (or of every station in these districts) under the
    district and region each station is in now, after a station, a circle or a district moved; in the
    caller's transaction, after the move. Returns how many inspections moved.

    Charts by station always follow a station's current district, since they join the hierarchy as
    it is; the district and region grains hold what each inspection added where its station was at
    the time. Left alone, a moved station's past inspections would stay in its old district's
    figures and most-failed items (seen by that district's reviewers, though the station is no longer
    theirs) and the charts by station and by district would no longer add up. Each such inspection is
    taken out of where the ledger says it was counted and put back where its station is now.

    A district that moved to another region keeps its district grain; its region's item counts move
    a cell at a time (_MOVE_DISTRICT), whatever the number of its inspections.

    The rollup ledger is locked against every other change until commit (SHARE ROW EXCLUSIVE: reads
    go on, submissions and reviews wait; a move is a rare administrator's act, taking about 5 ms per
    inspection of a moved station). With no other change in flight, the inspections chosen are
    exactly those misattributed, and none can be counted meanwhile under the station's old place.
    """
    await conn.execute("LOCK TABLE rollup_ledger IN SHARE ROW EXCLUSIVE MODE")
    moved = 0
    for district_id in district_ids:
        # A district's few thousand inspections, one by one, would hold every submission back for half
        # a minute. Its cells hold all its counted inspections, so they move whole only when all of
        # them are counted under one region, and not the district's present one.
        counted = await conn.fetch(_COUNTED_REGIONS, district_id)
        if len(counted) == 1 and not counted[0]["current"]:
            moved += int((await conn.execute(_MOVE_DISTRICT, district_id, counted[0]["region_id"])).split()[-1])
    # Stations that moved, and whatever the district step left (a district counted under several regions).
    misattributed = await conn.fetch(_MISATTRIBUTED, list(station_ids), list(district_ids))
    for row in misattributed:
        await apply_inspection(conn, row["inspection_id"], -1)
        await apply_inspection(conn, row["inspection_id"], +1)
    return moved + len(misattributed)


ROLLUP_TABLES = (
    "rollup_station_period",
    "rollup_district_period",
    "rollup_item_counts",
    "rollup_item_counts_region",
)


def _counts_rebuild(table: str, key: str) -> str:
    # A cell's arrays from rebuild_all's per-item sums: every position of the template, zero where the
    # cell has no count, in position order; cells where nothing was answered get no row.
    return f"""
        INSERT INTO {table} (period_start, template_id, {key}, failed, answered)
            SELECT g.period_start, g.template_id, g.{key},
                   array_agg(COALESCE(s.failed, 0) ORDER BY t.position),
                   array_agg(COALESCE(s.answered, 0) ORDER BY t.position)
              FROM (SELECT period_start, template_id, {key} FROM rollup_rebuild_sums
                     GROUP BY 1, 2, 3 HAVING sum(answered) > 0) g
              JOIN template_items t ON t.template_id = g.template_id
              LEFT JOIN (SELECT period_start, template_id, {key}, item_key,
                                sum(failed)::int AS failed, sum(answered)::int AS answered
                           FROM rollup_rebuild_sums GROUP BY 1, 2, 3, 4) s
                     ON (s.period_start, s.template_id, s.{key}, s.item_key)
                      = (g.period_start, g.template_id, g.{key}, t.item_key)
             GROUP BY 1, 2, 3
             ORDER BY 1, 2, 3"""


async def rebuild_all(conn: Connection) -> None:
    """Recompute every rollup from the inspections (for a new installation or a repair).

    Set-based, for the benchmark and for operators; the app itself never needs it, since every
    change keeps the rollups current. Runs in the caller's transaction.
    """
    await conn.execute(f"TRUNCATE rollup_ledger, {', '.join(ROLLUP_TABLES)}")
    await conn.execute(f"INSERT INTO rollup_ledger ({_LEDGER_COLUMNS}) {_COUNTED}")
    for table, key in (("rollup_station_period", "station_id"), ("rollup_district_period", "district_id")):
        await conn.execute(f"""
            INSERT INTO {table}
                   (period_start, {key}, template_id, inspections, scored, sum_percent, critical_failed, overridden)
            SELECT period_start, {key}, template_id, count(*), count(percent), COALESCE(sum(percent::numeric), 0),
                   count(*) FILTER (WHERE critical_failed), count(*) FILTER (WHERE overridden)
              FROM rollup_ledger GROUP BY period_start, {key}, template_id ORDER BY 1, 2, 3""")
    # Rows go in in key order, so each primary key grows at its right edge instead of splitting pages.
    # Item counts: one pass over the answers, as one parallel-capable CREATE TABLE AS (an INSERT …
    # SELECT never runs in parallel), keyed by a small integer per (month, template, district, region)
    # cell instead of four columns, then corrected by the few overrides in force, then summed into
    # each grain. The work tables are unlogged and dropped at the end: temporary tables would keep
    # the parallel workers out.
    await conn.execute(f"""
        DROP TABLE IF EXISTS rollup_rebuild_cells, rollup_rebuild_members, rollup_rebuild_counts, rollup_rebuild_sums;
        CREATE UNLOGGED TABLE rollup_rebuild_cells AS
            SELECT row_number() OVER () AS cell, period_start, template_id, district_id, region_id
              FROM (SELECT DISTINCT period_start, template_id, district_id, region_id FROM rollup_ledger) c;
        CREATE UNLOGGED TABLE rollup_rebuild_members AS
            SELECT l.inspection_id, c.cell
              FROM rollup_ledger l JOIN rollup_rebuild_cells c USING (period_start, template_id, district_id, region_id);
        ANALYZE rollup_rebuild_cells, rollup_rebuild_members;
        CREATE UNLOGGED TABLE rollup_rebuild_counts AS
            SELECT m.cell, a.item_key, count(*) FILTER (WHERE a.score = 0) AS failed, count(*) AS answered
              FROM answers a JOIN rollup_rebuild_members m ON m.inspection_id = a.inspection_id
             WHERE a.score IS NOT NULL
             GROUP BY m.cell, a.item_key;
        INSERT INTO rollup_rebuild_counts (cell, item_key, failed, answered)
            SELECT m.cell, o.item_key, (o.score = 0)::int - COALESCE((a.score = 0)::int, 0),
                   1 - (a.score IS NOT NULL)::int
              FROM score_overrides o
              JOIN rollup_rebuild_members m ON m.inspection_id = o.inspection_id
              LEFT JOIN answers a ON a.inspection_id = o.inspection_id AND a.item_key = o.item_key
             WHERE o.superseded_at IS NULL;
        CREATE UNLOGGED TABLE rollup_rebuild_sums AS
            SELECT c.period_start, c.template_id, c.district_id, c.region_id, k.item_key,
                   sum(k.failed)::int AS failed, sum(k.answered)::int AS answered
              FROM rollup_rebuild_counts k JOIN rollup_rebuild_cells c USING (cell)
             GROUP BY 1, 2, 3, 4, 5;
        {_counts_rebuild("rollup_item_counts", "district_id")};
        {_counts_rebuild("rollup_item_counts_region", "region_id")};
        DROP TABLE rollup_rebuild_cells, rollup_rebuild_members, rollup_rebuild_counts, rollup_rebuild_sums;""")
