"""Work other capabilities do inside the transaction that submits an inspection.

Corrective actions (from failed items) and dashboard rollups must change together with the submission
or not at all, so they run in its transaction rather than after it. A capability registers its
callback when its module is imported (app start-up imports every capability's routes):

    from server.inspections.hooks import register_on_submitted

    @register_on_submitted
    async def open_actions(conn: Connection, inspection_id: UUID) -> None:
        ...  # the inspection's answers rows and score columns are already written

Callbacks run in registration order, after the inspection's rows and before the audit row. They must not
commit, open their own connection, or swallow errors: an exception rolls the submission back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from asyncpg import Connection

OnSubmitted = Callable[[Connection, UUID], Awaitable[None]]

_on_submitted: list[OnSubmitted] = []


def register_on_submitted(callback: OnSubmitted) -> OnSubmitted:
    """Run `callback(conn, inspection_id)` in every submission's transaction; usable as a decorator."""
    if callback not in _on_submitted:
        _on_submitted.append(callback)
    return callback


def unregister_on_submitted(callback: OnSubmitted) -> None:
    if callback in _on_submitted:
        _on_submitted.remove(callback)


async def on_submitted(conn: Connection, inspection_id: UUID) -> None:
    for callback in tuple(_on_submitted):
        await callback(conn, inspection_id)
