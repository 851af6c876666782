"""Dashboard figures from the rollup rows: periods widened for trends, ranks, and item labels."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from asyncpg import Connection, Record

from server.dashboards import queries, rules
from server.dashboards.models import (
    FailedItem,
    FailedItemsOut,
    OverdueAssignment,
    TemplateRef,
)
from server.review.models import DistrictRef, LocalName, Person, StationRef

Scope = tuple[bool, list[UUID], list[UUID]]


async def scores(
    conn: Connection,
    scope: Scope,
    *,
    group_by: str,
    period: str,
    first: date,
    last: date,
    template_id: UUID | None,
    region_id: UUID | None,
    district_id: UUID | None,
) -> bytes:
    """The ScoresOut reply as JSON, each row written by the database (a station chart has thousands)."""
    start, end = rules.window(first, last, period)
    # One period more than shown, so that the first period shown has a change too.
    return await queries.scores_json(
        conn,
        scope,
        group_by=group_by,
        period=period,
        first=first,
        last=last,
        start=rules.add_periods(start, period, -1),
        shown=start,
        end=end,
        template_id=template_id,
        region_id=region_id,
        district_id=district_id,
    )


async def rankings(
    conn: Connection,
    scope: Scope,
    *,
    group_by: str,
    period: str,
    at: date,
    template_id: UUID | None,
    region_id: UUID | None,
    district_id: UUID | None,
    limit: int,
) -> bytes:
    """The RankingsOut reply as JSON, built in the database: the period containing `at` and the one before."""
    current = rules.period_start(at, period)
    previous = rules.add_periods(current, period, -1)
    return await queries.rankings_json(
        conn,
        scope,
        group_by=group_by,
        period=period,
        current=current,
        previous=previous,
        end=rules.add_periods(current, period, 1),
        labels=(rules.label(current, period), rules.label(previous, period)),
        template_id=template_id,
        region_id=region_id,
        district_id=district_id,
        limit=limit,
    )


async def failed_items(
    conn: Connection,
    scope: Scope,
    *,
    first: date,
    last: date,
    template_id: UUID | None,
    region_id: UUID | None,
    district_id: UUID | None,
    limit: int,
) -> FailedItemsOut:
    start, end = rules.window(first, last, "month")
    rows = await queries.failed_items(
        conn,
        scope,
        start=start,
        end=end,
        template_id=template_id,
        region_id=region_id,
        district_id=district_id,
        limit=limit,
    )
    # Each item is named by the newest published version that has it (schema 0008, template_items).
    return FailedItemsOut(
        rows=[
            FailedItem(
                template_id=r["template_id"],
                item_key=r["item_key"],
                label=LocalName(en=r["label_en"], ur=r["label_ur"]),
                failed=r["failed"],
                answered=r["answered"],
                rate=r["failed"] / r["answered"],
            )
            for r in rows
        ]
    )


def overdue_assignment(r: Record | dict[str, Any]) -> OverdueAssignment:
    return OverdueAssignment(
        id=r["id"],
        station=StationRef(
            id=r["station_id"], code=r["station_code"], name=LocalName(en=r["station_en"], ur=r["station_ur"])
        ),
        district=DistrictRef(id=r["district_id"], name=r["district_en"], name_ur=r["district_ur"]),
        template=TemplateRef(id=r["template_id"], title=LocalName(en=r["title_en"], ur=r["title_ur"])),
        inspector=Person(id=r["inspector_id"], display_name=r["inspector_name"]),
        due_date=r["due_date"],
        days_overdue=r["days_overdue"],
        needs_inspector=r["needs_inspector"],
        held_back=r["held_back"],
    )
