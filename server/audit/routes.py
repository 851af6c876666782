"""The audit trail and its chain verification, for admins."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import Parameter

from server.audit import queries
from server.audit.models import AuditRow, VerifyResult
from server.http import BIGINT_MAX, Conn, User


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

    @get("/verify")
    async def verify(self, user: User, conn: Conn) -> VerifyResult:
        user.require("admin")
        return await queries.verify(conn)


ROUTES = [AuditController]
