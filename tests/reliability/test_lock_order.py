"""The lock order of rollup.LOCK_ORDER, held by submissions and reviews.

Each test reproduces, deterministically, the interleaving that deadlocked under load: another
transaction (standing in for a submission that completed an assignment) holds the sync_state row, the
request under test starts and must block on sync_state *before* it has touched any rollup row, so that
the other transaction can then update those rollup rows and commit. Had the request locked the rollup
rows first, the other transaction's update would close a cycle and PostgreSQL would abort one of the two.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

from tests.review_fixtures import answers, make_ctx

ROLLUPS = ("rollup_district_period", "rollup_item_counts", "rollup_item_counts_region", "rollup_station_period")


async def _waiting_backend(conn, others: set[int]) -> int:
    """The pid of the backend (not ours, not `others`) that waits for a lock; waits up to 20 s."""
    for _ in range(400):
        pid = await conn.fetchval(
            """SELECT pid FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock'
                  AND pid <> pg_backend_pid() AND NOT (pid = ANY($1::int[]))""",
            list(others),
        )
        if pid is not None:
            return pid
        await asyncio.sleep(0.05)
    raise AssertionError("the request never waited for the sync_state row")


async def _other_transaction(client, ctx, holding: threading.Event) -> None:
    """Hold sync_state; once the request waits, check what it holds, update the region's rollup rows
    and commit."""
    district, region = ctx.world.districts["A"], ctx.world.regions["A"]
    other = await client.db()
    watcher = await client.db()
    try:
        await other.execute("SET lock_timeout = '20s'")
        async with other.transaction():
            await other.execute("UPDATE sync_state SET seq = seq")
            holding.set()
            pid = await _waiting_backend(watcher, {other.get_server_pid()})
            # Waiting for sync_state, the request holds no rollup table yet (step 2 before step 3).
            touched = await watcher.fetch(
                """SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                    WHERE l.pid = $1 AND l.granted AND c.relname = ANY($2::text[])""",
                pid,
                list(ROLLUPS),
            )
            assert touched == [], f"the request locked {[r['relname'] for r in touched]} before sync_state"
            for table, key, value in (
                ("rollup_district_period", "district_id", district),
                ("rollup_item_counts", "district_id", district),
                ("rollup_item_counts_region", "region_id", region),
            ):
                updated = await other.execute(f"UPDATE {table} SET template_id = template_id WHERE {key} = $1", value)
                assert updated != "UPDATE 0", f"no {table} rows to contend for"
    finally:
        await other.close()
        await watcher.close()


async def _hold_sync_state_then_touch_rollups(client, ctx, request) -> object:
    """Run `request()` while another transaction holds sync_state and, once the request waits for it,
    updates the rollup rows and commits. Returns the request's response.

    The in-process test client blocks this thread's event loop while the app answers, so the other
    transaction runs on its own loop in a thread."""
    holding = threading.Event()
    failure: list[BaseException] = []

    def other() -> None:
        try:
            asyncio.run(_other_transaction(client, ctx, holding))
        except BaseException as exc:  # reported below, after the request
            failure.append(exc)
            holding.set()

    thread = threading.Thread(target=other, daemon=True)
    thread.start()
    assert holding.wait(20), "the other transaction never took sync_state"
    response = await request()
    thread.join(30)
    assert not thread.is_alive(), "the other transaction never finished"
    if failure:
        raise failure[0]
    return response


async def test_a_submission_opening_an_action_takes_sync_state_before_the_rollup_rows(client):
    ctx = await make_ctx(client)
    await ctx.submit(station="A", values=answers(clean=2))  # the district's and region's rollup rows exist
    inspection_id = uuid.uuid4()
    body = {
        "station_id": str(ctx.world.stations["A2"]),
        "template_version_id": str(ctx.version_id),
        "base_revision": 0,
        "status": "submitted",
        "started_at": "2026-11-27T09:00:00Z",
        "location": ctx.station_location("A2"),
        "answers": answers(diary="no"),
    }
    token = await ctx.token("inspector_a")

    response = await _hold_sync_state_then_touch_rollups(
        client, ctx, lambda: client.put(f"/api/v1/inspections/{inspection_id}", token, json=body)
    )

    assert response.status_code == 201, response.text
    conn = await client.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM actions WHERE inspection_id = $1", inspection_id) == 1
        assert (
            await conn.fetchval(
                "SELECT sum(inspections) FROM rollup_district_period WHERE district_id = $1", ctx.world.districts["A"]
            )
            == 2
        )
    finally:
        await conn.close()


async def test_an_approval_whose_override_opens_an_action_takes_sync_state_before_the_rollup_rows(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(station="A2")
    token = await ctx.token("reviewer_a")

    response = await _hold_sync_state_then_touch_rollups(
        client,
        ctx,
        lambda: ctx.client.post(
            f"/api/v1/inspections/{inspection_id}/review",
            token,
            json={
                "decision": "approve",
                "revision": revision,
                "score_overrides": {"l_water": {"score": 0, "reason": "no water in the lock-up"}},
            },
        ),
    )

    assert response.status_code == 200, response.text
    assert response.json()["critical_failed"] is True
    conn = await client.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM actions WHERE inspection_id = $1", inspection_id) == 1
        assert (
            await conn.fetchval(
                "SELECT sum(critical_failed) FROM rollup_district_period WHERE district_id = $1",
                ctx.world.districts["A"],
            )
            == 1
        )
    finally:
        await conn.close()
