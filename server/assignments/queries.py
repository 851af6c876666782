"""SQL for assignments and schedules, and their completion by a submitted inspection.

The inspections capability finds the assignment a submission completes in its own write statement
(open_assignment_sql) and finishes it with complete_found; complete_assignment does both for a caller
with a transaction of its own.

Scope: an assignment or schedule is visible when its station's district `d` is in the caller's scope
(`$1..$3` from Principal.scope_args()); an inspector additionally sees only their own.
At most one assignment per station and template is open at a time (a unique index in 0002), and at most
one schedule is active (0030).

Work whose inspector can no longer do it (SERVES below is false: the account was deactivated, given
another role, or moved to districts that do not cover the station, or the station moved away) stays
open under that inspector's name, since `inspector_id` is never empty (DESIGN §7), and is reported as
`needs_inspector` until someone reassigns it. A schedule in that state makes no new visits
(advance_schedule) and starts again once its inspector can serve it (resume_schedules).

Work can also be held back whoever its inspector is (HELD_BACK below): its station was deactivated or
its template archived. Such a visit stays open, reported as `held_back` with the reason; phones drop a
deactivated station's visit and show an archived template's as withdrawn (sync.queries); a schedule in
that state makes no new visits, and starts again when the station is reactivated or the template
unarchived (resume_schedules, called by those changes).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from asyncpg import Connection, Record

from server.assignments.models import AssignmentOut, Completion, ScheduleOut, Text
from server.assignments.rules import MONTHS, next_due
from server.auth.models import COVERS_SQL, SCOPE_SQL
from server.dashboards.rollup import REPORTING_TZ
from server.structs import PHONE_CLOCK_AHEAD_MINUTES, PHONE_CLOCK_DAYS

Scope = tuple[bool, list[UUID], list[UUID]]


# Whether user `u` can do the visits of station `s` (district `d`): what rules.assignment_problems asks
# of the inspector of a new assignment, so that visits made by hand and by a schedule meet one standard.
SERVES = f"(u.active AND u.role = 'inspector' AND {COVERS_SQL})"

# Why the work at station `s` with template `t` cannot go ahead whoever does it; NULL when it can.
# A checklist whose newest version is for other kinds of station (an admin narrowed `kinds` after the
# visit was made) is one the server refuses an inspection of there: its visit waits as well.
HELD_BACK = """(CASE WHEN NOT s.active THEN 'station_inactive'
                    WHEN t.archived_at IS NOT NULL THEN 'template_archived'
                    WHEN NOT coalesce((SELECT s.kind = ANY(v.kinds) FROM latest_version(t.id) v), true)
                    THEN 'template_other_kind' END)"""

# Due dates are Pakistan's calendar days, whatever the database server's time zone: an inspection
# due "today" is overdue from midnight in Lahore, as on the dashboards (dashboards.rollup.REPORTING_TZ).
TODAY = f"(now() AT TIME ZONE '{REPORTING_TZ}')::date"


async def today(conn: Connection) -> date:
    return await conn.fetchval(f"SELECT {TODAY}")


async def assignment_facts(
    conn: Connection, scope: Scope, station_id: UUID, template_id: UUID, inspector_id: UUID
) -> Record:
    """Everything rules.assignment_problems judges, in one round trip. The station counts as found
    only when it is inside the caller's scope; the inspector is visible when it works somewhere in it
    (as the users list shows a reviewer)."""
    return await conn.fetchrow(
        f"""SELECT s.id IS NOT NULL AS station_found, s.active AS station_active, s.kind AS station_kind,
                   u.id IS NOT NULL AS inspector_found, u.role AS inspector_role, u.active AS inspector_active,
                   u.id IS NOT NULL AND ($1::bool OR EXISTS (
                       SELECT 1 FROM districts d WHERE {SCOPE_SQL} AND {COVERS_SQL})) AS inspector_visible,
                   coalesce({COVERS_SQL}, false) AS inspector_covers,
                   t.id IS NOT NULL AS template_found, t.archived_at IS NOT NULL AS template_archived,
                   v.version AS template_version, v.kinds AS template_kinds
              FROM (SELECT 1) one
              LEFT JOIN (stations s JOIN districts d ON d.id = s.district_id) ON s.id = $4 AND {SCOPE_SQL}
              LEFT JOIN users u ON u.id = $5
              LEFT JOIN templates t ON t.id = $6
              LEFT JOIN LATERAL latest_version(t.id) v ON true""",
        *scope,
        station_id,
        inspector_id,
        template_id,
    )


async def open_assignment_id(conn: Connection, station_id: UUID, template_id: UUID) -> UUID | None:
    return await conn.fetchval(
        "SELECT id FROM assignments WHERE station_id = $1 AND template_id = $2 AND status = 'open'",
        station_id,
        template_id,
    )


async def insert_assignment(
    conn: Connection,
    *,
    station_id: UUID,
    template_id: UUID,
    inspector_id: UUID,
    due_date: date,
    schedule_id: UUID | None,
    created_by: UUID | None,
) -> UUID:
    return await conn.fetchval(
        """INSERT INTO assignments (station_id, template_id, inspector_id, due_date, schedule_id, created_by)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        station_id,
        template_id,
        inspector_id,
        due_date,
        schedule_id,
        created_by,
    )


_ASSIGNMENT_COLS = f"""a.id, a.station_id, a.template_id, a.inspector_id, a.due_date, a.status,
    a.status = 'open' AND a.due_date < {TODAY} AS overdue, a.status = 'open' AND NOT {SERVES} AS needs_inspector,
    CASE WHEN a.status = 'open' THEN {HELD_BACK} END AS held_back,
    a.inspection_id, i.inspector_id AS done_by_id, du.display_name AS done_by_name, a.schedule_id,
    s.code AS station_code, s.name_en AS station_name_en, s.name_ur AS station_name_ur,
    t.key AS template_key, t.title_en AS template_title_en, t.title_ur AS template_title_ur,
    u.display_name AS inspector_name, a.change_seq, a.created_at, a.updated_at"""

_ASSIGNMENT_FROM = """assignments a JOIN stations s ON s.id = a.station_id JOIN districts d ON d.id = s.district_id
    JOIN templates t ON t.id = a.template_id JOIN users u ON u.id = a.inspector_id
    LEFT JOIN inspections i ON i.id = a.inspection_id AND a.status = 'done' LEFT JOIN users du ON du.id = i.inspector_id"""


def _assignment_out(row: Record) -> AssignmentOut:
    data = dict(row)
    data["station_name"] = Text(en=data.pop("station_name_en"), ur=data.pop("station_name_ur"))
    data["template_title"] = Text(en=data.pop("template_title_en"), ur=data.pop("template_title_ur"))
    return AssignmentOut(**data)


async def list_assignments(
    conn: Connection,
    scope: Scope,
    *,
    own: UUID | None,
    inspector_id: UUID | None,
    station_id: UUID | None,
    template_id: UUID | None,
    status: str | None,
    overdue: bool | None,
    due_from: date | None,
    due_to: date | None,
    needs_inspector: bool | None,
    held_back: bool | None = None,
    limit: int,
    offset: int,
) -> list[AssignmentOut]:
    rows = await conn.fetch(
        f"""SELECT {_ASSIGNMENT_COLS} FROM {_ASSIGNMENT_FROM}
             WHERE {SCOPE_SQL} AND ($4::uuid IS NULL OR a.inspector_id = $4) AND ($5::uuid IS NULL OR a.inspector_id = $5)
               AND ($6::uuid IS NULL OR a.station_id = $6) AND ($7::uuid IS NULL OR a.template_id = $7)
               AND ($8::text IS NULL OR a.status = $8)
               AND ($9::bool IS NULL OR (a.status = 'open' AND a.due_date < {TODAY}) = $9)
               AND ($10::date IS NULL OR a.due_date >= $10) AND ($11::date IS NULL OR a.due_date <= $11)
               AND ($14::bool IS NULL OR (a.status = 'open' AND NOT {SERVES}) = $14)
               AND ($15::bool IS NULL OR (a.status = 'open' AND {HELD_BACK} IS NOT NULL) = $15)
             ORDER BY a.due_date, s.code, a.id LIMIT $12 OFFSET $13""",
        *scope,
        own,
        inspector_id,
        station_id,
        template_id,
        status,
        overdue,
        due_from,
        due_to,
        limit,
        offset,
        needs_inspector,
        held_back,
    )
    return [_assignment_out(r) for r in rows]


async def get_assignment(conn: Connection, scope: Scope, assignment_id: UUID, own: UUID | None) -> AssignmentOut | None:
    row = await conn.fetchrow(
        f"""SELECT {_ASSIGNMENT_COLS} FROM {_ASSIGNMENT_FROM}
             WHERE {SCOPE_SQL} AND a.id = $4 AND ($5::uuid IS NULL OR a.inspector_id = $5)""",
        *scope,
        assignment_id,
        own,
    )
    return _assignment_out(row) if row else None


async def lock_assignment(conn: Connection, scope: Scope, assignment_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"""SELECT a.id, a.station_id, a.template_id, a.inspector_id, a.due_date, a.status, a.schedule_id,
                   {HELD_BACK} AS held_back
              FROM assignments a JOIN stations s ON s.id = a.station_id JOIN districts d ON d.id = s.district_id
              JOIN templates t ON t.id = a.template_id
             WHERE {SCOPE_SQL} AND a.id = $4 FOR UPDATE OF a""",
        *scope,
        assignment_id,
    )


async def update_assignment(conn: Connection, assignment_id: UUID, changes: dict[str, Any]) -> None:
    names = [n for n in ("due_date", "inspector_id", "status") if n in changes]
    sets = "".join(f"{n} = ${i + 2}, " for i, n in enumerate(names))
    # change_seq moves so that the phones of the inspectors concerned pick the change up.
    await conn.execute(
        f"UPDATE assignments SET {sets}change_seq = nextval('change_seq'), updated_at = now() WHERE id = $1",
        assignment_id,
        *[changes[n] for n in names],
    )


# Schedules ---------------------------------------------------------------------------------------

_SCHEDULE_COLS = f"""c.id, c.station_id, c.template_id, c.inspector_id, c.frequency, c.next_due,
    coalesce(c.anchor_day, extract(day FROM c.next_due)::int)::int AS anchor_day, c.active,
    c.active AND NOT {SERVES} AS needs_inspector, CASE WHEN c.active THEN {HELD_BACK} END AS held_back,
    (SELECT a.id FROM assignments a WHERE a.schedule_id = c.id AND a.status = 'open' LIMIT 1) AS open_assignment_id,
    s.code AS station_code, t.key AS template_key, u.display_name AS inspector_name, c.created_at, c.updated_at"""

_SCHEDULE_FROM = """schedules c JOIN stations s ON s.id = c.station_id JOIN districts d ON d.id = s.district_id
    JOIN templates t ON t.id = c.template_id JOIN users u ON u.id = c.inspector_id"""


async def insert_schedule(
    conn: Connection,
    *,
    station_id: UUID,
    template_id: UUID,
    inspector_id: UUID,
    frequency: str,
    first_due: date,
    created_by: UUID | None,
) -> UUID:
    return await conn.fetchval(
        """INSERT INTO schedules (station_id, template_id, inspector_id, frequency, next_due, anchor_day, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
        station_id,
        template_id,
        inspector_id,
        frequency,
        first_due,
        first_due.day,
        created_by,
    )


async def list_schedules(
    conn: Connection,
    scope: Scope,
    *,
    own: UUID | None,
    inspector_id: UUID | None,
    station_id: UUID | None,
    template_id: UUID | None,
    active: bool | None,
    needs_inspector: bool | None,
    held_back: bool | None = None,
) -> list[ScheduleOut]:
    rows = await conn.fetch(
        f"""SELECT {_SCHEDULE_COLS} FROM {_SCHEDULE_FROM}
             WHERE {SCOPE_SQL} AND ($4::uuid IS NULL OR c.inspector_id = $4) AND ($5::uuid IS NULL OR c.inspector_id = $5)
               AND ($6::uuid IS NULL OR c.station_id = $6) AND ($7::uuid IS NULL OR c.template_id = $7)
               AND ($8::bool IS NULL OR c.active = $8)
               AND ($9::bool IS NULL OR (c.active AND NOT {SERVES}) = $9)
               AND ($10::bool IS NULL OR (c.active AND {HELD_BACK} IS NOT NULL) = $10)
             ORDER BY c.next_due, s.code, c.id""",
        *scope,
        own,
        inspector_id,
        station_id,
        template_id,
        active,
        needs_inspector,
        held_back,
    )
    return [ScheduleOut(**dict(r)) for r in rows]


async def get_schedule(conn: Connection, scope: Scope, schedule_id: UUID, own: UUID | None) -> ScheduleOut | None:
    row = await conn.fetchrow(
        f"""SELECT {_SCHEDULE_COLS} FROM {_SCHEDULE_FROM}
             WHERE {SCOPE_SQL} AND c.id = $4 AND ($5::uuid IS NULL OR c.inspector_id = $5)""",
        *scope,
        schedule_id,
        own,
    )
    return ScheduleOut(**dict(row)) if row else None


async def lock_schedule(conn: Connection, scope: Scope, schedule_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"""SELECT c.id, c.station_id, c.template_id, c.inspector_id, c.active
              FROM schedules c JOIN stations s ON s.id = c.station_id JOIN districts d ON d.id = s.district_id
             WHERE {SCOPE_SQL} AND c.id = $4 FOR UPDATE OF c""",
        *scope,
        schedule_id,
    )


async def update_schedule(conn: Connection, schedule_id: UUID, changes: dict[str, Any]) -> None:
    names = [n for n in ("inspector_id", "active") if n in changes]
    sets = "".join(f"{n} = ${i + 2}, " for i, n in enumerate(names))
    await conn.execute(
        f"UPDATE schedules SET {sets}updated_at = now() WHERE id = $1", schedule_id, *[changes[n] for n in names]
    )


async def active_schedule(conn: Connection, station_id: UUID, template_id: UUID) -> Record | None:
    """The station's active schedule for the template (at most one: schedules_one_active_idx in 0030),
    with its open visit if it has one."""
    return await conn.fetchrow(
        """SELECT c.id, (SELECT a.id FROM assignments a WHERE a.schedule_id = c.id AND a.status = 'open') AS assignment_id
             FROM schedules c WHERE c.station_id = $1 AND c.template_id = $2 AND c.active""",
        station_id,
        template_id,
    )


async def follow_rescheduled_visit(conn: Connection, schedule_id: UUID, due: date) -> None:
    """The schedule's next due date is its open visit's, moved: its later visits still fall on its
    anchor day (a schedule stored without one keeps the day it had)."""
    await conn.execute(
        """UPDATE schedules SET next_due = $2, anchor_day = coalesce(anchor_day, extract(day FROM next_due)::smallint),
                  updated_at = now()
            WHERE id = $1 AND active""",
        schedule_id,
        due,
    )


async def update_schedule_open_assignment(conn: Connection, schedule_id: UUID, changes: dict[str, Any]) -> UUID | None:
    """Apply a reassignment or cancellation to the schedule's open assignment, if it has one."""
    assignment_id = await conn.fetchval(
        "SELECT id FROM assignments WHERE schedule_id = $1 AND status = 'open' FOR UPDATE", schedule_id
    )
    if assignment_id is not None:
        await update_assignment(conn, assignment_id, changes)
    return assignment_id


async def advance_schedule(conn: Connection, schedule_id: UUID) -> tuple[UUID | None, date | None]:
    """Create the schedule's next assignment after its current one was completed or cancelled.

    Nothing is created for a stopped schedule, nor while it is held back (HELD_BACK: its station is
    deactivated or its template archived); resume_schedules makes the visit when that is undone. If an
    open assignment for the
    same station and template already exists (made by hand meanwhile), that one stands in for it.
    Nor is anything created while the schedule's inspector cannot serve the station (SERVES): a visit
    nobody can make would only sit on a phone that never sees it. The schedule keeps its last due
    date and is listed as needing an inspector; resume_schedules makes the visit once it has one.

    The inspector's row is read under a share lock. (The station's and the template's need none: switching
    either off or on locks its open visits first (lock_open_visits), so it waits for, or is waited for by,
    the submission closing one of them, and this reads them as that change commits them.) A change to
    that user being saved (switched on
    again, given the district) holds it: this waits, and judges SERVES on the row as the change
    commits it. Read as it was, the visit was held back here while the change's own resume_schedules,
    not seeing this transaction's completion or cancellation yet, took the old visit for still open:
    neither made the next one, and the schedule stopped for good.
    """
    sched = await conn.fetchrow(
        f"""SELECT c.station_id, c.template_id, c.inspector_id, c.frequency, c.next_due, c.anchor_day, c.active,
                  c.created_by, {HELD_BACK} AS held_back, {SERVES} AS serves, {TODAY} AS today
             FROM schedules c JOIN templates t ON t.id = c.template_id
             JOIN stations s ON s.id = c.station_id JOIN districts d ON d.id = s.district_id
             JOIN users u ON u.id = c.inspector_id
            WHERE c.id = $1 FOR UPDATE OF c FOR SHARE OF u""",
        schedule_id,
    )
    if sched is None or not sched["active"] or sched["held_back"] is not None or not sched["serves"]:
        return None, None
    try:
        due = next_due(sched["next_due"], sched["frequency"], anchor_day=sched["anchor_day"], after=sched["today"])
    except ValueError:
        # A schedule stored before due dates were bounded (rules.LATEST_DUE), at the calendar's end:
        # it has no next date. Completing or cancelling its visit must still succeed.
        return None, None
    new_id = await conn.fetchval(
        """INSERT INTO assignments (station_id, template_id, inspector_id, due_date, schedule_id, created_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (station_id, template_id) WHERE status = 'open' DO NOTHING RETURNING id""",
        sched["station_id"],
        sched["template_id"],
        sched["inspector_id"],
        due,
        schedule_id,
        sched["created_by"],
    )
    await conn.execute("UPDATE schedules SET next_due = $2, updated_at = now() WHERE id = $1", schedule_id, due)
    return new_id, due


async def resume_schedules(
    conn: Connection,
    *,
    inspector_id: UUID | None = None,
    schedule_id: UUID | None = None,
    station_id: UUID | None = None,
    template_id: UUID | None = None,
) -> dict[UUID, UUID]:
    """Make the next visit of each active schedule (of `inspector_id`, or the one `schedule_id`, or
    those of `station_id` or `template_id`) that has no open visit at its station and can go ahead now:
    one that advance_schedule held back while it needed an inspector, its station was deactivated or
    its template archived. Returns {schedule id: new assignment id}."""
    waiting = await conn.fetch(
        f"""SELECT c.id FROM schedules c JOIN templates t ON t.id = c.template_id
             JOIN stations s ON s.id = c.station_id JOIN districts d ON d.id = s.district_id
             JOIN users u ON u.id = c.inspector_id
            WHERE c.active AND {SERVES} AND {HELD_BACK} IS NULL
              AND ($1::uuid IS NULL OR c.inspector_id = $1) AND ($2::uuid IS NULL OR c.id = $2)
              AND ($3::uuid IS NULL OR c.station_id = $3) AND ($4::uuid IS NULL OR c.template_id = $4)
              AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.station_id = c.station_id
                                 AND a.template_id = c.template_id AND a.status = 'open')
            ORDER BY c.id""",
        inspector_id,
        schedule_id,
        station_id,
        template_id,
    )
    made = {}
    for row in waiting:
        new_id, _ = await advance_schedule(conn, row["id"])
        if new_id is not None:
            made[row["id"]] = new_id
    return made


async def resume_at(conn: Connection, station_id: UUID, template_id: UUID) -> UUID | None:
    """The visit the station's schedule for the template makes, if it has none open and can go ahead
    (resume_schedules; a station has at most one active schedule per template, 0030)."""
    made = await resume_schedules(conn, station_id=station_id, template_id=template_id)
    return next(iter(made.values()), None)


async def lock_open_visits(
    conn: Connection, *, station_id: UUID | None = None, template_id: UUID | None = None
) -> None:
    """Lock the open visits at a station, or of a template, before that station or template is switched
    off or on (then hold_back_changed).

    A submission locks the visit it closes first, then stamps the bundle's change order (sync_state) and
    share-locks the station and template (advance_schedule). The station's or template's own UPDATE
    stamps first; were its visits locked after that, each would wait on the other, and PostgreSQL would
    end one as a deadlock. Taking the visits first, in id order as every other taker of several does,
    keeps one order."""
    await conn.execute(
        """SELECT id FROM assignments
            WHERE status = 'open' AND ($1::uuid IS NULL OR station_id = $1) AND ($2::uuid IS NULL OR template_id = $2)
            ORDER BY id FOR UPDATE""",
        station_id,
        template_id,
    )


async def hold_back_changed(
    conn: Connection, *, station_id: UUID | None = None, template_id: UUID | None = None, resume: bool
) -> dict[UUID, UUID]:
    """After a station or template was switched off or on (HELD_BACK): its open visits are marked
    changed, so that a phone's next bundle drops them (or carries them again), and when it is back, its
    schedules held back meanwhile make their next visits. Returns what resume_schedules made."""
    await conn.execute(
        """UPDATE assignments SET change_seq = nextval('change_seq')
            WHERE status = 'open' AND ($1::uuid IS NULL OR station_id = $1) AND ($2::uuid IS NULL OR template_id = $2)""",
        station_id,
        template_id,
    )
    return await resume_schedules(conn, station_id=station_id, template_id=template_id) if resume else {}


async def work_needing_inspector(conn: Connection, inspector_id: UUID) -> tuple[list[UUID], list[UUID]]:
    """The open assignments and active schedules of `inspector_id` that they cannot serve (SERVES)."""
    assignments = await conn.fetch(
        f"""SELECT a.id FROM assignments a JOIN users u ON u.id = a.inspector_id
             JOIN stations s ON s.id = a.station_id JOIN districts d ON d.id = s.district_id
            WHERE a.inspector_id = $1 AND a.status = 'open' AND NOT {SERVES} ORDER BY a.due_date, a.id""",
        inspector_id,
    )
    schedules = await conn.fetch(
        f"""SELECT c.id FROM schedules c JOIN users u ON u.id = c.inspector_id
             JOIN stations s ON s.id = c.station_id JOIN districts d ON d.id = s.district_id
            WHERE c.inspector_id = $1 AND c.active AND NOT {SERVES} ORDER BY c.next_due, c.id""",
        inspector_id,
    )
    return [r["id"] for r in assignments], [r["id"] for r in schedules]


# The months between a schedule's (`c`) visits (rules.MONTHS), and the first day of the period its visit
# due on `due` covers: the previous occurrence's due date, one step back on the schedule's anchor day
# (rules.add_months, in SQL: the month's last day when the anchor day is past it).
_STEP = "CASE c.frequency " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in MONTHS.items()) + " END"


def period_start_sql(due: str) -> str:
    month = f"(date_trunc('month', ({due})::timestamp) - make_interval(months => {_STEP}))"
    anchor = "coalesce(c.anchor_day, extract(day FROM c.next_due))::int"
    last = f"extract(day FROM {month} + interval '1 month' - interval '1 day')::int"
    return f"({month} + make_interval(days => least({anchor}, {last}) - 1))::date"


def open_assignment_sql(
    station: str, template: str, inspection: str, when: str = "TRUE", started: str | None = None
) -> str:
    """A query for the open assignment (id, schedule_id) that an inspection (`inspection`, SQL) of a
    template (`template`, the template's id, not the version's) at a station (`station`) completes,
    locked FOR UPDATE; no row when there is none or when the inspection has already completed one
    (a replay or a resubmission). The statement that writes a submission runs it as one of its WITH
    items, so that a submission with no assignment to complete (an unplanned inspection) costs no
    round trip for it; complete_found then finishes what it found. `when` is a further condition.

    `started` (SQL) is when the phone says the inspection began; a start the phone's clock cannot have
    been right about (structs.phone_time's window), or none, is unknown. An inspection answers a visit
    planned before it began, or up to an hour after (a phone's clock a little slow, an inspector already
    at the station when someone plans the visit): one begun earlier and sent days later, after a later
    visit was planned, is not what that visit asked for, and leaves it open. The hour is not given for a
    visit a schedule made after its first (advance_schedule, at a submission or a cancellation): nobody
    planned it with an inspector at the station, and an inspection begun before it existed was meant
    for the visit before it.

    A visit a schedule made covers one period: from the previous occurrence's due date (Pakistan time)
    to its own. Only an inspection begun in it completes it; one begun earlier (a second inspection
    minutes after the first completed this month's visit, or a late submission of a visit cancelled
    meanwhile) stays unplanned, and next month's visit stays open for next month. An unknown start is
    taken as the submission's time, the latest it can have been. A one-off visit has no period.

    Without `started` (complete_assignment, for callers that complete a visit themselves) neither the
    hour nor the period is judged."""
    begun = "NULL::timestamptz"
    in_period = "TRUE"
    if started is not None:
        begun = f"""(CASE WHEN {started}::timestamptz BETWEEN now() - make_interval(days => {PHONE_CLOCK_DAYS})
                                                   AND now() + make_interval(mins => {PHONE_CLOCK_AHEAD_MINUTES})
                     THEN {started}::timestamptz END)"""
        in_period = f"""(c.id IS NULL OR coalesce({begun}, now())
                   >= ({period_start_sql("a.due_date")}::timestamp AT TIME ZONE '{REPORTING_TZ}'))"""
    return f"""SELECT a.id, a.schedule_id FROM assignments a LEFT JOIN schedules c ON c.id = a.schedule_id
            WHERE a.station_id = {station} AND a.template_id = {template} AND a.status = 'open'
              AND NOT EXISTS (SELECT 1 FROM assignments done WHERE done.inspection_id = {inspection})
              AND {when}
              AND ({begun} IS NULL OR {begun} >= a.created_at - CASE
                   WHEN EXISTS (SELECT 1 FROM assignments prior WHERE prior.schedule_id = a.schedule_id
                                   AND prior.id <> a.id) THEN interval '0' ELSE interval '1 hour' END)
              AND {in_period}
              FOR UPDATE OF a"""


_OPEN_ASSIGNMENT = open_assignment_sql("$1", "$2", "$3")


async def complete_assignment(
    conn: Connection, station_id: UUID, template_id: UUID, inspection_id: UUID
) -> Completion | None:
    """Mark the open assignment for this station and template done by `inspection_id`, and if it came
    from a schedule, create the schedule's next assignment; None when nothing was completed (no open
    assignment: an unplanned inspection, or a replay). Idempotent, and meant for the transaction that
    submits the inspection. The inspections capability does the same in fewer round trips: its write
    statement runs open_assignment_sql, then it calls complete_found. `template_id` is the template's
    id, not the version's (template_versions.template_id).
    """
    found = await conn.fetchrow(_OPEN_ASSIGNMENT, station_id, template_id, inspection_id)
    if found is None:
        return None
    return await complete_found(conn, found["id"], found["schedule_id"], inspection_id)


async def complete_found(
    conn: Connection, assignment_id: UUID | None, schedule_id: UUID | None, inspection_id: UUID
) -> Completion | None:
    """complete_assignment for the assignment (and its schedule) that an open_assignment_sql query
    found and locked in this transaction; None when it found none (`assignment_id` None)."""
    if assignment_id is None:
        return None
    # Whether a schedule waits at the station: one whose visit a one-off visit stood in for
    # (advance_schedule) makes its next one now. Asked with the update, so that completing a one-off
    # visit where nothing is scheduled costs no round trip more.
    done = await conn.fetchrow(
        """UPDATE assignments a SET status = 'done', inspection_id = $2, change_seq = nextval('change_seq'),
                  updated_at = now() WHERE id = $1
           RETURNING a.station_id, a.template_id, EXISTS (SELECT 1 FROM schedules c
               WHERE c.station_id = a.station_id AND c.template_id = a.template_id AND c.active) AS scheduled""",
        assignment_id,
        inspection_id,
    )
    next_id, due = (None, None)
    if schedule_id is not None:
        next_id, due = await advance_schedule(conn, schedule_id)
    elif done["scheduled"]:
        next_id = await resume_at(conn, done["station_id"], done["template_id"])
    return Completion(assignment_id=assignment_id, next_assignment_id=next_id, next_due=due)


# Planning many stations at once ------------------------------------------------------------------


async def bulk_facts(
    conn: Connection, scope: Scope, station_ids: list[UUID], template_id: UUID, inspector_id: UUID
) -> list[Record]:
    """assignment_facts for each of `station_ids`, in their order, in one round trip, with the code of
    each station found in the caller's scope and what it already has for the template: its active
    schedule and its open visit."""
    return await conn.fetch(
        f"""SELECT r.id AS station_id, s.code AS station_code,
                   s.id IS NOT NULL AS station_found, s.active AS station_active, s.kind AS station_kind,
                   u.id IS NOT NULL AS inspector_found, u.role AS inspector_role, u.active AS inspector_active,
                   u.id IS NOT NULL AND ($1::bool OR EXISTS (
                       SELECT 1 FROM districts d WHERE {SCOPE_SQL} AND {COVERS_SQL})) AS inspector_visible,
                   coalesce({COVERS_SQL}, false) AS inspector_covers,
                   t.id IS NOT NULL AS template_found, t.archived_at IS NOT NULL AS template_archived,
                   v.version AS template_version, v.kinds AS template_kinds,
                   (SELECT c.id FROM schedules c WHERE c.station_id = s.id AND c.template_id = t.id AND c.active
                     ORDER BY c.created_at LIMIT 1) AS schedule_id,
                   (SELECT a.id FROM assignments a WHERE a.station_id = s.id AND a.template_id = t.id
                       AND a.status = 'open') AS assignment_id
              FROM unnest($4::uuid[]) WITH ORDINALITY r(id, n)
              LEFT JOIN (stations s JOIN districts d ON d.id = s.district_id) ON s.id = r.id AND {SCOPE_SQL}
              LEFT JOIN users u ON u.id = $5
              LEFT JOIN templates t ON t.id = $6
              LEFT JOIN LATERAL latest_version(t.id) v ON true
             ORDER BY r.n""",
        *scope,
        station_ids,
        inspector_id,
        template_id,
    )


async def district_station_ids(conn: Connection, scope: Scope, district_id: UUID) -> list[UUID] | None:
    """The active stations of a district in the caller's scope, by code; None when the district is not
    in it (or does not exist)."""
    rows = await conn.fetch(
        f"""SELECT s.id FROM districts d LEFT JOIN stations s ON s.district_id = d.id AND s.active
             WHERE {SCOPE_SQL} AND d.id = $4 ORDER BY s.code""",
        *scope,
        district_id,
    )
    return [r["id"] for r in rows if r["id"] is not None] if rows else None
