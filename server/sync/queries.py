"""SQL of the offline bundle. Scope is in every WHERE clause, on the district `d` of the station.

Full and delta reads are separate statements on purpose: a full read walks the scope's districts, a
delta walks the change_seq index, and one statement with both behind "$n IS NULL OR …" would get one
generic plan that suits neither.
"""

from __future__ import annotations

from uuid import UUID

from asyncpg import Connection, Record

from server.auth.models import SCOPE_SQL, Principal
from server.sync.rules import own_work_of

_STATION = "s.id, s.code, s.name_en, s.name_ur, s.district_id, s.circle_id, s.lat, s.lon, s.kind, s.sips, s.active"
# A visit at a deactivated station is held back (assignments.queries.HELD_BACK): the bundle leaves the
# station out, so it leaves the visit out too, and a delta removes it (deactivating the station marks its
# open visits changed); reactivated, the visit comes back with its station. One of an archived checklist
# stays, and the phone says the checklist was withdrawn and offers nothing to begin (views/inspector).
_ASSIGNMENT = """a.id, a.station_id, a.template_id, a.due_date, a.status, a.inspection_id,
                 (a.inspector_id = $4 AND a.status = 'open' AND s.active) AS mine_open"""


async def etag_inputs(conn: Connection, user: Principal) -> Record:
    """The inputs of the ETag (the change counter, the count of scope moves, the returned inspections
    the bundle carries: an inspector's own, nobody's for another role), in one round trip of two index
    lookups; and which database, on which timeline of its history, the counter counts in (`timeline`:
    rules.since_seq)."""
    return await conn.fetchrow(
        """SELECT s.seq, s.moves,
                  (SELECT c.system_identifier FROM pg_control_system() c) || ':'
                  || (SELECT c.timeline_id FROM pg_control_checkpoint() c) || ':'
                  || (SELECT d.oid FROM pg_database d WHERE d.datname = current_database()) AS timeline,
                  (SELECT md5(string_agg(i.id::text || ':' || i.revision || ':' || i.updated_at::text, ','
                                         ORDER BY i.id))
                     FROM inspections i WHERE i.inspector_id = $1 AND i.status = 'returned') AS returned
             FROM sync_state s""",
        own_work_of(user),
    )


async def stations(conn: Connection, user: Principal, since: int | None) -> list[Record]:
    if since is None:
        return await conn.fetch(
            f"""SELECT {_STATION} FROM stations s JOIN districts d ON d.id = s.district_id
                 WHERE {SCOPE_SQL} AND s.active ORDER BY s.code""",
            *user.scope_args(),
        )
    return await conn.fetch(
        f"""SELECT {_STATION} FROM stations s JOIN districts d ON d.id = s.district_id
             WHERE s.change_seq > $4 AND {SCOPE_SQL} ORDER BY s.code""",
        *user.scope_args(),
        since,
    )


async def stations_away(conn: Connection, user: Principal, station_ids: list[UUID]) -> list[Record]:
    """Of these stations (those of the caller's returned inspections), the ones the bundle's stations
    leave out: out of the caller's scope now (a transfer, a station moved) or deactivated. A returned
    inspection travels with its station, to be named and corrected there, and nothing new begun there."""
    if not station_ids:
        return []
    return await conn.fetch(
        f"""SELECT {_STATION} FROM stations s JOIN districts d ON d.id = s.district_id
             WHERE s.id = ANY($4::uuid[]) AND NOT ({SCOPE_SQL} AND s.active) ORDER BY s.code""",
        *user.scope_args(),
        station_ids,
    )


async def station_ids(conn: Connection, user: Principal) -> list[UUID]:
    rows = await conn.fetch(
        f"SELECT s.id FROM stations s JOIN districts d ON d.id = s.district_id WHERE {SCOPE_SQL} AND s.active",
        *user.scope_args(),
    )
    return [r["id"] for r in rows]


async def assignments(conn: Connection, user: Principal, since: int | None) -> list[Record]:
    """Full: the user's open assignments. Delta: every assignment in scope changed since the cursor;
    those not open for this user any more are removals (a phone ignores ids it never had). None at all
    for a user who is not an inspector (rules.own_work_of), not even removals."""
    if own_work_of(user) is None:
        return []
    if since is None:
        return await conn.fetch(
            f"""SELECT {_ASSIGNMENT}
                  FROM assignments a JOIN stations s ON s.id = a.station_id JOIN districts d ON d.id = s.district_id
                 WHERE a.inspector_id = $4 AND a.status = 'open' AND s.active AND {SCOPE_SQL}
                 ORDER BY a.due_date, a.id""",
            *user.scope_args(),
            user.id,
        )
    return await conn.fetch(
        f"""SELECT {_ASSIGNMENT}
              FROM assignments a JOIN stations s ON s.id = a.station_id JOIN districts d ON d.id = s.district_id
             WHERE a.change_seq > $5 AND {SCOPE_SQL}
             ORDER BY a.due_date, a.id""",
        *user.scope_args(),
        user.id,
        since,
    )


async def templates(conn: Connection, user: Principal, since: int | None) -> list[Record]:
    """The versions the user needs offline, or (with `since`) those of them changed after it.

    Needed: the latest published version of every non-archived template that applies to a kind of
    station in scope or to one of the user's open assignments, and every version pinned by the user's
    own editable (draft or returned) inspections, so a draft can be finished on the version it began.
    Assignments and inspections count only for an inspector (rules.own_work_of).
    A returned inspection's version is in every delta too: the phone that gets it back may not be the
    one that began it.

    `retired` marks a version that travels only for such work: not the offered latest (its template is
    archived, or a newer version superseded it). A delta resends a pinned version whenever that can have
    changed: its template archived or unarchived, or a newer version of it published.
    """
    return await conn.fetch(
        f"""WITH kinds AS (
                SELECT DISTINCT s.kind FROM stations s JOIN districts d ON d.id = s.district_id
                 WHERE {SCOPE_SQL} AND s.active
            ), latest AS (
                SELECT DISTINCT ON (tv.template_id) tv.id, tv.template_id, tv.kinds
                  FROM template_versions tv JOIN templates t ON t.id = tv.template_id
                 WHERE t.archived_at IS NULL
                 ORDER BY tv.template_id, tv.version DESC
            ), needed AS (
                SELECT l.id, false AS pinned, true AS offered FROM latest l
                 WHERE EXISTS (SELECT 1 FROM kinds)
                   AND (l.kinds IS NULL OR l.kinds && ARRAY(SELECT kind FROM kinds))
                UNION ALL
                SELECT l.id, false, true FROM latest l JOIN assignments a ON a.template_id = l.template_id
                 WHERE a.inspector_id = $4 AND a.status = 'open'
                UNION ALL
                SELECT i.template_version_id, i.status = 'returned', false FROM inspections i
                 WHERE i.inspector_id = $4 AND i.status IN ('draft', 'returned')
            )
            SELECT tv.id, tv.template_id, t.key, tv.version, tv.definition::text AS definition,
                   NOT n.offered AS retired
              FROM (SELECT id, bool_or(pinned) AS pinned, bool_or(offered) AS offered FROM needed GROUP BY id) n
                   JOIN template_versions tv ON tv.id = n.id JOIN templates t ON t.id = tv.template_id
             WHERE $5::bigint IS NULL OR n.pinned OR tv.change_seq > $5 OR t.change_seq > $5
                OR (NOT n.offered AND EXISTS (SELECT 1 FROM template_versions nv
                                               WHERE nv.template_id = tv.template_id
                                                 AND nv.version > tv.version AND nv.change_seq > $5))
             ORDER BY t.key, tv.version""",
        *user.scope_args(),
        own_work_of(user),
        since,
    )


async def archived_templates(conn: Connection, since: int) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT id FROM templates WHERE change_seq > $1 AND archived_at IS NOT NULL ORDER BY id", since
    )
    return [r["id"] for r in rows]


async def after_restore(conn: Connection) -> None:
    """Make every phone's cursor useless (each gets a full bundle once), as a move in the hierarchy does:
    after a restore the timeline cannot tell (a disk snapshot), the change counter counts again from the
    backup's number, and a cursor handed out before would name other changes (rules.py)."""
    async with conn.transaction():
        await conn.execute("UPDATE sync_state SET moves = moves + 1")
