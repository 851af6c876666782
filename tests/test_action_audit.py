"""What the audit trail keeps of corrective actions: each edited field's value before and after, and an
entry for every action the server opens or reopens by itself, written with the change that made it."""

from __future__ import annotations

from datetime import timedelta

from tests.review_fixtures import answers, make_ctx


async def _rows(client, sql: str, *args):
    conn = await client.db()
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def _audit(client, action: str, action_id) -> list:
    return await _rows(
        client,
        "SELECT actor_id, actor, data FROM audit_log WHERE action = $1 AND entity_id = $2 ORDER BY seq",
        action,
        str(action_id),
    )


async def test_an_edit_records_each_changed_fields_old_and_new_value_beside_their_names(client):
    ctx = await make_ctx(client)
    await ctx.submit(values=answers(diary="no"))
    action = (await _rows(client, "SELECT id, due_date, owner_name, description FROM actions"))[0]
    later = action["due_date"] + timedelta(days=30)
    owner = ctx.world.users["inspector_a"]
    patched = await client.patch(
        f"/api/v1/actions/{action['id']}",
        await ctx.token("reviewer_a"),
        json={
            "due_date": later.isoformat(),
            "owner_name": "DSP Saddar",
            "owner_user_id": str(owner),
            "status": "in_progress",
            # Sent as it stands: not a change, so not recorded as one.
            "description": action["description"],
        },
    )
    assert patched.status_code == 200, patched.text

    [entry] = await _audit(client, "action.update", action["id"])
    data = entry["data"]
    assert data["changes"] == ["due_date", "owner_name", "owner_user_id", "status"]
    assert data["values"] == {
        "due_date": [action["due_date"].isoformat(), later.isoformat()],
        "owner_name": [action["owner_name"], "DSP Saddar"],
        "owner_user_id": [None, str(owner)],
        "status": ["open", "in_progress"],
    }
    assert (data["status_from"], data["status_to"]) == ("open", "in_progress")


async def test_evidence_photos_named_in_an_edit_are_recorded_before_and_after(client):
    ctx = await make_ctx(client)
    inspection_id, _ = await ctx.submit(values=answers(water="no"))
    action_id = (await _rows(client, "SELECT id FROM actions"))[0]["id"]
    photo_id = await ctx.upload_photo(inspection_id, "l_water")
    done = await client.patch(
        f"/api/v1/actions/{action_id}",
        await ctx.token("reviewer_a"),
        json={"status": "done", "note": "Cooler installed", "evidence_photo_ids": [str(photo_id)]},
    )
    assert done.status_code == 200, done.text
    [entry] = await _audit(client, "action.update", action_id)
    assert entry["data"]["values"] == {"evidence_photo_ids": [[], [str(photo_id)]], "status": ["open", "done"]}


async def test_an_action_opened_by_a_failed_critical_item_is_audited_with_the_submission(client):
    ctx = await make_ctx(client)
    inspection_id, _ = await ctx.submit(values=answers(diary="no", water="no"))
    actions = await _rows(client, "SELECT id, item_key, due_date, station_id FROM actions ORDER BY item_key")
    assert [a["item_key"] for a in actions] == ["l_diary", "l_water"]
    for action in actions:
        [entry] = await _audit(client, "action.create", action["id"])
        # No person chose to open it: the submission's own entry names who sent it.
        assert (entry["actor_id"], entry["actor"]) == (None, None)
        assert entry["data"] == {
            "inspection_id": str(inspection_id),
            "station_id": str(action["station_id"]),
            "item_key": action["item_key"],
            "due_date": action["due_date"].isoformat(),
            "source": "submission",
        }
    # Written in the submission's transaction: the entries sit right after (committed with) its own.
    seqs = await _rows(
        client,
        """SELECT action FROM audit_log WHERE entity_id = ANY($1::text[]) ORDER BY seq""",
        [str(inspection_id), *(str(a["id"]) for a in actions)],
    )
    assert sorted(r["action"] for r in seqs) == ["action.create", "action.create", "inspection.submit"]
    # A resubmission finding the same failures joins the open actions: nothing new to record.
    await ctx.submit(values=answers(diary="no", water="no"))
    assert len(await _rows(client, "SELECT 1 FROM audit_log WHERE action = 'action.create'")) == 2


async def test_an_action_opened_by_a_reviewers_override_on_approval_is_audited(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(water="yes"))
    assert await _rows(client, "SELECT 1 FROM actions") == []
    approved = await ctx.review(
        inspection_id, "approve", revision, score_overrides={"l_water": {"score": 0, "reason": "the cooler is empty"}}
    )
    assert approved.status_code == 200, approved.text
    [action] = await _rows(client, "SELECT id, due_date FROM actions WHERE item_key = 'l_water'")
    [entry] = await _audit(client, "action.create", action["id"])
    assert entry["actor_id"] is None
    assert (entry["data"]["inspection_id"], entry["data"]["item_key"], entry["data"]["due_date"]) == (
        str(inspection_id),
        "l_water",
        action["due_date"].isoformat(),
    )


async def test_an_action_reopened_because_the_item_failed_again_is_audited_with_both_inspections(client):
    ctx = await make_ctx(client)
    first, _ = await ctx.submit(values=answers(diary="no"))
    action_id = (await _rows(client, "SELECT id FROM actions"))[0]["id"]
    done = await client.patch(
        f"/api/v1/actions/{action_id}", await ctx.token("reviewer_a"), json={"status": "done", "note": "Diary complete"}
    )
    assert done.json()["status"] == "done"
    second, _ = await ctx.submit(values=answers(diary="no"))
    assert (await _rows(client, "SELECT status FROM actions"))[0]["status"] == "open"

    updates = await _audit(client, "action.update", action_id)
    assert len(updates) == 2  # the reviewer's "done", then the reopening
    reopened = updates[-1]
    assert reopened["actor_id"] is None
    assert reopened["data"]["values"] == {"inspection_id": [str(first), str(second)], "status": ["done", "open"]}
    assert (reopened["data"]["status_from"], reopened["data"]["status_to"]) == ("done", "open")
    assert reopened["data"]["inspection_id"] == str(second)
    assert reopened["data"]["changes"] == ["inspection_id", "status"]
