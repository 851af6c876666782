"""Dashboards: the rollups always equal a direct aggregation, rankings and trends, overdue, flagged, scope."""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from server.dashboards import queries as dash
from server.dashboards import rollup
from server.db import SCHEMA_DIR
from server.inspections.hooks import Submission
from server.review.hooks import after_submission
from server.structs import PHONE_CLOCK_AHEAD_MINUTES, PHONE_CLOCK_DAYS
from tests.factories import make_user, make_world
from tests.inspection_fixtures import document, publish
from tests.review_fixtures import DEFINITION, FAR, answers, make_ctx

WIDE = {"from": "2025-01-01", "to": "2027-12-31"}

DIRECT_SCORES = """
SELECT {group} AS group_id, date_trunc('{period}', i.made_at AT TIME ZONE 'Asia/Karachi')::date AS period_start,
       count(*)::int AS inspections,
       (sum(i.score_percent::numeric) / NULLIF(count(i.score_percent), 0))::float8 AS avg_percent,
       count(*) FILTER (WHERE i.critical_failed)::int AS critical_failed
  FROM inspections i JOIN stations s ON s.id = i.station_id JOIN districts d ON d.id = s.district_id
 WHERE i.status IN ('submitted', 'approved') AND ($1::uuid[] IS NULL OR d.region_id = ANY($1))
   AND ($2::uuid[] IS NULL OR d.id = ANY($2))
 GROUP BY 1, 2"""

# Straight from the answers: the inspector's item score unless a reviewer's override is in force.
DIRECT_FAILED = """
SELECT e.item_key, count(*) FILTER (WHERE e.s = 0)::int AS failed, count(*)::int AS answered
  FROM inspections i JOIN stations s ON s.id = i.station_id JOIN districts d ON d.id = s.district_id
  JOIN LATERAL (
       SELECT a.item_key, COALESCE(o.score, a.score) AS s
         FROM answers a LEFT JOIN score_overrides o
              ON o.inspection_id = a.inspection_id AND o.item_key = a.item_key AND o.superseded_at IS NULL
        WHERE a.inspection_id = i.id
       UNION ALL
       SELECT o.item_key, o.score FROM score_overrides o
        WHERE o.inspection_id = i.id AND o.superseded_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.inspection_id = i.id AND a.item_key = o.item_key)
  ) e ON e.s IS NOT NULL
 WHERE i.status IN ('submitted', 'approved') AND ($1::uuid[] IS NULL OR d.region_id = ANY($1))
   AND ($2::uuid[] IS NULL OR d.id = ANY($2))
 GROUP BY e.item_key HAVING count(*) FILTER (WHERE e.s = 0) > 0"""


async def _fetch(client, sql: str, *args) -> list[dict[str, Any]]:
    conn = await client.db()
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def backdate(client, inspection_id: uuid.UUID, when: datetime) -> None:
    """Move a submission into another month, the way every change is made: out, change, back in."""
    conn = await client.db()
    try:
        async with conn.transaction():
            await rollup.apply_inspection(conn, inspection_id, -1)
            await conn.execute(
                "UPDATE inspections SET submitted_at = $2, made_at = $2 WHERE id = $1", inspection_id, when
            )
            await rollup.apply_inspection(conn, inspection_id, +1)
    finally:
        await conn.close()


def _random_answers(rng: random.Random) -> dict[str, Any]:
    staffed = rng.choice(["yes", "yes", "no", "na"])
    return answers(
        staffed=staffed,
        clean=rng.randint(0, 5),
        token=rng.choice(["yes", "no"]),
        diary=rng.choice(["yes", "yes", "yes", "no"]),
        water=rng.choice(["yes", "no", "na", None]),
        why=rng.choice(["yes", "no"]) if staffed == "no" else None,
    )


def _random_overrides(rng: random.Random) -> dict[str, Any]:
    keys = rng.sample(["f_clean", "f_token", "l_diary", "l_water", "f_staffed"], rng.randint(1, 3))
    return {k: {"score": rng.choice([0, 0.5, 1]), "reason": f"checked {k} against the photos"} for k in keys}


class Scenario:
    """Drives one inspection through a random life, one step at a time, so lives interleave."""

    def __init__(self, ctx, client, rng: random.Random, station: str):
        self.ctx, self.client, self.rng, self.station = ctx, client, rng, station
        self.user = "inspector_a" if station.startswith("A") else "inspector_b"
        self.reviewer = "reviewer_a" if station.startswith("A") else "reviewer_b"
        self.id = uuid.uuid4()
        self.revision = 0
        self.steps = self._plan()
        # Where the visit was made, far from the station now and then: it stays where it was made once
        # submitted, as the phone keeps it (a submitted inspection's place cannot change).
        self.location = FAR if rng.random() < 0.2 else None

    def _plan(self) -> list[str]:
        life = self.rng.choice(["draft", "submit", "approve", "return", "resubmit", "resubmit_approve", "approve"])
        return {
            "draft": ["draft"],
            "submit": ["submit", "backdate"],
            "approve": ["submit", "backdate", "approve"],
            "return": ["submit", "backdate", "return"],
            "resubmit": ["submit", "backdate", "return", "resubmit"],
            "resubmit_approve": ["submit", "return", "resubmit", "backdate", "approve"],
        }[life]

    async def step(self) -> None:
        action = self.steps.pop(0)
        if action in ("draft", "submit", "resubmit"):
            reply = await self.ctx.put(
                self.id,
                station=self.station,
                user=self.user,
                base=self.revision,
                status="draft" if action == "draft" else "submitted",
                values=_random_answers(self.rng),
                location=self.location,
            )
            self.revision = reply["revision"]
        elif action == "backdate":
            month = self.rng.randint(3, 10)
            day = self.rng.choice([1, 15, 28])
            # 21:00 UTC on the last day of a month is already the next month in Pakistan.
            when = (
                datetime(2026, month + 1, 1, 21, tzinfo=UTC) - timedelta(days=1)
                if self.rng.random() < 0.2
                else datetime(2026, month, day, 8, tzinfo=UTC)
            )
            await backdate(self.client, self.id, when)
        else:
            overrides = _random_overrides(self.rng) if self.rng.random() < 0.6 else {}
            response = await self.ctx.review(
                self.id, action, self.revision, user=self.reviewer, comment="random review", score_overrides=overrides
            )
            if response.status_code == 422:  # an override of an item the answers hide: review without it
                response = await self.ctx.review(self.id, action, self.revision, user=self.reviewer)
            assert response.status_code == 200, response.text
            self.revision = response.json()["revision"]


async def _assert_rollups_equal_direct_aggregation(
    ctx, client, user: str, regions: list[uuid.UUID] | None, districts: list[uuid.UUID] | None = None
):
    for group_by, period, group in (
        ("station", "month", "s.id"),
        ("district", "quarter", "d.id"),
        ("region", "quarter", "d.region_id"),
        ("region", "month", "d.region_id"),
    ):
        api = (await ctx.get("/api/v1/dashboard/scores", user, group_by=group_by, period=period, **WIDE)).json()
        direct = await _fetch(client, DIRECT_SCORES.format(group=group, period=period), regions, districts)
        got = {
            (r["group_id"], r["period_start"]): (r["inspections"], r["avg_percent"], r["critical_failed"])
            for r in api["rows"]
        }
        want = {
            (str(r["group_id"]), r["period_start"].isoformat()): (
                r["inspections"],
                r["avg_percent"],
                r["critical_failed"],
            )
            for r in direct
        }
        assert got == want, (group_by, period)
    failed = (await ctx.get("/api/v1/dashboard/failed-items", user, limit=5000, **WIDE)).json()["rows"]
    direct = await _fetch(client, DIRECT_FAILED, regions, districts)
    assert {r["item_key"]: (r["failed"], r["answered"]) for r in failed} == {
        r["item_key"]: (r["failed"], r["answered"]) for r in direct
    }
    for r in failed:
        assert r["rate"] == pytest.approx(r["failed"] / r["answered"])


async def test_dashboards_equal_a_direct_aggregation_after_random_submissions_returns_and_overrides(client):
    ctx = await make_ctx(client)
    rng = random.Random(20261127)
    lives = [Scenario(ctx, client, rng, rng.choice(["A", "A2", "B", "B2"])) for _ in range(36)]
    while pending := [life for life in lives if life.steps]:
        await rng.choice(pending).step()

    statuses = await _fetch(client, "SELECT status, count(*) AS n FROM inspections GROUP BY status")
    counts = {r["status"]: r["n"] for r in statuses}
    assert sum(counts.values()) == 36 and {"submitted", "approved", "returned"} <= counts.keys()
    assert (await _fetch(client, "SELECT count(*) AS n FROM score_overrides WHERE superseded_at IS NULL"))[0]["n"] > 0
    months = await _fetch(
        client, "SELECT count(DISTINCT period_start) AS n FROM rollup_station_period WHERE inspections > 0"
    )
    assert months[0]["n"] >= 5

    await _assert_rollups_equal_direct_aggregation(ctx, client, "admin", None)
    await _assert_rollups_equal_direct_aggregation(ctx, client, "reviewer_b", [ctx.world.regions["B"]])
    # A district officer reads the district grain of item failures; a regional one the region grain.
    conn = await client.db()
    try:
        await make_user(conn, "dpo_a", "reviewer", district_ids=[ctx.world.districts["A"]])
    finally:
        await conn.close()
    await _assert_rollups_equal_direct_aggregation(ctx, client, "dpo_a", None, [ctx.world.districts["A"]])

    await _assert_rollups_equal_a_rebuild(client)


async def _assert_rollups_equal_a_rebuild(client) -> None:
    """Rebuilding every rollup from scratch gives exactly the incrementally kept rows."""
    conn = await client.db()
    try:
        # Rows that count nothing any more (everything in them was taken out again) are not rebuilt.
        counts_something = ("inspections <> 0", "inspections <> 0", "0 <> ANY (answered)", "0 <> ANY (answered)")
        kept = [
            await conn.fetch(f"SELECT * FROM {t} WHERE {c} ORDER BY 1, 2, 3, 4")
            for t, c in zip(rollup.ROLLUP_TABLES, counts_something, strict=True)
        ]
        ledger = await conn.fetch("SELECT * FROM rollup_ledger ORDER BY inspection_id")
        tr = conn.transaction()
        await tr.start()
        await rollup.rebuild_all(conn)
        rebuilt = [await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4") for t in rollup.ROLLUP_TABLES]
        rebuilt_ledger = await conn.fetch("SELECT * FROM rollup_ledger ORDER BY inspection_id")
        await tr.rollback()
    finally:
        await conn.close()
    assert kept == rebuilt and all(kept)
    assert ledger == rebuilt_ledger


async def test_the_dashboards_follow_a_station_a_circle_or_a_district_that_moves(client, monkeypatch):
    """A moved station's past inspections count where it is now: in the charts by district and region,
    in the most-failed items, and for the reviewers whose scope it is now in (and no longer for the
    others), whether it moved alone (edited or imported), with its circle, or with its district."""
    ctx = await make_ctx(client)
    w = ctx.world
    rng = random.Random(20261129)
    lives = [Scenario(ctx, client, rng, station) for station in ("A", "A2", "B", "B2") * 4]
    while pending := [life for life in lives if life.steps]:
        await rng.choice(pending).step()
    admin = await ctx.token("admin")

    async def check() -> None:
        await _assert_rollups_equal_direct_aggregation(ctx, client, "admin", None)
        await _assert_rollups_equal_direct_aggregation(ctx, client, "reviewer_a", [w.regions["A"]])
        await _assert_rollups_equal_direct_aggregation(ctx, client, "reviewer_b", [w.regions["B"]])
        await _assert_rollups_equal_a_rebuild(client)

    # Station A2 moves to district B, in region B.
    moved = await client.patch(
        f"/api/v1/stations/{w.stations['A2']}", admin, json={"district_id": str(w.districts["B"])}
    )
    assert moved.status_code == 200, moved.text
    await check()
    # Station B2 comes back to district A through a station import.
    imported = await client.post(
        "/api/v1/stations/import",
        admin,
        content="code,name_en,name_ur,district_code,circle_code,lat,lon,sips,kind\nSB2,PS SB2,تھانہ,DA,,30.3,74.35,,\n".encode(),
        headers={"content-type": "text/csv"},
    )
    assert imported.status_code == 200 and imported.json()["updated"] == 1, imported.text
    await check()
    # Station A, in a circle of district A, moves to district B with its circle.
    circle = await client.post(
        "/api/v1/circles",
        admin,
        json={"code": "CA9", "name": {"en": "Circle", "ur": "سرکل"}, "district_id": str(w.districts["A"])},
    )
    assert circle.status_code == 201, circle.text
    placed = await client.patch(f"/api/v1/stations/{w.stations['A']}", admin, json={"circle_id": circle.json()["id"]})
    assert placed.status_code == 200, placed.text
    carried = await client.patch(
        f"/api/v1/circles/{circle.json()['id']}", admin, json={"district_id": str(w.districts["B"])}
    )
    assert carried.status_code == 200, carried.text
    await check()

    # District B, now holding three of the four stations, moves to region A: cell by cell, never one
    # inspection at a time (a district's thousands would hold every submission back meanwhile).
    def one_at_a_time(*args):
        raise AssertionError("a district's move re-counted its inspections one by one")

    with monkeypatch.context() as m:
        m.setattr(rollup, "apply_inspection", one_at_a_time)
        region = await client.patch(
            f"/api/v1/districts/{w.districts['B']}", admin, json={"region_id": str(w.regions["A"])}
        )
    assert region.status_code == 200, region.text
    await check()
    counted = await _fetch(client, "SELECT count(*) AS n FROM rollup_ledger WHERE region_id = $1", w.regions["A"])
    assert counted[0]["n"] > 0
    assert (await _fetch(client, "SELECT count(*) AS n FROM rollup_ledger WHERE region_id = $1", w.regions["B"])) == [
        {"n": 0}
    ]


async def test_running_the_submission_hook_again_changes_no_rollup(client):
    ctx = await make_ctx(client)
    inspection_id, _ = await ctx.submit(values=answers(diary="no", clean=2))
    conn = await client.db()
    try:
        before = [await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4") for t in rollup.ROLLUP_TABLES]
        async with conn.transaction():
            # Told the least it can be (an old inspection, a critical failure): every step runs again.
            await after_submission(conn, Submission(inspection_id, created=False, critical_failed=True, radius_m=300))
            await rollup.apply_inspection(conn, inspection_id, +1)
        after = [await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4") for t in rollup.ROLLUP_TABLES]
        assert after == before and all(before)
        assert await conn.fetchval("SELECT count(*) FROM actions") == 1
    finally:
        await conn.close()


async def test_rankings_rank_groups_by_average_with_the_change_since_the_previous_period(client):
    ctx = await make_ctx(client)
    plan = [
        ("A", date(2026, 5, 10), 5),
        ("A2", date(2026, 5, 12), 1),  # May: A2 ahead of A
        ("A", date(2026, 6, 3), 5),
        ("A2", date(2026, 6, 4), 0),
    ]  # June: A ahead of A2
    for station, day, clean in plan:
        token = "yes" if clean else "no"
        inspection_id, _ = await ctx.submit(
            station=station,
            values=answers(
                clean=clean, token=token, staffed="yes" if station == "A" and day.month == 6 else "no", why="no"
            ),
        )
        await backdate(client, inspection_id, datetime(day.year, day.month, day.day, 8, tzinfo=UTC))
    june = (await ctx.get("/api/v1/dashboard/rankings", group_by="station", period="month", at="2026-06-20")).json()
    may = (
        await ctx.get(
            "/api/v1/dashboard/scores", group_by="station", period="month", **{"from": "2026-05-01", "to": "2026-06-30"}
        )
    ).json()["rows"]
    avg = {(r["code"], r["period"]): r["avg_percent"] for r in may}
    assert (june["current"], june["previous"]) == ("2026-06", "2026-05")
    assert [(r["code"], r["rank"]) for r in june["rows"]] == [("SA1", 1), ("SA2", 2)]
    first = june["rows"][0]
    assert first["previous_avg_percent"] == avg[("SA1", "2026-05")]
    assert first["change"] == pytest.approx(avg[("SA1", "2026-06")] - avg[("SA1", "2026-05")])
    assert {r["code"]: r["previous_rank"] for r in june["rows"]} == (
        {"SA1": 2, "SA2": 1} if avg[("SA2", "2026-05")] > avg[("SA1", "2026-05")] else {"SA1": 1, "SA2": 2}
    )
    june_scores = [r for r in may if r["period"] == "2026-06"]
    assert all(r["change"] == pytest.approx(r["avg_percent"] - r["previous_avg_percent"]) for r in june_scores)
    quarter = (
        await ctx.get(
            "/api/v1/dashboard/scores",
            group_by="district",
            period="quarter",
            **{"from": "2026-04-01", "to": "2026-06-30"},
        )
    ).json()["rows"]
    assert [(r["period"], r["inspections"]) for r in quarter] == [("2026-Q2", 4)]


async def test_overdue_lists_late_assignments_and_actions_in_scope(client):
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no"))
    await ctx.submit(station="B", user="inspector_b", values=answers(diary="no"))
    conn = await client.db()
    try:
        await conn.execute("UPDATE actions SET due_date = current_date - 5")
        for station, inspector in (("A2", "inspector_a"), ("B2", "inspector_b")):
            await conn.execute(
                """INSERT INTO assignments (station_id, template_id, inspector_id, due_date)
                   VALUES ($1, $2, $3, current_date - 10)""",
                ctx.world.stations[station],
                ctx.template_id,
                ctx.world.users[inspector],
            )
    finally:
        await conn.close()
    late = (await ctx.get("/api/v1/dashboard/overdue")).json()
    assert [(a["station"]["code"], a["days_overdue"] >= 9) for a in late["inspections"]] == [("SA2", True)]
    assert late["inspections"][0]["template"]["title"]["en"] == "Review test inspection"
    assert [a["station"]["code"] for a in late["actions"]] == ["SA1"]
    assert late["inspections"][0]["needs_inspector"] is False
    everything = (await ctx.get("/api/v1/dashboard/overdue", "admin")).json()
    assert len(everything["inspections"]) == 2 and len(everything["actions"]) == 2
    # As the dashboard's district filter shows them: one district's or one region's, within the scope.
    for where, code in (
        ({"district_id": ctx.world.districts["B"]}, "SB"),
        ({"region_id": ctx.world.regions["A"]}, "SA"),
    ):
        some = (await ctx.get("/api/v1/dashboard/overdue", "admin", **where)).json()
        assert [a["station"]["code"][:2] for a in some["inspections"] + some["actions"]] == [code, code]
    outside = (await ctx.get("/api/v1/dashboard/overdue", district_id=ctx.world.districts["B"])).json()
    assert outside == {"inspections": [], "actions": []}

    # The inspector of the late visit can no longer do it: the list says it needs another.
    conn = await client.db()
    try:
        await conn.execute("UPDATE users SET active = false WHERE id = $1", ctx.world.users["inspector_a"])
    finally:
        await conn.close()
    late = (await ctx.get("/api/v1/dashboard/overdue")).json()
    assert [(a["station"]["code"], a["needs_inspector"]) for a in late["inspections"]] == [("SA2", True)]


async def test_flagged_lists_far_and_critical_inspections_newest_first(client):
    ctx = await make_ctx(client)
    far, _ = await ctx.submit(location=FAR)
    await ctx.submit()
    critical, _ = await ctx.submit(station="A2", values=answers(diary="no"))
    await ctx.submit(station="B", user="inspector_b", location=FAR)
    rows = (await ctx.get("/api/v1/dashboard/flagged")).json()["rows"]
    assert [r["id"] for r in rows] == [str(critical), str(far)]
    only_far = (await ctx.get("/api/v1/dashboard/flagged", flag="far")).json()["rows"]
    assert [r["id"] for r in only_far] == [str(far)]


async def test_a_region_b_reviewer_sees_nothing_of_region_a_and_inspectors_see_no_dashboards(client):
    ctx = await make_ctx(client)
    await ctx.submit(location=FAR, values=answers(diary="no"))
    for path in ("scores", "rankings", "failed-items", "overdue", "flagged"):
        url = f"/api/v1/dashboard/{path}"
        assert (await ctx.get(url, "inspector_a")).status_code == 403, path
        assert (await ctx.get(url, "reviewer_a")).status_code == 200, path
        body = (await ctx.get(url, "reviewer_b")).json()
        assert all(not rows for rows in body.values() if isinstance(rows, list)), (path, body)
    mine = (await ctx.get("/api/v1/dashboard/scores", "reviewer_a")).json()["rows"]
    assert [(r["group_name"], r["inspections"]) for r in mine] == [("District A", 1)]
    assert (await ctx.get("/api/v1/review/queue", "reviewer_b")).json()["rows"] == []
    assert (await ctx.get("/api/v1/actions", "reviewer_b")).json()["rows"] == []
    bad = await ctx.get("/api/v1/dashboard/scores", **{"from": "2026-06-01", "to": "2026-01-01"})
    assert bad.status_code == 422


async def test_item_failures_stay_right_when_a_new_version_adds_and_drops_items(client):
    # Counts are arrays by item position (schema 0008): a version that drops an item and adds
    # another must neither move the old counts nor lose the new ones.
    ctx = await make_ctx(client)
    await ctx.submit(station="A", values=answers(diary="no", water="no"))
    await ctx.submit(station="B", user="inspector_b", values=answers(diary="no"))
    admin = ctx.tokens["admin"]
    second = {
        **DEFINITION,
        "sections": [
            DEFINITION["sections"][0],
            {
                **DEFINITION["sections"][1],
                "items": [
                    # l_diary stays, renamed; l_water is dropped
                    {
                        **DEFINITION["sections"][1]["items"][0],
                        "label": {"en": "Diary up to date", "ur": "روزنامچہ مکمل"},
                    },
                    {"key": "l_light", "type": "yes_no", "label": {"en": "Light", "ur": "روشنی"}, "critical": True},
                ],
            },
        ],
    }
    saved = await client.put(f"/api/v1/templates/{ctx.template_id}/draft", admin, json=second)
    assert saved.status_code == 200, saved.text
    published = await client.post(f"/api/v1/templates/{ctx.template_id}/publish", admin)
    assert published.status_code == 201, published.text
    ctx.version_id = uuid.UUID(published.json()["id"])
    later = answers(diary="yes", water=None)
    await ctx.submit(station="A2", values={**later, "l_light": {"value": "no"}})
    await ctx.submit(station="A", values={**later, "l_light": {"value": "yes"}})

    positions = await _fetch(
        client,
        "SELECT item_key, position FROM template_items WHERE template_id = $1 ORDER BY position",
        ctx.template_id,
    )
    keys = [it["key"] for s in DEFINITION["sections"] for it in s["items"]]
    assert [r["item_key"] for r in positions] == [*keys, "l_light"]  # the new item after every old one

    failed = (await ctx.get("/api/v1/dashboard/failed-items", "admin", limit=50, **WIDE)).json()["rows"]
    got = {r["item_key"]: (r["failed"], r["answered"]) for r in failed}
    assert got == {"l_diary": (2, 4), "l_water": (1, 2), "l_light": (1, 2)}
    # Named by the newest version that has the item: l_water, dropped, keeps its old label.
    labels = {r["item_key"]: r["label"]["en"] for r in failed}
    assert labels == {"l_diary": "Diary up to date", "l_water": "Drinking water", "l_light": "Light"}
    await _assert_rollups_equal_direct_aggregation(ctx, client, "admin", None)
    await _assert_rollups_equal_direct_aggregation(ctx, client, "reviewer_a", [ctx.world.regions["A"]])

    # A rebuild writes every cell's arrays at the template's full length, where the kept ones end at
    # the items the template had when they were written: different rows, the same counts.
    conn = await client.db()
    try:
        window = {"start": date(2025, 1, 1), "end": date(2028, 1, 1), "template_id": None, "region_id": None}
        reads = [((True, [], []), None), ((False, [], [ctx.world.regions["A"]]), None)]
        reads.append(((False, [ctx.world.districts["A"]], []), ctx.world.districts["A"]))
        tr = conn.transaction()
        await tr.start()
        before = [await dash.failed_items(conn, s, district_id=d, limit=50, **window) for s, d in reads]
        await rollup.rebuild_all(conn)
        after = [await dash.failed_items(conn, s, district_id=d, limit=50, **window) for s, d in reads]
        await tr.rollback()
    finally:
        await conn.close()
    assert [list(map(tuple, b)) for b in before] == [list(map(tuple, a)) for a in after] and all(before)


def _rows_thrown_away(node: dict[str, Any]) -> float:
    """Rows an EXPLAIN ANALYZE plan read and then dropped in its joins and filters, over all its nodes
    and loops (EXPLAIN reports both counts per loop)."""
    per_loop = node.get("Rows Removed by Join Filter", 0) + node.get("Rows Removed by Filter", 0)
    return per_loop * node.get("Actual Loops", 1) + sum(_rows_thrown_away(c) for c in node.get("Plans", []))


async def test_moving_an_inspection_through_the_rollups_reads_each_item_once_whatever_the_plan(client):
    """The statement that moves a submission in or out of the rollups puts each item's score at its
    position in the template. Matching 300 scores to 300 positions by joining the two let the planner
    pick a nested loop that compared every key with every other (about 75,000 rows thrown away and
    6 ms of PostgreSQL's CPU on each submission), which it did with the statistics of a young database
    and kept in its cached generic plan. They now meet in a FULL JOIN, which only a hash or merge join
    can run: whatever the plan, even with those two disabled, no work grows with items × items."""
    n, label = 300, {"en": "L", "ur": "ل"}
    items = [{"key": f"i{k:03d}", "type": "yes_no", "label": label} for k in range(n)]
    conn = await client.db()
    try:
        world = await make_world(conn)
        _, version_id = await publish(
            conn, {"title": label, "sections": [{"key": "s", "title": label, "items": items}]}
        )
    finally:
        await conn.close()
    inspection_id = uuid.uuid4()
    # 250 of the 300 answered, every tenth of those failed.
    values = {f"i{k:03d}": {"value": "no" if k % 10 == 0 else "yes"} for k in range(250)}
    body = document(world.stations["A"], version_id, status="submitted", answers=values)
    reply = await client.put(f"/api/v1/inspections/{inspection_id}", await client.login("inspector_a"), json=body)
    assert reply.status_code == 201

    count = "SELECT sum(x) FROM {table}, unnest({column}) x"
    conn = await client.db()
    try:
        assert await conn.fetchval(count.format(table="rollup_item_counts", column="failed")) == 25
        thrown_away = {}
        await conn.execute(f"PREPARE take_out (uuid, int) AS {rollup._SUBTRACT}")
        for plans in ("force_custom_plan", "force_generic_plan"):
            for hash_and_merge in ("on", "off"):
                tx = conn.transaction()
                await tx.start()
                try:
                    await conn.execute(f"SET LOCAL plan_cache_mode = {plans}")
                    await conn.execute(f"SET LOCAL enable_hashjoin = {hash_and_merge}")
                    await conn.execute(f"SET LOCAL enable_mergejoin = {hash_and_merge}")
                    plan = await conn.fetchval(
                        f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE take_out ('{inspection_id}', -1)"
                    )
                    thrown_away[plans, hash_and_merge] = _rows_thrown_away(plan[0]["Plan"])
                    for table in ("rollup_item_counts", "rollup_item_counts_region"):
                        for column in ("failed", "answered"):
                            assert await conn.fetchval(count.format(table=table, column=column)) == 0
                finally:
                    await tx.rollback()
        assert all(rows <= n for rows in thrown_away.values()), thrown_away
    finally:
        await conn.close()


async def _months(ctx, span: dict[str, str] = WIDE) -> list[tuple[str, int]]:
    rows = (await ctx.get("/api/v1/dashboard/scores", "admin", group_by="station", period="month", **span)).json()
    return [(r["period_start"], r["inspections"]) for r in rows["rows"]]


async def test_a_corrected_inspection_stays_in_the_month_it_was_made(client):
    """Returning an inspection for a typo must not move it out of a month already reported."""
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit()
    # 02:00 on 1 March in Pakistan (21:00 UTC on 28 February): March's.
    await backdate(client, inspection_id, datetime(2026, 2, 28, 21, tzinfo=UTC))
    assert await _months(ctx) == [("2026-03-01", 1)]
    returned = await ctx.review(inspection_id, "return", revision, comment="fix a typo")
    assert returned.status_code == 200, returned.text
    assert await _months(ctx) == []
    await ctx.put(inspection_id, base=returned.json()["revision"])
    assert await _months(ctx) == [("2026-03-01", 1)]


async def test_an_inspection_counts_in_the_month_its_phone_finished_it_when_that_clock_could_be_right(client):
    ctx = await make_ctx(client)
    now = datetime.now(UTC)
    held = now - timedelta(days=3, hours=2)  # finished offline, sent three days later
    wrong_past = now - timedelta(days=45)  # a clock set a month and a half back
    wrong_future = now + timedelta(hours=5)  # a clock hours fast
    made = {}
    for told in (held, wrong_past, wrong_future):
        inspection_id, _ = await ctx.submit(finished_at=told.isoformat().replace("+00:00", "Z"))
        made[told] = inspection_id
    rows = {
        r["id"]: r
        for r in await _fetch(client, "SELECT id, made_at, submitted_at FROM inspections WHERE status = 'submitted'")
    }
    assert rows[made[held]]["made_at"] == held
    for told in (wrong_past, wrong_future):  # the server's time of receipt stands in
        assert rows[made[told]]["made_at"] == rows[made[told]]["submitted_at"]
    pkt = timezone(timedelta(hours=5))
    want: dict[str, int] = {}
    for moment in (held, rows[made[wrong_past]]["made_at"], rows[made[wrong_future]]["made_at"]):
        month = moment.astimezone(pkt).strftime("%Y-%m-01")
        want[month] = want.get(month, 0) + 1
    span = {"from": (now - timedelta(days=60)).date().isoformat(), "to": (now + timedelta(days=31)).date().isoformat()}
    assert dict(await _months(ctx, span)) == want
    # The database's rule is the one the app applies elsewhere (structs.phone_time).
    rule = (SCHEMA_DIR / "0016_made_at.sql").read_text()
    assert f"interval '{PHONE_CLOCK_DAYS} days'" in rule and f"interval '{PHONE_CLOCK_AHEAD_MINUTES} minutes'" in rule


async def test_the_export_of_a_month_holds_the_inspections_its_figures_are_made_of(client):
    ctx = await make_ctx(client)
    inspection_id, _ = await ctx.submit()
    conn = await client.db()
    try:  # finished on the phone on 31 October, received on 2 November: October's
        async with conn.transaction():
            await rollup.apply_inspection(conn, inspection_id, -1)
            await conn.execute(
                "UPDATE inspections SET made_at = $2, submitted_at = $3 WHERE id = $1",
                inspection_id,
                datetime(2026, 10, 31, 10, tzinfo=UTC),
                datetime(2026, 11, 2, 8, tzinfo=UTC),
            )
            await rollup.apply_inspection(conn, inspection_id, +1)
    finally:
        await conn.close()
    assert await _months(ctx) == [("2026-10-01", 1)]

    async def exported(start: str, end: str) -> list[dict[str, str]]:
        reply = await ctx.get("/api/v1/exports/inspections.csv", **{"from": start, "to": end})
        assert reply.status_code == 200, reply.text
        return list(csv.DictReader(io.StringIO(reply.text.lstrip("\ufeff"))))

    october = await exported("2026-10-01", "2026-10-31")
    assert [(r["inspection_id"], r["made_at"]) for r in october] == [(str(inspection_id), "2026-10-31T10:00:00Z")]
    assert await exported("2026-11-01", "2026-11-30") == []
