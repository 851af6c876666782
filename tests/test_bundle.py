"""GET /api/v1/sync/bundle: contents and scope, cursor deltas and removals, ETag revalidation, and a
cursor that never skips a change committed late."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date, timedelta

import pytest

from server.auth.models import Principal
from server.http import etag_listed
from server.sync import parts, rules
from tests.inspection_fixtures import DEFINITION, complete_answers, document, make_ctx, publish

BUNDLE = "/api/v1/sync/bundle"


async def bundle(ctx, user: str = "inspector_a", since: str | None = None, etag: str | None = None):
    headers = {"If-None-Match": etag} if etag else {}
    return await ctx.client.get(BUNDLE, ctx.tokens[user], params={"since": since} if since else {}, headers=headers)


async def execute(ctx, query: str, *args):
    conn = await ctx.client.db()
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def assign(ctx, station: str = "A", inspector: str = "inspector_a", template_id=None) -> uuid.UUID:
    return await execute(
        ctx,
        """INSERT INTO assignments (station_id, template_id, inspector_id, due_date)
                VALUES ($1, $2, $3, current_date + 7) RETURNING id""",
        ctx.world.stations[station],
        template_id or ctx.template_id,
        ctx.world.users[inspector],
    )


def codes(body) -> list[str]:
    return sorted(s["code"] for s in body["stations"])


async def test_a_full_bundle_holds_the_inspectors_stations_templates_and_open_assignments(client):
    ctx = await make_ctx(client, "inspector_a")
    conn = await client.db()
    await publish(conn, kinds=["khidmat_markaz"])  # no such station in scope: not needed offline
    await conn.close()
    mine = await assign(ctx)
    await assign(ctx, station="B", inspector="inspector_b")
    done = await assign(ctx, station="A2")
    await execute(ctx, "UPDATE assignments SET status = 'done' WHERE id = $1", done)

    r = await bundle(ctx)
    assert r.status_code == 200
    assert r.headers["etag"].startswith('"') and "no-cache" in r.headers["cache-control"]
    body = r.json()
    assert body["full"] is True
    assert codes(body) == ["SA1", "SA2"]
    station = next(s for s in body["stations"] if s["code"] == "SA1")
    assert station["name"] == {"en": "PS SA1", "ur": "تھانہ SA1"}
    assert (station["kind"], station["lat"], station["district_id"]) == (
        "police_station",
        31.5,
        str(ctx.world.districts["A"]),
    )
    [template] = body["templates"]
    assert (template["id"], template["template_id"], template["version"]) == (
        str(ctx.version_id),
        str(ctx.template_id),
        1,
    )
    assert template["definition"]["sections"][0]["key"] == DEFINITION["sections"][0]["key"]
    assert [a["id"] for a in body["assignments"]] == [str(mine)]
    assert (body["actions"], body["returned"]) == ([], [])
    assert body["removed"] == {"stations": [], "templates": [], "assignments": []}


async def test_the_bundle_never_holds_another_regions_stations(client):
    ctx = await make_ctx(client, "inspector_a", "inspector_b", "reviewer_b", "admin")
    assert codes((await bundle(ctx, "inspector_b")).json()) == ["SB1", "SB2"]
    assert codes((await bundle(ctx, "reviewer_b")).json()) == ["SB1", "SB2"]
    assert codes((await bundle(ctx, "admin")).json()) == ["SA1", "SA2", "SB1", "SB2"]
    cursor = (await bundle(ctx, "inspector_a")).json()["cursor"]
    await execute(ctx, "UPDATE stations SET name_en = 'renamed' WHERE code = 'SB1'")
    delta = (await bundle(ctx, "inspector_a", since=cursor)).json()
    assert (delta["full"], delta["stations"], delta["removed"]["stations"]) == (False, [], [])
    assert (await client.get(BUNDLE)).status_code == 401


async def test_an_unchanged_bundle_revalidates_with_304_and_a_change_gives_a_new_etag(client):
    ctx = await make_ctx(client)
    first = await bundle(ctx)
    tag = first.headers["etag"]
    again = await bundle(ctx, etag=tag)
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", tag)
    assert (await bundle(ctx, etag=f'"other", W/{tag}')).status_code == 304
    assert (await bundle(ctx, etag='"other"')).status_code == 200
    # The same moment asked as a delta is another representation, with its own tag.
    delta = await bundle(ctx, since=first.json()["cursor"])
    assert delta.headers["etag"] != tag
    await execute(ctx, "UPDATE stations SET name_en = 'PS Saddar' WHERE code = 'SA1'")
    changed = await bundle(ctx, etag=tag)
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag
    assert "PS Saddar" in {s["name"]["en"] for s in changed.json()["stations"]}


async def test_a_delta_carries_only_what_changed_since_the_cursor_and_what_was_removed(client):
    ctx = await make_ctx(client)
    conn = await client.db()
    other_template, other_version = await publish(conn)
    await conn.close()
    cancelled = await assign(ctx)
    full = (await bundle(ctx)).json()
    assert {t["id"] for t in full["templates"]} == {str(ctx.version_id), str(other_version)}

    nothing = (await bundle(ctx, since=full["cursor"])).json()
    assert nothing["full"] is False and nothing["cursor"] == full["cursor"]
    assert (nothing["stations"], nothing["templates"], nothing["assignments"]) == ([], [], [])

    await execute(ctx, "UPDATE stations SET name_en = 'PS Kotwali' WHERE code = 'SA2'")
    await execute(ctx, "UPDATE stations SET active = false WHERE code = 'SA1'")
    await execute(ctx, "UPDATE assignments SET status = 'cancelled' WHERE id = $1", cancelled)
    fresh = await assign(ctx, station="A2")
    conn = await client.db()
    _, version_2 = await publish(conn, template_id=ctx.template_id, version=2)
    await conn.close()
    await execute(ctx, "UPDATE templates SET archived_at = now() WHERE id = $1", other_template)

    delta = (await bundle(ctx, since=full["cursor"])).json()
    assert delta["full"] is False
    assert [s["name"]["en"] for s in delta["stations"]] == ["PS Kotwali"]
    assert [a["id"] for a in delta["assignments"]] == [str(fresh)]
    assert [t["id"] for t in delta["templates"]] == [str(version_2)]
    assert delta["removed"] == {
        "stations": [str(ctx.world.stations["A"])],
        "templates": [str(other_template)],
        "assignments": [str(cancelled)],
    }
    assert int(delta["cursor"].split(".")[0]) > int(full["cursor"].split(".")[0])
    settled = (await bundle(ctx, since=delta["cursor"])).json()
    assert (settled["stations"], settled["assignments"], settled["removed"]["stations"]) == ([], [], [])


async def test_a_new_version_alone_travels_without_the_templates_the_phone_already_has(client):
    ctx = await make_ctx(client)
    conn = await client.db()
    await publish(conn)
    cursor = (await bundle(ctx)).json()["cursor"]
    _, version_2 = await publish(conn, template_id=ctx.template_id, version=2)
    await conn.close()
    delta = (await bundle(ctx, since=cursor)).json()
    assert [(t["id"], t["version"]) for t in delta["templates"]] == [(str(version_2), 2)]


async def test_a_cursor_from_another_scope_or_an_unreadable_one_gets_a_full_bundle(client):
    ctx = await make_ctx(client)
    cursor = (await bundle(ctx)).json()["cursor"]
    await execute(ctx, "UPDATE users SET district_ids = $1 WHERE username = 'inspector_a'", [ctx.world.districts["B"]])
    moved = (await bundle(ctx, since=cursor)).json()
    assert moved["full"] is True
    assert codes(moved) == ["SB1", "SB2"]
    for junk in ("nonsense", "99999999999." + cursor.split(".")[1], "-1." + cursor.split(".")[1]):
        assert (await bundle(ctx, since=junk)).json()["full"] is True


@pytest.mark.parametrize("moved", ["station", "district", "circle"])
async def test_a_station_that_left_the_scope_is_gone_from_the_next_bundle(client, moved):
    ctx = await make_ctx(client, "inspector_a", "reviewer_a", "admin")
    first = {u: (await bundle(ctx, u)).json() for u in ("inspector_a", "reviewer_a")}
    assert codes(first["inspector_a"]) == ["SA1", "SA2"]
    tag = (await bundle(ctx, "inspector_a")).headers["etag"]
    admin = ctx.tokens["admin"]
    if moved == "station":  # SA1 alone goes to district B (region B)
        r = await client.patch(
            f"/api/v1/stations/{ctx.world.stations['A']}", admin, json={"district_id": str(ctx.world.districts["B"])}
        )
    elif moved == "circle":  # SA1's circle goes to district B and takes SA1 along
        circle = await execute(
            ctx,
            "INSERT INTO circles (code, name_en, district_id) VALUES ('CA', 'Circle A', $1) RETURNING id",
            ctx.world.districts["A"],
        )
        await execute(ctx, "UPDATE stations SET circle_id = $1 WHERE id = $2", circle, ctx.world.stations["A"])
        first = {u: (await bundle(ctx, u)).json() for u in ("inspector_a", "reviewer_a")}
        tag = (await bundle(ctx, "inspector_a")).headers["etag"]
        r = await client.patch(f"/api/v1/circles/{circle}", admin, json={"district_id": str(ctx.world.districts["B"])})
    else:  # district A goes to region B: its stations leave region A's reviewer, not its inspector
        r = await client.patch(
            f"/api/v1/districts/{ctx.world.districts['A']}", admin, json={"region_id": str(ctx.world.regions["B"])}
        )
    assert r.status_code == 200, r.text
    # The phone's revalidation sees a change, and its cursor now gets a full bundle of what it may see.
    assert (await bundle(ctx, "inspector_a", etag=tag)).status_code == 200
    after = {u: (await bundle(ctx, u, since=first[u]["cursor"])).json() for u in ("inspector_a", "reviewer_a")}
    assert all(b["full"] for b in after.values())
    if moved == "district":
        assert codes(after["inspector_a"]) == ["SA1", "SA2"] and codes(after["reviewer_a"]) == []
    else:
        assert codes(after["inspector_a"]) == ["SA2"] and codes(after["reviewer_a"]) == ["SA2"]
    # Edits that move nothing leave deltas as they were.
    await execute(ctx, "UPDATE stations SET name_en = 'PS Kotwali' WHERE id = $1", ctx.world.stations["A2"])
    delta = (await bundle(ctx, "inspector_a", since=after["inspector_a"]["cursor"])).json()
    assert delta["full"] is False


async def test_returned_inspections_travel_in_every_bundle_with_their_version_and_change_the_etag(client):
    ctx = await make_ctx(client)
    conn = await client.db()
    iid = uuid.uuid4()
    await ctx.put(iid, ctx.doc(status="submitted", answers=complete_answers()))
    first = await bundle(ctx)
    cursor = first.json()["cursor"]
    await conn.execute("UPDATE inspections SET status = 'returned', updated_at = now() WHERE id = $1", iid)
    await conn.close()
    assert (await bundle(ctx, etag=first.headers["etag"])).status_code == 200
    delta = (await bundle(ctx, since=cursor)).json()
    expected = (await client.get(f"/api/v1/inspections/{iid}", ctx.tokens["inspector_a"])).json()
    assert delta["returned"] == [{**expected, "phone_clock_off": None}]  # for readers, not the phone
    assert [t["id"] for t in delta["templates"]] == [str(ctx.version_id)]


async def test_a_change_committed_late_is_not_skipped_by_a_cursor_handed_out_meanwhile(client):
    ctx = await make_ctx(client)
    cursor = (await bundle(ctx)).json()["cursor"]
    slow, quick = await client.db(), await client.db()
    try:
        tx = slow.transaction()
        await tx.start()
        await slow.execute("UPDATE stations SET name_en = 'slow edit' WHERE code = 'SA1'")
        # With a plain sequence this edit would commit first with a higher change_seq than the slow
        # one, a bundle read now would hand out that higher cursor, and the slow edit would be lost.
        quick_pid = quick.get_server_pid()
        quick_edit = asyncio.create_task(quick.execute("UPDATE stations SET name_en = 'quick edit' WHERE code = 'SA2'"))
        deadline = time.monotonic() + 10
        while not await slow.fetchval(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", quick_pid
        ):
            assert time.monotonic() < deadline, "the second edit did not wait for the first: stamps are unordered"
        meanwhile = (await bundle(ctx, since=cursor)).json()
        await tx.commit()
        await quick_edit
    finally:
        await slow.close()
        await quick.close()
    assert meanwhile["stations"] == []
    later = (await bundle(ctx, since=meanwhile["cursor"])).json()
    assert sorted(s["name"]["en"] for s in later["stations"]) == ["quick edit", "slow edit"]


async def test_rows_stamped_in_one_transaction_share_one_stamp_and_the_next_transaction_gets_a_higher_one(conn):
    await conn.execute("INSERT INTO regions (code, name_en) VALUES ('R', 'R')")
    district = await conn.fetchval(
        "INSERT INTO districts (code, name_en, region_id) SELECT 'D', 'D', id FROM regions RETURNING id"
    )
    insert = """INSERT INTO stations (code, name_en, name_ur, district_id)
                SELECT $1 || n, 'PS', 'تھانہ', $2 FROM generate_series(1, $3) AS n"""
    async with conn.transaction():
        await conn.execute(insert, "T", district, 500)
        await conn.execute("UPDATE stations SET name_en = 'again' WHERE code = 'T1'")
        # A savepoint rolled back takes its stamp with it only if it made the first one; here it did not.
        with pytest.raises(ZeroDivisionError):
            async with conn.transaction():
                await conn.execute(insert, "X", district, 3)
                raise ZeroDivisionError
    first = await conn.fetch("SELECT DISTINCT change_seq FROM stations")
    assert len(first) == 1 and first[0]["change_seq"] == await conn.fetchval("SELECT seq FROM sync_state")
    async with conn.transaction():
        with pytest.raises(ZeroDivisionError):
            async with conn.transaction():
                await conn.execute("UPDATE stations SET name_en = 'rolled back' WHERE code = 'T2'")
                rolled_back = await conn.fetchval("SELECT seq FROM sync_state")
                raise ZeroDivisionError
        await conn.execute("UPDATE stations SET name_en = 'kept' WHERE code = 'T3'")
    kept = await conn.fetchval("SELECT change_seq FROM stations WHERE code = 'T3'")
    assert first[0]["change_seq"] < rolled_back < kept == await conn.fetchval("SELECT seq FROM sync_state")
    assert await conn.fetchval("SELECT count(*) FROM stations WHERE change_seq = $1", first[0]["change_seq"]) == 499


async def test_submitting_completes_the_open_assignment_and_the_next_delta_removes_it(client):
    ctx = await make_ctx(client)
    assignment = await assign(ctx)
    cursor = (await bundle(ctx)).json()["cursor"]
    iid = uuid.uuid4()
    await ctx.put(iid, ctx.doc())
    assert await execute(ctx, "SELECT status FROM assignments WHERE id = $1", assignment) == "open"  # a draft
    await ctx.put(iid, ctx.doc(base=1, status="submitted", answers=complete_answers()))
    assert (
        await execute(ctx, "SELECT inspection_id FROM assignments WHERE id = $1 AND status = 'done'", assignment) == iid
    )
    delta = (await bundle(ctx, since=cursor)).json()
    assert delta["assignments"] == [] and delta["removed"]["assignments"] == [str(assignment)]


async def test_a_new_inspection_submitted_in_one_put_completes_the_open_assignment_once(client):
    # The write statement itself finds and locks the assignment; the completion follows in the same
    # transaction. A replay of the same document completes nothing more.
    ctx = await make_ctx(client)
    assignment = await assign(ctx)
    other = await assign(ctx, station="A2")
    iid = uuid.uuid4()
    doc = ctx.doc(status="submitted", answers=complete_answers())
    assert (await ctx.put(iid, doc)).status_code == 201
    assert (await ctx.put(iid, doc)).status_code == 200
    assert (
        await execute(ctx, "SELECT inspection_id FROM assignments WHERE id = $1 AND status = 'done'", assignment) == iid
    )
    assert await execute(ctx, "SELECT status FROM assignments WHERE id = $1", other) == "open"
    assert await execute(ctx, "SELECT count(*) FROM assignments WHERE inspection_id = $1", iid) == 1


async def test_an_inspection_begun_before_a_visit_was_planned_does_not_answer_it(client):
    """One held on a phone for days and sent after a later visit was planned (or a schedule made its
    next) leaves that visit open; one begun just before it was planned (the inspector already at the
    station, a phone's clock a little slow) answers it, and so does one whose clock cannot be right."""
    ctx = await make_ctx(client)
    assignment = await assign(ctx)
    planned = await execute(ctx, "SELECT created_at FROM assignments WHERE id = $1", assignment)

    def begun(delta: timedelta) -> str:
        return (planned + delta).isoformat()

    stale = uuid.uuid4()
    assert (
        await ctx.put(
            stale, ctx.doc(status="submitted", answers=complete_answers(), started_at=begun(-timedelta(days=3)))
        )
    ).status_code == 201
    assert await execute(ctx, "SELECT status FROM assignments WHERE id = $1", assignment) == "open"
    for started in (-timedelta(minutes=40), timedelta(days=-400)):
        other = uuid.uuid4()
        await execute(ctx, "UPDATE assignments SET status = 'open', inspection_id = NULL WHERE id = $1", assignment)
        sent = await ctx.put(other, ctx.doc(status="submitted", answers=complete_answers(), started_at=begun(started)))
        assert sent.status_code == 201, sent.text
        done = await execute(ctx, "SELECT inspection_id FROM assignments WHERE id = $1 AND status = 'done'", assignment)
        assert done == other, started


async def test_submitting_the_assignment_of_a_schedule_creates_the_schedule_s_next_one(client):
    ctx = await make_ctx(client, "inspector_a", "reviewer_a")
    made = await ctx.client.post(
        "/api/v1/schedules",
        ctx.tokens["reviewer_a"],
        json={
            "station_id": str(ctx.world.stations["A"]),
            "template_id": str(ctx.template_id),
            "inspector_id": str(ctx.world.users["inspector_a"]),
            "frequency": "monthly",
            "next_due": (date.today() + timedelta(days=3)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    first = await execute(ctx, "SELECT id FROM assignments WHERE status = 'open'")
    iid = uuid.uuid4()
    assert (await ctx.put(iid, ctx.doc(status="submitted", answers=complete_answers()))).status_code == 201
    assert await execute(ctx, "SELECT inspection_id FROM assignments WHERE id = $1", first) == iid
    following = await execute(ctx, "SELECT id FROM assignments WHERE status = 'open' AND schedule_id IS NOT NULL")
    assert following is not None and following != first


async def test_a_registered_actions_loader_fills_the_bundle_for_the_stations_in_scope(client, monkeypatch):
    ctx = await make_ctx(client)
    seen = []

    async def loader(conn, user, since, station_ids):
        seen.append((user.username, since, sorted(station_ids)))
        return [{"id": "action-1", "station_id": str(station_ids[0])}]

    monkeypatch.setattr(parts, "_actions_loader", loader)
    full = (await bundle(ctx)).json()
    assert [a["id"] for a in full["actions"]] == ["action-1"]
    assert seen == [("inspector_a", None, sorted([ctx.world.stations["A"], ctx.world.stations["A2"]]))]
    await bundle(ctx, since=full["cursor"])
    assert seen[1][1] == int(full["cursor"].split(".")[0])


async def _work_on_a_second_template(ctx):
    """A second template with a draft and a returned inspection of inspector_a on its version 1:
    (template_id, version_id). The first template (ctx) stays offered."""
    conn = await ctx.client.db()
    template_id, version_id = await publish(conn)
    draft = uuid.uuid4()
    assert (await ctx.put(draft, document(ctx.world.stations["A"], version_id))).status_code == 201
    returned = uuid.uuid4()
    submitted = document(ctx.world.stations["A2"], version_id, status="submitted", answers=complete_answers())
    assert (await ctx.put(returned, submitted)).status_code == 201
    await conn.execute("UPDATE inspections SET status = 'returned', updated_at = now() WHERE id = $1", returned)
    await conn.close()
    return template_id, version_id


def retired_marks(body) -> dict[str, bool]:
    return {t["id"]: t["retired"] for t in body["templates"]}


async def test_a_full_bundle_marks_retired_the_versions_of_an_archived_template_kept_for_work_on_them(client):
    ctx = await make_ctx(client)
    template_id, version_id = await _work_on_a_second_template(ctx)
    assert retired_marks((await bundle(ctx)).json()) == {str(ctx.version_id): False, str(version_id): False}
    await execute(ctx, "UPDATE templates SET archived_at = now() WHERE id = $1", template_id)
    full = (await bundle(ctx)).json()
    assert retired_marks(full) == {str(ctx.version_id): False, str(version_id): True}
    assert [r["template_version_id"] for r in full["returned"]] == [str(version_id)]


async def test_a_full_bundle_marks_retired_a_version_kept_only_for_a_draft_once_a_newer_one_is_published(client):
    ctx = await make_ctx(client)
    assert (await ctx.put(uuid.uuid4(), ctx.doc())).status_code == 201
    conn = await client.db()
    # Version 2 applies to no station in scope: without the mark, version 1 would look offered.
    _, version_2 = await publish(conn, template_id=ctx.template_id, version=2, kinds=["khidmat_markaz"])
    await conn.close()
    assert retired_marks((await bundle(ctx)).json()) == {str(ctx.version_id): True}
    await assign(ctx)  # an open assignment of the template makes version 2 needed, and offered
    assert retired_marks((await bundle(ctx)).json()) == {str(ctx.version_id): True, str(version_2): False}


async def test_a_delta_marks_retired_a_version_whose_template_was_archived_after_the_cursor_and_keeps_the_mark(
    client,
):
    ctx = await make_ctx(client)
    template_id, version_id = await _work_on_a_second_template(ctx)
    cursor = (await bundle(ctx)).json()["cursor"]
    await execute(ctx, "UPDATE templates SET archived_at = now() WHERE id = $1", template_id)
    delta = (await bundle(ctx, since=cursor)).json()
    assert delta["full"] is False
    assert retired_marks(delta) == {str(version_id): True}
    assert delta["removed"]["templates"] == [str(template_id)]

    # A later delta that resends every needed version (a station changed) still says so, though the
    # archiving is older than its cursor and `removed` no longer names the template.
    await execute(ctx, "UPDATE stations SET name_en = 'PS Kotwali' WHERE code = 'SA2'")
    later = (await bundle(ctx, since=delta["cursor"])).json()
    assert later["removed"]["templates"] == []
    assert retired_marks(later) == {str(ctx.version_id): False, str(version_id): True}

    # Unarchived, the version is offered again, and the next delta says that too.
    await execute(ctx, "UPDATE templates SET archived_at = NULL WHERE id = $1", template_id)
    back = (await bundle(ctx, since=later["cursor"])).json()
    assert retired_marks(back) == {str(version_id): False}


async def test_a_delta_marks_retired_a_draft_s_version_when_a_newer_one_is_published(client):
    ctx = await make_ctx(client)
    assert (await ctx.put(uuid.uuid4(), ctx.doc())).status_code == 201
    cursor = (await bundle(ctx)).json()["cursor"]
    conn = await client.db()
    _, version_2 = await publish(conn, template_id=ctx.template_id, version=2)
    await conn.close()
    delta = (await bundle(ctx, since=cursor)).json()
    assert retired_marks(delta) == {str(ctx.version_id): True, str(version_2): False}


async def test_a_cursor_handed_out_before_versions_carried_retired_gets_a_full_bundle(client, monkeypatch):
    ctx = await make_ctx(client)
    monkeypatch.setattr(rules, "BUNDLE_SHAPE", 1)
    old = (await bundle(ctx)).json()["cursor"]
    monkeypatch.undo()
    assert (await bundle(ctx, since=old)).json()["full"] is True
    current = (await bundle(ctx)).json()["cursor"]
    assert (await bundle(ctx, since=current)).json()["full"] is False


# Pure rules ---------------------------------------------------------------------------------------------


def _principal(**kw) -> Principal:
    return Principal(id=uuid.uuid4(), username="u", display_name="U", role="inspector", **kw)


def test_the_scope_fingerprint_changes_with_the_scope_the_moves_and_the_timeline_and_not_with_the_order():
    a, b = uuid.uuid4(), uuid.uuid4()

    def fp(moves: int = 0, timeline: str = "1:1:5", **scope) -> str:
        return rules.scope_fingerprint(_principal(**scope), moves, timeline)

    assert fp(district_ids=(a, b)) == fp(district_ids=(b, a))
    assert fp(district_ids=(a,)) != fp(region_ids=(a,))
    assert fp(district_ids=(a,)) != fp(1, district_ids=(a,))
    # Another database, or the same one on another timeline of its history (restored, promoted).
    assert fp(district_ids=(a,)) != fp(timeline="1:2:5", district_ids=(a,))
    assert fp(district_ids=(a,)) != fp(timeline="1:1:6", district_ids=(a,))


@pytest.mark.parametrize(
    "since, expected",
    [
        (None, None),
        ("", None),
        ("12.fp", 12),
        ("12.other", None),
        ("13.fp", None),
        ("x.fp", None),
        ("12", None),
        ("0.fp", 0),
        ("\u00b2.fp", None),  # "²" is a digit to str.isdigit and not to int(): was a 500
        ("\u06f1\u06f2.fp", None),  # Urdu digits: no cursor this server wrote
    ],
)
def test_a_cursor_is_used_only_under_its_own_scope_and_never_ahead_of_the_server(since, expected):
    assert rules.since_seq(since, "fp", current=12) == expected


def test_entity_tags_compare_weakly_for_if_none_match_and_strongly_for_if_match():
    tag = '"abc"'
    assert etag_listed('"abc"', tag, weak=True) and etag_listed('W/"abc"', tag, weak=True)
    assert etag_listed('"x", "abc"', tag, weak=True) and etag_listed("*", tag, weak=True)
    assert not etag_listed(None, tag, weak=True) and not etag_listed('"abcd"', tag, weak=True)
    # If-Match compares strongly: a weak tag never matches; `*` names nothing where there is nothing.
    assert etag_listed('"abc"', tag, weak=False) and not etag_listed('W/"abc"', tag, weak=False)
    assert etag_listed("abc", tag, weak=False) and not etag_listed("*", None, weak=False)


@pytest.mark.parametrize("role", ["reviewer", "admin"])
async def test_a_demoted_inspector_s_bundle_carries_no_assignments_or_returned_inspections_and_no_cached_copy(
    client, role
):
    # The open visit and the returned inspection stay under the user's name after the change of role
    # (a reviewer reassigns them); the bundle keeps the stations and templates the other roles' screens
    # read, and nothing built while the user was an inspector is served again.
    ctx = await make_ctx(client, "inspector_a", "admin")
    mine = await assign(ctx)
    returned = uuid.uuid4()
    # On another station: a submission completes the open visit of its own station and template.
    await ctx.put(returned, ctx.doc(station="A2", status="submitted", answers=complete_answers()))
    await execute(ctx, "UPDATE inspections SET status = 'returned', updated_at = now() WHERE id = $1", returned)
    await ctx.put(uuid.uuid4(), ctx.doc())  # a draft, pinning version 1
    conn = await client.db()
    _, version_2 = await publish(conn, version=2, template_id=ctx.template_id)
    await conn.close()
    before = await bundle(ctx)
    body = before.json()
    assert ([a["id"] for a in body["assignments"]], [r["id"] for r in body["returned"]]) == (
        [str(mine)],
        [str(returned)],
    )
    assert retired_marks(body) == {str(ctx.version_id): True, str(version_2): False}

    change = {"role": role, "region_ids": [str(ctx.world.regions["A"])] if role == "reviewer" else []}
    changed = await client.patch(f"/api/v1/users/{ctx.world.users['inspector_a']}", ctx.tokens["admin"], json=change)
    assert changed.status_code == 200, changed.text
    assert (await bundle(ctx)).status_code == 401  # a change of role ends the session
    ctx.tokens["inspector_a"] = await client.login("inspector_a")

    stations = ["SA1", "SA2"] if role == "reviewer" else ["SA1", "SA2", "SB1", "SB2"]
    for since, etag in ((None, before.headers["etag"]), (body["cursor"], None), (None, None)):
        r = await bundle(ctx, since=since, etag=etag)
        assert r.status_code == 200 and r.headers["etag"] != before.headers["etag"]
        after = r.json()
        assert after["full"] is True
        assert (after["assignments"], after["returned"], after["removed"]["assignments"]) == ([], [], [])
        assert codes(after) == stations
        assert retired_marks(after) == {str(version_2): False}
    # A delta names no assignment either, not even as removed, when one in scope changes.
    await execute(ctx, "UPDATE assignments SET status = 'cancelled' WHERE id = $1", mine)
    delta = (await bundle(ctx, since=after["cursor"])).json()
    assert (delta["full"], delta["assignments"], delta["removed"]["assignments"]) == (False, [], [])
    # The old returned inspection changing does not change the bundle, which does not carry it.
    tag = (await bundle(ctx)).headers["etag"]
    await execute(ctx, "UPDATE inspections SET updated_at = now() WHERE id = $1", returned)
    assert (await bundle(ctx, etag=tag)).status_code == 304


async def test_a_cursor_from_before_a_restore_gets_a_full_bundle_even_once_the_restored_database_counted_as_far(
    demo_client, pg_admin_url, demo_template_db, tmp_path, executor
):
    """A phone synced with the database as it was; the database is then restored from a backup taken
    before (here: another copy of the same seeded database, as pg_restore makes one) and has counted as
    many changes again, other ones. The phone's cursor names the same number: a delta from it would leave
    out what differs (an assignment cancelled after the backup, open again on the restored one)."""
    from litestar.testing import AsyncTestClient

    from server.app import create_app
    from server.demo.content import DEMO_PASSWORDS
    from tests.conftest import clone_database, drop_database, make_settings, with_database
    from tests.factories import ApiClient

    async def cancel_one_and_move_a_station(api: ApiClient, which: int) -> None:
        admin = await api.login("admin", DEMO_PASSWORDS["admin"])
        inspector = await api.login("inspector.ali", DEMO_PASSWORDS["inspector"])
        held = (await api.get(BUNDLE, inspector)).json()
        assignment = held["assignments"][which]["id"]
        assert (await api.patch(f"/api/v1/assignments/{assignment}", admin, json={"status": "cancelled"})).is_success
        station = held["stations"][0]
        moved = await api.patch(f"/api/v1/stations/{station['id']}", admin, json={"lat": station["lat"] + 0.001})
        assert moved.is_success, moved.text

    before = await demo_client.login("inspector.ali", DEMO_PASSWORDS["inspector"])
    cursor = (await demo_client.get(BUNDLE, before)).json()["cursor"]
    await cancel_one_and_move_a_station(demo_client, 0)
    cursor = (await demo_client.get(BUNDLE, before, params={"since": cursor})).json()["cursor"]

    restored = await clone_database(pg_admin_url, demo_template_db)
    try:
        url = with_database(pg_admin_url, restored)
        app = create_app(make_settings(url, tmp_path / "restored"), executor=executor, run_migrations=False)
        async with AsyncTestClient(app, raise_server_exceptions=False) as http:
            api = ApiClient(http, url)
            await cancel_one_and_move_a_station(api, 1)
            token = await api.login("inspector.ali", DEMO_PASSWORDS["inspector"])
            now = (await api.get(BUNDLE, token)).json()["cursor"]
            # The restored database has counted as far as the phone's cursor: the same number.
            assert now.partition(".")[0] == cursor.partition(".")[0]
            body = (await api.get(BUNDLE, token, params={"since": cursor})).json()
    finally:
        await drop_database(pg_admin_url, restored)
    assert body["full"] is True
    assert body["assignments"], "the whole bundle, with the assignment open again"
