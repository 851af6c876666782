"""Corrective actions belong to one checklist's item, and a failure a person closed stays closed.

Found by an audit of the actions' life cycle, each held here through the HTTP API on the real database:
- Item keys repeat across checklists (the builder names items item_1, item_2, ... in each), and actions
  were keyed on (station, item key): a second checklist's critical failure joined the first's action and
  opened nothing. An action now names its template (schema 0031).
- An approval with any override, or a resubmission after a return, read the inspection's failures again
  and opened a new action beside one already verified or cancelled by a reviewer.
- An action an override opened on a late approval was due two weeks after the submission: overdue at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.review_fixtures import answers, make_ctx
from tests.test_actions import _rows


async def _actions(client, item_key: str):
    return await _rows(
        client, "SELECT id, status, inspection_id FROM actions WHERE item_key = $1 ORDER BY created_at", item_key
    )


async def test_a_verified_failure_is_not_opened_again_by_an_approval_with_an_unrelated_override(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no", clean=4))
    [action] = await _actions(client, "l_diary")
    verified = await client.patch(
        f"/api/v1/actions/{action['id']}", await ctx.token("reviewer_a"), json={"status": "verified", "note": "Seen"}
    )
    assert verified.status_code == 200, verified.text
    approved = await ctx.review(
        inspection_id, "approve", revision, score_overrides={"f_clean": {"score": 0.2, "reason": "floor dirty"}}
    )
    assert approved.status_code == 200, approved.text
    assert [r["status"] for r in await _actions(client, "l_diary")] == ["verified"]


async def test_a_verified_failure_is_not_opened_again_by_a_resubmission_after_a_return(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no", clean=4))
    [action] = await _actions(client, "l_diary")
    returned = await ctx.review(inspection_id, "return", revision, comment="Add a photo of the front desk")
    assert returned.status_code == 200, returned.text
    verified = await client.patch(
        f"/api/v1/actions/{action['id']}", await ctx.token("reviewer_a"), json={"status": "verified", "note": "Seen"}
    )
    assert verified.status_code == 200, verified.text
    # The inspector corrects something else; the diary's answer stays what it was on the day.
    await ctx.put(inspection_id, base=revision + 1, values=answers(diary="no", clean=3))
    assert [r["status"] for r in await _actions(client, "l_diary")] == ["verified"]


async def test_an_action_a_reviewer_cancelled_stays_cancelled_but_a_new_inspection_failing_again_opens_one(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no", clean=4))
    [action] = await _actions(client, "l_diary")
    cancelled = await client.patch(
        f"/api/v1/actions/{action['id']}",
        await ctx.token("reviewer_a"),
        json={"status": "cancelled", "note": "Handled by the DPO directly"},
    )
    assert cancelled.status_code == 200, cancelled.text
    approved = await ctx.review(
        inspection_id, "approve", revision, score_overrides={"f_clean": {"score": 0.2, "reason": "floor dirty"}}
    )
    assert approved.status_code == 200, approved.text
    assert [r["status"] for r in await _actions(client, "l_diary")] == ["cancelled"]
    # The next inspection, made after the cancellation, finds the fault again: that is news.
    later, _ = await ctx.submit(values=answers(diary="no"))
    rows = await _actions(client, "l_diary")
    assert [(r["status"], r["inspection_id"]) for r in rows] == [("cancelled", inspection_id), ("open", later)]


def _one_critical_item(label: str) -> dict:
    return {
        "title": {"en": label, "ur": "معائنہ"},
        "sections": [
            {
                "key": "section_1",
                "title": {"en": "Section 1", "ur": "حصہ"},
                "items": [
                    {"key": "item_1", "type": "yes_no", "label": {"en": label, "ur": "نکتہ"}, "critical": True},
                ],
            }
        ],
    }


async def _publish(client, admin: str, key: str, label: str, kinds: list[str] | None = None) -> dict:
    """A published checklist of one critical item keyed `item_1` (as the builder names a first item)."""
    created = await client.post("/api/v1/templates", admin, json={"key": key, "title": {"en": label, "ur": "ف"}})
    assert created.status_code == 201, created.text
    template_id = created.json()["id"]
    definition = _one_critical_item(label) | ({"kinds": kinds} if kinds else {})
    saved = await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=definition)
    assert saved.status_code == 200, saved.text
    published = await client.post(f"/api/v1/templates/{template_id}/publish", admin)
    assert published.status_code == 201, published.text
    return {"template_id": template_id, "version_id": published.json()["id"]}


async def _two_checklists_with_item_1(client, ctx) -> dict[str, dict]:
    """Two published checklists whose first items share the builder's key `item_1`."""
    admin = await ctx.token("admin")
    return {
        label: await _publish(client, admin, key, label)
        for key, label in (("lockup_audit", "Detainees entered in the diary"), ("fire_safety", "Extinguisher charged"))
    }


async def _inspect(client, ctx, station: str, version_id: str, answers: dict, *, status: str = "submitted") -> None:
    """inspector_a's inspection of station `station` (a key of ctx.world.stations) on `version_id`."""
    iid = uuid.uuid4()
    body = {
        "station_id": str(ctx.world.stations[station]),
        "template_version_id": version_id,
        "base_revision": 0,
        "status": status,
        "started_at": "2026-11-27T09:00:00Z",
        "answers": answers,
    }
    if status == "submitted":
        body |= {"finished_at": None, "location": ctx.station_location(station, iid)}
    put = await client.put(f"/api/v1/inspections/{iid}", await ctx.token("inspector_a"), json=body)
    assert put.status_code in (200, 201), put.text


async def test_a_critical_failure_of_another_checklist_with_the_same_item_key_opens_its_own_action(client):
    ctx = await make_ctx(client)
    checklists = await _two_checklists_with_item_1(client, ctx)
    token = await ctx.token("inspector_a")
    for made in checklists.values():
        await _inspect(client, ctx, "A", made["version_id"], {"item_1": {"value": "no"}})
    listed = (await ctx.get("/api/v1/actions", station_id=str(ctx.world.stations["A"]))).json()["rows"]
    # Two faults at the station, each its own action, named by its own checklist's words.
    assert sorted((a["item_label"]["en"], a["template_id"]) for a in listed) == sorted(
        (label, made["template_id"]) for label, made in checklists.items()
    )
    # And the phone is told which checklist each belongs to.
    bundle = (await client.get("/api/v1/sync/bundle", token)).json()
    assert sorted(a["template_id"] for a in bundle["actions"]) == sorted(m["template_id"] for m in checklists.values())


async def test_a_reviewer_names_the_checklist_of_an_item_key_several_have(client):
    ctx = await make_ctx(client)
    checklists = await _two_checklists_with_item_1(client, ctx)
    fire = checklists["Extinguisher charged"]["template_id"]
    diary = checklists["Detainees entered in the diary"]["template_id"]
    reviewer = await ctx.token("reviewer_a")
    body = {"station_id": str(ctx.world.stations["A"]), "description": "Recharge it", "due_date": "2099-01-01"}
    elsewhere = await client.post(
        "/api/v1/actions", reviewer, json={**body, "item_key": "item_1", "template_id": str(ctx.template_id)}
    )
    assert elsewhere.status_code == 422, elsewhere.text
    assert [e["field"] for e in elsewhere.json()["errors"]] == ["item_key"]
    assert await _rows(client, "SELECT 1 FROM actions") == []
    made = await client.post("/api/v1/actions", reviewer, json={**body, "item_key": "item_1", "template_id": fire})
    assert made.status_code == 201, made.text
    assert (made.json()["template_id"], made.json()["item_label"]["en"]) == (fire, "Extinguisher charged")
    # The other checklist's item_1 is another item: its own action is not a duplicate of this one.
    other = await client.post("/api/v1/actions", reviewer, json={**body, "item_key": "item_1", "template_id": diary})
    assert other.status_code == 201, other.text
    again = await client.post("/api/v1/actions", reviewer, json={**body, "item_key": "item_1", "template_id": fire})
    assert again.status_code == 409, again.text
    assert again.json()["existing_id"] == made.json()["id"]


async def test_a_client_naming_no_checklist_gets_the_one_the_station_was_last_inspected_with(client):
    ctx = await make_ctx(client)
    checklists = await _two_checklists_with_item_1(client, ctx)
    diary = checklists["Detainees entered in the diary"]
    reviewer = await ctx.token("reviewer_a")
    body = {"station_id": str(ctx.world.stations["A"]), "description": "Fix it", "due_date": "2099-01-01"}
    # Never inspected with either: the newest published.
    unsaid = await client.post("/api/v1/actions", reviewer, json={**body, "item_key": "item_1"})
    assert unsaid.status_code == 201, unsaid.text
    assert unsaid.json()["template_id"] == checklists["Extinguisher charged"]["template_id"]
    # Inspected with the diary's checklist since: that one (a second action for the fire item would be refused).
    await _inspect(client, ctx, "A2", diary["version_id"], {}, status="draft")
    at_a2 = await client.post(
        "/api/v1/actions", reviewer, json={**body, "station_id": str(ctx.world.stations["A2"]), "item_key": "item_1"}
    )
    assert at_a2.status_code == 201, at_a2.text
    assert at_a2.json()["template_id"] == diary["template_id"]


async def test_an_action_on_an_archived_checklist_or_one_for_another_kind_of_station_is_refused(client):
    """As an assignment's template is: the action could never be met by an inspection there, and with no
    checklist named the server took the newest published whatever it was for, so the station's own
    checklist failing the item opened a second action for the one fault."""
    ctx = await make_ctx(client)
    admin = await ctx.token("admin")
    police = await _publish(client, admin, "diary", "Diary kept", kinds=["police_station"])
    retired = await _publish(client, admin, "old_diary", "Diary kept (old list)")
    assert (await client.post(f"/api/v1/templates/{retired['template_id']}/archive", admin)).status_code == 200
    khidmat = await _publish(client, admin, "counter", "Counter staffed", kinds=["khidmat_markaz"])
    reviewer = await ctx.token("reviewer_a")
    body = {"station_id": str(ctx.world.stations["A"]), "description": "Fix it", "due_date": "2099-01-01"}
    for checklist, said in ((retired, "archived"), (khidmat, "khidmat_markaz")):
        refused = await client.post(
            "/api/v1/actions", reviewer, json={**body, "item_key": "item_1", "template_id": checklist["template_id"]}
        )
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert error["field"] == "template_id" and said in error["message"], error
    assert await _rows(client, "SELECT 1 FROM actions") == []
    # Named by none, the item is the station's own checklist's, though the Khidmat Markaz one is newer.
    unsaid = await client.post("/api/v1/actions", reviewer, json={**body, "item_key": "item_1"})
    assert unsaid.status_code == 201, unsaid.text
    assert unsaid.json()["template_id"] == police["template_id"]
    # Its failure at the next inspection joins that action rather than opening a second.
    await _inspect(client, ctx, "A", police["version_id"], {"item_1": {"value": "no"}})
    assert len(await _rows(client, "SELECT 1 FROM actions WHERE item_key = 'item_1'")) == 1


async def test_an_item_only_checklists_for_other_stations_have_is_refused_when_none_is_named(client):
    ctx = await make_ctx(client)
    admin = await ctx.token("admin")
    await _publish(client, admin, "counter", "Counter staffed", kinds=["khidmat_markaz"])
    reviewer = await ctx.token("reviewer_a")
    body = {"station_id": str(ctx.world.stations["A"]), "description": "Fix it", "due_date": "2099-01-01"}
    refused = await client.post("/api/v1/actions", reviewer, json={**body, "item_key": "item_1"})
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["item_key"]
    assert await _rows(client, "SELECT 1 FROM actions") == []


async def test_an_action_an_override_opens_on_a_late_approval_is_due_two_weeks_after_the_approval(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(water="yes"))
    conn = await client.db()
    try:
        # Submitted three weeks ago, reviewed today (a queue a few weeks long).
        await conn.execute(
            """UPDATE inspections SET submitted_at = submitted_at - interval '21 days',
                                      made_at = made_at - interval '21 days' WHERE id = $1""",
            inspection_id,
        )
    finally:
        await conn.close()
    approved = await ctx.review(
        inspection_id, "approve", revision, score_overrides={"l_water": {"score": 0, "reason": "no water in lock-up"}}
    )
    assert approved.status_code == 200, approved.text
    [action] = (await ctx.get("/api/v1/actions")).json()["rows"]
    today = datetime.now(ZoneInfo("Asia/Karachi")).date()
    assert (action["due_date"], action["overdue"]) == ((today + timedelta(days=14)).isoformat(), False)
