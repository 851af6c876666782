"""Review: approve or return a submitted inspection, its review history, and the reviewers' queue."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from server.errors import NotFound
from server.http import Conn, User, client_ip
from server.review import evidence, queries, service, timing
from server.review import hooks as _hooks  # noqa: F401 - registers the submission hook
from server.review.models import Flag, QueuePage, ReviewIn, ReviewList, ReviewResult

Cursor = Annotated[str | None, Parameter(max_length=200)]
Limit = Annotated[int, Parameter(ge=1, le=200)]


class ReviewController(Controller):
    path = "/api/v1"
    tags = ["review"]

    @post(
        "/inspections/{inspection_id:uuid}/review",
        status_code=200,
        description="Approve or return a submitted inspection. `revision` is the one you read: if the "
        "inspection changed since, 409 with the current inspection. Override scores are item "
        "scores from 0 to 1, each with a reason; the inspector's own answers and scores are kept.",
    )
    async def review(
        self, inspection_id: UUID, data: ReviewIn, user: User, conn: Conn, request: Request
    ) -> ReviewResult:
        return await service.review(conn, user, inspection_id, data, client_ip(request))

    @get("/inspections/{inspection_id:uuid}/reviews", description="Every review of the inspection, newest first.")
    async def reviews(self, inspection_id: UUID, user: User, conn: Conn, state: State) -> ReviewList:
        inspector = await queries.readable_inspection(conn, user.scope_args(), inspection_id, user.own_id())
        if inspector is None:
            raise NotFound("no inspection with this id in your scope")
        # The photo evidence is the reviewer's to judge; the visit's own inspector reads their reviews
        # without it, even one made a reviewer since (who may not review it either). So are the visit's
        # times (server/review/timing.py).
        radius = state.settings.presence_radius_m
        theirs = user.own_id() is not None or inspector == user.id
        judged = None if theirs else await evidence.for_reviewer(conn, user.scope_args(), inspection_id, radius)
        timed = None if theirs else await timing.timing(conn, user.scope_args(), inspection_id)
        return ReviewList(rows=await queries.list_reviews(conn, inspection_id), evidence=judged, timing=timed)

    @get(
        "/review/queue",
        description="Submitted inspections in your scope, the longest waiting (`submitted_at`) first. Each row's "
        "`made_at` is when it was made, as the inspection and the dashboards have it (its phone's finish, "
        "else its first receipt). Pass `next` as `after` for the next page.",
    )
    async def queue(
        self,
        user: User,
        conn: Conn,
        district_id: UUID | None = None,
        station_id: UUID | None = None,
        region_id: UUID | None = None,
        flag: Flag | None = None,
        after: Cursor = None,
        limit: Limit = 50,
    ) -> QueuePage:
        user.require("reviewer", "admin")
        rows, nxt = await queries.list_inspections(
            conn,
            user.scope_args(),
            flagged=False,
            district_id=district_id,
            station_id=station_id,
            region_id=region_id,
            flag=flag,
            cursor=queries.decode_cursor(after),
            limit=limit,
        )
        return QueuePage(rows=rows, next=nxt)


ROUTES = [ReviewController]
