"""Assignments and schedules: scope checks, refusals naming the field, month-end-safe recurrence."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest

from server.assignments.queries import complete_assignment
from server.assignments.rules import add_months, next_due
from server.templates.api_models import stored_form
from server.templates.models import to_definition
from tests.factories import make_station, make_user, make_world

DEFINITION = {
    "title": {"en": "Check", "ur": "معائنہ"},
    "sections": [
        {
            "key": "front",
            "title": {"en": "Front", "ur": "سامنے"},
            "items": [{"key": "staffed", "type": "yes_no", "label": {"en": "Staffed?", "ur": "عملہ؟"}}],
        }
    ],
}


# The recurrence rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "frequency", "anchor", "expected"),
    [
        (date(2025, 1, 31), "monthly", None, date(2025, 2, 28)),
        (date(2024, 1, 31), "monthly", None, date(2024, 2, 29)),
        (date(2025, 2, 28), "monthly", 31, date(2025, 3, 31)),
        (date(2025, 3, 31), "monthly", 31, date(2025, 4, 30)),
        (date(2025, 12, 15), "monthly", None, date(2026, 1, 15)),
        (date(2025, 11, 30), "quarterly", None, date(2026, 2, 28)),
        (date(2025, 5, 31), "quarterly", None, date(2025, 8, 31)),
        (date(2023, 8, 31), "half_yearly", None, date(2024, 2, 29)),
        (date(2024, 2, 29), "half_yearly", 31, date(2024, 8, 31)),
    ],
)
def test_next_due_is_month_end_safe(previous, frequency, anchor, expected):
    assert next_due(previous, frequency, anchor_day=anchor) == expected


def test_next_due_skips_periods_already_over():
    assert next_due(date(2025, 1, 31), "monthly", anchor_day=31, after=date(2025, 4, 5)) == date(2025, 4, 30)
    assert next_due(date(2025, 1, 31), "monthly", anchor_day=31, after=date(2025, 1, 2)) == date(2025, 2, 28)


def test_add_months_goes_backwards_across_a_year_too():
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert add_months(date(2025, 1, 15), -2) == date(2024, 11, 15)


# The API ------------------------------------------------------------------------------------------


async def make_template(
    conn, key: str, kinds: list[str] | None = None, *, published: bool = True, archived: bool = False
) -> uuid.UUID:
    defn = to_definition({**DEFINITION, **({"kinds": kinds} if kinds else {})})
    template_id = await conn.fetchval(
        """INSERT INTO templates (key, title_en, title_ur, archived_at)
           VALUES ($1, $1, 'فارم', CASE WHEN $2 THEN now() END) RETURNING id""",
        key,
        archived,
    )
    if published:
        await conn.execute(
            "INSERT INTO template_versions (template_id, version, definition, kinds) VALUES ($1, 1, $2, $3)",
            template_id,
            stored_form(defn),
            kinds,
        )
    return template_id


@pytest.fixture
async def setup(client):
    conn = await client.db()
    try:
        w = await make_world(conn)
        w.templates = {  # type: ignore[attr-defined]
            "police": await make_template(conn, "police", ["police_station"]),
            "police2": await make_template(conn, "police2"),
            "police3": await make_template(conn, "police3"),
            "khidmat": await make_template(conn, "khidmat", ["khidmat_markaz"]),
            "unpublished": await make_template(conn, "unpublished", published=False),
            "archived": await make_template(conn, "archived", archived=True),
        }
        w.stations["KA"] = await make_station(conn, w.districts["A"], "KA1", kind="khidmat_markaz")
    finally:
        await conn.close()
    w.tokens = {u: await client.login(u) for u in w.users}  # type: ignore[attr-defined]
    return w


def body(w, station="A", template="police", inspector="inspector_a", due=None) -> dict:
    return {
        "station_id": str(w.stations[station]),
        "template_id": str(w.templates[template]),
        "inspector_id": str(w.users[inspector]),
        "due_date": (due or date.today() + timedelta(days=7)).isoformat(),
    }


async def test_an_assignment_is_created_and_listed_for_its_inspector_only(client, setup):
    w = setup
    created = await client.post("/api/v1/assignments", w.tokens["reviewer_a"], json=body(w))
    assert created.status_code == 201, created.text
    a = created.json()
    assert (a["status"], a["station_code"], a["template_key"], a["overdue"]) == ("open", "SA1", "police", False)
    mine = (await client.get("/api/v1/assignments", w.tokens["inspector_a"])).json()
    assert [x["id"] for x in mine] == [a["id"]]
    assert (await client.get("/api/v1/assignments", w.tokens["inspector_b"])).json() == []
    assert (await client.get("/api/v1/assignments", w.tokens["reviewer_b"])).json() == []
    assert (await client.get(f"/api/v1/assignments/{a['id']}", w.tokens["reviewer_b"])).status_code == 404
    # An inspector cannot widen the list by asking for someone else's work.
    other = await client.get(
        "/api/v1/assignments", w.tokens["inspector_b"], params={"inspector_id": str(w.users["inspector_a"])}
    )
    assert other.json() == []


@pytest.mark.parametrize(
    ("who", "changes", "field"),
    [
        ("admin", {"inspector": "inspector_b"}, "inspector_id"),
        ("admin", {"inspector": "reviewer_a"}, "inspector_id"),
        ("admin", {"template": "archived"}, "template_id"),
        ("admin", {"template": "unpublished"}, "template_id"),
        ("admin", {"template": "khidmat"}, "template_id"),
        ("admin", {"station": "KA", "template": "police"}, "template_id"),
        ("reviewer_b", {"inspector": "inspector_b"}, "station_id"),
    ],
)
async def test_an_assignment_that_cannot_be_made_is_refused_naming_the_field(client, setup, who, changes, field):
    w = setup
    response = await client.post("/api/v1/assignments", w.tokens[who], json=body(w, **changes))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    conn = await client.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM assignments") == 0
    finally:
        await conn.close()


async def test_a_reviewer_learns_nothing_of_people_outside_their_area_from_a_refusal(client, setup):
    """A reviewer may name any id as the inspector: for anyone who works only elsewhere the answer is
    the one for no one at all, not their role or their state. An admin, who sees everyone, is told."""
    w = setup
    conn = await client.db()
    try:
        gone = await make_user(conn, "inspector_gone", "inspector", district_ids=[w.districts["B"]], active=False)
    finally:
        await conn.close()
    outsiders = [w.users["inspector_b"], w.users["reviewer_b"], w.users["admin"], gone, uuid.uuid4()]

    async def said(who: str, inspector_id) -> list[dict]:
        response = await client.post(
            "/api/v1/assignments", w.tokens[who], json={**body(w), "inspector_id": str(inspector_id)}
        )
        assert response.status_code == 422, response.text
        return response.json()["errors"]

    for inspector_id in outsiders:
        assert await said("reviewer_a", inspector_id) == [{"field": "inspector_id", "message": "no user has this id"}]
    # Someone in the reviewer's own area is still named for what they are.
    assert (await said("reviewer_a", w.users["reviewer_a"]))[0]["message"] == "this user is not an inspector"
    assert (await said("admin", w.users["reviewer_b"]))[0]["message"] == "this user is not an inspector"
    assert (await said("admin", gone))[0]["message"] == "this inspector's account is deactivated"


async def test_a_second_open_assignment_for_the_same_station_and_template_is_a_conflict(client, setup):
    w = setup
    first = (await client.post("/api/v1/assignments", w.tokens["admin"], json=body(w))).json()
    again = await client.post("/api/v1/assignments", w.tokens["admin"], json=body(w, due=date.today()))
    assert again.status_code == 409 and again.json()["assignment_id"] == first["id"]


async def test_reschedule_reassign_and_cancel(client, setup):
    w = setup
    admin = w.tokens["admin"]
    a = (await client.post("/api/v1/assignments", admin, json=body(w))).json()
    path = f"/api/v1/assignments/{a['id']}"
    later = (date.today() + timedelta(days=30)).isoformat()
    moved = (await client.patch(path, admin, json={"due_date": later})).json()
    assert moved["due_date"] == later and moved["change_seq"] > a["change_seq"]
    refused = await client.patch(path, admin, json={"inspector_id": str(w.users["inspector_b"])})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "inspector_id"
    cancelled = (await client.patch(path, admin, json={"status": "cancelled"})).json()
    assert cancelled["status"] == "cancelled"
    sooner = (date.today() + timedelta(days=2)).isoformat()
    assert (await client.patch(path, admin, json={"due_date": sooner})).status_code == 409
    assert (await client.get("/api/v1/assignments", admin, params={"status": "open"})).json() == []
    # Cancelled leaves room for a new open assignment of the same station and template.
    assert (await client.post("/api/v1/assignments", admin, json=body(w))).status_code == 201


async def test_overdue_lists_only_open_work_past_its_due_date(client, setup):
    w = setup
    admin = w.tokens["admin"]
    late = (await client.post("/api/v1/assignments", admin, json=body(w, due=date.today() - timedelta(days=3)))).json()
    await client.post("/api/v1/assignments", admin, json=body(w, station="A2"))
    overdue = (await client.get("/api/v1/assignments", admin, params={"overdue": "true"})).json()
    assert [(x["id"], x["overdue"]) for x in overdue] == [(late["id"], True)]


async def test_completing_an_assignment_closes_it_and_a_plain_one_creates_nothing(client, setup):
    w = setup
    a = (await client.post("/api/v1/assignments", w.tokens["admin"], json=body(w))).json()
    inspection_id = uuid.uuid4()
    conn = await client.db()
    try:
        async with conn.transaction():
            done = await complete_assignment(conn, w.stations["A"], w.templates["police"], inspection_id)
        assert done is not None and str(done.assignment_id) == a["id"] and done.next_assignment_id is None
        async with conn.transaction():  # a replayed submission changes nothing
            assert await complete_assignment(conn, w.stations["A"], w.templates["police"], inspection_id) is None
        rows = await conn.fetch("SELECT status, inspection_id FROM assignments")
    finally:
        await conn.close()
    assert [(r["status"], r["inspection_id"]) for r in rows] == [("done", inspection_id)]


async def _schedule(client, w, first_due: date, frequency="monthly", template="police") -> dict:
    response = await client.post(
        "/api/v1/schedules",
        w.tokens["reviewer_a"],
        json={
            **{k: v for k, v in body(w, template=template).items() if k != "due_date"},
            "frequency": frequency,
            "next_due": first_due.isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _complete_and_next_due(client, w, template="police") -> date:
    conn = await client.db()
    try:
        async with conn.transaction():
            done = await complete_assignment(conn, w.stations["A"], w.templates[template], uuid.uuid4())
        return await conn.fetchval("SELECT due_date FROM assignments WHERE id = $1", done.next_assignment_id)
    finally:
        await conn.close()


async def test_a_monthly_schedule_from_the_31st_keeps_to_month_ends(client, setup):
    w = setup
    schedule = await _schedule(client, w, date(2031, 1, 31))
    first = (await client.get(f"/api/v1/assignments/{schedule['open_assignment_id']}", w.tokens["admin"])).json()
    assert first["due_date"] == "2031-01-31" and first["schedule_id"] == schedule["id"]
    assert await _complete_and_next_due(client, w) == date(2031, 2, 28)
    assert await _complete_and_next_due(client, w) == date(2031, 3, 31)
    assert await _complete_and_next_due(client, w) == date(2031, 4, 30)
    shown = (await client.get(f"/api/v1/schedules/{schedule['id']}", w.tokens["inspector_a"])).json()
    assert shown["next_due"] == "2031-04-30" and shown["anchor_day"] == 31


async def test_quarterly_and_half_yearly_schedules_land_on_leap_days(client, setup):
    w = setup
    await _schedule(client, w, date(2031, 11, 30), "quarterly")
    assert await _complete_and_next_due(client, w) == date(2032, 2, 29)
    await _schedule(client, w, date(2031, 8, 31), "half_yearly", template="police2")
    assert await _complete_and_next_due(client, w, "police2") == date(2032, 2, 29)


async def test_a_schedule_completed_late_is_next_due_after_today(client, setup):
    w = setup
    start = date.today() - timedelta(days=75)
    await _schedule(client, w, start)
    due = await _complete_and_next_due(client, w)
    # Due dates follow Pakistan's calendar, which may be a day ahead of this machine's.
    assert date.today() < due <= date.today() + timedelta(days=32)


async def test_cancelling_a_scheduled_visit_moves_the_schedule_on_and_stopping_it_ends_it(client, setup):
    w = setup
    admin = w.tokens["admin"]
    schedule = await _schedule(client, w, date(2031, 5, 31))
    cancelled = await client.patch(
        f"/api/v1/assignments/{schedule['open_assignment_id']}", admin, json={"status": "cancelled"}
    )
    assert cancelled.status_code == 200
    after = (await client.get(f"/api/v1/schedules/{schedule['id']}", admin)).json()
    assert after["next_due"] == "2031-06-30" and after["open_assignment_id"] not in (
        None,
        schedule["open_assignment_id"],
    )
    stopped = (await client.patch(f"/api/v1/schedules/{schedule['id']}", admin, json={"active": False})).json()
    assert stopped["active"] is False and stopped["open_assignment_id"] is None
    open_left = (await client.get("/api/v1/assignments", admin, params={"status": "open"})).json()
    assert open_left == []


async def test_a_schedule_is_refused_like_an_assignment(client, setup):
    w = setup
    response = await client.post(
        "/api/v1/schedules",
        w.tokens["admin"],
        json={
            **{k: v for k, v in body(w, inspector="inspector_b").items() if k != "due_date"},
            "frequency": "monthly",
            "next_due": "2031-01-01",
        },
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "inspector_id"
    weekly = await client.post(
        "/api/v1/schedules",
        w.tokens["admin"],
        json={**{k: v for k, v in body(w).items() if k != "due_date"}, "frequency": "weekly", "next_due": "2031-01-01"},
    )
    assert weekly.status_code == 422 and weekly.json()["errors"][0]["field"] == "frequency"


async def test_role_matrix_of_the_assignment_endpoints(client, setup):
    w = setup
    conn = await client.db()
    try:
        target = await conn.fetchval(
            """INSERT INTO assignments (station_id, template_id, inspector_id, due_date)
               VALUES ($1, $2, $3, current_date + 3) RETURNING id""",
            w.stations["A"],
            w.templates["police3"],
            w.users["inspector_a"],
        )
        schedule = await conn.fetchval(
            """INSERT INTO schedules (station_id, template_id, inspector_id, frequency, next_due)
               VALUES ($1, $2, $3, 'monthly', current_date + 3) RETURNING id""",
            w.stations["A2"],
            w.templates["police3"],
            w.users["inspector_a"],
        )
    finally:
        await conn.close()
    station_of = {"reviewer_a": "A", "admin": "A2"}

    def write_body(kind: str, who: str | None) -> dict:
        b = body(w, station=station_of.get(who or "", "A"), template="police" if kind == "assignment" else "police2")
        return (
            b
            if kind == "assignment"
            else {**{k: v for k, v in b.items() if k != "due_date"}, "frequency": "monthly", "next_due": "2031-01-01"}
        )

    endpoints = [
        ("GET", "/api/v1/assignments", None, "read"),
        ("GET", f"/api/v1/assignments/{target}", None, "read"),
        ("POST", "/api/v1/assignments", "assignment", "plan"),
        ("PATCH", f"/api/v1/assignments/{target}", {"due_date": "2031-02-02"}, "plan"),
        ("GET", "/api/v1/schedules", None, "read"),
        ("GET", f"/api/v1/schedules/{schedule}", None, "read"),
        ("POST", "/api/v1/schedules", "schedule", "plan"),
        ("PATCH", f"/api/v1/schedules/{schedule}", {"inspector_id": str(w.users["inspector_a"])}, "plan"),
    ]
    tokens = {None: None, **{u: w.tokens[u] for u in ("inspector_a", "reviewer_a", "admin")}}
    wrong = []
    for method, path, payload, kind in endpoints:
        for who, token in tokens.items():
            data = write_body(payload, who) if isinstance(payload, str) else payload
            response = await client.request(method, path, token, **({"json": data} if data is not None else {}))
            want = {None: 401, "inspector_a": 200 if kind == "read" else 403, "reviewer_a": "2xx", "admin": "2xx"}[who]
            ok = 200 <= response.status_code < 300 if want == "2xx" else response.status_code == want
            if not ok:
                wrong.append((method, path, who, response.status_code, want, response.text[:200]))
    assert wrong == []


# Due dates far outside any plan ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/api/v1/schedules", "next_due", "9999-12-15"),
        ("/api/v1/schedules", "next_due", "1900-01-31"),
        ("/api/v1/assignments", "due_date", "9999-12-31"),
        ("/api/v1/assignments", "due_date", "2205-01-01"),
    ],
)
async def test_a_due_date_outside_any_plan_is_refused_naming_the_field(client, setup, path, field, value):
    w = setup
    payload = body(w)
    if path.endswith("schedules"):
        payload = {**{k: v for k, v in payload.items() if k != "due_date"}, "frequency": "monthly"}
    response = await client.post(path, w.tokens["admin"], json={**payload, field: value})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    conn = await client.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM assignments") == 0
        assert await conn.fetchval("SELECT count(*) FROM schedules") == 0
    finally:
        await conn.close()


async def test_rescheduling_to_a_due_date_outside_any_plan_is_refused(client, setup):
    w = setup
    a = (await client.post("/api/v1/assignments", w.tokens["admin"], json=body(w))).json()
    response = await client.patch(f"/api/v1/assignments/{a['id']}", w.tokens["admin"], json={"due_date": "9999-12-31"})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["due_date"]


async def test_a_stored_schedule_at_the_end_of_the_calendar_never_blocks_a_submission(client, setup):
    # A schedule stored before due dates were bounded: completing its visit (what a submission does)
    # or cancelling it must not fail on date arithmetic, or the inspector's submission never syncs.
    w = setup
    conn = await client.db()
    try:
        for template in ("police", "police2"):
            schedule_id = await conn.fetchval(
                """INSERT INTO schedules (station_id, template_id, inspector_id, frequency, next_due, anchor_day)
                   VALUES ($1, $2, $3, 'half_yearly', '9999-12-15', 15) RETURNING id""",
                w.stations["A"],
                w.templates[template],
                w.users["inspector_a"],
            )
            await conn.execute(
                """INSERT INTO assignments (station_id, template_id, inspector_id, due_date, schedule_id)
                   VALUES ($1, $2, $3, '9999-12-15', $4)""",
                w.stations["A"],
                w.templates[template],
                w.users["inspector_a"],
                schedule_id,
            )
        async with conn.transaction():
            done = await complete_assignment(conn, w.stations["A"], w.templates["police"], uuid.uuid4())
        assert done is not None and done.next_assignment_id is None
        open_id = await conn.fetchval("SELECT id FROM assignments WHERE template_id = $1", w.templates["police2"])
    finally:
        await conn.close()
    cancelled = await client.patch(f"/api/v1/assignments/{open_id}", w.tokens["admin"], json={"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"


# Work whose inspector can no longer do it --------------------------------------------------------


async def _take_station_from_inspector_a(client, w, how: str) -> str:
    """Leave inspector_a unable to serve station A, as `how` says; the name of someone who can."""
    if how == "station moved":
        conn = await client.db()
        try:
            await conn.execute("UPDATE stations SET district_id = $2 WHERE id = $1", w.stations["A"], w.districts["B"])
        finally:
            await conn.close()
        return "inspector_b"
    change = {
        "deactivated": {"active": False},
        "demoted": {"role": "reviewer", "region_ids": [str(w.regions["A"])]},
        "moved away": {"district_ids": [str(w.districts["B"])]},
    }[how]
    response = await client.patch(f"/api/v1/users/{w.users['inspector_a']}", w.tokens["admin"], json=change)
    assert response.status_code == 200, response.text
    conn = await client.db()
    try:
        w.users["inspector_c"] = await make_user(conn, "inspector_c", "inspector", district_ids=[w.districts["A"]])
    finally:
        await conn.close()
    return "inspector_c"


@pytest.mark.parametrize("how", ["deactivated", "demoted", "moved away", "station moved"])
async def test_work_its_inspector_can_no_longer_do_is_listed_as_needing_an_inspector(client, setup, how):
    w = setup
    admin = w.tokens["admin"]
    visit = (await client.post("/api/v1/assignments", admin, json=body(w, template="police3"))).json()
    schedule = await _schedule(client, w, date.today() + timedelta(days=10), template="police2")
    assert (visit["needs_inspector"], schedule["needs_inspector"]) == (False, False)
    replacement = await _take_station_from_inspector_a(client, w, how)

    needing = (await client.get("/api/v1/assignments", admin, params={"needs_inspector": "true"})).json()
    assert sorted(a["id"] for a in needing) == sorted([visit["id"], schedule["open_assignment_id"]])
    assert {(a["inspector_id"], a["status"]) for a in needing} == {(str(w.users["inspector_a"]), "open")}
    assert (await client.get("/api/v1/assignments", admin, params={"needs_inspector": "false"})).json() == []
    stuck = (await client.get("/api/v1/schedules", admin, params={"needs_inspector": "true"})).json()
    assert [(s["id"], s["needs_inspector"]) for s in stuck] == [(schedule["id"], True)]
    if how != "station moved":
        # The change of the user says in the audit trail which work it left without an inspector.
        rows = (await client.get("/api/v1/audit", admin, params={"action": "user.update"})).json()
        left = rows[0]["data"]["needs_inspector"]
        assert sorted(left["assignment_ids"]) == sorted([visit["id"], schedule["open_assignment_id"]])
        assert left["schedule_ids"] == [schedule["id"]]

    # Reassigning puts the work right: the schedule takes its open visit along.
    someone = str(w.users[replacement])
    moved = await client.patch(f"/api/v1/schedules/{schedule['id']}", admin, json={"inspector_id": someone})
    assert moved.status_code == 200, moved.text
    assert moved.json()["needs_inspector"] is False
    fixed = await client.patch(f"/api/v1/assignments/{visit['id']}", admin, json={"inspector_id": someone})
    assert fixed.status_code == 200 and fixed.json()["needs_inspector"] is False
    assert (await client.get("/api/v1/assignments", admin, params={"needs_inspector": "true"})).json() == []
    assert (await client.get("/api/v1/schedules", admin, params={"needs_inspector": "true"})).json() == []


async def test_a_schedule_makes_no_visit_for_an_inspector_who_cannot_serve_it_until_reassigned(client, setup):
    w = setup
    admin = w.tokens["admin"]
    first_due = date.today() + timedelta(days=5)
    schedule = await _schedule(client, w, first_due)
    await _take_station_from_inspector_a(client, w, "moved away")
    conn = await client.db()
    try:
        # Another inspector's submission completes the open visit; the schedule's own inspector has
        # left the district, so no next visit is made for them.
        async with conn.transaction():
            done = await complete_assignment(conn, w.stations["A"], w.templates["police"], uuid.uuid4())
        assert done is not None and done.next_assignment_id is None
        assert await conn.fetchval("SELECT count(*) FROM assignments WHERE status = 'open'") == 0
    finally:
        await conn.close()
    waiting = (await client.get(f"/api/v1/schedules/{schedule['id']}", admin)).json()
    assert (waiting["needs_inspector"], waiting["open_assignment_id"], waiting["next_due"]) == (
        True,
        None,
        first_due.isoformat(),
    )

    reassigned = await client.patch(
        f"/api/v1/schedules/{schedule['id']}", admin, json={"inspector_id": str(w.users["inspector_c"])}
    )
    assert reassigned.status_code == 200, reassigned.text
    after = reassigned.json()
    assert after["needs_inspector"] is False and after["open_assignment_id"] is not None
    visit = (await client.get(f"/api/v1/assignments/{after['open_assignment_id']}", admin)).json()
    assert visit["inspector_id"] == str(w.users["inspector_c"]) and visit["schedule_id"] == schedule["id"]
    assert visit["due_date"] > first_due.isoformat() and visit["needs_inspector"] is False


async def test_a_held_back_schedule_makes_its_visit_when_its_inspector_is_reactivated(client, setup):
    w = setup
    admin = w.tokens["admin"]
    schedule = await _schedule(client, w, date.today() + timedelta(days=5))
    user = f"/api/v1/users/{w.users['inspector_a']}"
    assert (await client.patch(user, admin, json={"active": False})).status_code == 200
    cancelled = await client.patch(
        f"/api/v1/assignments/{schedule['open_assignment_id']}", admin, json={"status": "cancelled"}
    )
    assert cancelled.status_code == 200
    held = (await client.get(f"/api/v1/schedules/{schedule['id']}", admin)).json()
    assert (held["open_assignment_id"], held["needs_inspector"]) == (None, True)

    assert (await client.patch(user, admin, json={"active": True})).status_code == 200
    resumed = (await client.get(f"/api/v1/schedules/{schedule['id']}", admin)).json()
    assert resumed["needs_inspector"] is False and resumed["open_assignment_id"] is not None
    rows = (await client.get("/api/v1/audit", admin, params={"action": "user.update"})).json()
    assert rows[0]["data"]["resumed_schedules"] == [
        {"schedule_id": schedule["id"], "assignment_id": resumed["open_assignment_id"]}
    ]


@pytest.mark.parametrize("first", ["reactivation", "cancellation"])
async def test_a_visit_cancelled_while_its_inspector_is_switched_back_on_still_makes_the_next_one(client, setup, first):
    """A reviewer cancels a held-back schedule's open visit while an administrator switches its
    inspector back on, each in its own transaction, the statements the two routes run. Each judged
    the other's work as not done (the inspector still off, the visit still open), so neither made the
    next visit and the schedule stopped for good. Whichever starts first, exactly one is made."""
    from server.assignments import queries as aq
    from server.auth import queries as uq

    w = setup
    admin = w.tokens["admin"]
    schedule = await _schedule(client, w, date.today() + timedelta(days=5))
    inspector = w.users["inspector_a"]
    assert (await client.patch(f"/api/v1/users/{inspector}", admin, json={"active": False})).status_code == 200
    admin_conn, reviewer_conn, check = await client.db(), await client.db(), await client.db()
    try:
        switch_on, cancel = admin_conn.transaction(), reviewer_conn.transaction()

        async def reactivate() -> None:
            await uq.lock_user(admin_conn, inspector)
            await uq.update_user(admin_conn, inspector, {"active": True})
            await aq.resume_schedules(admin_conn, inspector_id=inspector)

        async def cancel_visit() -> None:
            await aq.update_assignment(
                reviewer_conn, uuid.UUID(schedule["open_assignment_id"]), {"status": "cancelled"}
            )
            await aq.advance_schedule(reviewer_conn, uuid.UUID(schedule["id"]))

        await switch_on.start()
        await cancel.start()
        if first == "reactivation":
            await reactivate()
            waiting = asyncio.create_task(cancel_visit())  # waits for the inspector's row, or runs on
            await asyncio.sleep(0.5)
            await switch_on.commit()
            await waiting
            await cancel.commit()
        else:
            await cancel_visit()
            waiting = asyncio.create_task(reactivate())
            await asyncio.sleep(0.5)
            await cancel.commit()
            await waiting
            await switch_on.commit()
        open_visits = await check.fetchval(
            "SELECT count(*) FROM assignments WHERE schedule_id = $1 AND status = 'open'", uuid.UUID(schedule["id"])
        )
    finally:
        for conn in (admin_conn, reviewer_conn, check):
            await conn.close()
    assert open_visits == 1
    shown = (await client.get(f"/api/v1/schedules/{schedule['id']}", admin)).json()
    assert shown["needs_inspector"] is False and shown["open_assignment_id"] is not None


async def test_a_patch_that_changes_nothing_returns_a_done_assignment(client, setup):
    w = setup
    admin = w.tokens["admin"]
    a = (await client.post("/api/v1/assignments", admin, json=body(w))).json()
    conn = await client.db()
    try:
        async with conn.transaction():
            assert await complete_assignment(conn, w.stations["A"], w.templates["police"], uuid.uuid4())
    finally:
        await conn.close()
    path = f"/api/v1/assignments/{a['id']}"
    for same in ({}, {"due_date": a["due_date"]}, {"inspector_id": a["inspector_id"]}):
        response = await client.patch(path, admin, json=same)
        assert response.status_code == 200, (same, response.text)
        assert (response.json()["id"], response.json()["status"]) == (a["id"], "done")
    later = (date.today() + timedelta(days=40)).isoformat()
    assert (await client.patch(path, admin, json={"due_date": later})).status_code == 409
