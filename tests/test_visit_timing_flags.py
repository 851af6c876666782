"""The visit's own times: answered faster than anyone can check the items, or overlapping another
inspection of the same inspector elsewhere (or too far from it to travel between in the gap), flag the
inspection in the queue, the flagged list and the reviewer's page (server/review/timing.py, schema 0022)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from server.structs import phone_clock_off
from tests.factories import make_version, make_world
from tests.review_fixtures import answers, make_ctx


def migration() -> str:
    return (Path(__file__).parent.parent / "schema" / "0022_visit_timing_flags.sql").read_text(encoding="utf-8")


# A day ago at 09:00 UTC: inside the 30 days a phone's clock is believed about.
DAY = (datetime.now(UTC) - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)

# A checklist of thirty yes/no items: 30 answers take at least 90 seconds to check.
LONG = {
    "title": {"en": "Checklist", "ur": "فہرست"},
    "sections": [
        {
            "key": "all",
            "title": {"en": "All", "ur": "سب"},
            "items": [
                {"key": f"q{n}", "type": "yes_no", "label": {"en": f"Item {n}", "ur": f"آئٹم {n}"}} for n in range(30)
            ],
        }
    ],
}
LONG_ANSWERS = {f"q{n}": {"value": "yes"} for n in range(30)}


def at(minutes: float, day: datetime = DAY) -> str:
    return (day + timedelta(minutes=minutes)).isoformat()


async def send(
    ctx,
    start: str,
    finish: str,
    *,
    station: str = "A",
    values: dict[str, Any] | None = None,
    inspection_id: uuid.UUID | None = None,
    status: str = "submitted",
    base: int = 0,
) -> uuid.UUID:
    inspection_id = inspection_id or uuid.uuid4()
    body = {
        "station_id": str(ctx.world.stations[station]),
        "template_version_id": str(ctx.version_id),
        "base_revision": base,
        "status": status,
        "started_at": start,
        "finished_at": finish,
        "location": ctx.station_location(station, inspection_id),
        "answers": values if values is not None else answers(),
    }
    response = await ctx.client.put(f"/api/v1/inspections/{inspection_id}", await ctx.token("inspector_a"), json=body)
    assert response.status_code in (200, 201), response.text
    return inspection_id


async def queue_flags(ctx, inspection_id: uuid.UUID, **params: Any) -> dict[str, bool] | None:
    rows = (await ctx.get("/api/v1/review/queue", **params)).json()["rows"]
    return next((r["flags"] for r in rows if r["id"] == str(inspection_id)), None)


async def flagged_ids(ctx, **params: Any) -> list[str]:
    return [r["id"] for r in (await ctx.get("/api/v1/dashboard/flagged", **params)).json()["rows"]]


async def timing_of(ctx, inspection_id: uuid.UUID, user: str = "reviewer_a") -> dict[str, Any]:
    response = await ctx.get(f"/api/v1/inspections/{inspection_id}/reviews", user=user)
    assert response.status_code == 200, response.text
    return response.json()["timing"]


async def test_thirty_answers_in_forty_seconds_is_too_fast_and_in_five_minutes_is_not(client):
    ctx = await make_ctx(client, LONG)
    fast = await send(ctx, at(0), at(40 / 60), values=LONG_ANSWERS)
    slow = await send(ctx, at(60), at(65), values=LONG_ANSWERS)

    flags = await queue_flags(ctx, fast)
    assert flags is not None and flags["too_fast"] is True and flags["overlaps_other"] is False
    assert (await queue_flags(ctx, slow))["too_fast"] is False
    assert await queue_flags(ctx, fast, flag="too_fast") is not None
    assert await queue_flags(ctx, slow, flag="too_fast") is None
    assert str(fast) in await flagged_ids(ctx) and str(slow) not in await flagged_ids(ctx)
    assert await flagged_ids(ctx, flag="too_fast") == [str(fast)]

    told = await timing_of(ctx, fast)
    assert (told["answered"], told["seconds"], told["too_fast"], told["overlaps"]) == (30, 40.0, True, [])
    assert (told["min_seconds_per_answer"], told["min_answers"]) == (3.0, 20)
    assert (await timing_of(ctx, slow))["too_fast"] is False
    # The inspector reads their reviews without the reviewer's judgement.
    inspector_view = await ctx.client.get(f"/api/v1/inspections/{fast}/reviews", await ctx.token("inspector_a"))
    assert inspector_view.json()["timing"] is None


async def test_a_short_checklist_answered_quickly_and_a_phone_clock_that_was_off_are_not_flagged(client):
    ctx = await make_ctx(client, LONG)
    # Five answers in ten seconds: under the fewest answers the pace is judged on.
    short = await send(ctx, at(0), at(10 / 60), values={f"q{n}": {"value": "yes"} for n in range(5)})
    # Thirty answers in forty seconds by a phone whose clock said a year ago: not a fact to flag on.
    year_ago = DAY - timedelta(days=365)
    clock_off = await send(ctx, at(0, year_ago), at(40 / 60, year_ago), values=LONG_ANSWERS)
    assert (await queue_flags(ctx, short))["too_fast"] is False
    assert (await queue_flags(ctx, clock_off))["too_fast"] is False
    told = await timing_of(ctx, clock_off)
    assert told["phone_clock_off"] is True and told["too_fast"] is False
    assert str(short) not in await flagged_ids(ctx) and str(clock_off) not in await flagged_ids(ctx)


async def test_a_returned_inspection_sent_again_keeps_the_judgement_of_its_visit(client):
    """The phone keeps a returned inspection's start and stamps a new finish when it is sent again, days
    later: that span is no visit. Its flags stay as its first submission judged them, and the visits the
    inspector made meanwhile elsewhere are not taken for overlapping it."""
    ctx = await make_ctx(client, LONG)
    fast = await send(ctx, at(0), at(40 / 60), values=LONG_ANSWERS)
    honest = await send(ctx, at(120), at(150), station="A2", values=LONG_ANSWERS)
    assert (await queue_flags(ctx, fast))["too_fast"] is True
    for inspection_id in (fast, honest):
        returned = await ctx.review(inspection_id, "return", 1, comment="times?")
        assert returned.status_code == 200, returned.text
    # Meanwhile, the next day, a visit elsewhere.
    meanwhile = await send(ctx, at(24 * 60), at(24 * 60 + 45), station="A2", values=LONG_ANSWERS)
    # Both sent again two days on, as the phone sends them: the same start, a new finish.
    await send(ctx, at(0), at(2 * 24 * 60), values=LONG_ANSWERS, inspection_id=fast, base=2)
    await send(ctx, at(120), at(2 * 24 * 60 + 5), station="A2", values=LONG_ANSWERS, inspection_id=honest, base=2)

    assert (await queue_flags(ctx, fast))["too_fast"] is True
    told = await timing_of(ctx, fast)
    assert (told["too_fast"], told["seconds"]) == (True, 40.0)
    for inspection_id in (honest, meanwhile):
        assert (await queue_flags(ctx, inspection_id))["overlaps_other"] is False, inspection_id
        assert (await timing_of(ctx, inspection_id))["overlaps"] == []
    assert str(meanwhile) not in await flagged_ids(ctx) and str(honest) not in await flagged_ids(ctx)


async def test_overlapping_visits_at_two_stations_eleven_km_apart_flag_both(client):
    ctx = await make_ctx(client)
    first = await send(ctx, at(0), at(30), station="A")
    approved = await ctx.review(first, "approve", 1)
    assert approved.status_code == 200, approved.text
    assert str(first) not in await flagged_ids(ctx)
    second = await send(ctx, at(5), at(35), station="A2")

    assert (await queue_flags(ctx, second))["overlaps_other"] is True
    assert await queue_flags(ctx, second, flag="overlaps") is not None
    # The earlier one, approved already, is flagged too.
    assert {str(first), str(second)} <= set(await flagged_ids(ctx, flag="overlaps"))

    told = await timing_of(ctx, first)
    [other] = told["overlaps"]
    assert other["inspection_id"] == str(second) and other["station"]["code"] == "SA2"
    assert other["overlapping"] is True and 10.5 < other["distance_km"] < 11.5
    assert datetime.fromisoformat(other["started_at"]) == DAY + timedelta(minutes=5)
    [back] = (await timing_of(ctx, second))["overlaps"]
    assert back["inspection_id"] == str(first)


async def test_eleven_km_in_three_minutes_is_impossible_travel_and_in_thirty_minutes_is_not(client):
    ctx = await make_ctx(client)
    first = await send(ctx, at(0), at(30), station="A")
    rushed = await send(ctx, at(33), at(60), station="A2")  # 11 km in 3 minutes: 220 km/h
    assert (await queue_flags(ctx, rushed))["overlaps_other"] is True
    assert (await queue_flags(ctx, first))["overlaps_other"] is True
    [other] = (await timing_of(ctx, rushed))["overlaps"]
    assert other["overlapping"] is False and other["inspection_id"] == str(first)

    later = DAY + timedelta(days=-3)
    a = await send(ctx, at(0, later), at(30, later), station="A")
    b = await send(ctx, at(60, later), at(90, later), station="A2")  # 11 km in 30 minutes: 22 km/h
    # Two inspections of one station at once (two templates, say) are one visit.
    c = await send(ctx, at(65, later), at(80, later), station="A2")
    for inspection_id in (a, b, c):
        assert (await queue_flags(ctx, inspection_id))["overlaps_other"] is False
    assert (await timing_of(ctx, b))["overlaps"] == []


async def test_a_draft_and_a_visit_with_its_clock_off_are_not_partners(client):
    ctx = await make_ctx(client)
    await send(ctx, at(0), at(30), station="A", status="draft")
    year_ago = DAY - timedelta(days=365)
    await send(ctx, at(0, year_ago), at(30, year_ago), station="A")
    # The same times by a phone whose clock is a year behind: it is judged on nothing.
    clocked = await send(ctx, at(5, year_ago), at(35, year_ago), station="A2")
    honest = await send(ctx, at(5), at(35), station="A2")
    assert (await queue_flags(ctx, honest))["overlaps_other"] is False
    assert (await queue_flags(ctx, clocked))["overlaps_other"] is False


async def test_an_overlap_outside_the_reviewers_area_is_told_without_naming_it(client):
    ctx = await make_ctx(client)
    mine = await send(ctx, at(0), at(30), station="A")
    other = await send(ctx, at(5), at(35), station="A2")
    conn = await client.db()
    try:
        # Station A2 moves to region B: reviewer_a no longer sees it or its inspections.
        await conn.execute(
            "UPDATE stations SET district_id = $1 WHERE id = $2", ctx.world.districts["B"], ctx.world.stations["A2"]
        )
    finally:
        await conn.close()
    assert str(other) not in await flagged_ids(ctx)
    told = await timing_of(ctx, mine)
    [hidden] = told["overlaps"]
    assert hidden["inspection_id"] is None and hidden["station"] is None and hidden["distance_km"] is None
    assert hidden["overlapping"] is True
    response = await ctx.get(f"/api/v1/inspections/{mine}/reviews")
    assert "SA2" not in response.text and str(other) not in response.text


async def test_the_sql_rules_match_the_python_ones(conn):
    from server.review import timing

    now = datetime.now(UTC)
    for started, finished in [
        (now - timedelta(days=29), now - timedelta(days=29) + timedelta(minutes=5)),
        (now - timedelta(days=31), now),
        (now, now + timedelta(minutes=59)),
        (now, now + timedelta(minutes=61)),
        (now, now - timedelta(minutes=1)),
        (None, now),
    ]:
        sql = await conn.fetchval("SELECT phone_clock_off($1, $2, $3, $3)", started, finished, now)
        assert sql is phone_clock_off(started, finished, now, now), (started, finished)
    rule = f"answered >= {timing.MIN_ANSWERS} AND extract(epoch FROM NEW.finished_at - NEW.started_at) < "
    assert rule + f"{timing.MIN_SECONDS_PER_ANSWER:g} * answered" in migration()


async def test_the_partners_of_a_submission_are_found_through_the_inspector_start_index(conn):
    """One indexed lookup per submission, on a table of 100,000 inspections."""
    world = await make_world(conn)
    version = await make_version(conn)
    people = list(world.users.values())
    await conn.execute(
        """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                    body_hash, document, started_at, finished_at, submitted_at)
           SELECT gen_random_uuid(), $1, $2, ($3::uuid[])[1 + n % cardinality($3::uuid[])], 'approved', 1,
                  '\\x00', '{}', now() - n * interval '15 minutes', now() - n * interval '15 minutes' + interval '10 minutes',
                  now() - n * interval '15 minutes' + interval '11 minutes'
             FROM generate_series(1, 100000) AS n""",
        world.stations["A"],
        version,
        people,
    )
    await conn.execute("ANALYZE inspections")
    plan = "\n".join(
        r[0]
        for r in await conn.fetch(
            "EXPLAIN SELECT * FROM visit_timing_partners($1, $2, $3, now() - interval '1 day', now())",
            world.users["inspector_a"],
            uuid.uuid4(),
            world.stations["A2"],
        )
    )
    assert "inspections_inspector_started_idx" in plan, plan
    assert "Seq Scan on inspections" not in plan, plan
