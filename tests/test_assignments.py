"""Assignments and schedules: scope checks, refusals naming the field, month-end-safe recurrence."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from server.assignments.queries import complete_assignment
from server.assignments.rules import add_months, next_due
from server.templates.api_models import stored_form
from server.templates.models import to_definition
from tests.factories import make_station, make_world

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
