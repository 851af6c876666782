"""The audit trail and its chain verification, for admins."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.params import Parameter

from server.audit import queries
from server.audit.models import AuditRow, VerifyResult
from server.http import BIGINT_MAX, Conn, User, client_ip


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]

    @get("/")
    async def list_audit(
        self,
        user: User,
        conn: Conn,
        action: str | None = None,
        entity: str | None = None,
        entity_id: str | None = None,
        actor_id: UUID | None = None,
        before: Annotated[int | None, Parameter(ge=1, le=BIGINT_MAX)] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[AuditRow]:
        user.require("admin")
        return await queries.list_rows(
            conn, action=action, entity=entity, entity_id=entity_id, actor_id=actor_id, before=before, limit=limit
        )

    @get(
        "/verify",
        description="Walk the hash chain from the first entry and report the first altered one; the check is "
        "recorded in the trail (audit.verified). With `since_last_check=true`, walk only the entries after "
        "the last recorded full check, from the hash it recorded (the whole chain when there is none), and "
        "say which check that was in `last_full`. Every inspection's record (revisions, document, answers, "
        "score) is also checked against the trail, and its problems listed by inspection in `records` (in a quick "
        "check, only the inspections written since); `ok` is false when the chain is broken or a record is not "
        "as written. `head_hash` is the hash of entry `through`, to keep outside the database; `gaps` lists "
        "numbers missing between entries, a warning only (a commit that fails leaves one too). `anchors`: the "
        "whole trail compared with the copies of its head kept in the photo store, outside the database (each "
        "check keeps one; a quick check at most every ten minutes): `ok` false when a kept entry was rewritten or "
        "removed since (`differs`), null when the store could not be read (a warning).",
    )
    async def verify(
        self, request: Request, state: State, user: User, conn: Conn, since_last_check: bool = False
    ) -> VerifyResult:
        user.require("admin")
        if since_last_check and (last := await queries.last_full_check(conn)) is not None:
            return await queries.verify_since(conn, last, store=state.store)
        return await queries.verify_and_record(conn, store=state.store, actor=user, ip=client_ip(request))


ROUTES = [AuditController]
