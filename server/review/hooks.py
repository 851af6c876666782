"""What a submission changes beyond the inspection itself: overrides, rollups and corrective actions;
and the latest review the inspections capability shows in its reply.

Registered into the inspections capability's submit hooks when this module is imported (the review,
actions and dashboards routes all import it, so any of them being loaded is enough). One callback runs
the steps in a fixed order, because the order matters (below). The overrides of a returned inspection
have stopped applying by then: the inspector's write that made the new revision superseded them.

Actions come before the rollups because of the locks each takes until commit (rollup.LOCK_ORDER).
Writing an action stamps the bundle's global sync_state row (schema 0003, sync_stamp), and so does
completing the assignment earlier in the submit transaction; the rollups lock their district's and
region's shared rows. Taken in the order rollups then actions, two submissions in one region deadlocked
(one held the rollup rows and waited for sync_state, the other held sync_state from its assignment and
waited for the rollup rows). tests/reliability/test_lock_order.py reproduces that interleaving.
"""

from __future__ import annotations

from asyncpg import Connection

from server.actions import queries as actions
from server.dashboards import rollup
from server.inspections.hooks import Submission, provide_latest_review, register_on_submitted
from server.review import evidence, queries


@register_on_submitted
async def after_submission(conn: Connection, submission: Submission) -> None:
    inspection_id = submission.inspection_id
    # The photo evidence is judged against the answers just written (its own row only, locked already).
    # A new inspection has no photo yet (each photo's row references it): only an imprecise fix can be
    # wrong, and a precise one is left unjudged (null, no flag) for its first photo to judge, which
    # keeps the common submission free of the statements.
    if not submission.created or (submission.accuracy_m is not None and submission.accuracy_m > submission.radius_m):
        await evidence.refresh(conn, inspection_id, submission.radius_m)
    # No override is in force here: the inspector's write of a returned inspection superseded them
    # (server/inspections/service.py), so the effective scores are the submitted ones, and a critical
    # item failed exactly when the score says one did.
    # Actions before rollups: the lock order (rollup.LOCK_ORDER). tests/reliability/test_lock_order.py.
    if submission.critical_failed:
        await actions.create_for_critical_failures(conn, inspection_id)
    # Adding is enough: an inspection is never counted when it is submitted. Only a draft or a returned
    # inspection can be submitted (submitted and approved ones are read-only to their inspector), a
    # draft was never counted and a return takes the inspection out. Should it be counted all the same,
    # the ledger's primary key makes this add nothing rather than count it twice.
    await rollup.apply_inspection(conn, inspection_id, +1)


# GET /api/v1/inspections/{id} (and the 409s that carry the server's copy) show the latest review in
# the same shape as the sync bundle's returned inspections: both come from latest_review(s).
provide_latest_review(queries.latest_review)
