"""Dashboards (DESIGN §7): scores, rankings, most-failed items, overdue work and flagged inspections.

Reviewers (their scope) and admins; inspectors get 403. Every read goes to the read replica when
DATABASE_READ_URL is set (else to the primary) and is served from the rollup tables kept by rollup.py:
scores and rankings through `state.planned_read_pool`, whose connections plan each statement for its
values (db.PLANNED_READS), the others through `state.read_pool`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, time
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from asyncpg import Connection
from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.params import Parameter

from server.actions import queries as actions
from server.actions.service import today
from server.dashboards import queries, rules, service
from server.dashboards.models import (
    FailedItemsOut,
    GroupBy,
    OverdueOut,
    Period,
    RankingsOut,
    ScoresOut,
)
from server.dashboards.rollup import REPORTING_TZ
from server.errors import FieldError, Invalid
from server.http import Conn, User, pooled
from server.review import hooks as _hooks  # noqa: F401 - registers the submission hook
from server.review import queries as review
from server.review.models import Flag, QueuePage

From = Annotated[date | None, Parameter(query="from")]
To = Annotated[date | None, Parameter(query="to")]
Limit = Annotated[int, Parameter(ge=1, le=5000)]


@asynccontextmanager
async def read_conn(state: State, conn: Connection) -> AsyncIterator[Connection]:
    """A connection to read from: the read replica's pool when there is one, else the request's own
    connection (already acquired to check the session), which saves a second acquire and release."""
    if state.read_pool is state.pool:
        yield conn
        return
    async with pooled(state.read_pool) as conn:
        yield conn


@asynccontextmanager
async def planned_conn(state: State) -> AsyncIterator[Connection]:
    """A connection of the pool for the scores and rankings (db.PLANNED_READS); the request's own
    connection, which checked the session, plans statements generically after a few runs."""
    async with pooled(state.planned_read_pool) as conn:
        yield conn


def _range(first: date | None, last: date | None, period: str) -> tuple[date, date]:
    default_first, default_last = rules.default_range(today(), period)
    first, last = first or default_first, last or default_last
    _check_days(period, ("from", first), ("to", last))
    if problem := rules.range_problem(first, last):
        raise Invalid(problem, errors=[FieldError(field="from", message=problem)])
    return first, last


def _check_days(period: str, *days: tuple[str, date | None]) -> None:
    errors = [
        FieldError(field=name, message=problem)
        for name, day in days
        if day is not None and (problem := rules.calendar_problem(day, period))
    ]
    if errors:
        raise Invalid("a date is too far in the past or the future", errors=errors)


class DashboardController(Controller):
    path = "/api/v1/dashboard"
    tags = ["dashboards"]

    @get(
        "/scores",
        description="Inspections, average percent and critical failures per group and period. "
        "`from` and `to` pick whole periods (default: the last 12 months).",
    )
    async def scores(
        self,
        user: User,
        state: State,
        group_by: GroupBy = "district",
        period: Period = "month",
        first: From = None,
        last: To = None,
        template_id: UUID | None = None,
        region_id: UUID | None = None,
        district_id: UUID | None = None,
    ) -> Response[ScoresOut]:
        user.require("reviewer", "admin")
        first, last = _range(first, last, period)
        async with planned_conn(state) as conn:
            body = await service.scores(
                conn,
                user.scope_args(),
                group_by=group_by,
                period=period,
                first=first,
                last=last,
                template_id=template_id,
                region_id=region_id,
                district_id=district_id,
            )
        return Response(content=body, media_type=MediaType.JSON)

    @get(
        "/rankings",
        description="Groups ranked by average percent in the period containing `at` (default "
        "today), with their rank and average in the period before.",
    )
    async def rankings(
        self,
        user: User,
        state: State,
        group_by: GroupBy = "station",
        period: Period = "month",
        at: date | None = None,
        template_id: UUID | None = None,
        region_id: UUID | None = None,
        district_id: UUID | None = None,
        limit: Limit = 100,
    ) -> Response[RankingsOut]:
        user.require("reviewer", "admin")
        _check_days(period, ("at", at))
        async with planned_conn(state) as conn:
            body = await service.rankings(
                conn,
                user.scope_args(),
                group_by=group_by,
                period=period,
                at=at or today(),
                template_id=template_id,
                region_id=region_id,
                district_id=district_id,
                limit=limit,
            )
        return Response(content=body, media_type=MediaType.JSON)

    @get("/failed-items", description="Items by number of failures (item score 0), overrides included.")
    async def failed_items(
        self,
        user: User,
        conn: Conn,
        state: State,
        first: From = None,
        last: To = None,
        template_id: UUID | None = None,
        region_id: UUID | None = None,
        district_id: UUID | None = None,
        limit: Limit = 20,
    ) -> FailedItemsOut:
        user.require("reviewer", "admin")
        first, last = _range(first, last, "month")
        async with read_conn(state, conn) as conn:
            return await service.failed_items(
                conn,
                user.scope_args(),
                first=first,
                last=last,
                template_id=template_id,
                region_id=region_id,
                district_id=district_id,
                limit=limit,
            )

    @get(
        "/overdue",
        description="Open assignments and unfinished corrective actions past their due date, in one region "
        "or district if given.",
    )
    async def overdue(
        self,
        user: User,
        conn: Conn,
        state: State,
        region_id: UUID | None = None,
        district_id: UUID | None = None,
        limit: Limit = 200,
    ) -> OverdueOut:
        user.require("reviewer", "admin")
        async with read_conn(state, conn) as conn:
            scope = user.scope_args()
            where = {"region_id": region_id, "district_id": district_id}
            assignments = await queries.overdue_assignments(conn, scope, limit, **where)
            late = await actions.overdue_actions(conn, scope, limit, **where)
        return OverdueOut(
            inspections=[service.overdue_assignment(r) for r in assignments],
            actions=[actions.action_out(r) for r in late],
        )

    @get(
        "/flagged",
        description="Inspections far from their station, with reused photos, or with a critical "
        "failure; newest first. Pass `next` as `after` for the next page.",
    )
    async def flagged(
        self,
        user: User,
        conn: Conn,
        state: State,
        flag: Flag | None = None,
        first: From = None,
        last: To = None,
        region_id: UUID | None = None,
        district_id: UUID | None = None,
        station_id: UUID | None = None,
        after: Annotated[str | None, Parameter(max_length=200)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> QueuePage:
        user.require("reviewer", "admin")
        _check_days("month", ("from", first), ("to", last))
        zone = ZoneInfo(REPORTING_TZ)
        since = datetime.combine(first, time(), zone) if first else None
        until = datetime.combine(last, time(), zone) + rules.ONE_DAY if last else None
        async with read_conn(state, conn) as conn:
            rows, nxt = await review.list_inspections(
                conn,
                user.scope_args(),
                flagged=True,
                district_id=district_id,
                station_id=station_id,
                region_id=region_id,
                flag=flag,
                cursor=review.decode_cursor(after),
                limit=limit,
                since=since,
                until=until,
            )
        return QueuePage(rows=rows, next=nxt)


ROUTES = [DashboardController]
