"""A new inspection begun at a visit before its station moved away (or before its inspector was
transferred) still reaches the server: it is taken where the station now is, reviewed there, and it
completes the visit. A station outside the inspector's scope where they hold no visit stays closed to
new work (404), as does one where the visit is someone else's, of another station or another checklist."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.factories import make_user
from tests.review_fixtures import DEFINITION, Ctx, answers, make_ctx


async def _visit(ctx: Ctx, station: str = "A", inspector: str = "inspector_a", template_id=None) -> str:
    made = await ctx.client.post(
        "/api/v1/assignments",
        await ctx.token("reviewer_a"),
        json={
            "station_id": str(ctx.world.stations[station]),
            "template_id": str(template_id or ctx.template_id),
            "inspector_id": str(ctx.world.users[inspector]),
            "due_date": (date.today() + timedelta(days=5)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


async def _move(ctx: Ctx, station: str, district: str) -> None:
    moved = await ctx.client.patch(
        f"/api/v1/stations/{ctx.world.stations[station]}",
        await ctx.token("admin"),
        json={"district_id": str(ctx.world.districts[district])},
    )
    assert moved.status_code == 200, moved.text


async def _transfer(ctx: Ctx, user: str, district: str) -> str:
    """The admin moves `user` to `district`; their sessions end, so they sign in again."""
    moved = await ctx.client.patch(
        f"/api/v1/users/{ctx.world.users[user]}",
        await ctx.token("admin"),
        json={"district_ids": [str(ctx.world.districts[district])]},
    )
    assert moved.status_code == 200, moved.text
    ctx.tokens[user] = await ctx.client.login(user)
    return ctx.tokens[user]


def _body(ctx: Ctx, iid: uuid.UUID, station: str = "A", version_id=None, **kw: Any) -> dict[str, Any]:
    started = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    return {
        "station_id": str(ctx.world.stations[station]),
        "template_version_id": str(version_id or ctx.version_id),
        "base_revision": 0,
        "status": "submitted",
        "started_at": started,
        "finished_at": None,
        "location": ctx.station_location(station, iid),
        "answers": answers(),
        **kw,
    }


async def _send(ctx: Ctx, iid: uuid.UUID, body: dict[str, Any], user: str = "inspector_a"):
    return await ctx.client.put(f"/api/v1/inspections/{iid}", await ctx.token(user), json=body)


async def _row_count(ctx: Ctx, iid: uuid.UUID) -> int:
    conn = await ctx.client.db()
    try:
        return await conn.fetchval("SELECT count(*) FROM inspections WHERE id = $1", iid)
    finally:
        await conn.close()


async def _assert_refused(ctx: Ctx, iid: uuid.UUID, body: dict[str, Any], user: str = "inspector_a") -> None:
    refused = await _send(ctx, iid, body, user)
    assert refused.status_code == 404 and "station" in refused.json()["detail"], refused.text
    assert await _row_count(ctx, iid) == 0


async def test_an_inspection_begun_at_a_visit_before_its_station_moved_is_taken_where_the_station_now_is(client):
    ctx = await make_ctx(client)
    visit = await _visit(ctx)
    await _move(ctx, "A", "B")

    iid = uuid.uuid4()
    body = _body(ctx, iid)
    sent = await _send(ctx, iid, body)
    assert sent.status_code == 201, sent.text
    assert sent.json()["station_id"] == str(ctx.world.stations["A"])

    # The visit is done by it, so it turns overdue for no one.
    done = await ctx.get(f"/api/v1/assignments/{visit}", "reviewer_b")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and done.json()["inspection_id"] == str(iid)
    # The station's new region reviews it; the old one no longer sees it.
    assert (await ctx.get(f"/api/v1/inspections/{iid}", "reviewer_b")).status_code == 200
    queue = await ctx.get("/api/v1/review/queue", "reviewer_b")
    assert str(iid) in {row["id"] for row in queue.json()["rows"]}
    assert (await ctx.get(f"/api/v1/inspections/{iid}", "reviewer_a")).status_code == 404
    # The same send again is a replay, and the inspection is still the inspector's to read.
    again = await _send(ctx, iid, body)
    assert again.status_code == 200, again.text
    assert (await ctx.get(f"/api/v1/inspections/{iid}", "inspector_a")).status_code == 200

    # The visit was the hold on the station: once done, nothing new is begun there.
    other = uuid.uuid4()
    await _assert_refused(ctx, other, _body(ctx, other))


async def test_a_draft_begun_at_the_visit_is_taken_and_its_submission_completes_the_visit(client):
    ctx = await make_ctx(client)
    visit = await _visit(ctx)
    await _move(ctx, "A", "B")
    iid = uuid.uuid4()
    body = _body(ctx, iid, status="draft")
    assert (await _send(ctx, iid, body)).status_code == 201
    submitted = await _send(ctx, iid, body | {"status": "submitted", "base_revision": 1})
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted", submitted.text
    done = await ctx.get(f"/api/v1/assignments/{visit}", "reviewer_b")
    assert done.json()["status"] == "done" and done.json()["inspection_id"] == str(iid)


async def test_a_station_moved_away_without_a_visit_there_is_still_closed_to_new_work(client):
    ctx = await make_ctx(client)
    await _move(ctx, "A", "B")
    iid = uuid.uuid4()
    await _assert_refused(ctx, iid, _body(ctx, iid))
    # Nor does the inspector reach a station they never covered.
    far = uuid.uuid4()
    await _assert_refused(ctx, far, _body(ctx, far, station="B2"))


async def test_a_visit_at_another_station_gives_no_hold_on_a_station_moved_away(client):
    ctx = await make_ctx(client)
    await _visit(ctx, station="A2")
    await _move(ctx, "A", "B")
    await _move(ctx, "A2", "B")
    iid = uuid.uuid4()
    await _assert_refused(ctx, iid, _body(ctx, iid))


async def test_another_inspectors_visit_gives_no_hold_on_the_station(client):
    ctx = await make_ctx(client)
    conn = await client.db()
    try:
        ctx.world.users["inspector_c"] = await make_user(
            conn, "inspector_c", "inspector", district_ids=[ctx.world.districts["A"]]
        )
    finally:
        await conn.close()
    await _visit(ctx, inspector="inspector_c")
    await _move(ctx, "A", "B")
    iid = uuid.uuid4()
    await _assert_refused(ctx, iid, _body(ctx, iid))


async def test_a_visit_of_another_checklist_gives_no_hold_on_the_station(client):
    ctx = await make_ctx(client)
    admin = await ctx.token("admin")
    created = await client.post("/api/v1/templates", admin, json={"key": "other", "title": {"en": "O", "ur": "دیگر"}})
    assert created.status_code == 201, created.text
    other_template = created.json()["id"]
    assert (await client.put(f"/api/v1/templates/{other_template}/draft", admin, json=DEFINITION)).status_code == 200
    assert (await client.post(f"/api/v1/templates/{other_template}/publish", admin)).status_code == 201
    await _visit(ctx, template_id=other_template)
    await _move(ctx, "A", "B")
    iid = uuid.uuid4()
    await _assert_refused(ctx, iid, _body(ctx, iid))


async def test_an_inspection_begun_at_a_visit_before_the_inspectors_transfer_is_taken(client):
    ctx = await make_ctx(client)
    visit = await _visit(ctx)
    await _transfer(ctx, "inspector_a", "B")
    iid = uuid.uuid4()
    sent = await _send(ctx, iid, _body(ctx, iid))
    assert sent.status_code == 201, sent.text
    done = await ctx.get(f"/api/v1/assignments/{visit}", "reviewer_a")
    assert done.json()["status"] == "done" and done.json()["inspection_id"] == str(iid)
    # Reviewed where the station is (region A), not in the inspector's new region.
    assert (await ctx.get(f"/api/v1/inspections/{iid}", "reviewer_a")).status_code == 200
    assert (await ctx.get(f"/api/v1/inspections/{iid}", "reviewer_b")).status_code == 404
    # Another station of the old district, with no visit there, stays closed to them.
    other = uuid.uuid4()
    await _assert_refused(ctx, other, _body(ctx, other, station="A2"))
