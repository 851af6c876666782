"""PUT /api/v1/inspections/{id} and the readers: idempotency, conflicts, the status machine, validation,
scoring into rows, missing photos, presence and scope — each checked in the database as well as the reply."""

from __future__ import annotations

import asyncio
import importlib
import uuid

import pytest

from server.inspections import hooks
from server.inspections.queries import refresh_missing_photos
from server.templates.models import to_definition
from server.templates.scoring import score
from tests.inspection_fixtures import (
    DEFINITION,
    complete_answers,
    concurrent_client,
    hold_first_readers,
    make_ctx,
    publish,
)


@pytest.fixture(autouse=True)
def only_our_submit_hooks(monkeypatch):
    """These tests play the reviewer with plain SQL, which other capabilities' submit hooks (rollups,
    actions) rightly do not expect; they are tested with the real review flow in their own modules.

    The review capability registers its hook when its module is first imported, which building the
    app does. Imported here first, before the list is swapped, it registers into the real list; had
    the first import happened inside one of these tests, the registration would have gone into the
    swapped list and been lost for every later test in the process (tests/reliability/test_lock_order.py
    then saw submissions open no corrective action)."""
    importlib.import_module("server.review.hooks")
    monkeypatch.setattr(hooks, "_on_submitted", [])


async def counts(client, inspection_id) -> dict[str, int]:
    conn = await client.db()
    try:
        row = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM inspections WHERE id = $1) AS inspections,
                      (SELECT count(*) FROM inspection_revisions WHERE inspection_id = $1) AS revisions,
                      (SELECT count(*) FROM answers WHERE inspection_id = $1) AS answers,
                      (SELECT count(*) FROM sync_conflicts WHERE inspection_id = $1) AS conflicts,
                      (SELECT count(*) FROM audit_log WHERE entity = 'inspection' AND entity_id = $1::text) AS audits""",
            inspection_id,
        )
        return dict(row)
    finally:
        await conn.close()


async def sql(client, query: str, *args):
    conn = await client.db()
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


# Idempotency ------------------------------------------------------------------------------------------


async def test_a_new_inspection_is_created_with_one_revision_its_answer_rows_and_an_audit_row(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    r = await ctx.put(iid, ctx.doc(answers=complete_answers()))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["id"], body["revision"], body["status"]) == (str(iid), 1, "draft")
    assert body["inspector_id"] == str(ctx.world.users["inspector_a"])
    assert await counts(client, iid) == {"inspections": 1, "revisions": 1, "answers": 5, "conflicts": 0, "audits": 1}
    [audit] = await sql(client, "SELECT action, actor FROM audit_log WHERE entity_id = $1", str(iid))
    assert (audit["action"], audit["actor"]) == ("inspection.create", "inspector_a")


async def test_one_hundred_sequential_replays_make_exactly_one_inspection_and_one_revision(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    doc = ctx.doc(answers=complete_answers())
    first = await ctx.put(iid, doc)
    assert first.status_code == 201
    for _ in range(100):
        again = await ctx.put(iid, doc)
        assert again.status_code == 200
        assert again.json() == first.json()
    # A replay writes nothing and audits nothing.
    assert await counts(client, iid) == {"inspections": 1, "revisions": 1, "answers": 5, "conflicts": 0, "audits": 1}


async def test_twenty_simultaneous_first_sends_make_exactly_one_inspection_and_one_revision(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    doc = ctx.doc(answers=complete_answers())
    replies = await asyncio.gather(*(ctx.put(iid, doc) for _ in range(20)))
    assert sorted(r.status_code for r in replies) == [200] * 19 + [201]
    assert len({r.content for r in replies}) == 1
    assert await counts(client, iid) == {"inspections": 1, "revisions": 1, "answers": 5, "conflicts": 0, "audits": 1}


async def test_concurrent_first_sends_race_on_the_insert_and_exactly_one_wins(settings, executor, monkeypatch):
    async with concurrent_client(settings, executor) as client:
        ctx = await make_ctx(client)
        log = hold_first_readers(monkeypatch, parties=5)
        iid = uuid.uuid4()
        doc = ctx.doc(answers=complete_answers())
        replies = await asyncio.gather(*(ctx.put(iid, doc) for _ in range(20)))
        assert log.count("insert:won") == 1 and log.count("insert:lost") >= 4  # the race really happened
        assert sorted(r.status_code for r in replies) == [200] * 19 + [201]
        assert len({r.content for r in replies}) == 1
        assert await counts(client, iid) == {
            "inspections": 1,
            "revisions": 1,
            "answers": 5,
            "conflicts": 0,
            "audits": 1,
        }


async def test_twenty_simultaneous_replays_of_an_edit_make_exactly_one_new_revision(settings, executor, monkeypatch):
    async with concurrent_client(settings, executor) as client:
        ctx = await make_ctx(client)
        iid = uuid.uuid4()
        assert (await ctx.put(iid, ctx.doc())).status_code == 201
        log = hold_first_readers(monkeypatch, parties=5)
        edit = ctx.doc(base=1, answers=complete_answers())
        replies = await asyncio.gather(*(ctx.put(iid, edit) for _ in range(20)))
        assert log.count("lock") >= 5 and log.count("update:won") == 1
        assert {r.status_code for r in replies} == {200}
        assert len({r.content for r in replies}) == 1
        assert await counts(client, iid) == {
            "inspections": 1,
            "revisions": 2,
            "answers": 5,
            "conflicts": 0,
            "audits": 2,
        }


async def test_twenty_simultaneous_sends_through_the_test_client_make_one_revision_of_an_edit(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    assert (await ctx.put(iid, ctx.doc())).status_code == 201
    edit = ctx.doc(base=1, answers=complete_answers())
    replies = await asyncio.gather(*(ctx.put(iid, edit) for _ in range(20)))
    assert {r.status_code for r in replies} == {200}
    assert {r.json()["revision"] for r in replies} == {2}
    assert await counts(client, iid) == {"inspections": 1, "revisions": 2, "answers": 5, "conflicts": 0, "audits": 2}


async def test_a_late_duplicate_of_an_acknowledged_earlier_revision_gets_the_current_copy_not_a_conflict(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    first = ctx.doc()
    await ctx.put(iid, first)
    second = await ctx.put(iid, ctx.doc(base=1, answers=complete_answers()))
    late = await ctx.put(iid, first)
    assert late.status_code == 200
    assert late.json() == second.json()
    assert (await counts(client, iid))["revisions"] == 2


# Conflicts --------------------------------------------------------------------------------------------


async def test_a_stale_base_revision_with_another_body_gets_409_with_the_server_copy(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    await ctx.put(iid, ctx.doc())
    current = await ctx.put(iid, ctx.doc(base=1, answers={"fd_wait": {"value": 9}}))
    stale = await ctx.put(iid, ctx.doc(base=1, answers={"fd_wait": {"value": 3}}))
    assert stale.status_code == 409
    problem = stale.json()
    assert problem["reason"] == "stale"
    assert "revision 2" in problem["detail"]
    # The server's copy as readers have it: also saying whether the phone's clock was wrong.
    assert problem["server_copy"] == {**current.json(), "phone_clock_off": False}
    assert (await counts(client, iid))["revisions"] == 2


async def test_two_devices_editing_the_same_revision_one_wins_and_the_loser_is_kept_in_history(
    settings, executor, monkeypatch
):
    async with concurrent_client(settings, executor) as client:
        ctx = await make_ctx(client, "inspector_a", "reviewer_a")
        iid = uuid.uuid4()
        await ctx.put(iid, ctx.doc())
        phone = ctx.doc(base=1, answers={"fd_wait": {"value": 2, "note": "from the phone"}})
        laptop = ctx.doc(base=1, answers={"fd_wait": {"value": 11, "note": "from the laptop"}})
        log = hold_first_readers(monkeypatch, parties=2)
        replies = await asyncio.gather(ctx.put(iid, phone), ctx.put(iid, laptop))
        assert log.count("lock") == 2 and log.count("update:won") == 1  # both read revision 1 before writing
        assert sorted(r.status_code for r in replies) == [200, 409]
        winner = next(r for r in replies if r.status_code == 200).json()
        refused = next(r for r in replies if r.status_code == 409).json()
        assert refused["server_copy"] == {**winner, "phone_clock_off": False}
        loser = laptop if winner["answers"]["fd_wait"]["note"] == "from the phone" else phone

        # The loser retrying the same body is kept once, not twice.
        assert (await ctx.put(iid, loser)).status_code == 409
        history = (await client.get(f"/api/v1/inspections/{iid}/history", ctx.tokens["reviewer_a"])).json()
        assert [r["revision"] for r in history["revisions"]] == [1, 2]
        assert history["revisions"][1]["document"]["answers"] == winner["answers"]
        [kept] = history["conflicts"]
        assert (kept["reason"], kept["base_revision"], kept["server_revision"], kept["actor"]) == (
            "stale",
            1,
            2,
            "inspector_a",
        )
        assert kept["document"]["answers"]["fd_wait"]["note"] == loser["answers"]["fd_wait"]["note"]
        # The same list without the documents, as the reviewer's screen asks for it.
        bare = await client.get(
            f"/api/v1/inspections/{iid}/history", ctx.tokens["reviewer_a"], params={"documents": "false"}
        )
        without = {**history, "revisions": [{**r, "document": None} for r in history["revisions"]]}
        without["conflicts"] = [{**c, "document": None} for c in history["conflicts"]]
        assert bare.json() == without
        actions = [
            r["action"]
            for r in await sql(client, "SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY seq", str(iid))
        ]
        assert actions == ["inspection.create", "inspection.update", "inspection.conflict"]


# Status machine ---------------------------------------------------------------------------------------


async def test_a_submitted_inspection_is_read_only_to_its_inspector_but_its_replay_still_succeeds(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    submit = ctx.doc(status="submitted", answers=complete_answers())
    assert (await ctx.put(iid, submit)).status_code == 201
    edit = await ctx.put(iid, ctx.doc(base=1, answers=complete_answers()))
    assert edit.status_code == 409
    assert edit.json()["reason"] == "read_only"
    assert "read-only until a reviewer returns it" in edit.json()["detail"]
    assert edit.json()["server_copy"]["status"] == "submitted"
    assert (await ctx.put(iid, submit)).status_code == 200
    assert (await counts(client, iid))["revisions"] == 1


async def test_a_returned_inspection_can_be_edited_and_resubmitted_and_an_approved_one_never_changes(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    await ctx.put(iid, ctx.doc(status="submitted", answers=complete_answers()))
    await sql(client, "UPDATE inspections SET status = 'returned' WHERE id = $1", iid)
    draft = await ctx.put(iid, ctx.doc(base=1, answers=complete_answers()))
    assert (draft.status_code, draft.json()["status"], draft.json()["submitted_at"]) == (200, "draft", None)
    resubmitted = await ctx.put(iid, ctx.doc(base=2, status="submitted", answers=complete_answers()))
    assert (resubmitted.status_code, resubmitted.json()["status"]) == (200, "submitted")
    await sql(client, "UPDATE inspections SET status = 'approved' WHERE id = $1", iid)
    refused = await ctx.put(iid, ctx.doc(base=3, answers=complete_answers()))
    assert refused.status_code == 409
    assert "approved" in refused.json()["detail"]
    audited = await sql(
        client,
        "SELECT action, data->>'revision' AS revision FROM audit_log "
        "WHERE entity_id = $1 AND action LIKE 'inspection.%' ORDER BY seq",
        str(iid),
    )
    assert [r["action"] for r in audited] == [
        "inspection.submit",
        "inspection.update",
        "inspection.submit",
        "inspection.conflict",
    ]
    # Each write's audit row names the revision that write made.
    assert [r["revision"] for r in audited[:3]] == ["1", "2", "3"]


# Validation -------------------------------------------------------------------------------------------


async def test_submitting_lists_every_problem_missing_answers_too_few_photos_and_out_of_range_values(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    answers = {"fd_staffed": {"value": "no"}, "fd_clean": {"value": 9}, "fd_token": {"value": "maybe"}}
    r = await ctx.put(iid, ctx.doc(status="submitted", answers=answers))
    assert r.status_code == 422
    fields = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(fields) == {
        "answers.fd_staffed.photos",
        "answers.fd_wait.value",
        "answers.fd_clean.value",
        "answers.fd_token.value",
        "answers.fd_why.value",
        "answers.lk_diary.value",
    }
    assert "at least 1 photo" in fields["answers.fd_staffed.photos"]
    assert fields["answers.lk_diary.value"] == "is required"
    assert (await counts(client, iid))["inspections"] == 0


async def test_a_draft_may_be_incomplete_but_never_wrongly_typed(client):
    ctx = await make_ctx(client)
    incomplete = await ctx.put(uuid.uuid4(), ctx.doc(answers={"fd_staffed": {"value": "no"}}))
    assert incomplete.status_code == 201
    iid = uuid.uuid4()
    mistyped = await ctx.put(iid, ctx.doc(answers={"fd_wait": {"value": "seven"}, "nonsense": {"value": 1}}))
    assert mistyped.status_code == 422
    assert {e["field"] for e in mistyped.json()["errors"]} == {"answers.fd_wait.value", "answers.nonsense"}
    assert (await counts(client, iid))["inspections"] == 0
    # JSON integers of any length decode; one too long for a double is no number (JavaScript reads
    # it as Infinity), not a server error.
    huge = 10**400
    for status in ("draft", "submitted"):
        too_long = await ctx.put(
            iid, ctx.doc(status=status, answers={"fd_wait": {"value": huge}, "fd_clean": {"value": huge}})
        )
        assert too_long.status_code == 422, too_long.text
        fields = {e["field"]: e["message"] for e in too_long.json()["errors"]}
        assert fields["answers.fd_wait.value"] == "must be a number", fields
        assert "answers.fd_clean.value" in fields, fields
        assert (await counts(client, iid))["inspections"] == 0
    assert (await client.get("/health")).status_code == 200


@pytest.mark.parametrize(
    "field, value",
    [
        ("score", {"percent": 100}),
        ("inspector_id", "5f0c2a4e-8d1b-4c3a-9e6f-7a2b1c0d9e8f"),  # fixed: test ids must not vary between runs
        ("revision", 7),
        ("status", "approved"),
        ("status", "returned"),
        ("base_revision", -1),
        ("base_revision", 2**31 - 1),  # base + 1 would not fit the revision column
        ("base_revision", 2**70),
    ],
)
async def test_fields_the_server_decides_are_rejected_with_422_naming_them(client, field, value):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    r = await ctx.put(iid, {**ctx.doc(), field: value})
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["errors"]}
    assert (await counts(client, iid))["inspections"] == 0


@pytest.mark.parametrize(
    "change, field",
    [
        # msgspec names a value inside a dict `[...]`: the problem must name the item's key instead.
        ({"answers": {"fd_staffed": {"value": "yes"}, "fd_wait": {"value": 5, "note": 5}}}, "answers.fd_wait.note"),
        ({"answers": {"fd_photo": {"photos": ["not-a-uuid"]}}}, "answers.fd_photo.photos.0"),
        ({"answers": {"fd_staffed": {"value": "yes", "extra": 1}}}, "answers.fd_staffed.extra"),
        # A field the body lacks is named itself, not the object around it.
        ({"location": {"lon": 74.3}}, "location.lat"),
        ({"status": None}, "status"),
        # A time, not a day: said as msgspec says it, not as a day parameter's "YYYY-MM-DD".
        ({"started_at": "yesterday"}, "started_at"),
    ],
)
async def test_a_mistyped_or_missing_field_inside_the_document_is_named_to_its_key(client, change, field):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    body = {**ctx.doc(), **change}
    if change.get("status", "") is None:
        del body["status"]
    r = await ctx.put(iid, body)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert "YYYY-MM-DD" not in r.text
    assert (await counts(client, iid))["inspections"] == 0


@pytest.mark.parametrize(
    "field, value",
    [
        ("started_at", "0001-01-01T00:00:00Z"),  # asyncpg would store -infinity: every later read failed
        ("started_at", "0001-01-01T00:00:00+14:00"),  # cannot be converted to UTC at all
        ("finished_at", "9999-12-31T23:59:59.999999Z"),  # stored as infinity
        ("finished_at", "1899-12-31T23:59:59Z"),
    ],
)
async def test_a_time_no_phone_clock_could_mean_is_422_naming_it_and_nothing_is_stored(client, field, value):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    r = await ctx.put(iid, {**ctx.doc(), field: value})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert (await counts(client, iid))["inspections"] == 0
    # A phone whose clock was reset to 1970 is still believed as evidence.
    kept = await ctx.put(iid, {**ctx.doc(), field: "1970-01-01T00:00:05+05:00"})
    assert kept.status_code == 201, kept.text
    assert kept.json()[field] == "1970-01-01T00:00:05+05:00"


async def test_a_version_for_another_kind_of_station_or_a_changed_station_is_refused(client):
    ctx = await make_ctx(client)
    conn = await client.db()
    _, khidmat_only = await publish(conn, kinds=["khidmat_markaz"])
    await conn.close()
    r = await ctx.put(uuid.uuid4(), {**ctx.doc(), "template_version_id": str(khidmat_only)})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "template_version_id"
    iid = uuid.uuid4()
    await ctx.put(iid, ctx.doc())
    moved = await ctx.put(iid, ctx.doc(station="A2", base=1))
    assert moved.status_code == 422
    assert moved.json()["errors"][0]["field"] == "station_id"


# Scoring into rows, photos, presence ---------------------------------------------------------------


async def test_answer_rows_and_score_columns_equal_the_scoring_engine(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    answers = {
        **complete_answers(),
        "fd_clean": {"value": 3},
        "fd_token": {"value": "yes"},
        "lk_diary": {"value": "no", "note": "detainee not in the roznamcha"},
    }
    r = await ctx.put(iid, ctx.doc(status="submitted", answers=answers))
    assert r.status_code == 201, r.text
    expected = score(to_definition(DEFINITION), answers)
    body = r.json()
    assert body["score"] == {
        "percent": expected.percent,
        "grade": "fail",
        "critical_failed": True,
        "sections": [{"key": s.key, "percent": s.percent} for s in expected.sections],
    }
    [row] = await sql(client, "SELECT score_percent, grade, critical_failed, score FROM inspections WHERE id = $1", iid)
    assert (row["score_percent"], row["grade"], row["critical_failed"]) == (expected.percent, "fail", True)
    assert row["score"] == body["score"]
    rows = {r["item_key"]: r for r in await sql(client, "SELECT * FROM answers WHERE inspection_id = $1", iid)}
    assert set(rows) == set(answers)
    for key, answer in answers.items():
        item = expected.items[key]
        assert (rows[key]["score"], rows[key]["max"], rows[key]["value"]) == (item.score, item.max, answer["value"])
    assert rows["lk_diary"]["section_key"] == "lockup" and rows["lk_diary"]["critical"] is True
    assert rows["lk_diary"]["note"] == "detainee not in the roznamcha"
    assert [str(p) for p in rows["fd_staffed"]["photo_ids"]] == answers["fd_staffed"]["photos"]


async def test_an_edit_replaces_the_answer_rows(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    await ctx.put(iid, ctx.doc(answers=complete_answers()))
    await ctx.put(iid, ctx.doc(base=1, answers={"fd_wait": {"value": 30}, "fd_clean": {"value": 1}}))
    rows = {r["item_key"]: r for r in await sql(client, "SELECT * FROM answers WHERE inspection_id = $1", iid)}
    assert set(rows) == {"fd_wait", "fd_clean"}
    assert (rows["fd_wait"]["value"], rows["fd_wait"]["score"]) == (30, 0.0)
    assert rows["fd_clean"]["score"] == pytest.approx(0.2)
    # Every answer cleared: no key is sent, and every row goes.
    assert (await ctx.put(iid, ctx.doc(base=2, answers={}))).status_code == 200
    assert await sql(client, "SELECT * FROM answers WHERE inspection_id = $1", iid) == []


async def test_an_inspection_lists_missing_photos_until_every_referenced_photo_is_stored(client):
    ctx = await make_ctx(client)
    iid, p1, p2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    answers = complete_answers(p1)
    answers["fd_clean"]["photos"] = [str(p2), str(p1)]
    r = await ctx.put(iid, ctx.doc(status="submitted", answers=answers))
    assert r.json()["missing_photos"] == sorted([str(p1), str(p2)])
    conn = await client.db()
    try:
        assert await conn.fetchval("SELECT photos_expected FROM inspections WHERE id = $1", iid) == 2
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO photos (id, inspection_id, item_key, uploaded_by, sha256, phash, size_bytes, format,
                                       width, height, original_key, display_key, thumb_key)
                   VALUES ($1, $2, 'fd_staffed', $3, '\\x00', 0, 1, 'jpeg', 1, 1, 'o', 'd', 't')""",
                p1,
                iid,
                ctx.world.users["inspector_a"],
            )
            assert await refresh_missing_photos(conn, iid) == 1
    finally:
        await conn.close()
    got = (await client.get(f"/api/v1/inspections/{iid}", ctx.tokens["inspector_a"])).json()
    assert got["missing_photos"] == [str(p2)]


@pytest.mark.parametrize(
    "location, far, missing",
    [
        ({"lat": 31.5005, "lon": 74.35, "accuracy_m": 8}, False, False),  # ~56 m from the station
        ({"lat": 31.52, "lon": 74.35, "accuracy_m": 8}, True, False),  # ~2.2 km away
        (None, True, True),
    ],
)
async def test_presence_flags_an_inspection_far_from_its_station_or_without_a_location(client, location, far, missing):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    doc = {**ctx.doc(), "location": location}
    r = await ctx.put(iid, doc)
    presence = r.json()["presence"]
    assert (presence["far_from_station"], presence["location_missing"]) == (far, missing)
    [row] = await sql(client, "SELECT far_from_station, distance_m FROM inspections WHERE id = $1", iid)
    assert row["far_from_station"] is far
    assert row["distance_m"] == presence["distance_m"]
    if location is not None:
        assert presence["distance_m"] == pytest.approx(55.6 if not far else 2224, rel=0.01)


# Who may write and read -------------------------------------------------------------------------------


async def test_only_the_owning_inspector_writes_and_out_of_scope_is_404(client):
    ctx = await make_ctx(client, "inspector_a", "inspector_b", "reviewer_a", "admin")
    conn = await client.db()
    from tests.factories import make_user

    await make_user(conn, "inspector_a2", "inspector", district_ids=[ctx.world.districts["A"]])
    await conn.close()
    ctx.tokens["inspector_a2"] = await client.login("inspector_a2")
    iid = uuid.uuid4()
    await ctx.put(iid, ctx.doc())
    edit = ctx.doc(base=1, answers={"fd_wait": {"value": 1}})
    assert (await ctx.put(iid, edit, "inspector_a2")).status_code == 403
    assert (await ctx.put(iid, edit, "inspector_b")).status_code == 404
    assert (await ctx.put(iid, edit, "reviewer_a")).status_code == 403
    assert (await ctx.put(iid, edit, "admin")).status_code == 403
    assert (await ctx.put(uuid.uuid4(), ctx.doc(station="B"))).status_code == 404
    assert (await client.put(f"/api/v1/inspections/{iid}", json=edit)).status_code == 401
    assert (await counts(client, iid))["revisions"] == 1


async def test_readers_see_inspections_in_scope_and_others_get_404(client):
    ctx = await make_ctx(client, "inspector_a", "inspector_b", "reviewer_a", "reviewer_b", "admin")
    iid = uuid.uuid4()
    await ctx.put(iid, ctx.doc(status="submitted", answers=complete_answers()))
    for user, status in [
        ("inspector_a", 200),
        ("reviewer_a", 200),
        ("admin", 200),
        ("reviewer_b", 404),
        ("inspector_b", 404),
    ]:
        for path in (f"/api/v1/inspections/{iid}", f"/api/v1/inspections/{iid}/history"):
            assert (await client.get(path, ctx.tokens[user])).status_code == status, (user, path)
        listed = (await client.get("/api/v1/inspections", ctx.tokens[user])).json()["items"]
        assert [i["id"] for i in listed] == ([str(iid)] if status == 200 else [])


async def test_an_inspector_lists_only_their_own_inspections(client):
    ctx = await make_ctx(client, "inspector_a")
    conn = await client.db()
    from tests.factories import make_user

    await make_user(conn, "inspector_a2", "inspector", district_ids=[ctx.world.districts["A"]])
    await conn.close()
    ctx.tokens["inspector_a2"] = await client.login("inspector_a2")
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    await ctx.put(mine, ctx.doc())
    await ctx.put(theirs, ctx.doc(), "inspector_a2")
    listed = (await client.get("/api/v1/inspections", ctx.tokens["inspector_a"])).json()["items"]
    assert [i["id"] for i in listed] == [str(mine)]
    assert (await client.get(f"/api/v1/inspections/{theirs}", ctx.tokens["inspector_a"])).status_code == 404


async def test_the_list_filters_and_pages_newest_first_without_gaps_or_repeats(client):
    ctx = await make_ctx(client, "inspector_a", "reviewer_a")
    made = []
    for n in range(5):
        iid = uuid.uuid4()
        station = "A2" if n == 2 else "A"
        status = "submitted" if n % 2 else "draft"
        answers = complete_answers() if status == "submitted" else None
        await ctx.put(iid, ctx.doc(station=station, status=status, answers=answers))
        made.append(iid)
    token = ctx.tokens["reviewer_a"]
    seen, before = [], None
    while True:
        params = {"limit": 2, **({"before": before} if before else {})}
        page = (await client.get("/api/v1/inspections", token, params=params)).json()
        seen += [i["id"] for i in page["items"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == [str(i) for i in reversed(made)]
    submitted = (await client.get("/api/v1/inspections", token, params={"status": "submitted"})).json()["items"]
    assert {i["id"] for i in submitted} == {str(made[1]), str(made[3])}
    at_a2 = (
        await client.get("/api/v1/inspections", token, params={"station_id": str(ctx.world.stations["A2"])})
    ).json()["items"]
    assert [i["id"] for i in at_a2] == [str(made[2])]
    future = (await client.get("/api/v1/inspections", token, params={"from": "2999-01-01T00:00:00Z"})).json()
    assert future["items"] == []
    # A cursor no page gave out, or a time the database cannot take, is a 422 naming the parameter.
    for before in ("nonsense", f"0001-01-01T00:00:00+14:00_{made[0]}", f"2026-01-01T00:00:00_{made[0]}"):
        refused = await client.get("/api/v1/inspections", token, params={"before": before})
        assert refused.status_code == 422, (before, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == ["before"], before
    for name, moment in (("from", "0001-01-01T00:00:00+14:00"), ("to", "9999-12-31T20:00:00-14:00")):
        refused = await client.get("/api/v1/inspections", token, params={name: moment})
        assert refused.status_code == 422, (name, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == [name], refused.json()


# Hooks ------------------------------------------------------------------------------------------------


async def test_submission_hooks_run_in_the_submitting_transaction_and_a_failing_one_rolls_it_back(client):
    ctx = await make_ctx(client)
    calls = []

    async def note(conn, submission):
        calls.append(
            (
                submission,
                await conn.fetchval("SELECT count(*) FROM answers WHERE inspection_id = $1", submission.inspection_id),
            )
        )

    async def fail(conn, submission):
        raise RuntimeError("the rollup could not be written")

    hooks.register_on_submitted(note)
    try:
        ok = uuid.uuid4()
        await ctx.put(ok, ctx.doc())
        assert calls == []  # a draft is not a submission
        submitted = await ctx.put(ok, ctx.doc(base=1, status="submitted", answers=complete_answers()))
        # The hooks are told what the submission knows: an inspection that existed before, whether a
        # critical item failed, as its score says, and how precise its GPS fix was.
        assert not submitted.json()["score"]["critical_failed"]
        accuracy = ctx.doc()["location"]["accuracy_m"]
        assert calls == [
            (hooks.Submission(ok, created=False, critical_failed=False, radius_m=300, accuracy_m=accuracy), 5)
        ]
        failing = uuid.uuid4()
        answers = complete_answers()
        answers["lk_diary"] = {"value": "no"}
        reply = await ctx.put(failing, ctx.doc(status="submitted", answers=answers))
        assert reply.status_code == 201 and reply.json()["score"]["critical_failed"], reply.text
        assert calls[-1] == (
            hooks.Submission(failing, created=True, critical_failed=True, radius_m=300, accuracy_m=accuracy),
            5,
        )
        hooks.register_on_submitted(fail)
        broken = uuid.uuid4()
        assert (await ctx.put(broken, ctx.doc(status="submitted", answers=complete_answers()))).status_code == 500
        assert (await counts(client, broken))["inspections"] == 0
    finally:
        hooks.unregister_on_submitted(note)
        hooks.unregister_on_submitted(fail)
