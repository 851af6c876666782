"""Corrective actions: the state machine, creation from critical failures, the API, scope and the bundle."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from server.actions.queries import open_actions_for_bundle
from server.actions.rules import transition_problem
from tests.review_fixtures import answers, make_ctx

FUTURE = (date.today() + timedelta(days=30)).isoformat()


@pytest.mark.parametrize(
    ("current", "target", "role", "note", "refused"),
    [
        ("open", "in_progress", "inspector", False, None),
        ("open", "done", "reviewer", False, None),
        ("in_progress", "done", "inspector", False, None),
        ("done", "verified", "reviewer", False, None),
        ("done", "verified", "admin", False, None),
        ("done", "verified", "inspector", True, None),
        ("open", "verified", "inspector", True, None),
        ("done", "verified", "inspector", False, "needs_note"),
        ("done", "open", "reviewer", False, None),
        ("in_progress", "open", "reviewer", False, None),
        ("done", "open", "inspector", True, "forbidden"),
        ("in_progress", "open", "inspector", True, "forbidden"),
        ("verified", "open", "reviewer", True, "conflict"),
        ("verified", "done", "admin", True, "conflict"),
        ("done", "in_progress", "reviewer", False, "conflict"),
        ("verified", "verified", "inspector", False, None),
        ("open", "open", "inspector", False, None),
        ("open", "cancelled", "reviewer", True, None),
        ("done", "cancelled", "admin", True, None),
        ("in_progress", "cancelled", "reviewer", False, "needs_note"),
        ("open", "cancelled", "inspector", True, "forbidden"),
        ("cancelled", "open", "admin", True, "conflict"),
        ("cancelled", "verified", "reviewer", True, "conflict"),
        ("verified", "cancelled", "reviewer", True, "conflict"),
        ("cancelled", "cancelled", "reviewer", False, None),
    ],
)
def test_the_action_state_machine(current, target, role, note, refused):
    refusal = transition_problem(current, target, role, note)
    assert (refusal.kind if refusal else None) == refused


async def _rows(client, sql: str, *args):
    conn = await client.db()
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_a_failed_critical_item_opens_one_action_that_a_resubmission_does_not_duplicate(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no"))
    actions = await _rows(client, "SELECT * FROM actions")
    assert len(actions) == 1
    action = actions[0]
    assert (action["item_key"], action["status"], action["source"]) == ("l_diary", "open", "submission")
    assert action["station_id"] == ctx.world.stations["A"] and action["inspection_id"] == inspection_id
    assert action["description"] == "Critical item failed: Detainees in the diary"
    submitted = (await _rows(client, "SELECT (submitted_at AT TIME ZONE 'Asia/Karachi')::date AS d FROM inspections"))[
        0
    ]["d"]
    assert action["due_date"] == submitted + timedelta(days=14)

    await ctx.review(inspection_id, "return", revision, comment="Check again")
    await ctx.put(inspection_id, base=revision + 1, values=answers(diary="no", water="no"))
    await ctx.submit(values=answers(diary="no"))  # the next inspection finds the same fault
    actions = await _rows(client, "SELECT item_key, status FROM actions ORDER BY item_key")
    assert [(a["item_key"], a["status"]) for a in actions] == [("l_diary", "open"), ("l_water", "open")]
    # A passing inspection and a non-critical failure open nothing.
    await ctx.submit(station="A2", values=answers(staffed="no", why="no", clean=0))
    assert len(await _rows(client, "SELECT 1 FROM actions")) == 2


async def test_an_action_marked_done_reopens_when_the_item_fails_again(client):
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no"))
    action_id = (await _rows(client, "SELECT id FROM actions"))[0]["id"]
    response = await client.patch(
        f"/api/v1/actions/{action_id}",
        await ctx.token("reviewer_a"),
        json={"status": "done", "note": "SHO says the diary is now complete"},
    )
    assert response.json()["status"] == "done"
    await ctx.submit(values=answers(diary="no"))
    rows = await _rows(client, "SELECT id, status FROM actions")
    assert [(r["id"], r["status"]) for r in rows] == [(action_id, "open")]
    notes = (await ctx.get(f"/api/v1/actions/{action_id}")).json()["notes"]
    assert (notes[-1]["status_from"], notes[-1]["status_to"]) == ("done", "open")


async def test_an_inspection_finished_before_the_fix_and_sent_after_it_does_not_reopen_the_action(client):
    """The phone held it offline for days: its failure says nothing about the fix. A phone clock that
    cannot be right (later than the server received it, or a year before) counts as not saying."""
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no"))
    action_id = (await _rows(client, "SELECT id FROM actions"))[0]["id"]
    reviewer = await ctx.token("reviewer_a")
    done = await client.patch(f"/api/v1/actions/{action_id}", reviewer, json={"status": "done", "note": "Fixed"})
    assert done.json()["status"] == "done"
    now = datetime.now(UTC)
    await ctx.submit(values=answers(diary="no"), finished_at=(now - timedelta(days=3)).isoformat())
    assert (await _rows(client, "SELECT status FROM actions"))[0]["status"] == "done"

    for wrong_clock in (now + timedelta(days=300), now - timedelta(days=365)):
        await ctx.submit(values=answers(diary="no"), finished_at=wrong_clock.isoformat())
        assert (await _rows(client, "SELECT status FROM actions"))[0]["status"] == "open", wrong_clock
        done = await client.patch(f"/api/v1/actions/{action_id}", reviewer, json={"status": "done", "note": "Again"})
        assert done.json()["status"] == "done", done.text


async def test_reviewers_open_actions_for_any_item_and_a_second_open_one_is_a_conflict(client):
    ctx = await make_ctx(client)
    inspection_id, _ = await ctx.submit()
    token = await ctx.token("reviewer_a")
    body = {
        "station_id": str(ctx.world.stations["A"]),
        "inspection_id": str(inspection_id),
        "item_key": "f_clean",
        "description": "Repaint the waiting area",
        "owner_name": "SHO Saddar",
        "due_date": FUTURE,
    }
    created = await client.post("/api/v1/actions", token, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["source"] == "reviewer" and created.json()["owner_name"] == "SHO Saddar"
    again = await client.post("/api/v1/actions", token, json=body)
    assert again.status_code == 409 and again.json()["existing_id"] == created.json()["id"]

    cases = [
        ({**body, "station_id": str(ctx.world.stations["B"])}, "station_id"),
        ({**body, "item_key": "nope"}, "item_key"),
        ({**body, "station_id": str(ctx.world.stations["A2"])}, "inspection_id"),
        ({**body, "due_date": "2020-01-01", "item_key": "f_token"}, "due_date"),
    ]
    for bad, field in cases:
        response = await client.post("/api/v1/actions", token, json=bad)
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]]
    inspector = await client.post("/api/v1/actions", await ctx.token("inspector_a"), json=body)
    assert inspector.status_code == 403
    assert len(await _rows(client, "SELECT 1 FROM actions")) == 1
    audit = await _rows(client, "SELECT action FROM audit_log WHERE entity = 'action'")
    assert [a["action"] for a in audit] == ["action.create"]


async def test_an_action_owner_must_be_a_user_of_the_stations_area_and_a_bad_one_is_named(client):
    ctx = await make_ctx(client)
    token = await ctx.token("reviewer_a")
    body = {"station_id": str(ctx.world.stations["A"]), "description": "Fix the lock-up door", "due_date": FUTURE}
    # An unknown id and a user of region B get the same answer, naming the field; nothing is written.
    for owner in (uuid.uuid4(), ctx.world.users["inspector_b"], ctx.world.users["reviewer_b"]):
        response = await client.post("/api/v1/actions", token, json={**body, "owner_user_id": str(owner)})
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["owner_user_id"]
    assert await _rows(client, "SELECT 1 FROM actions") == []
    created = await client.post(
        "/api/v1/actions", token, json={**body, "owner_user_id": str(ctx.world.users["inspector_a"])}
    )
    assert created.status_code == 201, created.text
    path = f"/api/v1/actions/{created.json()['id']}"
    for owner in (uuid.uuid4(), ctx.world.users["inspector_b"]):
        response = await client.patch(path, token, json={"owner_user_id": str(owner), "note": "Reassigned"})
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["owner_user_id"]
    stored = await _rows(client, "SELECT owner_user_id FROM actions")
    assert [r["owner_user_id"] for r in stored] == [ctx.world.users["inspector_a"]]
    assert (await ctx.get(path)).json()["notes"] == []
    moved = await client.patch(path, token, json={"owner_user_id": str(ctx.world.users["reviewer_a"])})
    assert moved.status_code == 200 and moved.json()["owner_user_id"] == str(ctx.world.users["reviewer_a"])
    cleared = await client.patch(path, token, json={"owner_user_id": None})
    assert cleared.status_code == 200 and cleared.json()["owner_user_id"] is None


async def test_an_action_walks_open_in_progress_done_verified_with_its_notes_as_history(client):
    ctx = await make_ctx(client)
    inspection_id, _ = await ctx.submit(values=answers(water="no"))
    action_id = (await _rows(client, "SELECT id FROM actions"))[0]["id"]
    path = f"/api/v1/actions/{action_id}"
    reviewer = await ctx.token("reviewer_a")
    photo_id = await ctx.upload_photo(inspection_id, "l_water")

    assert (await client.patch(path, reviewer, json={"status": "in_progress"})).status_code == 200
    done = await client.patch(
        path, reviewer, json={"status": "done", "note": "Cooler installed", "evidence_photo_ids": [str(photo_id)]}
    )
    assert done.json()["status"] == "done" and len(done.json()["evidence_photo_ids"]) == 1
    reopened = await client.patch(path, reviewer, json={"status": "open", "note": "The cooler is not connected"})
    assert reopened.json()["status"] == "open"
    verified = await client.patch(path, reviewer, json={"status": "verified"})
    assert verified.json()["verified_by"] == str(ctx.world.users["reviewer_a"])
    closed = await client.patch(path, reviewer, json={"status": "open"})
    assert closed.status_code == 409

    notes = (await ctx.get(path)).json()["notes"]
    assert [(n["status_from"], n["status_to"]) for n in notes] == [
        ("open", "in_progress"),
        ("in_progress", "done"),
        ("done", "open"),
        ("open", "verified"),
    ]
    assert [n["body"] for n in notes][1:3] == ["Cooler installed", "The cooler is not connected"]
    audit = await _rows(client, "SELECT count(*) AS n FROM audit_log WHERE action = 'action.update'")
    assert audit[0]["n"] == 4


async def test_an_inspector_verifies_a_fix_during_an_inspection_only_with_a_note(client):
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no"))
    action_id = (await _rows(client, "SELECT id FROM actions"))[0]["id"]
    path = f"/api/v1/actions/{action_id}"
    inspector = await ctx.token("inspector_a")

    missing = await client.patch(path, inspector, json={"status": "verified"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "note"
    assert (await client.patch(path, inspector, json={"due_date": FUTURE})).status_code == 403
    note_id = str(uuid.uuid4())
    body = {"status": "verified", "note": "All four detainees are in today's diary", "note_id": note_id}
    first = await client.patch(path, inspector, json=body)
    assert first.status_code == 200 and first.json()["status"] == "verified"
    # The phone's queued request arrives twice: the note is kept once, the status is unchanged.
    second = await client.patch(path, inspector, json=body)
    assert second.status_code == 200
    assert [n["id"] for n in second.json()["notes"]] == [note_id]
    assert second.json()["verified_by"] == str(ctx.world.users["inspector_a"])


async def test_a_replayed_note_is_kept_and_audited_once_and_its_id_on_another_action_is_a_conflict(client):
    ctx = await make_ctx(client)
    inspection_id, _ = await ctx.submit(values=answers(diary="no"))
    first_action = (await _rows(client, "SELECT id FROM actions"))[0]["id"]
    reviewer = await ctx.token("reviewer_a")
    other = await client.post(
        "/api/v1/actions",
        reviewer,
        json={
            "station_id": str(ctx.world.stations["A"]),
            "inspection_id": str(inspection_id),
            "item_key": "f_clean",
            "description": "Repaint the waiting area",
            "owner_name": "SHO Saddar",
            "due_date": FUTURE,
        },
    )
    assert other.status_code == 201, other.text
    inspector = await ctx.token("inspector_a")
    note = {"note": "Diary brought up to date", "note_id": str(uuid.uuid4())}
    for _ in range(2):  # the phone's queued request arrives twice
        sent = await client.patch(f"/api/v1/actions/{first_action}", inspector, json=note)
        assert sent.status_code == 200, sent.text
    assert [n["body"] for n in sent.json()["notes"]] == ["Diary brought up to date"]
    audit = await _rows(client, "SELECT data FROM audit_log WHERE action = 'action.update'")
    assert len(audit) == 1

    # The same note id on another action would be dropped as if it were a replay: refused, naming it.
    reused = await client.patch(
        f"/api/v1/actions/{other.json()['id']}", inspector, json={**note, "note": "Painted", "status": "in_progress"}
    )
    assert reused.status_code == 409, reused.text
    assert [e["field"] for e in reused.json()["errors"]] == ["note_id"]
    kept = await client.get(f"/api/v1/actions/{other.json()['id']}", reviewer)
    assert kept.json()["status"] == "open" and kept.json()["notes"] == []


async def test_actions_are_listed_in_scope_and_overdue_ones_are_found(client):
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no"))
    await ctx.submit(station="A2", values=answers(water="no"))
    await ctx.submit(station="B", user="inspector_b", values=answers(diary="no"))
    conn = await client.db()
    try:
        await conn.execute("UPDATE actions SET due_date = current_date - 3 WHERE item_key = 'l_diary'")
    finally:
        await conn.close()

    mine = (await ctx.get("/api/v1/actions")).json()["rows"]
    assert sorted(a["station"]["code"] for a in mine) == ["SA1", "SA2"]
    overdue = (await ctx.get("/api/v1/actions", overdue="true")).json()["rows"]
    assert [(a["station"]["code"], a["overdue"]) for a in overdue] == [("SA1", True)]
    assert [a["station"]["code"] for a in (await ctx.get("/api/v1/actions", "reviewer_b")).json()["rows"]] == ["SB1"]
    page = (await ctx.get("/api/v1/actions", limit=1)).json()
    rest = (await ctx.get("/api/v1/actions", limit=1, after=page["next"])).json()
    assert {page["rows"][0]["id"], rest["rows"][0]["id"]} == {a["id"] for a in mine} and rest["next"] is None
    # The first page counts every action the filters match, so a list can say "1 of 2"; later ones do not.
    assert (page["total"], rest["total"]) == (2, None)
    assert (await ctx.get("/api/v1/actions", limit=1, overdue="true")).json()["total"] == 1
    assert (await ctx.get("/api/v1/actions", limit=5, status="verified")).json()["total"] == 0
    assert (await ctx.get("/api/v1/actions", "reviewer_b", limit=1)).json()["total"] == 1

    theirs = (await ctx.get("/api/v1/actions", "inspector_b")).json()["rows"]
    assert [a["station"]["code"] for a in theirs] == ["SB1"]
    a_action = next(a for a in mine if a["station"]["code"] == "SA1")["id"]
    assert (await ctx.get(f"/api/v1/actions/{a_action}", "reviewer_b")).status_code == 404
    patch = await client.patch(f"/api/v1/actions/{a_action}", await ctx.token("reviewer_b"), json={"status": "done"})
    assert patch.status_code == 404


async def test_the_bundle_gets_open_actions_and_later_learns_which_were_verified(client):
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no", water="no"))
    conn = await client.db()
    try:
        station = ctx.world.stations["A"]
        first = await open_actions_for_bundle(conn, [station], 0)
        assert sorted(a["item_key"] for a in first) == ["l_diary", "l_water"]
        assert set(first[0]) >= {"id", "station_id", "item_key", "description", "due_date", "status", "change_seq"}
        cursor = max(a["change_seq"] for a in first)
        assert await open_actions_for_bundle(conn, [station], cursor) == []
        assert await open_actions_for_bundle(conn, [ctx.world.stations["B"]], 0) == []

        verified = next(a for a in first if a["item_key"] == "l_water")
        response = await client.patch(
            f"/api/v1/actions/{verified['id']}",
            await ctx.token("inspector_a"),
            json={"status": "verified", "note": "Water cooler working"},
        )
        assert response.status_code == 200
        later = await open_actions_for_bundle(conn, [station], cursor)
        assert [(a["id"], a["status"]) for a in later] == [(verified["id"], "verified")]
        fresh = await open_actions_for_bundle(conn, [station], 0)
        assert [a["item_key"] for a in fresh] == ["l_diary"]
    finally:
        await conn.close()


async def test_the_inspectors_bundle_from_the_api_carries_the_open_actions_of_their_stations(client):
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no"))
    response = await client.get("/api/v1/sync/bundle", await ctx.token("inspector_a"))
    assert response.status_code == 200
    actions = response.json()["actions"]
    assert [(a["item_key"], a["status"], a["station_id"]) for a in actions] == [
        ("l_diary", "open", str(ctx.world.stations["A"]))
    ]
    other = await client.get("/api/v1/sync/bundle", await ctx.token("inspector_b"))
    assert other.json()["actions"] == []


async def test_an_automatic_action_says_what_failed_in_both_languages_until_a_reviewer_rewords_it(client):
    ctx = await make_ctx(client)
    inspection_id, _ = await ctx.submit(values=answers(diary="no"))
    station = (await _rows(client, "SELECT name_en, name_ur FROM stations WHERE id = $1", ctx.world.stations["A"]))[0]
    listed = (await ctx.get("/api/v1/actions")).json()["rows"]
    assert len(listed) == 1
    auto = listed[0]
    # The stored English stays, for exports and older phones; what a reader needs to say it in Urdu is beside it.
    assert auto["source"] == "submission" and auto["item_key"] == "l_diary"
    assert auto["description"] == "Critical item failed: Detainees in the diary"
    assert auto["owner_name"] == f"SHO, {station['name_en']}"
    assert auto["description_kind"] == "critical_item_failed" and auto["owner_kind"] == "station_sho"
    assert auto["item_label"] == {"en": "Detainees in the diary", "ur": "روزنامچہ"}
    assert auto["station"]["name"]["ur"] == station["name_ur"]
    one = (await ctx.get(f"/api/v1/actions/{auto['id']}")).json()
    assert {k: one[k] for k in ("description_kind", "owner_kind", "item_label")} == {
        k: auto[k] for k in ("description_kind", "owner_kind", "item_label")
    }

    # The phone's bundle carries the same fields, so the inspector's open actions read in Urdu offline.
    bundled = (await client.get("/api/v1/sync/bundle", await ctx.token("inspector_a"))).json()["actions"]
    assert [
        (a["source"], a["description_kind"], a["owner_kind"], a["item_label"], a["description"]) for a in bundled
    ] == [("submission", "critical_item_failed", "station_sho", auto["item_label"], auto["description"])]

    # A later version rewording the item (template_items carries the newest label) names it anew; the
    # action, whose stored sentence has the old label, is still the server's to word.
    conn = await client.db()
    try:
        await conn.execute(
            "UPDATE template_items SET label_en = 'Every detainee entered', label_ur = 'ہر زیرِ حراست کا اندراج' "
            "WHERE item_key = 'l_diary'"
        )
    finally:
        await conn.close()
    relabelled = (await ctx.get(f"/api/v1/actions/{auto['id']}")).json()
    assert relabelled["item_label"] == {"en": "Every detainee entered", "ur": "ہر زیرِ حراست کا اندراج"}
    assert relabelled["description_kind"] == "critical_item_failed"
    assert relabelled["description"] == auto["description"]

    # A reviewer's own words are theirs: once changed, the text is shown as typed, never recomposed.
    token = await ctx.token("reviewer_a")
    reworded = await client.patch(
        f"/api/v1/actions/{auto['id']}", token, json={"description": "Enter every detainee in the roznamcha"}
    )
    assert reworded.status_code == 200, reworded.text
    assert (reworded.json()["description_kind"], reworded.json()["owner_kind"]) == (None, "station_sho")
    assert reworded.json()["item_label"] == relabelled["item_label"]
    owner = await client.patch(f"/api/v1/actions/{auto['id']}", token, json={"owner_name": "Moharrar"})
    assert (owner.json()["description_kind"], owner.json()["owner_kind"]) == (None, None)

    # An action a reviewer opens is typed text from the start, even if it happens to read like the server's.
    typed = await client.post(
        "/api/v1/actions",
        token,
        json={
            "station_id": str(ctx.world.stations["A"]),
            "inspection_id": str(inspection_id),
            "item_key": "l_water",
            "description": "Critical item failed: Drinking water",
            "owner_name": f"SHO, {station['name_en']}",
            "due_date": FUTURE,
        },
    )
    assert typed.status_code == 201, typed.text
    assert (typed.json()["source"], typed.json()["description_kind"], typed.json()["owner_kind"]) == (
        "reviewer",
        None,
        None,
    )
    assert typed.json()["item_label"] == {"en": "Drinking water", "ur": "پانی"}
    loose = await client.post(
        "/api/v1/actions",
        token,
        json={"station_id": str(ctx.world.stations["A"]), "description": "Fix the gate", "due_date": FUTURE},
    )
    assert loose.json()["item_label"] is None and loose.json()["description_kind"] is None
