"""Making schedules: one (POST /schedules), or one plan for many stations at once (POST /schedules/bulk).

A schedule is made with its first visit, due on its first due date, and audited as `schedule.create`;
a plan for many stations makes each of its schedules that same way, all or none in one transaction,
and adds one `schedule.bulk_create` entry for the run.

Decisions for a plan of many stations:
- Each station is judged as a single schedule's would be (rules.assignment_problems): one out of the
  caller's area, deactivated, of a kind the template is not for, or outside the inspector's districts
  and regions refuses the whole plan, each one named by its place in `station_ids` (`station_ids[3]`)
  and, when the caller may see it, by its code in the detail. What is wrong with the template or the
  inspector whatever the station is said once, at `template_id` or `inspector_id`.
- A station that already has an active schedule for the template, or an open visit for it (made by
  hand), is left as it is and listed as skipped: planning again is not a fault, and never doubles one.
- A district (`district_id`) means its active stations of the kinds the template is for; those of other
  kinds are listed as skipped (`other_kind`), since a district's Khidmat Markaz is not what a police
  station checklist is for. Stations named one by one are the caller's choice, so a wrong kind is an error.
- At most BULK_MAX_STATIONS stations a plan (422 naming `station_ids` or `district_id`).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg import Connection

from server.assignments import queries
from server.assignments.models import (
    BULK_MAX_STATIONS,
    BulkCounts,
    PlannedStation,
    ScheduleBulkIn,
    ScheduleBulkOut,
    SkippedStation,
)
from server.assignments.rules import assignment_problems, due_date_problems
from server.audit import queries as audit
from server.auth.models import Principal
from server.errors import Conflict, FieldError, Invalid

WHOLE_PLAN = frozenset({"inspector_id", "template_id"})


async def make_schedule(
    conn: Connection,
    *,
    actor: Principal,
    ip: str | None,
    station_id: UUID,
    template_id: UUID,
    inspector_id: UUID,
    frequency: str,
    next_due: date,
) -> tuple[UUID, UUID]:
    """Insert a schedule and its first visit, due on `next_due`, and audit it; inside the caller's
    transaction, after the caller judged the station, template and inspector. (schedule id, visit id)."""
    schedule_id = await queries.insert_schedule(
        conn,
        station_id=station_id,
        template_id=template_id,
        inspector_id=inspector_id,
        frequency=frequency,
        first_due=next_due,
        created_by=actor.id,
    )
    assignment_id = await queries.insert_assignment(
        conn,
        station_id=station_id,
        template_id=template_id,
        inspector_id=inspector_id,
        due_date=next_due,
        schedule_id=schedule_id,
        created_by=actor.id,
    )
    await audit.record(
        conn,
        "schedule.create",
        actor=actor,
        entity="schedule",
        entity_id=schedule_id,
        data={
            "station_id": station_id,
            "template_id": template_id,
            "inspector_id": inspector_id,
            "frequency": frequency,
            "next_due": next_due,
            "assignment_id": assignment_id,
        },
        ip=ip,
    )
    return schedule_id, assignment_id


def _refuse(errors: list[FieldError], named: list[str] | None = None) -> Invalid:
    text = "; ".join(named or [f"{e.field}: {e.message}" for e in errors])
    return Invalid("the schedules cannot be made: " + text, errors=errors)


async def _stations(conn: Connection, user: Principal, data: ScheduleBulkIn) -> list[UUID]:
    """The stations the plan names, each once, or those of its district; refuses a plan without either,
    with both, or with more than BULK_MAX_STATIONS."""
    errors = due_date_problems("next_due", data.next_due)
    if (data.station_ids is None) == (data.district_id is None):
        message = "give the stations (station_ids) or a district (district_id), not both"
        if data.station_ids is None:
            message = "give the stations (station_ids) or a district (district_id)"
        raise _refuse([*errors, FieldError(field="station_ids", message=message)])
    if data.station_ids is not None:
        ids = list(dict.fromkeys(data.station_ids))
        if not ids:
            errors.append(FieldError(field="station_ids", message="name at least one station"))
        elif len(ids) > BULK_MAX_STATIONS:
            message = f"at most {BULK_MAX_STATIONS} stations at a time; this names {len(ids)}"
            errors.append(FieldError(field="station_ids", message=message))
    else:
        found = await queries.district_station_ids(conn, user.scope_args(), data.district_id)
        ids = found or []
        if found is None:
            errors.append(FieldError(field="district_id", message="no district with this id is in your area"))
        elif not found:
            errors.append(FieldError(field="district_id", message="the district has no active stations"))
        elif len(found) > BULK_MAX_STATIONS:
            message = f"at most {BULK_MAX_STATIONS} stations at a time; this district has {len(found)}"
            errors.append(FieldError(field="district_id", message=message))
    if errors:
        raise _refuse(errors)
    return ids


async def plan_schedules(
    conn: Connection, user: Principal, data: ScheduleBulkIn, *, dry_run: bool, ip: str | None
) -> ScheduleBulkOut:
    async with conn.transaction():
        ids = await _stations(conn, user, data)
        facts = [
            dict(f) for f in await queries.bulk_facts(conn, user.scope_args(), ids, data.template_id, data.inspector_id)
        ]
        # Judged with no station, the rules say only what is wrong with the template or the inspector.
        whole = assignment_problems({**facts[0], "station_found": False}, check=WHOLE_PLAN)
        by_district = data.station_ids is None
        index = {station_id: i for i, station_id in reversed(list(enumerate(data.station_ids or [])))}
        made: list[PlannedStation] = []
        skipped: list[SkippedStation] = []
        problems: list[FieldError] = []
        named: list[str] = []
        for f in facts:
            station = {"station_id": f["station_id"], "station_code": f["station_code"]}
            if f["station_found"] and f["schedule_id"] is not None:
                skipped.append(SkippedStation(**station, reason="scheduled", schedule_id=f["schedule_id"]))
                continue
            if f["station_found"] and f["assignment_id"] is not None:
                skipped.append(SkippedStation(**station, reason="open_visit", assignment_id=f["assignment_id"]))
                continue
            own = [e for e in assignment_problems(f) if e not in whole]
            if by_district and any(e.field == "template_id" for e in own):
                # Only a wrong kind is left here: the template itself was judged in `whole`.
                skipped.append(SkippedStation(**station, reason="other_kind"))
                continue
            for e in own:
                field = "inspector_id" if by_district else f"station_ids[{index[f['station_id']]}]"
                if FieldError(field=field, message=e.message) not in problems:
                    problems.append(FieldError(field=field, message=e.message))
                    who = f" ({f['station_code']})" if f["station_code"] else ""
                    named.append(f"{field}{who}: {e.message}")
            if not own:
                made.append(PlannedStation(**station))
        if problems or whole:
            raise _refuse(problems + whole, named + [f"{e.field}: {e.message}" for e in whole])
        if not dry_run:
            await _make_all(conn, user, data, made, ip)
            await audit.record(
                conn,
                "schedule.bulk_create",
                actor=user,
                entity="schedule",
                data=_run_record(data, made, skipped),
                ip=ip,
            )
    return ScheduleBulkOut(
        dry_run=dry_run,
        created=made,
        skipped=skipped,
        counts=BulkCounts(created=len(made), skipped=len(skipped), stations=len(facts)),
    )


async def _make_all(
    conn: Connection, user: Principal, data: ScheduleBulkIn, made: list[PlannedStation], ip: str | None
) -> None:
    try:
        for planned in made:
            planned.schedule_id, planned.assignment_id = await make_schedule(
                conn,
                actor=user,
                ip=ip,
                station_id=planned.station_id,
                template_id=data.template_id,
                inspector_id=data.inspector_id,
                frequency=data.frequency,
                next_due=data.next_due,
            )
    except asyncpg.UniqueViolationError:
        # A visit or a schedule planned meanwhile at one of the stations (one open visit and one active
        # schedule per station and template).
        raise Conflict("a visit was planned meanwhile at one of these stations; preview the plan again") from None


def _run_record(data: ScheduleBulkIn, made: list[PlannedStation], skipped: list[SkippedStation]) -> dict[str, Any]:
    return {
        "template_id": data.template_id,
        "inspector_id": data.inspector_id,
        "frequency": data.frequency,
        "next_due": data.next_due,
        "district_id": data.district_id,
        "created": len(made),
        "skipped": len(skipped),
        "schedule_ids": [p.schedule_id for p in made],
    }
