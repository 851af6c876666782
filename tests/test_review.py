"""Review: the decision state machine, stale revisions, who may review, overrides, history and the queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server.review.queries import latest_review, latest_reviews
from server.templates.models import to_definition
from server.templates.scoring import score
from tests.review_fixtures import DEFINITION, FAR, answers, make_ctx


async def _rows(client, sql: str, *args):
    conn = await client.db()
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_approving_a_submitted_inspection_moves_it_to_a_new_approved_revision(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit()
    response = await ctx.review(inspection_id, "approve", revision, comment="Well kept")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["revision"]) == ("approved", revision + 1)
    assert body["review"]["reviewer"]["display_name"] == "Reviewer_A"

    revisions = await _rows(
        client,
        """SELECT revision, status, body_hash, actor_id FROM inspection_revisions
                                        WHERE inspection_id = $1 ORDER BY revision""",
        inspection_id,
    )
    assert [(r["revision"], r["status"]) for r in revisions] == [(1, "submitted"), (2, "approved")]
    # The inspector's document is unchanged; only the status moved, by the reviewer's hand.
    assert revisions[1]["body_hash"] == revisions[0]["body_hash"]
    assert revisions[1]["actor_id"] == ctx.world.users["reviewer_a"]

    seen = await client.get(f"/api/v1/inspections/{inspection_id}", await ctx.token("inspector_a"))
    assert (seen.json()["status"], seen.json()["revision"]) == ("approved", 2)
    audit = await _rows(client, "SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY seq", str(inspection_id))
    assert [r["action"] for r in audit][-1] == "review.approve"


async def test_a_review_of_a_revision_that_has_changed_is_refused_with_409_and_the_current_inspection(client):
    ctx = await make_ctx(client)
    inspection_id = uuid.uuid4()
    await ctx.put(inspection_id, status="draft")
    await ctx.put(inspection_id, status="submitted", base=1)

    response = await ctx.review(inspection_id, "approve", 1)
    assert response.status_code == 409
    assert response.json()["inspection"]["revision"] == 2
    assert response.json()["inspection"]["status"] == "submitted"
    assert await _rows(client, "SELECT 1 FROM reviews") == []
    assert (await ctx.review(inspection_id, "approve", 2)).status_code == 200


async def test_only_a_submitted_inspection_can_be_reviewed(client):
    ctx = await make_ctx(client)
    draft, draft_rev = await ctx.submit(status="draft")
    assert (await ctx.review(draft, "approve", draft_rev)).status_code == 409

    approved, rev = await ctx.submit()
    assert (await ctx.review(approved, "approve", rev)).status_code == 200
    again = await ctx.review(approved, "return", rev + 1)
    assert again.status_code == 409 and "approved" in again.json()["detail"]

    returned, rev = await ctx.submit()
    assert (await ctx.review(returned, "return", rev, comment="Fix the diary")).status_code == 200
    assert (await ctx.review(returned, "approve", rev + 1)).status_code == 409
    statuses = await _rows(client, "SELECT id, status FROM inspections")
    assert {r["id"]: r["status"] for r in statuses} == {draft: "draft", approved: "approved", returned: "returned"}


async def test_an_inspector_never_reviews_not_even_their_own_inspection(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit()
    response = await ctx.review(inspection_id, "approve", revision, user="inspector_a")
    assert response.status_code == 403
    assert (await _rows(client, "SELECT status FROM inspections"))[0]["status"] == "submitted"


async def test_a_reviewer_who_inspected_the_station_cannot_review_that_inspection(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit()
    conn = await client.db()
    try:
        # Roles change over a career: the reviewer of today may be the one who inspected last year.
        await conn.execute(
            "UPDATE inspections SET inspector_id = $1 WHERE id = $2", ctx.world.users["reviewer_a"], inspection_id
        )
    finally:
        await conn.close()
    assert (await ctx.review(inspection_id, "approve", revision)).status_code == 403
    assert (await ctx.review(inspection_id, "approve", revision, user="admin")).status_code == 200


async def test_a_reviewer_of_another_region_gets_404(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit()
    assert (await ctx.review(inspection_id, "approve", revision, user="reviewer_b")).status_code == 404
    assert (await ctx.get(f"/api/v1/inspections/{inspection_id}/reviews", "reviewer_b")).status_code == 404


async def test_a_returned_inspection_is_corrected_resubmitted_and_approved(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no"))
    returned = await ctx.review(
        inspection_id,
        "return",
        revision,
        comment="Check the diary again",
        item_comments={"l_diary": "The detainee is in the diary on page 4"},
    )
    assert returned.status_code == 200
    assert returned.json()["status"] == "returned"

    reply = await ctx.put(inspection_id, base=revision + 1, values=answers(diary="yes"))
    assert (reply["status"], reply["revision"]) == ("submitted", revision + 2)
    assert (await ctx.review(inspection_id, "approve", reply["revision"])).status_code == 200

    history = (await ctx.get(f"/api/v1/inspections/{inspection_id}/reviews", "inspector_a")).json()["rows"]
    assert [r["decision"] for r in history] == ["approve", "return"]
    assert history[1]["item_comments"] == {"l_diary": "The detainee is in the diary on page 4"}
    # Another inspector of the same district does not read someone else's reviews.
    assert (await ctx.get(f"/api/v1/inspections/{inspection_id}/reviews", "inspector_b")).status_code == 404


async def test_an_override_keeps_the_inspectors_answer_and_score_and_recomputes_the_summary(client):
    ctx = await make_ctx(client)
    values = answers(clean=2, token="no")
    inspection_id, revision = await ctx.submit(values=values)
    before = (await _rows(client, "SELECT score_percent, document FROM inspections"))[0]

    response = await ctx.review(
        inspection_id,
        "approve",
        revision,
        score_overrides={
            "f_clean": {"score": 1, "reason": "Photos show the front is clean; the inspector misread the scale"}
        },
    )
    assert response.status_code == 200, response.text

    expected = score(to_definition(DEFINITION), values, {"f_clean": 1.0})
    row = (await _rows(client, "SELECT score_percent, grade, score, document FROM inspections"))[0]
    assert row["score_percent"] == pytest.approx(expected.percent) and row["score_percent"] > before["score_percent"]
    assert row["grade"] == expected.grade
    assert row["score"]["overridden"] is True
    assert row["score"]["overrides"]["f_clean"]["original"] == pytest.approx(0.4)
    assert row["document"] == before["document"]
    answer = (await _rows(client, "SELECT score, value FROM answers WHERE item_key = 'f_clean'"))[0]
    assert (answer["score"], answer["value"]) == (pytest.approx(0.4), 2)

    saved = (await _rows(client, "SELECT original_score, score, reason, reviewer_id FROM score_overrides"))[0]
    assert (saved["original_score"], saved["score"]) == (pytest.approx(0.4), 1.0)
    assert saved["reviewer_id"] == ctx.world.users["reviewer_a"]
    history = (await ctx.get(f"/api/v1/inspections/{inspection_id}/reviews")).json()["rows"]
    assert history[0]["overrides"][0]["item_key"] == "f_clean"
    assert history[0]["percent_after"] == pytest.approx(expected.percent)
    audit = await _rows(client, "SELECT action, data FROM audit_log WHERE action LIKE 'review.%' ORDER BY seq")
    assert [r["action"] for r in audit] == ["review.override", "review.approve"]
    assert audit[0]["data"]["reason"].startswith("Photos show")


async def test_an_override_to_zero_on_a_critical_item_fails_the_inspection_and_opens_an_action(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit()
    response = await ctx.review(
        inspection_id,
        "approve",
        revision,
        score_overrides={"l_water": {"score": 0, "reason": "The tap in the lock-up is dry (photo 3)"}},
    )
    assert response.json()["critical_failed"] is True and response.json()["grade"] == "fail"
    actions = await _rows(client, "SELECT item_key, status FROM actions")
    assert [(a["item_key"], a["status"]) for a in actions] == [("l_water", "open")]


INVALID_OVERRIDES = [
    ({"f_clean": {"score": 1}}, "score_overrides.f_clean.reason"),
    ({"f_clean": {"score": 1, "reason": "   "}}, "score_overrides.f_clean.reason"),
    ({"f_clean": {"score": 1.5, "reason": "too generous"}}, "score_overrides.f_clean.score"),
    ({"f_clean": {"score": -0.1, "reason": "too harsh"}}, "score_overrides.f_clean.score"),
    ({"nope": {"score": 1, "reason": "no such item"}}, "score_overrides.nope"),
    ({"f_note": {"score": 1, "reason": "a text item"}}, "score_overrides.f_note"),
    ({"f_why": {"score": 1, "reason": "hidden while the desk is staffed"}}, "score_overrides.f_why"),
]


async def test_an_invalid_override_is_refused_and_nothing_changes(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit()
    for overrides, field in INVALID_OVERRIDES:
        response = await ctx.review(inspection_id, "approve", revision, score_overrides=overrides)
        assert response.status_code == 422, (overrides, response.text)
        errors = response.json()["errors"]
        # Named to the item's key and the field, a missing one too.
        assert any(e["field"] == field or e["field"].startswith(field + ".") for e in errors), (overrides, errors)
    assert (await _rows(client, "SELECT status FROM inspections"))[0]["status"] == "submitted"
    assert await _rows(client, "SELECT 1 FROM reviews UNION ALL SELECT 1 FROM score_overrides") == []


async def test_a_resubmission_after_a_return_drops_the_overrides_of_the_old_answers(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(clean=1))
    await ctx.review(
        inspection_id,
        "return",
        revision,
        comment="Redo the front",
        score_overrides={"f_clean": {"score": 0.8, "reason": "roughly right"}},
    )
    reply = await ctx.put(inspection_id, base=revision + 1, values=answers(clean=5))
    row = (await _rows(client, "SELECT score_percent FROM inspections"))[0]
    assert row["score_percent"] == pytest.approx(reply["score"]["percent"])
    in_force = await _rows(client, "SELECT 1 FROM score_overrides WHERE superseded_at IS NULL")
    assert in_force == []


async def test_overrides_are_dropped_when_a_returned_inspection_is_saved_as_a_draft_and_then_submitted(client):
    # The draft is a new revision by the inspector, scored afresh: the overrides judged the revision the
    # reviewer reviewed, so they stop applying with the draft already (tests/test_override_revisions.py),
    # and none comes back with the submission that follows.
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(clean=1))
    returned = await ctx.review(
        inspection_id,
        "return",
        revision,
        comment="Redo the front",
        score_overrides={"f_clean": {"score": 0.8, "reason": "roughly right"}},
    )
    assert returned.status_code == 200, returned.text
    draft = await ctx.put(inspection_id, base=revision + 1, status="draft", values=answers(clean=3))
    assert draft["status"] == "draft"
    assert await _rows(client, "SELECT 1 FROM score_overrides WHERE superseded_at IS NULL") == []
    assert await _rows(client, "SELECT 1 FROM score_overrides") != []
    reply = await ctx.put(inspection_id, base=draft["revision"], values=answers(clean=5))
    assert reply["status"] == "submitted"
    assert await _rows(client, "SELECT 1 FROM score_overrides WHERE superseded_at IS NULL") == []


async def test_the_queue_lists_submitted_inspections_in_scope_oldest_first_with_flags_and_pages(client):
    ctx = await make_ctx(client)
    first, _ = await ctx.submit(location=FAR)
    second, _ = await ctx.submit(station="A2", values=answers(diary="no"))
    third, _ = await ctx.submit()
    await ctx.submit(status="draft")
    await ctx.submit(station="B", user="inspector_b")

    page = (await ctx.get("/api/v1/review/queue", limit=2)).json()
    assert [r["id"] for r in page["rows"]] == [str(first), str(second)]
    assert page["rows"][0]["flags"] == {
        "far_from_station": True,
        "reused_photos": False,
        "critical_failed": False,
        "missing_photos": False,
        # The photo evidence (tests/test_photo_evidence_flags.py): none of its flags without photos.
        "photos_far": False,
        "photos_off_time": False,
        "photos_unproven": False,
        "location_imprecise": False,
        # The visit's times (tests/test_visit_timing_flags.py): none without a finish time.
        "too_fast": False,
        "overlaps_other": False,
        # Its fix, far away, is not the station's own position (tests/test_location_exact.py).
        "location_exact": False,
        # Nor another visit's to the centimetre (tests/test_location_repeated.py).
        "location_repeated": False,
    }
    assert page["rows"][1]["flags"]["critical_failed"] is True
    assert page["rows"][1]["station"]["name"] == {"en": "PS SA2", "ur": "تھانہ SA2"}
    assert page["rows"][0]["inspector"]["display_name"] == "Inspector_A"
    rest = (await ctx.get("/api/v1/review/queue", limit=2, after=page["next"])).json()
    assert [r["id"] for r in rest["rows"]] == [str(third)] and rest["next"] is None

    assert [r["id"] for r in (await ctx.get("/api/v1/review/queue", flag="far")).json()["rows"]] == [str(first)]
    assert [r["id"] for r in (await ctx.get("/api/v1/review/queue", flag="critical")).json()["rows"]] == [str(second)]
    by_station = await ctx.get("/api/v1/review/queue", station_id=str(ctx.world.stations["A2"]))
    assert [r["id"] for r in by_station.json()["rows"]] == [str(second)]
    theirs = (await ctx.get("/api/v1/review/queue", "reviewer_b")).json()["rows"]
    assert [r["station"]["code"] for r in theirs] == ["SB1"]
    assert (await ctx.get("/api/v1/review/queue", "inspector_a")).status_code == 403
    assert (await ctx.get("/api/v1/review/queue", after="not-a-cursor")).status_code == 422


async def test_a_queue_row_carries_when_the_inspection_was_made_not_only_when_it_arrived(client):
    # A phone offline for five days: finished then, received now. The queue's row says both, so the
    # reviewer is not told it was done the day it arrived (made_at as the inspection and dashboards have it).
    ctx = await make_ctx(client)
    finished = datetime.now(UTC) - timedelta(days=5)
    late, _ = await ctx.submit(started_at=(finished - timedelta(hours=1)).isoformat(), finished_at=finished.isoformat())
    # A phone clock 40 days behind cannot be right: it was made when it first arrived (schema 0016).
    stale = datetime.now(UTC) - timedelta(days=40)
    wrong_clock, _ = await ctx.submit(
        station="A2", started_at=(stale - timedelta(hours=1)).isoformat(), finished_at=stale.isoformat()
    )

    rows = {r["id"]: r for r in (await ctx.get("/api/v1/review/queue")).json()["rows"]}
    row = rows[str(late)]
    made, arrived = datetime.fromisoformat(row["made_at"]), datetime.fromisoformat(row["submitted_at"])
    assert made == finished and arrived - made > timedelta(days=4)
    other = rows[str(wrong_clock)]
    assert other["made_at"] == other["submitted_at"]
    stored = await _rows(client, "SELECT id, made_at FROM inspections WHERE id = ANY($1)", [late, wrong_clock])
    assert {str(r["id"]): r["made_at"] for r in stored} == {
        str(late): made,
        str(wrong_clock): datetime.fromisoformat(other["made_at"]),
    }


async def test_the_latest_review_summary_carries_comments_and_the_overrides_in_force(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(clean=1))
    untouched, _ = await ctx.submit(station="A2")
    await ctx.review(
        inspection_id,
        "approve",
        revision,
        comment="Accepted with a correction",
        item_comments={"f_clean": "Floor swept since"},
        score_overrides={"f_clean": {"score": 0.6, "reason": "photo 2 shows it cleaner"}},
    )
    conn = await client.db()
    try:
        summary = await latest_review(conn, inspection_id)
        assert await latest_review(conn, untouched) is None
        assert set(await latest_reviews(conn, [inspection_id, untouched])) == {inspection_id}
    finally:
        await conn.close()
    assert (summary["decision"], summary["comment"]) == ("approve", "Accepted with a correction")
    assert summary["item_comments"] == {"f_clean": "Floor swept since"}
    assert summary["score_overridden"] is True
    override = summary["overrides"]["f_clean"]
    assert (override["original"], override["score"]) == (pytest.approx(0.2), 0.6)


async def test_get_inspection_shows_the_latest_review_with_its_comments_as_the_bundle_sends_it(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(diary="no"))
    path = f"/api/v1/inspections/{inspection_id}"
    before = await ctx.get(path)
    assert before.status_code == 200 and before.json()["review"] is None

    await ctx.review(
        inspection_id,
        "return",
        revision,
        comment="Check the diary again",
        item_comments={"l_diary": "The detainee is in the diary on page 4"},
    )
    seen = (await ctx.get(path, "inspector_a")).json()["review"]
    assert (seen["decision"], seen["comment"]) == ("return", "Check the diary again")
    assert seen["item_comments"] == {"l_diary": "The detainee is in the diary on page 4"}
    assert seen["reviewer"]["display_name"] == "Reviewer_A" and seen["at"]
    assert (seen["revision"], seen["new_revision"]) == (revision, revision + 1)
    # One shape: the phone reads the same review from the bundle's returned inspection.
    bundle = (await ctx.get("/api/v1/sync/bundle", "inspector_a")).json()
    assert [r["review"] for r in bundle["returned"] if r["id"] == str(inspection_id)] == [seen]
    assert (await ctx.get(path, "reviewer_b")).status_code == 404

    # A device still editing the submitted revision is refused; the server's copy says why.
    stale = await client.put(
        path,
        await ctx.token("inspector_a"),
        json={
            "station_id": str(ctx.world.stations["A"]),
            "template_version_id": str(ctx.version_id),
            "base_revision": revision,
            "status": "submitted",
            "answers": answers(),
        },
    )
    assert stale.status_code == 409
    assert stale.json()["server_copy"]["review"]["comment"] == "Check the diary again"
    # The PUT's acknowledgement carries no review (documented on InspectionOut.review); GET still does.
    corrected = await ctx.put(inspection_id, base=revision + 1, values=answers(diary="yes"))
    assert corrected["review"] is None
    assert (await ctx.get(path)).json()["review"]["decision"] == "return"


async def test_an_override_to_zero_on_an_unanswered_critical_item_opens_an_action_too(client):
    # l_water is critical but optional: the inspector left it out, so it has no answer row at all.
    ctx = await make_ctx(client)
    inspection_id, revision = await ctx.submit(values=answers(water=None))
    response = await ctx.review(
        inspection_id,
        "approve",
        revision,
        score_overrides={"l_water": {"score": 0, "reason": "No water in the lock-up; the inspector skipped it"}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["critical_failed"] is True and response.json()["grade"] == "fail"
    actions = await _rows(client, "SELECT item_key, status FROM actions")
    assert [(a["item_key"], a["status"]) for a in actions] == [("l_water", "open")]
