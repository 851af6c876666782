"""Assignments and schedules: admins and reviewers (within their scope) plan; inspectors see their own.

Decisions:
- Only one assignment per station and template is open at a time; a second one is 409 and names the
  open one (`assignment_id`), which can be rescheduled or reassigned instead.
- Cancelling an assignment that came from an active schedule moves the schedule on: the next
  occurrence is created, because cancelling one month's visit is not stopping the schedule
  (PATCH /schedules/{id} {"active": false} does that).
- A stopped schedule is not restarted; create a new one. A station has at most one active schedule
  per template: a second is 409 naming `station_id` and `template_id`, with the one there
  (`schedule_id`, and its open visit's `assignment_id` if it has one) to change or stop instead.
- Rescheduling a schedule's open visit moves the schedule's `next_due` with it; later visits still
  fall on the schedule's anchor day.
- A schedule with no open visit (one made by hand stood in for it, or its visit was cancelled while
  it could not make the next) makes its visit once the station's open visit is done or cancelled, or
  the schedule is changed.
- Work whose inspector can no longer do it (deactivated, given another role, moved away from the
  station's district) is listed with `needs_inspector` (and found with `?needs_inspector=true`); it
  keeps the inspector's name until it is reassigned here. Reassigning a schedule that was held back
  for want of an inspector makes its next visit at once.
- Work at a deactivated station, or with an archived template, is `held_back` with that reason (found
  with `?held_back=true`): it waits, off the phones, and goes ahead when the station is reactivated or
  the template unarchived. Such a visit can be cancelled but not rescheduled or reassigned (422 naming
  `station_id` or `template_id`): a date or an inspector for a visit nobody can make is only a promise.
- POST /schedules/bulk plans one schedule for many stations at once (server/assignments/planning.py
  says how it judges them); `dry_run=true` previews it without writing.
- A visit is completed by any inspector's submitted inspection of its station with its template (an
  unplanned inspection by a colleague does inspect the station); `done_by_id` / `done_by_name` say who.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import asyncpg
from asyncpg import Connection
from litestar import Controller, Request, get, patch, post
from litestar.params import Parameter
from msgspec import UNSET

from server.assignments import planning, queries
from server.assignments.models import (
    AssignmentIn,
    AssignmentOut,
    AssignmentPatch,
    ScheduleBulkIn,
    ScheduleBulkOut,
    ScheduleIn,
    ScheduleOut,
    SchedulePatch,
    Status,
)
from server.assignments.planning import make_schedule
from server.assignments.rules import assignment_problems, due_date_problems, held_back_problems
from server.audit import queries as audit
from server.auth.models import Principal
from server.errors import Conflict, FieldError, Invalid, NotFound
from server.http import Conn, Offset, User, client_ip

Limit = Annotated[int, Parameter(ge=1, le=5000)]
# A plan's body: BULK_MAX_STATIONS ids take ~80 KB; anything far beyond is refused before it is read (413).
BULK_MAX_BYTES = 256 * 1024


async def _assignment(conn: Connection, user: Principal, assignment_id: UUID) -> AssignmentOut:
    found = await queries.get_assignment(conn, user.scope_args(), assignment_id, user.own_id())
    if found is None:
        raise NotFound("assignment not found")
    return found


async def _schedule(conn: Connection, user: Principal, schedule_id: UUID) -> ScheduleOut:
    found = await queries.get_schedule(conn, user.scope_args(), schedule_id, user.own_id())
    if found is None:
        raise NotFound("schedule not found")
    return found


async def _check(
    conn: Connection,
    user: Principal,
    station_id: UUID,
    template_id: UUID,
    inspector_id: UUID,
    fields: frozenset[str] | None = None,
) -> None:
    facts = await queries.assignment_facts(conn, user.scope_args(), station_id, template_id, inspector_id)
    errors = assignment_problems(facts) if fields is None else assignment_problems(facts, check=fields)
    if errors:
        raise Invalid(
            "the assignment cannot be made: " + "; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors
        )


def _check_due(field: str, day: date) -> None:
    errors = due_date_problems(field, day)
    if errors:
        raise Invalid(f"{field}: {errors[0].message}", errors=errors)


async def _refuse_second_open(conn: Connection, station_id: UUID, template_id: UUID) -> None:
    existing = await queries.open_assignment_id(conn, station_id, template_id)
    if existing is not None:
        raise Conflict(
            "this station already has an open assignment for this template; reschedule or reassign it",
            extra={"assignment_id": existing},
        )


async def _refuse_second_schedule(conn: Connection, station_id: UUID, template_id: UUID) -> None:
    existing = await queries.active_schedule(conn, station_id, template_id)
    if existing is not None:
        # The schedule's open visit too, if any: what a caller offers to change when a visit exists.
        visit = {"assignment_id": existing["assignment_id"]} if existing["assignment_id"] is not None else {}
        message = "already has an active schedule for this template; change or stop that one"
        raise Conflict(
            "this station " + message,
            errors=[
                FieldError(field="station_id", message="this station " + message),
                FieldError(field="template_id", message="this template is already scheduled at this station"),
            ],
            extra={"schedule_id": existing["id"], **visit},
        )


async def _after_cancel(conn: Connection, visit: asyncpg.Record) -> UUID | None:
    """After `visit` was cancelled: its schedule's next visit, or that of a schedule it stood in for
    (advance_schedule made none while it was open), if one is made."""
    next_id = None
    if visit["schedule_id"] is not None:
        next_id, _ = await queries.advance_schedule(conn, visit["schedule_id"])
    return next_id or await queries.resume_at(conn, visit["station_id"], visit["template_id"])


class AssignmentController(Controller):
    path = "/api/v1/assignments"
    tags = ["assignments"]

    @get("/")
    async def list_assignments(
        self,
        user: User,
        conn: Conn,
        inspector_id: UUID | None = None,
        station_id: UUID | None = None,
        template_id: UUID | None = None,
        status: Status | None = None,
        overdue: bool | None = None,
        due_from: date | None = None,
        due_to: date | None = None,
        needs_inspector: bool | None = None,
        held_back: bool | None = None,
        limit: Limit = 500,
        offset: Offset = 0,
    ) -> list[AssignmentOut]:
        return await queries.list_assignments(
            conn,
            user.scope_args(),
            own=user.own_id(),
            inspector_id=inspector_id,
            station_id=station_id,
            template_id=template_id,
            status=status,
            overdue=overdue,
            due_from=due_from,
            due_to=due_to,
            needs_inspector=needs_inspector,
            held_back=held_back,
            limit=limit,
            offset=offset,
        )

    @get("/{assignment_id:uuid}")
    async def get_assignment(self, assignment_id: UUID, user: User, conn: Conn) -> AssignmentOut:
        return await _assignment(conn, user, assignment_id)

    @post("/")
    async def create_assignment(self, data: AssignmentIn, request: Request, user: User, conn: Conn) -> AssignmentOut:
        user.require("admin", "reviewer")
        _check_due("due_date", data.due_date)
        await _check(conn, user, data.station_id, data.template_id, data.inspector_id)
        await _refuse_second_open(conn, data.station_id, data.template_id)
        try:
            async with conn.transaction():
                assignment_id = await queries.insert_assignment(
                    conn,
                    station_id=data.station_id,
                    template_id=data.template_id,
                    inspector_id=data.inspector_id,
                    due_date=data.due_date,
                    schedule_id=None,
                    created_by=user.id,
                )
                await audit.record(
                    conn,
                    "assignment.create",
                    actor=user,
                    entity="assignment",
                    entity_id=assignment_id,
                    data={
                        "station_id": data.station_id,
                        "template_id": data.template_id,
                        "inspector_id": data.inspector_id,
                        "due_date": data.due_date,
                    },
                    ip=client_ip(request),
                )
        except asyncpg.UniqueViolationError:
            await _refuse_second_open(conn, data.station_id, data.template_id)
            raise
        return await _assignment(conn, user, assignment_id)

    @patch("/{assignment_id:uuid}")
    async def update_assignment(
        self, assignment_id: UUID, data: AssignmentPatch, request: Request, user: User, conn: Conn
    ) -> AssignmentOut:
        user.require("admin", "reviewer")
        if data.due_date is not UNSET:
            _check_due("due_date", data.due_date)
        async with conn.transaction():
            current = await queries.lock_assignment(conn, user.scope_args(), assignment_id)
            if current is None:
                raise NotFound("assignment not found")
            changes = {
                k: v
                for k in ("due_date", "inspector_id", "status")
                if (v := getattr(data, k)) is not UNSET and v != current[k]
            }
            # Asking for what is already so changes nothing, whatever the status: the reply is the
            # assignment, as for any other PATCH that leaves it as it was.
            if not changes:
                return await _assignment(conn, user, assignment_id)
            if current["status"] == "done":
                raise Conflict("the assignment is done: its inspection was submitted")
            if current["status"] == "cancelled" and changes.get("status") != "open":
                raise Conflict('the assignment is cancelled; reopen it (status "open") to change it')
            if current["status"] == "open" and "status" not in changes:
                errors = held_back_problems(current["held_back"])
                if errors:
                    raise Invalid(
                        "the visit is held back: " + "; ".join(f"{e.field}: {e.message}" for e in errors),
                        errors=errors,
                    )
            if "inspector_id" in changes:
                await _check(
                    conn,
                    user,
                    current["station_id"],
                    current["template_id"],
                    changes["inspector_id"],
                    frozenset({"inspector_id"}),
                )
            if changes.get("status") == "open":
                await _check(
                    conn,
                    user,
                    current["station_id"],
                    current["template_id"],
                    changes.get("inspector_id", current["inspector_id"]),
                )
                await _refuse_second_open(conn, current["station_id"], current["template_id"])
            await queries.update_assignment(conn, assignment_id, changes)
            if "due_date" in changes and current["schedule_id"] is not None and changes.get("status", "open") == "open":
                # The schedule's visit moved: so did the schedule's next due date.
                await queries.follow_rescheduled_visit(conn, current["schedule_id"], changes["due_date"])
            next_id = await _after_cancel(conn, current) if changes.get("status") == "cancelled" else None
            await audit.record(
                conn,
                "assignment.update",
                actor=user,
                entity="assignment",
                entity_id=assignment_id,
                data={"changes": changes, "next_assignment_id": next_id},
                ip=client_ip(request),
            )
        return await _assignment(conn, user, assignment_id)


class ScheduleController(Controller):
    path = "/api/v1/schedules"
    tags = ["assignments"]

    @get("/")
    async def list_schedules(
        self,
        user: User,
        conn: Conn,
        inspector_id: UUID | None = None,
        station_id: UUID | None = None,
        template_id: UUID | None = None,
        active: bool | None = None,
        needs_inspector: bool | None = None,
        held_back: bool | None = None,
    ) -> list[ScheduleOut]:
        return await queries.list_schedules(
            conn,
            user.scope_args(),
            own=user.own_id(),
            inspector_id=inspector_id,
            station_id=station_id,
            template_id=template_id,
            active=active,
            needs_inspector=needs_inspector,
            held_back=held_back,
        )

    @get("/{schedule_id:uuid}")
    async def get_schedule(self, schedule_id: UUID, user: User, conn: Conn) -> ScheduleOut:
        return await _schedule(conn, user, schedule_id)

    @post("/")
    async def create_schedule(self, data: ScheduleIn, request: Request, user: User, conn: Conn) -> ScheduleOut:
        """Creates the schedule and its first assignment, due on `next_due`."""
        user.require("admin", "reviewer")
        _check_due("next_due", data.next_due)
        await _check(conn, user, data.station_id, data.template_id, data.inspector_id)
        await _refuse_second_schedule(conn, data.station_id, data.template_id)
        await _refuse_second_open(conn, data.station_id, data.template_id)
        try:
            async with conn.transaction():
                schedule_id, _ = await make_schedule(
                    conn,
                    actor=user,
                    ip=client_ip(request),
                    station_id=data.station_id,
                    template_id=data.template_id,
                    inspector_id=data.inspector_id,
                    frequency=data.frequency,
                    next_due=data.next_due,
                )
        except asyncpg.UniqueViolationError:
            await _refuse_second_schedule(conn, data.station_id, data.template_id)
            await _refuse_second_open(conn, data.station_id, data.template_id)
            raise
        return await _schedule(conn, user, schedule_id)

    @post("/bulk", status_code=200, request_max_body_size=BULK_MAX_BYTES)
    async def plan_schedules(
        self, data: ScheduleBulkIn, request: Request, user: User, conn: Conn, dry_run: bool = False
    ) -> ScheduleBulkOut:
        """One schedule, with its first visit, for each of many stations; `dry_run=true` previews."""
        user.require("admin", "reviewer")
        return await planning.plan_schedules(conn, user, data, dry_run=dry_run, ip=client_ip(request))

    @patch("/{schedule_id:uuid}")
    async def update_schedule(
        self, schedule_id: UUID, data: SchedulePatch, request: Request, user: User, conn: Conn
    ) -> ScheduleOut:
        user.require("admin", "reviewer")
        async with conn.transaction():
            current = await queries.lock_schedule(conn, user.scope_args(), schedule_id)
            if current is None:
                raise NotFound("schedule not found")
            changes = {
                k: v for k in ("inspector_id", "active") if (v := getattr(data, k)) is not UNSET and v != current[k]
            }
            if changes.get("active") is True:
                raise Invalid(
                    "a stopped schedule cannot be restarted",
                    errors=[FieldError(field="active", message="create a new schedule instead")],
                )
            if not current["active"] and changes:
                raise Conflict("the schedule is stopped")
            if "inspector_id" in changes:
                await _check(
                    conn,
                    user,
                    current["station_id"],
                    current["template_id"],
                    changes["inspector_id"],
                    frozenset({"inspector_id"}),
                )
            if not changes:
                return await _schedule(conn, user, schedule_id)
            await queries.update_schedule(conn, schedule_id, changes)
            # The open assignment follows the schedule: reassigned with it, or cancelled when it stops.
            follow = (
                {"status": "cancelled"} if changes.get("active") is False else {"inspector_id": changes["inspector_id"]}
            )
            assignment_id = await queries.update_schedule_open_assignment(conn, schedule_id, follow)
            # A schedule at the station with no open visit makes one: this one, held back while its
            # inspector could not serve the station, now that the new one can.
            made = await queries.resume_at(conn, current["station_id"], current["template_id"])
            await audit.record(
                conn,
                "schedule.update",
                actor=user,
                entity="schedule",
                entity_id=schedule_id,
                data={"changes": changes, "open_assignment_id": assignment_id, "next_assignment_id": made},
                ip=client_ip(request),
            )
        return await _schedule(conn, user, schedule_id)


ROUTES = [AssignmentController, ScheduleController]
