"""The demo history: a past of inspections written through the service code, dated in the past, once.

Small runs (a few stations, three months) on a fresh copy of the seeded demo database; the full
default history is timed by hand (see server/demo/history.py), not here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from asyncpg.exceptions import InsufficientPrivilegeError

from server import db
from server.audit.queries import verify
from server.config import load_settings
from server.demo import history
from server.demo.content import DEMO_PASSWORDS
from server.demo.history import HISTORY_INSPECTORS, MARKER, QUEUE_DAYS, seed_demo_history
from server.storage import DirectoryStore
from tests.test_dashboards import DIRECT_FAILED, DIRECT_SCORES

TABLES = (
    "users",
    "inspections",
    "inspection_revisions",
    "answers",
    "photos",
    "photo_reuse",
    "reviews",
    "score_overrides",
    "actions",
    "action_notes",
    "assignments",
    "rollup_ledger",
    "rollup_station_period",
    "rollup_district_period",
    "rollup_item_counts",
    "rollup_item_counts_region",
    "audit_log",
)

# Every failed critical item of a counted inspection is covered by a corrective action of its station:
# one opened by it, or one already open then that it joined. Effective scores, as the rollups count them.
UNCOVERED_CRITICAL_FAILURES = """
SELECT i.id, a.item_key
  FROM inspections i
  JOIN answers a ON a.inspection_id = i.id AND a.critical
  LEFT JOIN score_overrides o ON o.inspection_id = i.id AND o.item_key = a.item_key AND o.superseded_at IS NULL
 WHERE i.status IN ('submitted', 'approved') AND COALESCE(o.score, a.score) = 0
   AND NOT EXISTS (SELECT 1 FROM actions x
                    WHERE x.station_id = i.station_id AND x.item_key = a.item_key
                      AND x.created_at <= COALESCE(o.created_at, i.submitted_at)
                      AND (x.verified_at IS NULL OR x.verified_at > i.submitted_at))"""

# What the steps stamped with now() and the history moved back: nothing may be left at or after the start.
LEFT_UNDATED = """
SELECT (SELECT count(*) FROM inspections WHERE greatest(created_at, updated_at, submitted_at) >= $1)
     + (SELECT count(*) FROM inspection_revisions WHERE at >= $1)
     + (SELECT count(*) FROM reviews WHERE created_at >= $1)
     + (SELECT count(*) FROM score_overrides WHERE greatest(created_at, superseded_at) >= $1)
     + (SELECT count(*) FROM photos WHERE created_at >= $1)
     + (SELECT count(*) FROM photo_reuse WHERE found_at >= $1)
     + (SELECT count(*) FROM actions WHERE greatest(created_at, updated_at, verified_at) >= $1)
     + (SELECT count(*) FROM action_notes WHERE at >= $1)"""


async def _counts(conn) -> dict[str, int]:
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


@pytest.fixture
async def demo(demo_client, executor, tmp_path):
    """The app on a fresh demo copy, a direct connection and a pool to its database, and the store the
    app reads photos from."""
    conn = await demo_client.db()
    pool = await db.create_pool(demo_client.database_url, min_size=1, max_size=4)
    store = DirectoryStore(load_settings({"DATA_DIR": str(tmp_path / "var")}).photos_dir)
    try:
        yield demo_client, conn, pool, store
    finally:
        await pool.close()
        await conn.close()


async def test_history_is_dated_in_the_past_and_dashboards_actions_and_audit_agree_with_it(demo, executor):
    client, conn, pool, store = demo
    plan = await conn.fetch("SELECT id, status, due_date, inspector_id, updated_at FROM assignments ORDER BY id")
    started = await conn.fetchval("SELECT now()")

    message = await seed_demo_history(conn, months=3, stations=5, store=store, executor=executor, pool=pool)

    assert message.startswith("demo history written"), message
    # Several months of submissions (as the dashboards count them: the month each was made), most of
    # them reviewed, the recent ones waiting in the queue.
    months = await conn.fetchval(
        "SELECT count(DISTINCT date_trunc('month', made_at AT TIME ZONE 'Asia/Karachi')) FROM inspections"
    )
    assert months >= 2
    statuses = dict(await conn.fetch("SELECT status, count(*) FROM inspections GROUP BY status"))
    assert statuses.get("approved", 0) >= 3, statuses
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM inspections WHERE status <> 'submitted' AND submitted_at > $1",
            started - timedelta(days=QUEUE_DAYS),
        )
        == 0
    )
    assert (
        await conn.fetchval(
            """SELECT count(*) FROM inspections i WHERE status = 'approved'
            AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.inspection_id = i.id AND r.decision = 'approve')"""
        )
        == 0
    )
    # Every step's rows were moved to its moment; the append-only guards are back on.
    assert await conn.fetchval(LEFT_UNDATED, started) == 0
    with pytest.raises(InsufficientPrivilegeError):
        await conn.execute("UPDATE reviews SET comment = comment")
    with pytest.raises(InsufficientPrivilegeError):
        await conn.execute("UPDATE inspection_revisions SET at = at")
    # seed_demo's plan is as it was: the history completed none of its assignments.
    assert (
        await conn.fetch("SELECT id, status, due_date, inspector_id, updated_at FROM assignments ORDER BY id") == plan
    )

    # Critical failures opened corrective actions, due two weeks after they were opened (in Pakistan).
    assert await conn.fetchval("SELECT count(*) FROM inspections WHERE critical_failed") > 0
    assert await conn.fetch(UNCOVERED_CRITICAL_FAILURES) == []
    assert (
        await conn.fetchval(
            """SELECT count(*) FROM actions WHERE source = 'submission'
            AND due_date <> (created_at AT TIME ZONE 'Asia/Karachi')::date + 14"""
        )
        == 0
    )

    # Evidence: every referenced photo is stored, and only photos sent twice on purpose count as reused.
    assert await conn.fetchval("SELECT count(*) FROM inspections WHERE photos_missing > 0") == 0
    assert await conn.fetchval("SELECT count(*) FROM photo_reuse WHERE NOT same_bytes") == 0

    # The dashboards (rollups moved with each submission's date, reviews and overrides) equal a direct
    # aggregation.
    admin = await client.login("admin", DEMO_PASSWORDS["admin"])
    await _assert_dashboards_equal_a_direct_aggregation(client, conn, admin, started)

    # A photo of the history is served like any other.
    photo = await conn.fetchval("SELECT id FROM photos ORDER BY id LIMIT 1")
    thumb = await client.get(f"/api/v1/photos/{photo}/thumb", admin)
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"

    # The audit chain holds, with the marker in it once, and a second run changes nothing at all.
    assert (await verify(conn)).ok
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = $1", MARKER) == 1
    before = await _counts(conn)
    again = await seed_demo_history(conn, months=3, stations=5, store=store, executor=executor, pool=pool)
    assert "nothing changed" in again
    assert await _counts(conn) == before


async def _assert_dashboards_equal_a_direct_aggregation(client, conn, token: str, started) -> None:
    today = (started + timedelta(hours=5)).date()
    span = {"from": (today - timedelta(days=400)).isoformat(), "to": today.isoformat()}
    for group_by, period, group in (
        ("station", "month", "s.id"),
        ("district", "month", "d.id"),
        ("region", "quarter", "d.region_id"),
    ):
        reply = await client.get(
            "/api/v1/dashboard/scores", token, params={"group_by": group_by, "period": period, **span}
        )
        assert reply.status_code == 200, reply.text
        got = {
            (r["group_id"], r["period_start"]): (r["inspections"], r["avg_percent"], r["critical_failed"])
            for r in reply.json()["rows"]
        }
        direct = await conn.fetch(DIRECT_SCORES.format(group=group, period=period), None, None)
        assert got == {
            (str(r["group_id"]), r["period_start"].isoformat()): (
                r["inspections"],
                r["avg_percent"],
                r["critical_failed"],
            )
            for r in direct
        }, (group_by, period)
        assert got
    reply = await client.get("/api/v1/dashboard/failed-items", token, params={"limit": 5000, **span})
    assert {r["item_key"]: (r["failed"], r["answered"]) for r in reply.json()["rows"]} == {
        r["item_key"]: (r["failed"], r["answered"]) for r in await conn.fetch(DIRECT_FAILED, None, None)
    }


async def test_unreviewed_submissions_count_in_the_month_they_are_dated_and_added_inspectors_see_them(
    demo, executor, monkeypatch
):
    client, conn, _, store = demo
    # No reviews at all: nothing but the submission itself can have put each inspection in its month.
    monkeypatch.setattr(history, "QUEUE_DAYS", 1000)
    started = await conn.fetchval("SELECT now()")
    # On the one connection, without a pool: the other way to run it.
    await seed_demo_history(conn, months=3, stations=3, store=store, executor=executor)
    assert await conn.fetchval("SELECT count(*) FROM reviews") == 0
    assert (
        await conn.fetchval(
            "SELECT count(DISTINCT date_trunc('month', made_at AT TIME ZONE 'Asia/Karachi')) FROM inspections"
        )
        >= 2
    )
    await _assert_dashboards_equal_a_direct_aggregation(
        client, conn, await client.login("admin", DEMO_PASSWORDS["admin"]), started
    )

    inspector = await conn.fetchval(
        """SELECT u.username FROM inspections i JOIN users u ON u.id = i.inspector_id
            WHERE u.username = ANY($1::text[]) LIMIT 1""",
        [u["username"] for u in HISTORY_INSPECTORS],
    )
    assert inspector is not None
    token = await client.login(inspector, DEMO_PASSWORDS["inspector"])
    listed = await client.get("/api/v1/inspections", token)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"], "the inspector sees the inspections of their districts"


async def test_without_the_demo_nothing_is_written(conn, executor, tmp_path):
    before = await _counts(conn)
    message = await seed_demo_history(conn, months=1, store=DirectoryStore(tmp_path), executor=executor)
    assert "load the demo first" in message
    assert await _counts(conn) == before
