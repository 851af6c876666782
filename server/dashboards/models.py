"""Dashboard replies (DESIGN §7). Every figure comes from the rollup tables, never from answers."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

import msgspec

from server.actions.models import ActionOut
from server.assignments.models import HeldBack
from server.review.models import DistrictRef, LocalName, Person, StationRef

GroupBy = Literal["region", "district", "station"]
Period = Literal["month", "quarter"]


class ScoreRow(msgspec.Struct, kw_only=True):
    group_id: UUID
    group_name: str
    name_ur: str
    code: str
    # "2026-03" for a month, "2026-Q1" for a quarter; period_start is its first day.
    period: str
    period_start: date
    inspections: int
    # Average of the inspections' percents (overrides included); null when none had a scored item.
    avg_percent: float | None
    critical_failed: int
    # The same group's figure for the period just before, and the change since; null when it had none.
    previous_avg_percent: float | None
    change: float | None


class ScoresOut(msgspec.Struct, kw_only=True):
    group_by: GroupBy
    period: Period
    from_: date = msgspec.field(name="from")
    to: date
    rows: list[ScoreRow]


class RankRow(msgspec.Struct, kw_only=True):
    rank: int
    group_id: UUID
    group_name: str
    name_ur: str
    code: str
    inspections: int
    avg_percent: float
    critical_failed: int
    previous_rank: int | None
    previous_avg_percent: float | None
    change: float | None


class RankingsOut(msgspec.Struct, kw_only=True):
    group_by: GroupBy
    period: Period
    current: str
    previous: str
    rows: list[RankRow]


class FailedItem(msgspec.Struct, kw_only=True):
    template_id: UUID
    item_key: str
    label: LocalName
    failed: int
    answered: int
    # failed / answered
    rate: float


class FailedItemsOut(msgspec.Struct, kw_only=True):
    rows: list[FailedItem]


class TemplateRef(msgspec.Struct, kw_only=True):
    id: UUID
    title: LocalName


class OverdueAssignment(msgspec.Struct, kw_only=True):
    id: UUID
    station: StationRef
    district: DistrictRef
    template: TemplateRef
    inspector: Person
    due_date: date
    days_overdue: int
    # The inspector can no longer do the visit (deactivated, another role, moved away): reassign it.
    needs_inspector: bool = False
    # Why the visit cannot go ahead whoever does it: its station deactivated or its template archived.
    held_back: HeldBack | None = None


class OverdueOut(msgspec.Struct, kw_only=True):
    inspections: list[OverdueAssignment]
    actions: list[ActionOut]
