"""Planning one schedule for many stations at once (POST /api/v1/schedules/bulk): a preview that writes
nothing, all or nothing, existing plans left alone, every station that cannot be planned named."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest

from server.assignments.models import BULK_MAX_STATIONS
from server.assignments.queries import complete_assignment
from tests.factories import make_station
from tests.inspection_fixtures import concurrent_client
from tests.test_assignments import (
    make_template,
    setup,  # noqa: F401  (the shared world, as a fixture)
)

PATH = "/api/v1/schedules/bulk"


@pytest.fixture
async def w(client, setup):  # noqa: F811
    conn = await client.db()
    try:
        # A deactivated station in district A: never part of the district's plan.
        off = await make_station(conn, setup.districts["A"], "SA9")
        await conn.execute("UPDATE stations SET active = false WHERE id = $1", off)
        setup.templates["plain"] = await make_template(conn, "plain")
    finally:
        await conn.close()
    return setup


def plan(w, stations=("A", "A2"), template="police", inspector="inspector_a", **more) -> dict:
    body = {
        "template_id": str(w.templates[template]),
        "inspector_id": str(w.users[inspector]),
        "frequency": "monthly",
        "next_due": "2031-01-31",
    }
    if stations is not None:
        body["station_ids"] = [str(w.stations[s]) for s in stations]
    return {**body, **more}


async def _counts(client) -> tuple[int, int, int]:
    conn = await client.db()
    try:
        return (
            await conn.fetchval("SELECT count(*) FROM schedules"),
            await conn.fetchval("SELECT count(*) FROM assignments"),
            await conn.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'schedule.%'"),
        )
    finally:
        await conn.close()


async def test_a_dry_run_lists_what_would_be_made_and_writes_nothing(client, w):
    before = await _counts(client)
    response = await client.post(PATH, w.tokens["reviewer_a"], json=plan(w), params={"dry_run": "true"})
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["dry_run"] is True
    assert [(s["station_code"], s.get("schedule_id")) for s in reply["created"]] == [("SA1", None), ("SA2", None)]
    assert reply["counts"] == {"created": 2, "skipped": 0, "stations": 2}
    assert await _counts(client) == before


async def test_a_real_run_makes_each_schedule_and_its_first_visit_as_one_schedule_would(client, w):
    response = await client.post(PATH, w.tokens["reviewer_a"], json=plan(w))
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["dry_run"] is False and reply["counts"] == {"created": 2, "skipped": 0, "stations": 2}
    by_code = {s["station_code"]: s for s in reply["created"]}
    schedules = (await client.get("/api/v1/schedules", w.tokens["inspector_a"])).json()
    assert {(c["station_code"], c["frequency"], c["next_due"], c["open_assignment_id"]) for c in schedules} == {
        (code, "monthly", "2031-01-31", s["assignment_id"]) for code, s in by_code.items()
    }
    # The first visits are on the inspector's list (and so in their phone's bundle) like any other.
    visits = (await client.get("/api/v1/assignments", w.tokens["inspector_a"])).json()
    assert {(a["station_code"], a["due_date"], a["schedule_id"]) for a in visits} == {
        (code, "2031-01-31", s["schedule_id"]) for code, s in by_code.items()
    }
    bundle = (await client.get("/api/v1/sync/bundle", w.tokens["inspector_a"])).json()
    assert {a["id"] for a in bundle["assignments"]} >= {s["assignment_id"] for s in by_code.values()}
    conn = await client.db()
    try:
        # Each schedule audited as a single one is, and the run once.
        actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY seq")]
        run = await conn.fetchval("SELECT data FROM audit_log WHERE action = 'schedule.bulk_create'")
        # Completing a first visit moves its schedule on, as a single schedule's does.
        async with conn.transaction():
            done = await complete_assignment(conn, w.stations["A"], w.templates["police"], uuid.uuid4())
        next_due = await conn.fetchval("SELECT due_date FROM assignments WHERE id = $1", done.next_assignment_id)
    finally:
        await conn.close()
    assert actions.count("schedule.create") == 2 and actions.count("schedule.bulk_create") == 1
    assert run["created"] == 2 and sorted(run["schedule_ids"]) == sorted(s["schedule_id"] for s in by_code.values())
    assert next_due == date(2031, 2, 28)


async def test_stations_already_planned_are_skipped_and_listed_never_doubled(client, w):
    reviewer = w.tokens["reviewer_a"]
    single = await client.post(
        "/api/v1/schedules",
        reviewer,
        json={k: v for k, v in plan(w, stations=None).items()} | {"station_id": str(w.stations["A"])},
    )
    assert single.status_code == 201, single.text
    by_hand = await client.post(
        "/api/v1/assignments",
        reviewer,
        json={
            "station_id": str(w.stations["A2"]),
            "template_id": str(w.templates["police"]),
            "inspector_id": str(w.users["inspector_a"]),
            "due_date": "2031-01-15",
        },
    )
    assert by_hand.status_code == 201, by_hand.text
    before = await _counts(client)
    reply = (await client.post(PATH, reviewer, json=plan(w))).json()
    assert reply["created"] == [] and reply["counts"] == {"created": 0, "skipped": 2, "stations": 2}
    assert reply["skipped"] == [
        {
            "station_id": str(w.stations["A"]),
            "station_code": "SA1",
            "reason": "scheduled",
            "schedule_id": single.json()["id"],
        },
        {
            "station_id": str(w.stations["A2"]),
            "station_code": "SA2",
            "reason": "open_visit",
            "assignment_id": by_hand.json()["id"],
        },
    ]
    # Nothing made but the run's own audit entry.
    assert await _counts(client) == (before[0], before[1], before[2] + 1)
    # Another checklist for the same stations is another plan.
    other = (await client.post(PATH, reviewer, json=plan(w, template="police2"))).json()
    assert other["counts"] == {"created": 2, "skipped": 0, "stations": 2}


async def test_a_district_means_its_active_stations_of_the_checklists_kind(client, w):
    response = await client.post(
        PATH, w.tokens["reviewer_a"], json=plan(w, stations=None, district_id=str(w.districts["A"]))
    )
    assert response.status_code == 200, response.text
    reply = response.json()
    assert [s["station_code"] for s in reply["created"]] == ["SA1", "SA2"]
    assert [(s["station_code"], s["reason"]) for s in reply["skipped"]] == [("KA1", "other_kind")]
    # A checklist for every kind takes the Khidmat Markaz too; the deactivated station never.
    every = (
        await client.post(
            PATH,
            w.tokens["admin"],
            json=plan(w, stations=None, template="plain", district_id=str(w.districts["A"])),
            params={"dry_run": "true"},
        )
    ).json()
    assert [s["station_code"] for s in every["created"]] == ["KA1", "SA1", "SA2"]


async def test_a_reviewer_cannot_plan_another_regions_stations_and_each_is_named(client, w):
    before = await _counts(client)
    response = await client.post(
        PATH, w.tokens["reviewer_b"], json=plan(w, stations=("B", "A", "A2"), inspector="inspector_b")
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [
        ("station_ids[1]", "no station with this id is in your area"),
        ("station_ids[2]", "no station with this id is in your area"),
    ]
    # Region A's stations are named by their place only: their codes are not the reviewer's to learn.
    assert "SA1" not in response.text and "SA2" not in response.text
    by_district = await client.post(
        PATH,
        w.tokens["reviewer_b"],
        json=plan(w, stations=None, inspector="inspector_b", district_id=str(w.districts["A"])),
    )
    assert by_district.status_code == 422
    assert [e["field"] for e in by_district.json()["errors"]] == ["district_id"]
    assert await _counts(client) == before


async def test_an_inspector_who_does_not_serve_a_station_refuses_the_plan_naming_the_station(client, w):
    before = await _counts(client)
    response = await client.post(PATH, w.tokens["admin"], json=plan(w, stations=("A", "B", "A2")))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [
        ("station_ids[1]", "the station is outside this inspector's districts and regions")
    ]
    assert "SB1" in problem["detail"]
    assert await _counts(client) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"template": "archived"}, "template_id"),
        ({"template": "khidmat"}, "station_ids[0]"),
        ({"inspector": "reviewer_a"}, "inspector_id"),
        ({"next_due": "2205-01-01"}, "next_due"),
        ({"stations": None}, "station_ids"),
        ({"stations": ()}, "station_ids"),
        ({"district_id": str(uuid.uuid4())}, "station_ids"),
    ],
)
async def test_a_plan_that_cannot_be_made_is_refused_naming_the_field(client, w, change, field):
    body = plan(w, **{k: v for k, v in change.items() if k in ("template", "inspector", "stations")})
    body |= {k: v for k, v in change.items() if k in ("next_due", "district_id")}
    response = await client.post(PATH, w.tokens["admin"], json=body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_a_plan_is_capped_with_a_clear_refusal(client, w):
    ids = [str(uuid.uuid4()) for _ in range(BULK_MAX_STATIONS + 1)]
    too_many = await client.post(PATH, w.tokens["admin"], json=plan(w) | {"station_ids": ids})
    assert too_many.status_code == 422
    assert too_many.json()["errors"] == [
        {"field": "station_ids", "message": f"at most {BULK_MAX_STATIONS} stations at a time; this names 2001"}
    ]
    huge = await client.post(PATH, w.tokens["admin"], json=plan(w) | {"station_ids": ids * 4})
    assert huge.status_code == 413
    assert huge.headers["content-type"].startswith("application/problem+json")


async def test_only_reviewers_and_admins_plan(client, w):
    assert (await client.post(PATH, w.tokens["inspector_a"], json=plan(w))).status_code == 403
    assert (await client.post(PATH, None, json=plan(w))).status_code == 401
    assert (await _counts(client))[0] == 0


async def test_a_visit_planned_meanwhile_refuses_the_whole_plan_with_409_and_nothing_made(
    client, w, settings, executor
):
    """The plan judges its stations, then writes: a visit another officer plans at one of them in between
    (committed while the plan writes) refuses the plan as a conflict, with none of its schedules made."""
    from server.assignments.queries import insert_assignment

    reviewer = w.tokens["reviewer_a"]
    other = await client.db()
    watcher = await client.db()
    try:
        async with concurrent_client(settings, executor) as together:
            before = await _counts(client)
            meanwhile = other.transaction()
            await meanwhile.start()
            await insert_assignment(
                other,
                station_id=w.stations["A2"],
                template_id=w.templates["police"],
                inspector_id=w.users["inspector_a"],
                due_date=date(2031, 1, 15),
                schedule_id=None,
                created_by=w.users["reviewer_a"],
            )
            posting = asyncio.ensure_future(together.post(PATH, reviewer, json=plan(w)))
            # The plan has read its stations (the uncommitted visit is not among them) and now waits on it.
            for _ in range(200):
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> $1",
                    other.get_server_pid(),
                )
                if waiting or posting.done():
                    break
                await asyncio.sleep(0.05)
            assert waiting, "the plan did not reach the station planned meanwhile"
            await meanwhile.commit()
            response = await asyncio.wait_for(posting, 30)
            assert response.status_code == 409, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert "planned meanwhile" in response.json()["detail"]
            # Only the visit planned meanwhile was made; no schedule, visit or audit entry of the plan.
            assert await _counts(client) == (before[0], before[1] + 1, before[2])
    finally:
        await other.close()
        await watcher.close()
