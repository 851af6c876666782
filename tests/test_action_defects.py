"""Defects found in corrective actions, each held by a test through the HTTP API on the real database.

- Evidence photo ids were stored unchecked: unknown ids, photos out of the caller's sight and photos of
  another station's inspections alike.
- A note could still be added to a verified action, which is final (so is a cancelled one).
- A reviewer's override that passed a failed critical item left the action that failure opened standing
  although its cause was gone from the record; an untouched one is now withdrawn (cancelled, with the
  reason), and one someone worked on stays open but says its item was passed since.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

from tests.factories import make_user
from tests.reliability.test_lock_order import _waiting_backend
from tests.review_fixtures import answers, make_ctx
from tests.test_actions import _rows


async def _action(client, item_key: str, status: str | None = None):
    rows = await _rows(
        client,
        "SELECT id, status FROM actions WHERE item_key = $1 AND ($2::text IS NULL OR status = $2)",
        item_key,
        status,
    )
    assert len(rows) == 1, rows
    return rows[0]


async def _written(client, action_id) -> tuple:
    """What a refused request must leave alone: the action's row, its notes, and the audit trail."""
    row = (
        await _rows(
            client, "SELECT status, evidence_photo_ids, change_seq, updated_at FROM actions WHERE id = $1", action_id
        )
    )[0]
    notes = await _rows(client, "SELECT id FROM action_notes WHERE action_id = $1", action_id)
    audit = await _rows(client, "SELECT seq FROM audit_log WHERE entity = 'action'")
    return tuple(row), len(notes), len(audit)


# Evidence photos -----------------------------------------------------------------------------------


async def test_evidence_photos_must_be_stored_photos_of_the_actions_station_that_the_caller_may_see(client):
    ctx = await make_ctx(client)
    inspection_id, _ = await ctx.submit(values=answers(water="no"))
    action = await _action(client, "l_water")
    path = f"/api/v1/actions/{action['id']}"
    own = await ctx.upload_photo(inspection_id, shade=1)
    other_station, _ = await ctx.submit(station="A2")
    at_a2 = await ctx.upload_photo(other_station, shade=2)
    region_b, _ = await ctx.submit(station="B", user="inspector_b")
    at_b = await ctx.upload_photo(region_b, user="inspector_b", shade=3)
    # A colleague's inspection of the same station: a reviewer sees it, inspector_a does not.
    conn = await client.db()
    try:
        await make_user(conn, "inspector_a2", "inspector", district_ids=[ctx.world.districts["A"]])
    finally:
        await conn.close()
    colleagues, _ = await ctx.submit(user="inspector_a2")
    colleague_photo = await ctx.upload_photo(colleagues, user="inspector_a2", shade=4)

    reviewer, inspector = await ctx.token("reviewer_a"), await ctx.token("inspector_a")
    before = await _written(client, action["id"])
    refused = [
        (reviewer, [uuid.uuid4()]),  # no such photo
        (reviewer, [at_b]),  # region B's: out of the reviewer's scope
        (reviewer, [at_a2]),  # in scope, but of another station's inspection
        (reviewer, [own, uuid.uuid4()]),  # one good, one bad: all refused
        (inspector, [colleague_photo]),  # the same station, but not the inspector's to read
    ]
    for token, ids in refused:
        body = {"status": "done", "note": "Cooler installed", "evidence_photo_ids": [str(i) for i in ids]}
        response = await client.patch(path, token, json=body)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert {e["field"] for e in problem["errors"]} == {"evidence_photo_ids"}, problem
        # Each bad id is named, the good one is not.
        named = " ".join(e["message"] for e in problem["errors"])
        assert [str(i) in named for i in ids] == [i != own for i in ids], problem
        assert await _written(client, action["id"]) == before

    accepted = await client.patch(
        path, inspector, json={"status": "done", "note": "Cooler installed", "evidence_photo_ids": [str(own)] * 2}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["evidence_photo_ids"] == [str(own)] and accepted.json()["status"] == "done"
    # A reviewer adds the colleague's photo; the inspector may send the list back with it, unchanged.
    both = [str(own), str(colleague_photo)]
    added = await client.patch(path, reviewer, json={"evidence_photo_ids": both})
    assert added.status_code == 200, added.text
    assert added.json()["evidence_photo_ids"] == both
    again = await client.patch(path, inspector, json={"evidence_photo_ids": both, "note": "Photos as sent"})
    assert again.status_code == 200, again.text


# Final actions are read-only -----------------------------------------------------------------------


async def test_a_note_on_a_verified_action_is_a_conflict_and_nothing_is_written_or_audited(client):
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no"))
    action = await _action(client, "l_diary")
    path = f"/api/v1/actions/{action['id']}"
    inspector = await ctx.token("inspector_a")
    note_id = str(uuid.uuid4())
    verifying = {"status": "verified", "note": "All four detainees are in the diary", "note_id": note_id}
    assert (await client.patch(path, inspector, json=verifying)).status_code == 200
    before = await _written(client, action["id"])

    for body in (
        {"note": "One more thing"},
        {"notes": ["First", "Second"]},
        {"note": "Seen again", "note_id": str(uuid.uuid4())},
        {"status": "verified", "note": "Still fine"},
    ):
        for token in (inspector, await ctx.token("reviewer_a")):
            response = await client.patch(path, token, json=body)
            assert response.status_code == 409, (body, response.text)
            assert "verified action is closed" in response.json()["detail"]
            assert await _written(client, action["id"]) == before
    # The phone's verifying request sent again is a replay of what is kept, not a new note: harmless.
    replay = await client.patch(path, inspector, json=verifying)
    assert replay.status_code == 200, replay.text
    assert [n["id"] for n in replay.json()["notes"]] == [note_id]
    assert await _written(client, action["id"]) == before


async def test_a_reviewer_cancels_an_action_with_a_reason_and_a_cancelled_action_is_read_only_too(client):
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no"))
    action = await _action(client, "l_diary")
    path = f"/api/v1/actions/{action['id']}"
    reviewer = await ctx.token("reviewer_a")

    silent = await client.patch(path, reviewer, json={"status": "cancelled"})
    assert silent.status_code == 422 and [e["field"] for e in silent.json()["errors"]] == ["note"]
    inspector = await client.patch(path, await ctx.token("inspector_a"), json={"status": "cancelled", "note": "No"})
    assert inspector.status_code == 403
    # An inspector's request, answered, then sent again by their phone after the reviewer cancelled.
    started = {"status": "in_progress", "note": "Moharrar told", "note_id": str(uuid.uuid4())}
    assert (await client.patch(path, await ctx.token("inspector_a"), json=started)).status_code == 200
    cancelled = await client.patch(path, reviewer, json={"status": "cancelled", "note": "Raised in error"})
    assert cancelled.status_code == 200, cancelled.text
    kept = await _written(client, action["id"])
    again = await client.patch(path, await ctx.token("inspector_a"), json=started)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "cancelled" and await _written(client, action["id"]) == kept
    assert (cancelled.json()["status"], cancelled.json()["cancel_reason"]) == ("cancelled", None)
    before = await _written(client, action["id"])
    for body in ({"note": "Later"}, {"status": "open"}, {"due_date": "2099-01-01"}):
        response = await client.patch(path, reviewer, json=body)
        assert response.status_code == 409, (body, response.text)
        assert await _written(client, action["id"]) == before
    # Inspectors' lists and a first bundle no longer carry it; the same failure found again opens a new one.
    assert (await ctx.get("/api/v1/actions", "inspector_a")).json()["rows"] == []
    bundle = await client.get("/api/v1/sync/bundle", await ctx.token("inspector_a"))
    assert bundle.json()["actions"] == []
    await ctx.submit(values=answers(diary="no"))
    assert (await _action(client, "l_diary", "open"))["id"] != action["id"]


# An override that passes the failed item -----------------------------------------------------------


async def test_an_override_passing_a_failed_critical_item_withdraws_its_untouched_action(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no"))
    action = await _action(client, "l_diary")

    approved = await ctx.review(
        inspection_id,
        "approve",
        revision,
        score_overrides={"l_diary": {"score": 1, "reason": "The detainee was released at 09:10; diary is right"}},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["critical_failed"] is False
    shown = (await ctx.get(f"/api/v1/actions/{action['id']}")).json()
    assert (shown["status"], shown["cancel_reason"], shown["item_passed_by_override"]) == (
        "cancelled",
        "override_passed",
        False,  # a final action has nothing left to decide
    )
    assert shown["verified_by"] is None
    note = shown["notes"][-1]
    assert (note["status_from"], note["status_to"]) == ("open", "cancelled")
    assert note["author"]["id"] == str(ctx.world.users["reviewer_a"]) and note["body"] == ""
    audit = await _rows(
        client,
        "SELECT actor_id, data FROM audit_log WHERE action = 'action.cancel' AND entity_id = $1",
        str(action["id"]),
    )
    assert [(a["actor_id"], a["data"]["cancel_reason"]) for a in audit] == [
        (ctx.world.users["reviewer_a"], "override_passed")
    ]
    # Withdrawn, it leaves the inspector's phone and stops blocking a new action for a real failure.
    assert (await client.get("/api/v1/sync/bundle", await ctx.token("inspector_a"))).json()["actions"] == []
    await ctx.submit(values=answers(diary="no"))
    assert (await _action(client, "l_diary", "open"))["id"] != action["id"]


async def test_an_action_someone_worked_on_stays_open_and_says_its_item_was_passed_by_override(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no", water="no", clean=1))
    diary, water = await _action(client, "l_diary"), await _action(client, "l_water")
    noted = await client.patch(
        f"/api/v1/actions/{water['id']}", await ctx.token("inspector_a"), json={"note": "SHO ordered a cooler"}
    )
    assert noted.status_code == 200, noted.text

    approved = await ctx.review(
        inspection_id,
        "approve",
        revision,
        score_overrides={
            "l_diary": {"score": 1, "reason": "diary checked again"},
            "l_water": {"score": 1, "reason": "a water cooler is in the corridor"},
        },
    )
    assert approved.status_code == 200, approved.text
    listed = {a["item_key"]: a for a in (await ctx.get("/api/v1/actions")).json()["rows"]}
    assert (listed["l_water"]["status"], listed["l_water"]["item_passed_by_override"]) == ("open", True)
    assert listed["l_water"]["cancel_reason"] is None
    assert (await ctx.get(f"/api/v1/actions/{diary['id']}")).json()["status"] == "cancelled"
    # A person decides about the one that was worked on: the flag tells them its cause is gone.
    one = (await ctx.get(f"/api/v1/actions/{water['id']}")).json()
    assert one["item_passed_by_override"] is True and len(one["notes"]) == 1


async def test_an_action_whose_failure_another_inspection_also_found_is_not_withdrawn(client):
    ctx = await make_ctx(client)
    first, revision = await ctx.submit(values=answers(diary="no"))
    await ctx.submit(values=answers(diary="no"))  # the next visit finds the same fault: it joins the action
    action = await _action(client, "l_diary")
    approved = await ctx.review(
        first, "approve", revision, score_overrides={"l_diary": {"score": 1, "reason": "wrongly marked"}}
    )
    assert approved.status_code == 200, approved.text
    shown = (await ctx.get(f"/api/v1/actions/{action['id']}")).json()
    assert (shown["status"], shown["item_passed_by_override"]) == ("open", True)
    assert await _rows(client, "SELECT 1 FROM audit_log WHERE action = 'action.cancel'") == []


async def test_an_unrelated_override_or_a_return_leaves_the_action_open_and_unflagged(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no"))
    action = await _action(client, "l_diary")
    returned = await ctx.review(
        inspection_id, "return", revision, score_overrides={"l_diary": {"score": 1, "reason": "check the diary"}}
    )
    assert returned.status_code == 200, returned.text
    shown = (await ctx.get(f"/api/v1/actions/{action['id']}")).json()
    assert (shown["status"], shown["item_passed_by_override"]) == ("open", False)


async def test_a_note_written_while_an_override_passes_the_item_keeps_the_action_open(client):
    """The approval waits for the action's row while a person's note on it commits: it must then see
    the note, and leave the action for a person to decide."""
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no"))
    action = await _action(client, "l_diary")
    holding, failure = threading.Event(), []

    async def note_meanwhile() -> None:
        other, watcher = await client.db(), await client.db()
        try:
            async with other.transaction():
                # What a note-only PATCH does: the row locked, a note added, the row itself left as it was.
                await other.execute("SELECT 1 FROM actions WHERE id = $1 FOR UPDATE", action["id"])
                await other.execute(
                    "INSERT INTO action_notes (action_id, author_id, body) VALUES ($1, $2, 'Diary being rewritten')",
                    action["id"],
                    ctx.world.users["inspector_a"],
                )
                holding.set()
                await _waiting_backend(watcher, {other.get_server_pid()})
        finally:
            await other.close()
            await watcher.close()

    def run() -> None:
        try:
            asyncio.run(note_meanwhile())
        except BaseException as exc:  # reported after the request
            failure.append(exc)
            holding.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert holding.wait(20)
    approved = await ctx.review(
        inspection_id,
        "approve",
        revision,
        score_overrides={"l_diary": {"score": 1, "reason": "The detainee was released at 09:10"}},
    )
    thread.join(30)
    assert not failure, failure
    assert approved.status_code == 200, approved.text
    shown = (await ctx.get(f"/api/v1/actions/{action['id']}")).json()
    assert (shown["status"], shown["cancel_reason"], shown["item_passed_by_override"]) == ("open", None, True)
    assert [n["body"] for n in shown["notes"]] == ["Diary being rewritten"]


# The inspector's own correction ---------------------------------------------------------------------


async def test_approving_a_corrected_resubmission_withdraws_the_untouched_action_its_failure_opened(client):
    """A mis-tapped "no" on a critical item opens an action; the reviewer returns the inspection and the
    inspector corrects the answer. The failure is no longer in the record: the corrected inspection
    says so on the action until its approval, which withdraws the action as a passing override would
    (cancelling is a reviewer's move); one someone worked on stays open and keeps saying so."""
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no", water="no"))
    diary, water = await _action(client, "l_diary"), await _action(client, "l_water")
    inspector = await ctx.token("inspector_a")
    noted = await client.patch(f"/api/v1/actions/{water['id']}", inspector, json={"note": "SHO ordered a cooler"})
    assert noted.status_code == 200, noted.text

    returned = await ctx.review(inspection_id, "return", revision, comment="Is the diary really incomplete?")
    assert returned.status_code == 200, returned.text
    # While it is back with the inspector, nothing is decided.
    assert (await ctx.get(f"/api/v1/actions/{diary['id']}")).json()["item_corrected"] is False
    resubmitted = await ctx.put(inspection_id, base=revision + 1, values=answers())
    assert resubmitted["score"]["critical_failed"] is False
    # Resubmitted, the correction is the reviewer's to accept: both stay open, and say so.
    for action in (diary, water):
        shown = (await ctx.get(f"/api/v1/actions/{action['id']}")).json()
        assert (shown["status"], shown["item_corrected"], shown["item_passed_by_override"]) == ("open", True, False)
    assert await _rows(client, "SELECT 1 FROM audit_log WHERE action = 'action.cancel'") == []

    approved = await ctx.review(inspection_id, "approve", revision + 2)
    assert approved.status_code == 200, approved.text
    shown = (await ctx.get(f"/api/v1/actions/{diary['id']}")).json()
    assert (shown["status"], shown["cancel_reason"]) == ("cancelled", "answer_corrected")
    note = shown["notes"][-1]
    assert (note["status_from"], note["status_to"], note["body"]) == ("open", "cancelled", "")
    assert note["author"]["id"] == str(ctx.world.users["reviewer_a"])
    audit = await _rows(
        client,
        "SELECT actor_id, data FROM audit_log WHERE action = 'action.cancel' AND entity_id = $1",
        str(diary["id"]),
    )
    assert [(a["actor_id"], a["data"]["cancel_reason"], a["data"]["inspection_id"]) for a in audit] == [
        (ctx.world.users["reviewer_a"], "answer_corrected", str(inspection_id))
    ]
    kept = (await ctx.get(f"/api/v1/actions/{water['id']}")).json()
    assert (kept["status"], kept["item_corrected"]) == ("open", True)
    # The phone keeps only the one someone is working on.
    bundle = (await client.get("/api/v1/sync/bundle", inspector)).json()
    assert [a["item_key"] for a in bundle["actions"]] == ["l_water"]


async def test_an_approved_resubmission_that_still_fails_the_item_or_is_failed_again_by_override_keeps_it(client):
    ctx = await make_ctx(client)
    # Resubmitted with the item still failed: nothing was corrected.
    still, revision = await ctx.submit(values=answers(diary="no"))
    diary = await _action(client, "l_diary")
    await ctx.review(still, "return", revision, comment="Add a note about the water")
    await ctx.put(still, base=revision + 1, values=answers(diary="no", water="yes"))
    assert (await ctx.get(f"/api/v1/actions/{diary['id']}")).json()["item_corrected"] is False
    assert (await ctx.review(still, "approve", revision + 2)).status_code == 200

    # Corrected, but the approving reviewer's override fails the item again: the failure stands.
    again, revision = await ctx.submit(station="A2", values=answers(water="no"))
    [water] = await _rows(client, "SELECT id FROM actions WHERE inspection_id = $1", again)
    await ctx.review(again, "return", revision, comment="Check the water again")
    await ctx.put(again, base=revision + 1, station="A2", values=answers())
    overridden = await ctx.review(
        again, "approve", revision + 2, score_overrides={"l_water": {"score": 0, "reason": "The cooler is empty"}}
    )
    assert overridden.status_code == 200, overridden.text
    for action_id in (diary["id"], water["id"]):
        shown = (await ctx.get(f"/api/v1/actions/{action_id}")).json()
        assert (shown["status"], shown["item_corrected"]) == ("open", False), shown
    assert await _rows(client, "SELECT 1 FROM audit_log WHERE action = 'action.cancel'") == []


async def test_a_correction_does_not_call_passed_an_action_the_next_inspection_failed_again(client):
    """The station's next inspection also found the fault, and joined the action: whatever the first
    inspection's corrected answer says, the cause is still in the record."""
    ctx = await make_ctx(client)
    first, revision = await ctx.submit(values=answers(diary="no"))
    await ctx.submit(values=answers(diary="no"))  # the next visit finds the same fault
    diary = await _action(client, "l_diary")
    await ctx.review(first, "return", revision, comment="Was the diary really incomplete?")
    await ctx.put(first, base=revision + 1, values=answers())
    shown = (await ctx.get(f"/api/v1/actions/{diary['id']}")).json()
    assert (shown["status"], shown["item_corrected"]) == ("open", False)
    assert (await ctx.review(first, "approve", revision + 2)).status_code == 200
    shown = (await ctx.get(f"/api/v1/actions/{diary['id']}")).json()
    assert (shown["status"], shown["item_corrected"]) == ("open", False)


# A phone's queued request sent again ----------------------------------------------------------------


async def test_a_queued_status_change_sent_again_does_not_undo_what_a_reviewer_did_since(client):
    """The phone's request to mark the action done reaches the server twice; in between, a reviewer
    reopened the action. The second copy is the same request, not a new decision."""
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no"))
    action = await _action(client, "l_diary")
    inspector, reviewer = await ctx.token("inspector_a"), await ctx.token("reviewer_a")
    done = {"status": "done", "note": "SHO brought the diary up to date", "note_id": str(uuid.uuid4())}
    first = await client.patch(f"/api/v1/actions/{action['id']}", inspector, json=done)
    assert first.json()["status"] == "done", first.text
    reopened = await client.patch(
        f"/api/v1/actions/{action['id']}", reviewer, json={"status": "open", "note": "Not yet"}
    )
    assert reopened.json()["status"] == "open", reopened.text
    before = await _written(client, action["id"])

    again = await client.patch(f"/api/v1/actions/{action['id']}", inspector, json=done)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "open"
    assert [(n["status_from"], n["status_to"]) for n in again.json()["notes"]] == [("open", "done"), ("done", "open")]
    assert await _written(client, action["id"]) == before


# A screen drawn before someone else changed the action ----------------------------------------------


async def test_a_change_made_from_a_stale_read_is_a_conflict_with_the_action_as_it_stands(client):
    """A reviewer's board shows the action done; meanwhile a colleague reopened it ("not good enough").
    Verifying from that board must not wipe out the reopen unseen: the request names the change_seq it
    read, and the server refuses it (409, with the action as it is now) and writes nothing."""
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no"))
    action = await _action(client, "l_diary")
    path = f"/api/v1/actions/{action['id']}"
    mine, colleague = await ctx.token("reviewer_a"), await ctx.token("admin")
    seen = (await client.patch(path, mine, json={"status": "done", "note": "SHO says fixed"})).json()
    reopened = await client.patch(path, colleague, json={"status": "open", "note": "Two entries missing"})
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["change_seq"] != seen["change_seq"]
    before = await _written(client, action["id"])

    stale = seen["change_seq"]
    for body in (
        {"status": "verified", "note": "Seen complete"},
        {"status": "verified"},
        {"note": "Asked the SHO again"},
        {"due_date": "2099-01-01"},
        # Refused as stale first, though the note is missing too: the sender must look again anyway.
        {"status": "cancelled"},
    ):
        refused = await client.patch(path, mine, json={**body, "base_change_seq": stale})
        assert refused.status_code == 409, (body, refused.text)
        problem = refused.json()
        assert [e["field"] for e in problem["errors"]] == ["base_change_seq"], problem
        assert "changed since you read it" in problem["detail"]
        # The action as it stands, with the colleague's reopen in its notes.
        assert problem["action"]["id"] == str(action["id"])
        assert problem["action"]["status"] == "open"
        assert problem["action"]["change_seq"] == reopened.json()["change_seq"]
        assert problem["action"]["notes"][-1]["body"] == "Two entries missing"
        assert await _written(client, action["id"]) == before

    # Read afresh, the same change is applied.
    current = reopened.json()["change_seq"]
    noted = await client.patch(path, mine, json={"note": "Asked the SHO again", "base_change_seq": current})
    assert noted.status_code == 200, noted.text
    # A note is not a change of the action's row: the change_seq read before it still holds.
    assert noted.json()["change_seq"] == current
    verified = await client.patch(path, mine, json={"status": "verified", "base_change_seq": current})
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"


async def test_a_request_without_a_base_change_seq_or_replayed_is_answered_as_before(client):
    """The phone's queued checks send no base_change_seq (the replay and closed rules govern them), and a
    queued request sent again is answered with the action as it stands even when what it read is old."""
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no"))
    action = await _action(client, "l_diary")
    path = f"/api/v1/actions/{action['id']}"
    inspector, reviewer = await ctx.token("inspector_a"), await ctx.token("reviewer_a")
    read = (await client.get(path, inspector)).json()["change_seq"]
    done = {"status": "done", "note": "Diary brought up to date", "note_id": str(uuid.uuid4()), "base_change_seq": read}
    first = await client.patch(path, inspector, json=done)
    assert first.status_code == 200 and first.json()["status"] == "done", first.text
    reopened = await client.patch(path, reviewer, json={"status": "open", "note": "Not yet"})
    assert reopened.status_code == 200, reopened.text
    before = await _written(client, action["id"])

    again = await client.patch(path, inspector, json=done)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "open"
    assert await _written(client, action["id"]) == before
    # Without base_change_seq, no check: the request applies to the action as it is.
    plain = await client.patch(path, reviewer, json={"status": "in_progress"})
    assert plain.status_code == 200 and plain.json()["status"] == "in_progress", plain.text


async def test_a_reviewer_cannot_open_an_action_for_an_item_no_template_has(client):
    ctx = await make_ctx(client)
    reviewer = await ctx.token("reviewer_a")
    body = {"station_id": str(ctx.world.stations["A"]), "description": "Fix it", "due_date": "2099-01-01"}
    made_up = await client.post("/api/v1/actions", reviewer, json={**body, "item_key": "f_nope"})
    assert made_up.status_code == 422, made_up.text
    assert [e["field"] for e in made_up.json()["errors"]] == ["item_key"]
    assert await _rows(client, "SELECT 1 FROM actions") == []
    known = await client.post("/api/v1/actions", reviewer, json={**body, "item_key": "f_clean"})
    assert known.status_code == 201, known.text
