"""Work other capabilities do inside the transaction that submits an inspection.

Corrective actions (from failed items) and dashboard rollups must change together with the submission
or not at all, so they run in its transaction rather than after it. A capability registers its
callback when its module is imported (app start-up imports every capability's routes):

    from server.inspections.hooks import register_on_submitted

    @register_on_submitted
    async def open_actions(conn: Connection, submission: Submission) -> None:
        ...  # the inspection's answers rows and score columns are already written

Callbacks run in registration order, after the statement that wrote the inspection's rows and queued its
audit row. They must not commit, open their own connection, or swallow errors: an exception rolls the
submission back, audit row included.

The inspection reply's `review` field is read the same way, through a reader another capability provides:
the review capability builds on this one (it locks and moves inspections), so this one cannot import it
without a cycle. The review capability registers its reader when its hooks module is imported:

    from server.inspections.hooks import provide_latest_review

    provide_latest_review(queries.latest_review)  # (conn, inspection_id) -> dict | None
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from asyncpg import Connection


@dataclass(frozen=True, slots=True)
class Submission:
    """What the submit hooks are told about the submission they run in.

    Each statement a hook runs is a round trip inside the submit transaction, which stays open (and
    keeps its rows locked) for all of them; what the submission already knows lets a hook skip a
    statement that would find nothing.
    """

    inspection_id: UUID
    # The inspection did not exist before this write: nothing about it (reviews, overrides, photos: a
    # photo's row references its inspection) can exist.
    created: bool
    # The submitted answers fail a visible critical item (the score's critical_failed).
    critical_failed: bool
    # The presence radius in metres (PRESENCE_RADIUS_M): the photo evidence is judged against it.
    radius_m: float
    # The reported accuracy of the inspection's GPS fix in metres (None without a fix, or none reported).
    accuracy_m: float | None = None


OnSubmitted = Callable[[Connection, Submission], Awaitable[None]]

ReviewReader = Callable[[Connection, UUID], Awaitable[dict[str, Any] | None]]

_on_submitted: list[OnSubmitted] = []
# One reader at most: the latest review has one owner. None until the review capability is imported.
_review_reader: ReviewReader | None = None


def register_on_submitted(callback: OnSubmitted) -> OnSubmitted:
    """Run `callback(conn, submission)` in every submission's transaction; usable as a decorator."""
    if callback not in _on_submitted:
        _on_submitted.append(callback)
    return callback


def unregister_on_submitted(callback: OnSubmitted) -> None:
    if callback in _on_submitted:
        _on_submitted.remove(callback)


async def on_submitted(conn: Connection, submission: Submission) -> None:
    for callback in tuple(_on_submitted):
        await callback(conn, submission)


def provide_latest_review(reader: ReviewReader | None) -> ReviewReader | None:
    """Make `reader(conn, inspection_id)` the source of the reply's `review` (None withdraws it)."""
    global _review_reader
    _review_reader = reader
    return reader


async def latest_review(conn: Connection, inspection_id: UUID) -> dict[str, Any] | None:
    """The inspection's latest review as the review capability shapes it, or None (never reviewed, or no
    review capability loaded). The caller has already checked that the inspection is visible."""
    if _review_reader is None:
        return None
    return await _review_reader(conn, inspection_id)
