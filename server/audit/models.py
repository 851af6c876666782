from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class AuditRow(msgspec.Struct, kw_only=True):
    seq: int
    at: datetime
    actor_id: UUID | None
    actor: str | None
    action: str
    entity: str | None
    entity_id: str | None
    data: dict[str, Any]
    ip: str | None
    hash: str


class VerifyResult(msgspec.Struct, kw_only=True):
    ok: bool
    checked: int
    first_bad: int | None
