"""Extension point: bundle sections other capabilities fill.

Today that is `actions`: the open corrective actions of the bundle's stations, which the actions
capability registers when its module is imported:

    from server.sync.parts import register_actions_loader

    async def load_actions(conn: Connection, user: Principal, since: int | None,
                           station_ids: list[UUID]) -> list[Any]:
        ...  # since=None: all open actions of these stations; else those changed after the cursor

    register_actions_loader(load_actions)

`station_ids` are the active stations in the caller's scope, already filtered in SQL.

The loader runs inside the bundle's REPEATABLE READ snapshot, so it sees the same moment as the rest of
the bundle. For revalidation (ETag, 304) to notice a change, the table must carry a change_seq column
stamped by the sync_stamp() trigger from schema/0003_inspections.sql:

    CREATE TRIGGER actions_sync_stamp BEFORE INSERT OR UPDATE ON corrective_actions
        FOR EACH ROW EXECUTE FUNCTION sync_stamp();
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from asyncpg import Connection

from server.auth.models import Principal
from server.sync import queries

ActionsLoader = Callable[[Connection, Principal, int | None, list[UUID]], Awaitable[list[Any]]]

_actions_loader: ActionsLoader | None = None


def register_actions_loader(loader: ActionsLoader | None) -> None:
    global _actions_loader
    _actions_loader = loader


async def load_actions(conn: Connection, user: Principal, since: int | None) -> list[Any]:
    if _actions_loader is None:
        return []
    return await _actions_loader(conn, user, since, await queries.station_ids(conn, user))
