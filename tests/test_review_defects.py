"""Defects found in a review of the review and corrective action workflow, each held by a test.

- An approval with overrides, or a resubmission after a return, reopened an action marked done since the
  inspection was made, as if the fault had been found again ("Failed again in inspection ...").
- A PATCH of an action locked the action's row before sync_state, against rollup.LOCK_ORDER: a submission
  reopening or joining that action (which holds sync_state by then) deadlocked with it.
- A queue page cursor holding a time PostgreSQL cannot take (year 1, east of UTC) failed in the driver:
  a 422 with no `errors`, so no field named.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import uuid
from datetime import UTC, datetime, timedelta

from server.actions.queries import create_for_critical_failures
from tests.reliability.test_lock_order import _waiting_backend
from tests.review_fixtures import answers, make_ctx


async def _rows(client, sql: str, *args):
    conn = await client.db()
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def _action(client, item_key: str):
    rows = await _rows(client, "SELECT id, status, inspection_id FROM actions WHERE item_key = $1", item_key)
    assert len(rows) == 1, rows
    return rows[0]


async def _mark_done(ctx, action_id) -> None:
    response = await ctx.client.patch(
        f"/api/v1/actions/{action_id}",
        await ctx.token("reviewer_a"),
        json={"status": "done", "note": "SHO says it is fixed"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "done"


# Reopening only on a failure found after the fix ---------------------------------------------------


async def test_approving_with_an_unrelated_override_does_not_reopen_an_action_marked_done_since(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no"))
    action = await _action(client, "l_diary")
    await _mark_done(ctx, action["id"])

    # The reviewer corrects the cleanliness score and approves: nothing about the diary is new.
    approved = await ctx.review(
        inspection_id,
        "approve",
        revision,
        score_overrides={"f_clean": {"score": 0.2, "reason": "the photos show a dirty waiting room"}},
    )
    assert approved.status_code == 200, approved.text

    assert (await _action(client, "l_diary"))["status"] == "done"
    notes = (await ctx.get(f"/api/v1/actions/{action['id']}")).json()["notes"]
    assert [n["status_to"] for n in notes] == ["done"]


async def test_a_resubmission_after_a_return_does_not_reopen_an_action_marked_done_since(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no"))
    action = await _action(client, "l_diary")
    assert (await ctx.review(inspection_id, "return", revision, comment="Add the photos")).status_code == 200
    await _mark_done(ctx, action["id"])

    # The same inspection, corrected elsewhere, still says what the inspector saw before the fix.
    reply = await ctx.put(inspection_id, base=revision + 1, values=answers(diary="no", clean=3))
    assert reply["status"] == "submitted"
    assert (await _action(client, "l_diary"))["status"] == "done"

    # A later inspection finding the diary incomplete again does reopen it: the fix did not hold.
    later, _ = await ctx.submit(values=answers(diary="no"))
    reopened = await _action(client, "l_diary")
    assert (reopened["id"], reopened["status"], reopened["inspection_id"]) == (action["id"], "open", later)


async def test_an_override_failing_a_critical_item_after_its_action_was_done_reopens_it(client):
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(water="no"))
    action = await _action(client, "l_water")
    await _mark_done(ctx, action["id"])

    # A later inspection says there is water; the reviewer, from its photos, says there is not.
    later, revision = await ctx.submit(values=answers(water="yes"))
    approved = await ctx.review(
        later, "approve", revision, score_overrides={"l_water": {"score": 0, "reason": "the cooler is empty"}}
    )
    assert approved.status_code == 200, approved.text
    reopened = await _action(client, "l_water")
    assert (reopened["id"], reopened["status"], reopened["inspection_id"]) == (action["id"], "open", later)


# Lock order of an action PATCH ---------------------------------------------------------------------


async def _submission_hook_holding_sync_state(client, inspection_id, holding: threading.Event) -> None:
    """Stand in for a submission: stamp sync_state (as completing an assignment does), wait until the
    request waits, then open the inspection's actions (the submission hook's step) and commit."""
    other = await client.db()
    watcher = await client.db()
    try:
        await other.execute("SET lock_timeout = '20s'")
        async with other.transaction():
            await other.execute("UPDATE sync_state SET seq = seq")
            holding.set()
            await _waiting_backend(watcher, {other.get_server_pid()})
            await create_for_critical_failures(other, inspection_id)
    finally:
        await other.close()
        await watcher.close()


async def test_an_action_update_takes_sync_state_before_the_actions_row(client):
    ctx = await make_ctx(client)
    first, _ = await ctx.submit(values=answers(diary="no"))
    second, _ = await ctx.submit(values=answers(diary="no"))
    action = await _action(client, "l_diary")
    token = await ctx.token("reviewer_a")

    holding = threading.Event()
    failure: list[BaseException] = []

    def other() -> None:
        try:
            asyncio.run(_submission_hook_holding_sync_state(client, second, holding))
        except BaseException as exc:  # reported after the request
            failure.append(exc)
            holding.set()

    thread = threading.Thread(target=other, daemon=True)
    thread.start()
    assert holding.wait(20), "the other transaction never took sync_state"
    response = await client.patch(f"/api/v1/actions/{action['id']}", token, json={"status": "in_progress"})
    thread.join(30)
    assert not thread.is_alive(), "the other transaction never finished"
    if failure:
        raise failure[0]
    # Had the PATCH locked the action before waiting for sync_state, PostgreSQL would have ended one of
    # the two as a deadlock (the PATCH as a 503, or the submission).
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "in_progress"
    assert (await _action(client, "l_diary"))["inspection_id"] == first


# A page cursor the database cannot take --------------------------------------------------------------


async def test_a_queue_cursor_with_a_time_out_of_range_is_a_422_naming_after(client):
    ctx = await make_ctx(client)
    await ctx.submit()
    for moment in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
        raw = f"{moment}|{uuid.uuid4()}".encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        for path in ("/api/v1/review/queue", "/api/v1/dashboard/flagged"):
            response = await ctx.get(path, after=cursor)
            assert response.status_code == 422, (path, response.text)
            assert [e["field"] for e in response.json()["errors"]] == ["after"]


async def test_a_quick_resubmission_after_a_return_does_not_reopen_an_action_done_in_between(client):
    """The phone sets finished_at again when the inspector resubmits: what the action is judged by is
    the first submission's, made before the fix, not the resubmission's."""
    ctx = await make_ctx(client)
    first = datetime.now(UTC) - timedelta(minutes=1)
    inspection_id, revision = await ctx.submit(values=answers(diary="no"), finished_at=first.isoformat())
    action = await _action(client, "l_diary")
    assert (await ctx.review(inspection_id, "return", revision, comment="Add the photos")).status_code == 200
    await _mark_done(ctx, action["id"])
    again = datetime.now(UTC) + timedelta(seconds=5)
    reply = await ctx.put(
        inspection_id, base=revision + 1, values=answers(diary="no", clean=3), finished_at=again.isoformat()
    )
    assert reply["status"] == "submitted"
    assert (await _action(client, "l_diary"))["status"] == "done"
