"""A schedule's visits: each covers its own period, one schedule per station and checklist, and a
schedule's next due date says when its open visit is due."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from server.assignments.queries import period_start_sql
from server.assignments.rules import MONTHS, add_months
from tests.factories import make_user
from tests.review_fixtures import make_ctx

MIGRATION = Path(__file__).parent.parent / "schema" / "0030_one_active_schedule.sql"


def now_iso(minutes: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


async def pk_today(ctx) -> date:
    conn = await ctx.client.db()
    try:
        return await conn.fetchval("SELECT (now() AT TIME ZONE 'Asia/Karachi')::date")
    finally:
        await conn.close()


async def schedule(ctx, first_due: date, inspector: str = "inspector_a"):
    return await ctx.client.post(
        "/api/v1/schedules",
        await ctx.token("reviewer_a"),
        json={
            "station_id": str(ctx.world.stations["A"]),
            "template_id": str(ctx.template_id),
            "inspector_id": str(ctx.world.users[inspector]),
            "frequency": "monthly",
            "next_due": first_due.isoformat(),
        },
    )


async def visits(ctx) -> list[tuple[str, str]]:
    r = await ctx.get("/api/v1/assignments", station_id=str(ctx.world.stations["A"]))
    return sorted((x["due_date"], x["status"]) for x in r.json())


async def completed_by(ctx, inspection_id: uuid.UUID) -> str | None:
    conn = await ctx.client.db()
    try:
        found = await conn.fetchval("SELECT due_date FROM assignments WHERE inspection_id = $1", inspection_id)
    finally:
        await conn.close()
    return found and found.isoformat()


async def patch(ctx, path: str, **body):
    response = await ctx.client.patch(path, await ctx.token("reviewer_a"), json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def move_inspector_a_away(ctx) -> None:
    """inspector_a leaves station A's district; inspector_c arrives in it."""
    response = await ctx.client.patch(
        f"/api/v1/users/{ctx.world.users['inspector_a']}",
        await ctx.token("admin"),
        json={"district_ids": [str(ctx.world.districts["B"])]},
    )
    assert response.status_code == 200, response.text
    conn = await ctx.client.db()
    try:
        ctx.world.users["inspector_c"] = await make_user(
            conn, "inspector_c", "inspector", district_ids=[ctx.world.districts["A"]]
        )
    finally:
        await conn.close()


# Each visit of a schedule covers its own period ----------------------------------------------------


@pytest.mark.parametrize(
    ("due", "frequency", "anchor"),
    [
        (date(2027, 1, 6), "monthly", 6),
        (date(2025, 3, 31), "monthly", 31),
        (date(2025, 4, 30), "monthly", 31),
        (date(2024, 3, 29), "monthly", 30),
        (date(2026, 2, 28), "quarterly", 30),
        (date(2024, 8, 31), "half_yearly", 31),
        (date(2025, 1, 15), "quarterly", None),
    ],
)
async def test_a_visits_period_starts_on_the_schedules_previous_due_date(conn, due, frequency, anchor):
    start = await conn.fetchval(
        f"""SELECT {period_start_sql("$1::date")}
              FROM (SELECT $2::text AS frequency, $3::int AS anchor_day, $1::date AS next_due) c""",
        due,
        frequency,
        anchor,
    )
    assert start == add_months(due, -MONTHS[frequency], anchor)


@pytest.mark.parametrize("second_start", [-5, 2], ids=["begun-before-next-visit-made", "begun-after-it"])
async def test_a_second_inspection_minutes_after_the_first_leaves_next_months_visit_open(client, second_start):
    ctx = await make_ctx(client)
    first_due = date.today() + timedelta(days=5)
    assert (await schedule(ctx, first_due)).status_code == 201
    first, _ = await ctx.submit(started_at=now_iso(-10))
    assert await completed_by(ctx, first) == first_due.isoformat()
    next_due = add_months(first_due, 1)

    # Begun minutes before January's visit was made (the hour's grace), or after it (a phone's clock a
    # little fast): either way it was made in December's period, and January's visit waits for January.
    second, _ = await ctx.submit(started_at=now_iso(second_start))
    assert await completed_by(ctx, second) is None
    assert await visits(ctx) == [(first_due.isoformat(), "done"), (next_due.isoformat(), "open")]


async def test_a_submission_of_a_visit_cancelled_while_it_was_filled_offline_leaves_the_next_one_open(client):
    ctx = await make_ctx(client)
    first_due = date.today() + timedelta(days=5)
    made = (await schedule(ctx, first_due)).json()
    begun = now_iso(-20)  # the inspector opens the visit offline; the reviewer then cancels it
    await patch(ctx, f"/api/v1/assignments/{made['open_assignment_id']}", status="cancelled")
    late, _ = await ctx.submit(started_at=begun)
    assert await completed_by(ctx, late) is None
    next_due = add_months(first_due, 1)
    assert await visits(ctx) == [(first_due.isoformat(), "cancelled"), (next_due.isoformat(), "open")]


async def test_an_inspection_begun_in_a_visits_period_completes_it(client):
    # The first visit overdue: completed today, the next one (due a month after it) has its period
    # under way since that first due date, and an inspection begun now completes it.
    ctx = await make_ctx(client)
    first_due = await pk_today(ctx) - timedelta(days=3)
    assert (await schedule(ctx, first_due)).status_code == 201
    first, _ = await ctx.submit(started_at=now_iso(-10))
    second, _ = await ctx.submit(started_at=now_iso(1))
    due = [first_due, add_months(first_due, 1), add_months(first_due, 2)]
    assert (await completed_by(ctx, first), await completed_by(ctx, second)) == (due[0].isoformat(), due[1].isoformat())
    assert await visits(ctx) == [
        (due[0].isoformat(), "done"),
        (due[1].isoformat(), "done"),
        (due[2].isoformat(), "open"),
    ]


async def test_a_one_off_visit_has_no_period_and_any_later_inspection_completes_it(client):
    ctx = await make_ctx(client)
    due = date.today() + timedelta(days=90)
    created = await client.post(
        "/api/v1/assignments",
        await ctx.token("reviewer_a"),
        json={
            "station_id": str(ctx.world.stations["A"]),
            "template_id": str(ctx.template_id),
            "inspector_id": str(ctx.world.users["inspector_a"]),
            "due_date": due.isoformat(),
        },
    )
    assert created.status_code == 201, created.text
    inspection, _ = await ctx.submit(started_at=now_iso(-10))
    assert await completed_by(ctx, inspection) == due.isoformat()


# One active schedule per station and checklist ---------------------------------------------------


async def test_a_second_schedule_for_a_station_and_checklist_is_refused_naming_the_first(client):
    ctx = await make_ctx(client)
    first_due = date.today() + timedelta(days=5)
    first = (await schedule(ctx, first_due)).json()
    await move_inspector_a_away(ctx)
    await patch(ctx, f"/api/v1/assignments/{first['open_assignment_id']}", status="cancelled")

    second = await schedule(ctx, first_due, inspector="inspector_c")
    assert second.status_code == 409, second.text
    problem = second.json()
    assert problem["schedule_id"] == first["id"] and "assignment_id" not in problem
    assert sorted(e["field"] for e in problem["errors"]) == ["station_id", "template_id"]
    assert [s["id"] for s in (await ctx.get("/api/v1/schedules", active="true")).json()] == [first["id"]]

    # What the reviewer does instead: hand the schedule to the inspector who can make its visits.
    handed = await patch(ctx, f"/api/v1/schedules/{first['id']}", inspector_id=str(ctx.world.users["inspector_c"]))
    assert handed["open_assignment_id"] is not None and handed["needs_inspector"] is False


async def test_a_second_schedule_while_the_first_has_its_visit_names_both(client):
    ctx = await make_ctx(client)
    first = (await schedule(ctx, date.today() + timedelta(days=5))).json()
    second = await schedule(ctx, date.today() + timedelta(days=9))
    assert second.status_code == 409, second.text
    assert (second.json()["schedule_id"], second.json()["assignment_id"]) == (first["id"], first["open_assignment_id"])


async def test_the_database_refuses_a_second_active_schedule(client):
    ctx = await make_ctx(client)
    first = (await schedule(ctx, date.today() + timedelta(days=5))).json()
    conn = await client.db()
    try:
        insert = """INSERT INTO schedules (station_id, template_id, inspector_id, frequency, next_due, active)
                    VALUES ($1, $2, $3, 'monthly', '2031-01-01', $4)"""
        args = (ctx.world.stations["A"], ctx.template_id, ctx.world.users["inspector_a"])
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert, *args, True)
        await conn.execute(insert, *args, False)  # a stopped one beside it is history, not a plan
    finally:
        await conn.close()
    listed = (await ctx.get("/api/v1/schedules")).json()
    assert sorted((s["id"] == first["id"], s["active"]) for s in listed) == [(False, False), (True, True)]


async def test_the_migration_keeps_one_active_schedule_of_each_pair_the_same_way_every_time(client):
    ctx = await make_ctx(client)
    w = ctx.world
    conn = await client.db()
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute("DROP INDEX schedules_one_active_idx")

        async def add(station: str, created: str, *, visit: bool = False) -> uuid.UUID:
            schedule_id = await conn.fetchval(
                """INSERT INTO schedules (station_id, template_id, inspector_id, frequency, next_due, created_at)
                   VALUES ($1, $2, $3, 'monthly', '2031-01-01', $4::text::timestamptz) RETURNING id""",
                w.stations[station],
                ctx.template_id,
                w.users["inspector_a"],
                created,
            )
            if visit:
                await conn.execute(
                    """INSERT INTO assignments (station_id, template_id, inspector_id, due_date, schedule_id)
                       VALUES ($1, $2, $3, '2031-01-01', $4)""",
                    w.stations[station],
                    ctx.template_id,
                    w.users["inspector_a"],
                    schedule_id,
                )
            return schedule_id

        # At A the older one holds the open visit and stays; at A2 the newest stays.
        a_old = await add("A", "2026-01-01", visit=True)
        a_new = await add("A", "2026-06-01")
        a2 = [await add("A2", day) for day in ("2026-01-01", "2026-03-01", "2026-02-01")]
        await conn.execute(MIGRATION.read_text())
        active = {r["id"] for r in await conn.fetch("SELECT id FROM schedules WHERE active")}
        assert active == {a_old, a2[1]} and a_new not in active
    finally:
        await tx.rollback()
        await conn.close()


# A schedule waiting with no open visit makes it once the station's visit is out of the way --------


@pytest.mark.parametrize("how", ["done", "cancelled"])
async def test_a_schedule_a_one_off_visit_stood_in_for_makes_its_visit_when_that_one_is_over(client, how):
    ctx = await make_ctx(client)
    first_due = date.today() + timedelta(days=5)
    made = (await schedule(ctx, first_due)).json()
    await move_inspector_a_away(ctx)
    await patch(ctx, f"/api/v1/assignments/{made['open_assignment_id']}", status="cancelled")
    stand_in = await client.post(
        "/api/v1/assignments",
        await ctx.token("reviewer_a"),
        json={
            "station_id": str(ctx.world.stations["A"]),
            "template_id": str(ctx.template_id),
            "inspector_id": str(ctx.world.users["inspector_c"]),
            "due_date": (date.today() + timedelta(days=3)).isoformat(),
        },
    )
    assert stand_in.status_code == 201, stand_in.text
    # The schedule is handed on while the one-off visit is open: it makes none of its own yet.
    handed = await patch(ctx, f"/api/v1/schedules/{made['id']}", inspector_id=str(ctx.world.users["inspector_c"]))
    assert handed["open_assignment_id"] is None

    if how == "done":
        await ctx.submit(user="inspector_c", started_at=now_iso(-10))
    else:
        await patch(ctx, f"/api/v1/assignments/{stand_in.json()['id']}", status="cancelled")
    after = (await ctx.get(f"/api/v1/schedules/{made['id']}")).json()
    assert after["open_assignment_id"] is not None, after
    visit = (await ctx.get(f"/api/v1/assignments/{after['open_assignment_id']}")).json()
    assert (visit["due_date"], visit["inspector_id"]) == (after["next_due"], str(ctx.world.users["inspector_c"]))


# The schedule's next due date follows its rescheduled visit --------------------------------------


async def test_rescheduling_a_schedules_visit_moves_its_next_due_and_keeps_its_anchor_day(client):
    ctx = await make_ctx(client)
    first_due = date.today() + timedelta(days=5)
    made = (await schedule(ctx, first_due)).json()
    moved_to = first_due + timedelta(days=9)
    await patch(ctx, f"/api/v1/assignments/{made['open_assignment_id']}", due_date=moved_to.isoformat())
    shown = (await ctx.get(f"/api/v1/schedules/{made['id']}")).json()
    assert (shown["next_due"], shown["anchor_day"]) == (moved_to.isoformat(), first_due.day)
    listed = (await ctx.get("/api/v1/schedules")).json()
    assert [s["next_due"] for s in listed] == [moved_to.isoformat()]

    await ctx.submit(started_at=now_iso(-10))
    after = (await ctx.get(f"/api/v1/schedules/{made['id']}")).json()
    assert after["next_due"] == add_months(moved_to, 1, first_due.day).isoformat()
