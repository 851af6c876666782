"""Corrective actions: list, create (reviewers), and update through the state machine (DESIGN §7)."""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, patch, post
from litestar.params import Parameter

from server.actions import queries, service
from server.actions.models import ActionIn, ActionOut, ActionPage, ActionPatch
from server.actions.rules import Status
from server.errors import FieldError, Invalid, NotFound
from server.http import Conn, User, client_ip
from server.review import hooks as _hooks  # noqa: F401 - registers the submission hook
from server.sync.parts import register_actions_loader

Limit = Annotated[int, Parameter(ge=1, le=500)]
Cursor = Annotated[str | None, Parameter(max_length=200)]


class ActionController(Controller):
    path = "/api/v1/actions"
    tags = ["actions"]

    @get(
        "/",
        description="Soonest due first. Inspectors see the unverified actions of their stations. "
        "Pass `next` as `after` for the next page. The first page's `total` counts every action the "
        "filters match (null on later pages).",
    )
    async def list_actions(
        self,
        user: User,
        conn: Conn,
        station_id: UUID | None = None,
        district_id: UUID | None = None,
        inspection_id: UUID | None = None,
        status: Status | None = None,
        overdue: bool = False,
        after: Cursor = None,
        limit: Limit = 100,
    ) -> ActionPage:
        filters = queries.ActionFilters(
            station_id=station_id,
            district_id=district_id,
            inspection_id=inspection_id,
            status=status,
            open_only=user.role == "inspector",
            overdue=overdue,
        )
        rows = await queries.list_actions(conn, user.scope_args(), filters, after=_decode(after), limit=limit + 1)
        page = [queries.action_out(r) for r in rows[:limit]]
        more = len(rows) > limit
        # The first page says how many there are in all, so a board can say "100 of 2,180".
        total = None
        if after is None:
            total = await queries.count_actions(conn, user.scope_args(), filters) if more else len(page)
        return ActionPage(rows=page, next=_encode(page[-1].due_date, page[-1].id) if more else None, total=total)

    @get("/{action_id:uuid}")
    async def get_action(self, action_id: UUID, user: User, conn: Conn) -> ActionOut:
        row = await queries.get_action(conn, user.scope_args(), action_id)
        if row is None:
            raise NotFound("no corrective action with this id in your scope")
        return queries.action_out(row, await queries.notes_of(conn, action_id))

    @post("/", status_code=201, description="Reviewers and admins open an action for any station in scope.")
    async def create_action(self, data: ActionIn, user: User, conn: Conn, request: Request) -> ActionOut:
        return await service.create(conn, user, data, client_ip(request))

    @patch(
        "/{action_id:uuid}",
        description="Change status (open → in_progress → done → verified; a reviewer may "
        "reopen, or cancel with a note), append notes, set evidence photos (stored photos of the "
        "station's inspections that you may read); reviewers also change due date, owner and "
        "description. A verified or cancelled action is closed: nothing more is added to it. "
        "`base_change_seq` is the action's `change_seq` you read: if the action changed since, 409 with "
        "the current action (`action`) and nothing is changed; left out, no such check.",
    )
    async def update_action(
        self, action_id: UUID, data: ActionPatch, user: User, conn: Conn, request: Request
    ) -> ActionOut:
        return await service.update(conn, user, action_id, data, client_ip(request))


def _encode(due: date, action_id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{due.isoformat()}|{action_id}".encode()).decode().rstrip("=")


def _decode(raw: str | None) -> tuple[date, UUID] | None:
    if not raw:
        return None
    try:
        due, _, action_id = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().partition("|")
        return date.fromisoformat(due), UUID(action_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(
            "the page cursor is not one this server gave out",
            errors=[FieldError(field="after", message="is not a valid page cursor")],
        ) from exc


async def _bundle_actions(conn, user, since: int | None, station_ids: list[UUID]) -> list[dict]:
    return await queries.open_actions_for_bundle(conn, station_ids, since or 0)


# The phone carries the open corrective actions of its stations, to show them (and verify them) during
# the next inspection; registering here puts them into every offline bundle.
register_actions_loader(_bundle_actions)

ROUTES = [ActionController]
