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


class FullCheck(msgspec.Struct, kw_only=True):
    """A walk of the whole chain, as recorded in it (action audit.verified)."""

    at: datetime
    ok: bool
    checked: int
    first_bad: int | None
    through: int


class VerifyResult(msgspec.Struct, kw_only=True):
    """`ok`, `checked` and `first_bad` as DESIGN §7 has them. `after`: the walk began after this
    entry (0: from the first). `through`: the last entry it checked. `last_full`: with
    `since_last_check`, the full check the walk went on from (null when it walked from the start)."""

    ok: bool
    checked: int
    first_bad: int | None
    after: int = 0
    through: int | None = None
    last_full: FullCheck | None = None
