"""Visits and schedules held back by their station (deactivated) or their template (archived), and who
actually did the inspection that completed a visit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest

from tests.factories import make_user, make_world
from tests.inspection_fixtures import DEFINITION, complete_answers, concurrent_client, document, publish


@pytest.fixture
async def w(client):
    return await _world(client)


async def _world(client):
    conn = await client.db()
    try:
        world = await make_world(conn)
        world.users["inspector_a2"] = await make_user(
            conn, "inspector_a2", "inspector", district_ids=[world.districts["A"]]
        )
        world.templates = {}  # type: ignore[attr-defined]
        world.versions = {}  # type: ignore[attr-defined]
        for key in ("visit", "plan"):
            world.templates[key], world.versions[key] = await publish(conn, key=key)
    finally:
        await conn.close()
    world.tokens = {u: await client.login(u) for u in ("admin", "reviewer_a", "inspector_a", "inspector_a2")}  # type: ignore[attr-defined]
    return world


def _plan(w, template: str, inspector: str = "inspector_a", **extra) -> dict:
    return {
        "station_id": str(w.stations["A"]),
        "template_id": str(w.templates[template]),
        "inspector_id": str(w.users[inspector]),
        **extra,
    }


async def _visit(client, w, due: date, template: str = "visit", inspector: str = "inspector_a") -> dict:
    made = await client.post(
        "/api/v1/assignments", w.tokens["reviewer_a"], json=_plan(w, template, inspector, due_date=due.isoformat())
    )
    assert made.status_code == 201, made.text
    return made.json()


async def _schedule(client, w, first_due: date, template: str = "plan") -> dict:
    made = await client.post(
        "/api/v1/schedules",
        w.tokens["reviewer_a"],
        json=_plan(w, template, frequency="monthly", next_due=first_due.isoformat()),
    )
    assert made.status_code == 201, made.text
    return made.json()


async def _set_station_active(client, w, active: bool) -> None:
    changed = await client.patch(f"/api/v1/stations/{w.stations['A']}", w.tokens["admin"], json={"active": active})
    assert changed.status_code == 200, changed.text


async def _open_at_station(client, w) -> list[dict]:
    found = await client.get(
        "/api/v1/assignments", w.tokens["admin"], params={"status": "open", "station_id": str(w.stations["A"])}
    )
    return found.json()


# A deactivated station -----------------------------------------------------------------------------


async def test_a_deactivated_stations_visit_and_schedule_say_they_are_held_back_and_why(client, w):
    admin = w.tokens["admin"]
    visit = await _visit(client, w, date.today() - timedelta(days=3))
    schedule = await _schedule(client, w, date.today() + timedelta(days=10))
    assert (visit["held_back"], schedule["held_back"]) == (None, None)
    await _set_station_active(client, w, False)

    shown = (await client.get(f"/api/v1/assignments/{visit['id']}", admin)).json()
    assert (shown["held_back"], shown["needs_inspector"], shown["overdue"]) == ("station_inactive", False, True)
    held = (await client.get("/api/v1/assignments", admin, params={"held_back": "true"})).json()
    assert sorted(a["id"] for a in held) == sorted([visit["id"], schedule["open_assignment_id"]])
    assert (await client.get("/api/v1/assignments", admin, params={"held_back": "false"})).json() == []
    plans = (await client.get("/api/v1/schedules", admin, params={"held_back": "true"})).json()
    assert [(c["id"], c["held_back"], c["needs_inspector"]) for c in plans] == [
        (schedule["id"], "station_inactive", False)
    ]
    # The overdue dashboard says why the visit is not being made.
    overdue = (await client.get("/api/v1/dashboard/overdue", admin)).json()["inspections"]
    assert [(r["id"], r["held_back"]) for r in overdue] == [(visit["id"], "station_inactive")]

    await _set_station_active(client, w, True)
    assert (await client.get("/api/v1/assignments", admin, params={"held_back": "true"})).json() == []
    assert (await client.get(f"/api/v1/schedules/{schedule['id']}", admin)).json()["held_back"] is None


async def test_the_bundle_drops_a_deactivated_stations_visit_and_brings_it_back_when_reactivated(client, w):
    token = w.tokens["inspector_a"]
    visit = await _visit(client, w, date.today() + timedelta(days=5))
    first = (await client.get("/api/v1/sync/bundle", token)).json()
    assert [a["id"] for a in first["assignments"]] == [visit["id"]]

    await _set_station_active(client, w, False)
    full = (await client.get("/api/v1/sync/bundle", token)).json()
    assert str(w.stations["A"]) not in {s["id"] for s in full["stations"]}
    assert full["assignments"] == []
    delta = (await client.get("/api/v1/sync/bundle", token, params={"since": first["cursor"]})).json()
    assert visit["id"] in delta["removed"]["assignments"] and delta["assignments"] == []

    await _set_station_active(client, w, True)
    back = (await client.get("/api/v1/sync/bundle", token, params={"since": delta["cursor"]})).json()
    assert [a["id"] for a in back["assignments"]] == [visit["id"]]
    assert str(w.stations["A"]) in {s["id"] for s in back["stations"]}


async def test_a_schedule_makes_no_visit_at_a_deactivated_station_and_resumes_when_it_is_reactivated(client, w):
    admin = w.tokens["admin"]
    first_due = date.today() + timedelta(days=10)
    schedule = await _schedule(client, w, first_due)
    await _set_station_active(client, w, False)
    cancelled = await client.patch(
        f"/api/v1/assignments/{schedule['open_assignment_id']}", admin, json={"status": "cancelled"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert await _open_at_station(client, w) == []
    waiting = (await client.get(f"/api/v1/schedules/{schedule['id']}", admin)).json()
    assert (waiting["open_assignment_id"], waiting["held_back"], waiting["active"]) == (None, "station_inactive", True)

    await _set_station_active(client, w, True)
    resumed = (await client.get(f"/api/v1/schedules/{schedule['id']}", admin)).json()
    assert resumed["open_assignment_id"] is not None and resumed["held_back"] is None
    made = (await client.get(f"/api/v1/assignments/{resumed['open_assignment_id']}", admin)).json()
    assert (made["schedule_id"], made["status"]) == (schedule["id"], "open")
    assert date.fromisoformat(made["due_date"]) > first_due
    # The station's reactivation says in the audit trail which visit it made.
    rows = (await client.get("/api/v1/audit", admin, params={"action": "station.update"})).json()
    assert rows[0]["data"]["resumed_schedules"] == {schedule["id"]: made["id"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"due_date": (date.today() + timedelta(days=20)).isoformat()}, "station_id"),
        ({"inspector_id": "inspector_a2"}, "station_id"),
    ],
)
async def test_a_held_back_visit_is_not_rescheduled_or_reassigned_but_can_be_cancelled(client, w, change, field):
    admin = w.tokens["admin"]
    visit = await _visit(client, w, date.today() + timedelta(days=5))
    await _set_station_active(client, w, False)
    change = {k: str(w.users[v]) if k == "inspector_id" else v for k, v in change.items()}
    refused = await client.patch(f"/api/v1/assignments/{visit['id']}", admin, json=change)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == [field]
    kept = (await client.get(f"/api/v1/assignments/{visit['id']}", admin)).json()
    assert (kept["due_date"], kept["inspector_id"]) == (visit["due_date"], visit["inspector_id"])
    cancelled = await client.patch(f"/api/v1/assignments/{visit['id']}", admin, json={"status": "cancelled"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


@pytest.mark.parametrize("what", ["assignments", "schedules"])
async def test_no_new_visit_or_schedule_is_made_at_a_deactivated_station(client, w, what):
    await _set_station_active(client, w, False)
    extra = (
        {"due_date": (date.today() + timedelta(days=5)).isoformat()}
        if what == "assignments"
        else {"frequency": "monthly", "next_due": (date.today() + timedelta(days=5)).isoformat()}
    )
    refused = await client.post(f"/api/v1/{what}", w.tokens["reviewer_a"], json=_plan(w, "visit", **extra))
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["station_id"]
    assert await _open_at_station(client, w) == []


# An archived template ------------------------------------------------------------------------------


async def test_an_archived_templates_schedule_says_it_is_held_back_and_unarchiving_resumes_it(client, w):
    admin = w.tokens["admin"]
    first_due = date.today() + timedelta(days=10)
    schedule = await _schedule(client, w, first_due)
    archived = await client.post(f"/api/v1/templates/{w.templates['plan']}/archive", admin)
    assert archived.status_code == 200, archived.text
    cancelled = await client.patch(
        f"/api/v1/assignments/{schedule['open_assignment_id']}", admin, json={"status": "cancelled"}
    )
    assert cancelled.status_code == 200, cancelled.text
    waiting = (await client.get(f"/api/v1/schedules/{schedule['id']}", admin)).json()
    assert (waiting["open_assignment_id"], waiting["held_back"], waiting["active"]) == (None, "template_archived", True)
    listed = (await client.get("/api/v1/schedules", admin, params={"held_back": "true"})).json()
    assert [c["id"] for c in listed] == [schedule["id"]]

    unarchived = await client.post(f"/api/v1/templates/{w.templates['plan']}/unarchive", admin)
    assert unarchived.status_code == 200, unarchived.text
    resumed = (await client.get(f"/api/v1/schedules/{schedule['id']}", admin)).json()
    assert resumed["held_back"] is None and resumed["open_assignment_id"] is not None
    made = (await client.get(f"/api/v1/assignments/{resumed['open_assignment_id']}", admin)).json()
    assert (made["schedule_id"], made["status"], made["held_back"]) == (schedule["id"], "open", None)
    assert date.fromisoformat(made["due_date"]) > first_due


async def test_an_open_visit_of_an_archived_template_says_it_is_held_back(client, w):
    admin = w.tokens["admin"]
    visit = await _visit(client, w, date.today() + timedelta(days=5))
    await client.post(f"/api/v1/templates/{w.templates['visit']}/archive", admin)
    shown = (await client.get(f"/api/v1/assignments/{visit['id']}", admin)).json()
    assert (shown["held_back"], shown["needs_inspector"]) == ("template_archived", False)


@pytest.mark.parametrize("change", ["station", "template"])
async def test_switching_a_station_or_template_off_while_its_visit_is_being_closed_does_not_deadlock(
    settings, executor, change
):
    """A submission locks the visit it closes, then stamps the bundle's change order (sync_state). The
    switch-off took the stamp first and the visit after, so each waited on the other and PostgreSQL
    ended one of them as a deadlock."""
    async with concurrent_client(settings, executor) as client:
        await _switch_off_during_a_closing(client, await _world(client), change)


async def _switch_off_during_a_closing(client, w, change: str) -> None:
    visit = await _visit(client, w, date.today() + timedelta(days=5))
    submission = await client.db()
    try:
        async with submission.transaction():
            await submission.execute("SELECT id FROM assignments WHERE id = $1 FOR UPDATE", uuid.UUID(visit["id"]))
            if change == "station":
                switch = asyncio.create_task(
                    client.patch(f"/api/v1/stations/{w.stations['A']}", w.tokens["admin"], json={"active": False})
                )
            else:
                switch = asyncio.create_task(
                    client.post(f"/api/v1/templates/{w.templates['visit']}/archive", w.tokens["admin"])
                )
            await asyncio.sleep(0.5)  # the switch-off is now waiting on what the submission holds
            assert not switch.done()
            # The submission goes on as its own statements would: the stamp, then the station's and
            # template's share locks (advance_schedule). Deadlocked, PostgreSQL ends one after a second.
            await asyncio.wait_for(submission.execute("UPDATE sync_state SET seq = nextval('change_seq')"), timeout=10)
            await submission.execute(
                "SELECT 1 FROM stations s, templates t WHERE s.id = $1 AND t.id = $2 FOR SHARE OF s, t",
                w.stations["A"],
                w.templates["visit"],
            )
        done = await asyncio.wait_for(switch, timeout=10)
    finally:
        await submission.close()
    assert done.status_code == 200, done.text


async def test_giving_an_inspector_back_their_work_while_a_visit_is_being_closed_does_not_deadlock(settings, executor):
    """Switching an inspector on again makes the visit their schedule held back (resume_schedules), which
    stamps the bundle's order after locking the user; a submission closing a visit stamps first, then
    share-locks its inspector (advance_schedule): each waited on the other."""
    async with concurrent_client(settings, executor) as client:
        w = await _world(client)
        admin, inspector = w.tokens["admin"], w.users["inspector_a"]
        plan = await _schedule(client, w, date.today() + timedelta(days=10))
        off = await client.patch(f"/api/v1/users/{inspector}", admin, json={"active": False})
        assert off.status_code == 200, off.text
        cancelled = await client.patch(
            f"/api/v1/assignments/{plan['open_assignment_id']}", w.tokens["reviewer_a"], json={"status": "cancelled"}
        )
        assert cancelled.status_code == 200, cancelled.text
        submission = await client.db()
        try:
            async with submission.transaction():
                await submission.execute("UPDATE sync_state SET seq = nextval('change_seq')")
                back = asyncio.create_task(client.patch(f"/api/v1/users/{inspector}", admin, json={"active": True}))
                await asyncio.sleep(0.5)  # the change is now waiting on what the submission holds
                assert not back.done()
                await asyncio.wait_for(
                    submission.execute("SELECT 1 FROM users WHERE id = $1 FOR SHARE", inspector), timeout=10
                )
            done = await asyncio.wait_for(back, timeout=10)
        finally:
            await submission.close()
        assert done.status_code == 200, done.text
        resumed = (await client.get(f"/api/v1/schedules/{plan['id']}", admin)).json()
        assert resumed["open_assignment_id"] not in (None, plan["open_assignment_id"])


# Who did the inspection ----------------------------------------------------------------------------


async def _submit(client, w, inspector: str) -> str:
    inspection_id = str(uuid.uuid4())
    body = document(w.stations["A"], w.versions["visit"], status="submitted", answers=complete_answers())
    sent = await client.put(f"/api/v1/inspections/{inspection_id}", w.tokens[inspector], json=body)
    assert sent.status_code in (200, 201), sent.text
    return inspection_id


async def test_a_visit_completed_by_a_colleagues_inspection_names_who_inspected(client, w):
    admin = w.tokens["admin"]
    visit = await _visit(client, w, date.today() + timedelta(days=5), inspector="inspector_a2")
    assert (visit["done_by_id"], visit["done_by_name"]) == (None, None)
    inspection_id = await _submit(client, w, "inspector_a")
    done = (await client.get(f"/api/v1/assignments/{visit['id']}", admin)).json()
    assert (done["status"], done["inspection_id"], done["inspector_id"]) == (
        "done",
        inspection_id,
        str(w.users["inspector_a2"]),
    )
    assert (done["done_by_id"], done["done_by_name"]) == (str(w.users["inspector_a"]), "Inspector_A")
    listed = (await client.get("/api/v1/assignments", admin, params={"status": "done"})).json()
    assert [(a["id"], a["done_by_id"]) for a in listed] == [(visit["id"], str(w.users["inspector_a"]))]


async def test_a_visit_done_by_its_own_inspector_names_them(client, w):
    visit = await _visit(client, w, date.today() + timedelta(days=5), inspector="inspector_a2")
    await _submit(client, w, "inspector_a2")
    done = (await client.get(f"/api/v1/assignments/{visit['id']}", w.tokens["admin"])).json()
    assert (done["status"], done["done_by_id"]) == ("done", str(w.users["inspector_a2"]))


async def _publish_for(client, admin: str, template_id, kinds: list[str] | None) -> None:
    """A new version of the checklist, for `kinds` of station (None: every kind), through the API."""
    definition = {**DEFINITION, "kinds": kinds} if kinds else DEFINITION
    saved = await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=definition)
    assert saved.status_code == 200, saved.text
    published = await client.post(f"/api/v1/templates/{template_id}/publish", admin)
    assert published.status_code == 201, published.text


async def test_a_checklist_published_for_other_kinds_of_station_holds_back_its_visits_there(client, w):
    """A version for Khidmat Markaz only, published over a police station's open visit: the visit stayed
    'to do' while every inspection of it was refused, and its schedule went on making such visits."""
    admin = w.tokens["admin"]
    visit = await _visit(client, w, date.today() + timedelta(days=5))
    schedule = await _schedule(client, w, date.today() + timedelta(days=10))
    for key in ("visit", "plan"):
        await _publish_for(client, admin, w.templates[key], ["khidmat_markaz"])
    shown = (await client.get(f"/api/v1/assignments/{visit['id']}", admin)).json()
    assert shown["held_back"] == "template_other_kind"
    moved = await client.patch(
        f"/api/v1/assignments/{visit['id']}", admin, json={"due_date": (date.today() + timedelta(days=9)).isoformat()}
    )
    assert moved.status_code == 422, moved.text
    assert [e["field"] for e in moved.json()["errors"]] == ["template_id"]
    cancelled = await client.patch(
        f"/api/v1/assignments/{schedule['open_assignment_id']}", admin, json={"status": "cancelled"}
    )
    assert cancelled.status_code == 200, cancelled.text
    waiting = (await client.get(f"/api/v1/schedules/{schedule['id']}", admin)).json()
    assert (waiting["open_assignment_id"], waiting["held_back"]) == (None, "template_other_kind")

    # For every kind again: the visit goes ahead, and the schedule makes its next visit.
    for key in ("visit", "plan"):
        await _publish_for(client, admin, w.templates[key], None)
    shown = (await client.get(f"/api/v1/assignments/{visit['id']}", admin)).json()
    assert shown["held_back"] is None
    resumed = (await client.get(f"/api/v1/schedules/{schedule['id']}", admin)).json()
    assert resumed["held_back"] is None and resumed["open_assignment_id"] is not None


async def test_a_station_changed_to_another_kind_holds_back_its_visits_of_checklists_not_for_it(client, w):
    admin = w.tokens["admin"]
    await _publish_for(client, admin, w.templates["visit"], ["police_station"])
    visit = await _visit(client, w, date.today() + timedelta(days=5))
    changed = await client.patch(f"/api/v1/stations/{w.stations['A']}", admin, json={"kind": "khidmat_markaz"})
    assert changed.status_code == 200, changed.text
    shown = (await client.get(f"/api/v1/assignments/{visit['id']}", admin)).json()
    assert shown["held_back"] == "template_other_kind"
    back = await client.patch(f"/api/v1/stations/{w.stations['A']}", admin, json={"kind": "police_station"})
    assert back.status_code == 200, back.text
    assert (await client.get(f"/api/v1/assignments/{visit['id']}", admin)).json()["held_back"] is None
