"""Assignment and schedule bodies and replies (DESIGN §3, §7)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from server.structs import Base

Frequency = Literal["monthly", "quarterly", "half_yearly"]
Status = Literal["open", "done", "cancelled"]
# Why open work cannot go ahead although nothing is wrong with its inspector: its station was
# deactivated, or its template archived. It waits, and goes ahead again once that is undone.
HeldBack = Literal["station_inactive", "template_archived", "template_other_kind"]


class AssignmentIn(Base):
    station_id: UUID
    template_id: UUID
    inspector_id: UUID
    due_date: date


class AssignmentPatch(Base):
    """Reschedule (due_date), reassign (inspector_id), cancel (status "cancelled") or reopen ("open")."""

    due_date: date | UnsetType = UNSET
    inspector_id: UUID | UnsetType = UNSET
    # "done" is never set by hand: only a submitted inspection completes an assignment.
    status: Literal["open", "cancelled"] | UnsetType = UNSET


class Text(msgspec.Struct, kw_only=True):
    en: str
    ur: str


class AssignmentOut(msgspec.Struct, kw_only=True):
    id: UUID
    station_id: UUID
    template_id: UUID
    inspector_id: UUID
    due_date: date
    status: Status
    # Open and past its due date (by the database's calendar).
    overdue: bool
    # Open, and its inspector can no longer do it: deactivated, given another role, or no longer
    # covering the station. It stays on that inspector's name until it is reassigned.
    needs_inspector: bool = False
    # Open, and waiting on its station (deactivated) or its template (archived), whoever inspects it:
    # no phone carries it meanwhile. None when nothing holds it back.
    held_back: HeldBack | None = None
    inspection_id: UUID | None
    # Done: who made the inspection that completed it. Any inspector's submitted inspection of the
    # station with the checklist completes its open visit, so this may be someone other than inspector_id.
    done_by_id: UUID | None = None
    done_by_name: str | None = None
    schedule_id: UUID | None
    # Names for lists, so a client need not look each id up.
    station_code: str
    station_name: Text
    template_key: str
    template_title: Text
    inspector_name: str
    change_seq: int
    created_at: datetime
    updated_at: datetime


class ScheduleIn(Base):
    station_id: UUID
    template_id: UUID
    inspector_id: UUID
    frequency: Frequency
    # The due date of the first assignment; later ones follow at the frequency, on this day of the month.
    next_due: date


class SchedulePatch(Base):
    # Reassigning moves the open assignment too; `active: false` stops the schedule and cancels it.
    inspector_id: UUID | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class ScheduleOut(msgspec.Struct, kw_only=True):
    id: UUID
    station_id: UUID
    template_id: UUID
    inspector_id: UUID
    frequency: Frequency
    # The due date of the schedule's latest assignment; the one after follows from it.
    next_due: date
    anchor_day: int
    active: bool
    # Active, and its inspector can no longer serve the station: it makes no new visits until it is
    # reassigned (or its inspector can serve it again).
    needs_inspector: bool = False
    # Active, and making no new visits while its station is deactivated or its template archived; it
    # starts again when the station is reactivated or the template unarchived.
    held_back: HeldBack | None = None
    open_assignment_id: UUID | None
    station_code: str
    template_key: str
    inspector_name: str
    created_at: datetime
    updated_at: datetime


class Completion(msgspec.Struct, kw_only=True):
    """What complete_assignment did: the assignment it closed, and the schedule's next one if any."""

    assignment_id: UUID
    next_assignment_id: UUID | None
    next_due: date | None


# Planning many stations at once (POST /schedules/bulk) ------------------------------------------

# Stations one plan may take: a province (~740) with room to spare, and a bound on one transaction.
BULK_MAX_STATIONS = 2000


class ScheduleBulkIn(Base):
    """One recurring plan for many stations: the stations given one by one (`station_ids`), or every
    active station of a district in the caller's area (`district_id`), never both."""

    template_id: UUID
    inspector_id: UUID
    frequency: Frequency
    next_due: date
    station_ids: list[UUID] | None = None
    district_id: UUID | None = None


# Why a station of a plan gets no new schedule, which is not a fault: it already has an active
# schedule for the template, or an open visit for it (made by hand), or, when a whole district is
# planned, it is of a kind the template is not for.
SkipReason = Literal["scheduled", "open_visit", "other_kind"]


class PlannedStation(msgspec.Struct, kw_only=True, omit_defaults=True):
    station_id: UUID
    station_code: str
    # A real run: the schedule made and its first visit.
    schedule_id: UUID | None = None
    assignment_id: UUID | None = None


class SkippedStation(msgspec.Struct, kw_only=True, omit_defaults=True):
    station_id: UUID
    station_code: str
    reason: SkipReason
    # What the station already has: the active schedule ("scheduled"), or the open visit ("open_visit").
    schedule_id: UUID | None = None
    assignment_id: UUID | None = None


class BulkCounts(msgspec.Struct, kw_only=True):
    created: int
    skipped: int
    stations: int


class ScheduleBulkOut(msgspec.Struct, kw_only=True):
    """A dry run names what would be made and what is left alone; a real run the same, as made."""

    dry_run: bool
    created: list[PlannedStation]
    skipped: list[SkippedStation]
    counts: BulkCounts
