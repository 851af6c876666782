"""A visit whose GPS fix is exactly another visit's (the same latitude and longitude to the last digit, both
claiming to be precise) was likely set by hand in a fake-GPS app or replayed: a real fix jitters by metres.
Judged by the database at the first submission (schema 0026), both of the pair flagged; shown in the queue,
the flagged list, the reviewer's evidence (with the other visits) and the PDF."""

from __future__ import annotations

import asyncio
import itertools
import re
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from server import db
from server.review import queries
from tests.factories import make_station, make_version, make_world
from tests.review_fixtures import make_ctx
from tests.test_location_exact import pdf_text, words

# About 11 m north of station A (31.5, 74.35): near it, not on it.
FIX = {"lat": 31.5001, "lon": 74.35, "accuracy_m": 5}
# Half a metre from FIX: what two honest readings at the same spot look like.
JITTERED = {"lat": 31.5001045, "lon": 74.35, "accuracy_m": 5}


# Each visit sent begins on its own day (13 hours apart, all within the last month): an inspector's
# inspections begun within twelve hours of each other, at any station, may honestly share a fix
# (test_the_checklists_of_one_visit_may_share_a_fix..., test_one_inspector_at_two_stations_...).
VISITS = itertools.count()
STARTED: dict[uuid.UUID, str] = {}


def next_start() -> str:
    return (datetime.now(UTC) - timedelta(hours=13 * (1 + next(VISITS) % 50))).isoformat()


def migration() -> str:
    return (Path(__file__).parent.parent / "schema" / "0026_location_repeated.sql").read_text(encoding="utf-8")


async def send(
    ctx,
    location: dict[str, Any],
    *,
    inspection_id: uuid.UUID | None = None,
    status: str = "submitted",
    base: int = 0,
    station: str = "A",
    user: str = "inspector_a",
    started_at: str | None = None,
) -> uuid.UUID:
    inspection_id = inspection_id or uuid.uuid4()
    # Sent again, a visit keeps its start, as the phone does.
    started = STARTED.setdefault(inspection_id, started_at or next_start())
    await ctx.put(
        inspection_id, station=station, user=user, status=status, base=base, location=location, started_at=started
    )
    return inspection_id


async def stored(ctx, *ids: uuid.UUID) -> list[bool | None]:
    conn = await ctx.client.db()
    try:
        rows = await conn.fetch("SELECT id, location_repeated FROM inspections WHERE id = ANY($1)", list(ids))
    finally:
        await conn.close()
    found = {r["id"]: r["location_repeated"] for r in rows}
    return [found[i] for i in ids]


async def queue_flags(ctx, inspection_id: uuid.UUID, user: str = "reviewer_a") -> dict[str, bool] | None:
    rows = (await ctx.get("/api/v1/review/queue", user=user)).json()["rows"]
    return next((r["flags"] for r in rows if r["id"] == str(inspection_id)), None)


async def ids(ctx, path: str, user: str = "reviewer_a", **params: Any) -> list[str]:
    response = await ctx.get(path, user=user, **params)
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["rows"]]


async def evidence_of(ctx, inspection_id: uuid.UUID, user: str = "reviewer_a") -> dict[str, Any]:
    response = await ctx.get(f"/api/v1/inspections/{inspection_id}/reviews", user=user)
    assert response.status_code == 200, response.text
    return response.json()["evidence"]


async def test_two_visits_with_the_same_fix_are_both_flagged_the_first_once_the_second_arrives(client):
    ctx = await make_ctx(client)
    first = await send(ctx, FIX)
    assert (await queue_flags(ctx, first))["location_repeated"] is False
    assert await stored(ctx, first) == [False]
    second = await send(ctx, FIX)
    assert (await queue_flags(ctx, first))["location_repeated"] is True
    assert (await queue_flags(ctx, second))["location_repeated"] is True
    # Only this flag speaks: the fix is 11 m off the station, precise, and the photos agree.
    others = {k: v for k, v in (await queue_flags(ctx, second)).items() if k != "location_repeated"}
    assert not any(others.values()), others

    # The reviewer's evidence says so and names the other visit, which the reviewer may open.
    ev = await evidence_of(ctx, second)
    assert ev["location_repeated"] is True and ev["location_exact"] is False
    [partner] = ev["repeated_with"]
    assert partner["inspection_id"] == str(first)
    assert partner["station"]["code"] == "SA1" and partner["station"]["name"]["en"] == "PS SA1"
    assert partner["submitted_at"] is not None
    assert [p["inspection_id"] for p in (await evidence_of(ctx, first))["repeated_with"]] == [str(second)]


async def test_a_fix_repeated_at_another_station_by_another_inspector_counts_and_is_not_named_out_of_scope(client):
    ctx = await make_ctx(client)
    mine = await send(ctx, FIX)
    theirs = await send(ctx, FIX, station="B", user="inspector_b")
    assert await stored(ctx, mine, theirs) == [True, True]
    # Region A's reviewer is told there is another visit, outside their area, and not which.
    [partner] = (await evidence_of(ctx, mine))["repeated_with"]
    assert partner["inspection_id"] is None and partner["station"] is None and partner["submitted_at"]
    # The administrator sees every region: named.
    [named] = (await evidence_of(ctx, mine, user="admin"))["repeated_with"]
    assert named["inspection_id"] == str(theirs) and named["station"]["code"] == "SB1"


async def test_jittered_fixes_and_imprecise_network_positions_are_not_flagged(client):
    ctx = await make_ctx(client)
    honest = [await send(ctx, FIX), await send(ctx, JITTERED)]
    # A Wi-Fi or cell position repeats exactly for the same networks, and says it is good to 30 m.
    network = {"lat": 31.5002, "lon": 74.3501, "accuracy_m": 30}
    wifi = [await send(ctx, network), await send(ctx, network)]
    # An imprecise position does not make a precise one at the same point repeated either.
    precise = await send(ctx, {**network, "accuracy_m": 4})
    no_accuracy = [await send(ctx, {"lat": 31.5003, "lon": 74.35}), await send(ctx, {"lat": 31.5003, "lon": 74.35})]
    assert await stored(ctx, *honest) == [False, False]
    assert await stored(ctx, *wifi, precise, *no_accuracy) == [None, None, False, None, None]
    # Indoors, a Wi-Fi position claims 10 m or a little more, and repeats for the same access points.
    indoors = {"lat": 31.5004, "lon": 74.35, "accuracy_m": 14}
    wifi_indoors = [await send(ctx, indoors), await send(ctx, indoors), await send(ctx, {**indoors, "accuracy_m": 8})]
    assert await stored(ctx, *wifi_indoors) == [None, None, None]
    for inspection_id in (*honest, *wifi, precise, *no_accuracy, *wifi_indoors):
        assert (await queue_flags(ctx, inspection_id))["location_repeated"] is False
        assert (await evidence_of(ctx, inspection_id))["repeated_with"] == []
    assert await ids(ctx, "/api/v1/review/queue", flag="repeated") == []


async def test_a_fix_claiming_7_m_is_judged_and_one_claiming_8_m_is_not(client):
    # Phones round the accuracy to whole metres (pwa/js/geo.js): 7 m is a satellite fix's claim.
    ctx = await make_ctx(client)
    seven = {"lat": 31.5005, "lon": 74.35, "accuracy_m": 7}
    assert await stored(ctx, await send(ctx, seven), await send(ctx, seven)) == [True, True]
    eight = {**seven, "lon": 74.3501, "accuracy_m": 8}
    assert await stored(ctx, await send(ctx, eight), await send(ctx, eight)) == [None, None]


async def test_the_checklists_of_one_visit_may_share_a_fix_but_not_visits_on_other_days(client):
    ctx = await make_ctx(client)
    # Two checklists filled one after the other in the same office: a phone at rest hands out one fix.
    morning = datetime.now(UTC) - timedelta(days=3)
    first = await send(ctx, FIX, started_at=morning.isoformat())
    second = await send(ctx, FIX, started_at=(morning + timedelta(minutes=40)).isoformat())
    assert await stored(ctx, first, second) == [False, False]
    # The same fix at the same station two days later is not the same visit: all three are flagged.
    later = await send(ctx, FIX, started_at=(morning + timedelta(days=2)).isoformat())
    assert await stored(ctx, first, second, later) == [True, True, True]
    assert {p["inspection_id"] for p in (await evidence_of(ctx, later))["repeated_with"]} == {str(first), str(second)}
    assert [p["inspection_id"] for p in (await evidence_of(ctx, first))["repeated_with"]] == [str(later)]


async def test_one_inspector_at_two_stations_of_one_compound_within_hours_may_share_a_fix(client):
    # A police station and a Khidmat Markaz in one compound, visited one after the other by the same
    # inspector, the phone at rest in between: one fix for both visits, honestly.
    ctx = await make_ctx(client)
    conn = await client.db()
    try:
        ctx.world.stations["KM"] = await make_station(
            conn, ctx.world.districts["A"], "KMA1", lat=31.5, lon=74.35005, kind="khidmat_markaz"
        )
    finally:
        await conn.close()
    morning = datetime.now(UTC) - timedelta(days=5)
    police = await send(ctx, FIX, started_at=morning.isoformat())
    markaz = await send(ctx, FIX, station="KM", started_at=(morning + timedelta(minutes=25)).isoformat())
    assert await stored(ctx, police, markaz) == [False, False]
    assert (await evidence_of(ctx, markaz))["repeated_with"] == []
    # Two days later, the same fix at either station is another visit: all three are flagged.
    later = await send(ctx, FIX, station="KM", started_at=(morning + timedelta(days=2)).isoformat())
    assert await stored(ctx, police, markaz, later) == [True, True, True]
    assert {p["inspection_id"] for p in (await evidence_of(ctx, later))["repeated_with"]} == {str(police), str(markaz)}


async def test_a_draft_never_counts(client):
    ctx = await make_ctx(client)
    draft = await send(ctx, FIX, status="draft")
    submitted = await send(ctx, FIX)
    assert await stored(ctx, draft, submitted) == [None, False]
    # Once the draft is submitted, it is the second visit with that fix: both are flagged.
    await send(ctx, FIX, inspection_id=draft, base=1)
    assert await stored(ctx, draft, submitted) == [True, True]


async def test_a_resubmission_keeps_the_first_judgement(client):
    ctx = await make_ctx(client)
    first = await send(ctx, FIX)
    second = await send(ctx, FIX)
    returned = await ctx.review(first, "return", 1, comment="Where were you?")
    assert returned.status_code == 200, returned.text
    await send(ctx, FIX, inspection_id=first, base=2)
    assert await stored(ctx, first, second) == [True, True]
    assert (await queue_flags(ctx, first))["location_repeated"] is True

    # And one judged alone is not judged again when resubmitted: still "not repeated".
    alone = await send(ctx, JITTERED)
    assert (await ctx.review(alone, "return", 1)).status_code == 200
    await send(ctx, JITTERED, inspection_id=alone, base=2)
    assert await stored(ctx, alone) == [False]


async def test_flag_repeated_filters_the_queue_and_the_flagged_list(client):
    ctx = await make_ctx(client)
    pair = {str(await send(ctx, FIX)), str(await send(ctx, FIX))}
    honest = str(await send(ctx, JITTERED))
    assert set(await ids(ctx, "/api/v1/review/queue", flag="repeated")) == pair
    assert set(await ids(ctx, "/api/v1/dashboard/flagged", flag="repeated")) == pair
    listed = await ids(ctx, "/api/v1/dashboard/flagged")
    assert pair <= set(listed) and honest not in listed
    for path in ("/api/v1/review/queue", "/api/v1/dashboard/flagged"):
        response = await ctx.get(path, flag="repeat")
        assert response.status_code in (400, 422), response.text
        assert "flag" in response.text


async def test_a_submission_marks_at_most_twenty_earlier_visits(client):
    ctx = await make_ctx(client)
    conn = await client.db()
    try:
        # Twenty-five older visits with the fix, written before the flag existed (null, not judged).
        await conn.execute(
            """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                        body_hash, document, started_at, submitted_at, lat, lon, accuracy_m)
               SELECT gen_random_uuid(), $1, $2, $3, 'approved', 2, '\\x00', '{}', now() - n * interval '1 day',
                      now() - n * interval '1 day', $4, $5, 5
                 FROM generate_series(1, 25) AS n""",
            ctx.world.stations["A"],
            ctx.version_id,
            ctx.world.users["inspector_a"],
            FIX["lat"],
            FIX["lon"],
        )
        newest = await send(ctx, FIX)
        marked = await conn.fetchval("SELECT count(*) FROM inspections WHERE location_repeated AND id <> $1", newest)
    finally:
        await conn.close()
    assert marked == 20
    assert await stored(ctx, newest) == [True]
    assert len((await evidence_of(ctx, newest))["repeated_with"]) == 20


async def test_the_report_says_the_fix_was_sent_for_another_visit_in_english_and_urdu(client):
    ctx = await make_ctx(client)
    first = await send(ctx, FIX)
    await send(ctx, FIX)
    honest = await send(ctx, JITTERED)
    english = " ".join(pdf_text((await ctx.get(f"/api/v1/inspections/{first}/report.pdf")).content)[0].split())
    assert "THE SAME POSITION, TO THE CENTIMETRE, WAS SENT FOR ANOTHER VISIT" in english
    # A sign, not proof: honest fixes seldom repeat, which is not never.
    assert "a phone's GPS seldom gives exactly the same point on two different visits" in english
    assert "At the station" not in english
    urdu_pdf = await ctx.get(f"/api/v1/inspections/{first}/report.pdf", lang="ur")
    assert urdu_pdf.status_code == 200, urdu_pdf.text
    urdu = pdf_text(urdu_pdf.content)[0]
    assert urdu_only("سینٹی میٹر تک، کسی اور معائنے کے لیے بھی بھیجا گیا") in urdu_only(urdu)
    assert urdu_only("دو الگ معائنوں میں شاذ و نادر ہی ہوبہو ایک ہی نقطہ دیتا ہے") in urdu_only(urdu)
    plain = " ".join(pdf_text((await ctx.get(f"/api/v1/inspections/{honest}/report.pdf")).content)[0].split())
    assert "At the station" in plain and "ANOTHER VISIT" not in plain


async def test_the_inspectors_own_report_tells_them_neither_suspicion_about_their_fix(client):
    """The fix exactly on the station and sent for two visits: the reviewer's PDF says both, the
    inspector's own says "At the station", as their app did (a fake-GPS user is not told what gave them
    away, as the reviews API withholds the evidence from them)."""
    ctx = await make_ctx(client)
    on_station = {"lat": 31.5, "lon": 74.35, "accuracy_m": 5}
    first = await send(ctx, on_station)
    await send(ctx, on_station)
    path = f"/api/v1/inspections/{first}/report.pdf"
    reviewers = " ".join(pdf_text((await ctx.get(path)).content)[0].split())
    assert "THE SAME POSITION, TO THE CENTIMETRE, WAS SENT FOR ANOTHER VISIT" in reviewers
    assert "EXACTLY THE STATION'S RECORDED POSITION" in reviewers and "At the station" not in reviewers
    own = await ctx.get(path, user="inspector_a")
    assert own.status_code == 200, own.text
    inspectors = " ".join(pdf_text(own.content)[0].split())
    assert "ANOTHER VISIT" not in inspectors and "EXACTLY" not in inspectors and "by an app" not in inspectors
    assert "At the station (within" in inspectors

    reviewers_ur = urdu_only(pdf_text((await ctx.get(path, lang="ur")).content)[0])
    own_ur = await ctx.get(path, user="inspector_a", lang="ur")
    assert own_ur.status_code == 200, own_ur.text
    inspectors_ur = urdu_only(pdf_text(own_ur.content)[0])
    for told in ("کسی اور معائنے کے لیے بھی بھیجا گیا", "عین تھانے کا درج شدہ مقام", "کسی ایپ کے ذریعے"):
        assert urdu_only(told) in reviewers_ur and urdu_only(told) not in inspectors_ur, told
    assert urdu_only("تھانے پر موجود") in inspectors_ur and urdu_only("تھانے پر موجود") not in reviewers_ur


async def test_an_inspector_made_a_reviewer_since_is_told_nothing_more_about_their_own_visits(client):
    """Promoted to reviewer of their region, the inspector of a visit still reads its PDF and its reviews
    without the suspicions about its fix or times (and may not review it: a 403 of its own)."""
    ctx = await make_ctx(client)
    on_station = {"lat": 31.5, "lon": 74.35, "accuracy_m": 5}
    first = await send(ctx, on_station)
    await send(ctx, on_station)
    world = ctx.world
    promoted = await client.patch(
        f"/api/v1/users/{world.users['inspector_a']}",
        await ctx.token("admin"),
        json={"role": "reviewer", "region_ids": [str(world.regions["A"])], "district_ids": []},
    )
    assert promoted.status_code == 200, promoted.text
    ctx.tokens.pop("inspector_a", None)  # signs in again, as a reviewer

    path = f"/api/v1/inspections/{first}/report.pdf"
    theirs = await ctx.get(path, user="inspector_a")
    assert theirs.status_code == 200, theirs.text
    text = " ".join(pdf_text(theirs.content)[0].split())
    assert "ANOTHER VISIT" not in text and "EXACTLY" not in text and "At the station (within" in text
    reviews = await ctx.get(f"/api/v1/inspections/{first}/reviews", user="inspector_a")
    assert reviews.status_code == 200, reviews.text
    assert reviews.json()["evidence"] is None and reviews.json()["timing"] is None
    # Another reviewer of the region is told both, as before.
    told = " ".join(pdf_text((await ctx.get(path)).content)[0].split())
    assert "ANOTHER VISIT" in told and "EXACTLY" in told
    assert (await evidence_of(ctx, first))["location_repeated"] is True


def urdu_only(text: str) -> str:
    # As tests/test_exports.py compares shaped Urdu pulled out of a PDF: NFKC, Arabic-script letters only.
    return "".join(c for c in unicodedata.normalize("NFKC", text) if "\u0600" <= c <= "\u06ff")


def test_the_flagged_list_and_its_index_agree():
    predicate = re.search(r"CREATE INDEX inspections_flagged_repeated_idx .*? WHERE (.*?);", migration(), re.S)
    assert predicate is not None and "location_repeated" in predicate.group(1)
    assert words(predicate.group(1)) in words(queries._FLAGGED.replace("i.", "")), predicate.group(1)


async def test_the_lookup_is_one_probe_of_the_fix_index(conn):
    """On 50,000 inspections with distinct fixes, finding the visits with one fix reads its index."""
    world = await make_world(conn)
    version = await conn.fetchval(
        """WITH t AS (INSERT INTO templates (key, title_en, title_ur) VALUES ('t', 'T', 'T') RETURNING id)
           INSERT INTO template_versions (template_id, version, definition)
           SELECT id, 1, '{}'::jsonb FROM t RETURNING id"""
    )
    await conn.execute(
        """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                    body_hash, document, started_at, submitted_at, lat, lon, accuracy_m)
           SELECT gen_random_uuid(), $1, $2, $3, 'approved', 1, '\\x00', '{}', now(), now(),
                  31.5 + n * 1e-6, 74.35, 5
             FROM generate_series(1, 50000) AS n""",
        world.stations["A"],
        version,
        world.users["inspector_a"],
    )
    await conn.execute("ANALYZE inspections")
    plan = "\n".join(
        r[0]
        for r in await conn.fetch(
            "EXPLAIN SELECT id FROM repeated_fix_partners($1, $1, now(), 31.50001, 74.35, 5) LIMIT 20", uuid.uuid4()
        )
    )
    assert "inspections_fix_idx" in plan and "Seq Scan" not in plan, plan


async def test_one_fix_sent_on_thousands_of_checklists_of_one_visit_costs_a_lookup_at_most_200_rows(conn):
    """A tool replaying one document (or the sync benchmark) sends one fix, one station, one start, again
    and again: all one visit, none a partner. The lookup stops reading after 200 of them instead of
    reading every one at each submission."""
    world = await make_world(conn)
    version = await make_version(conn)
    await conn.execute(
        """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                    body_hash, document, started_at, submitted_at, lat, lon, accuracy_m)
           SELECT gen_random_uuid(), $1, $2, $3, 'approved', 1, '\\x00', '{}', '2026-11-27T09:00:00Z', now(),
                  31.5001, 74.35, 5
             FROM generate_series(1, 3000)""",
        world.stations["A"],
        version,
        world.users["inspector_a"],
    )
    await conn.execute("ANALYZE inspections")
    args = (uuid.uuid4(), world.users["inspector_a"], datetime(2026, 11, 27, 9, tzinfo=UTC))
    call = "repeated_fix_partners($1, $2, $3, 31.5001, 74.35, 5)"
    assert await conn.fetch(f"SELECT id FROM {call}", *args) == []
    plan = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM {call} LIMIT 20", *args)

    def scans(node: dict[str, Any]) -> list[dict[str, Any]]:
        found = [node] if node.get("Relation Name") == "inspections" else []
        return found + [s for child in node.get("Plans", []) for s in scans(child)]

    [scan] = scans(plan[0]["Plan"])
    # Every row has the fix here, so the planner may read the table itself: either way, 200 rows at most.
    # Rows read: those it passed on and those its own filter dropped (with or without an index).
    read = scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0) + scan.get("Rows Removed by Index Recheck", 0)
    assert read <= 200, scan
    # Looked up for another inspector, the same fix finds them: they are partners of theirs.
    assert await conn.fetch(f"SELECT id FROM {call}", args[0], world.users["inspector_b"], *args[2:])


async def test_two_first_submissions_of_one_fix_at_the_same_moment_take_turns_and_both_are_flagged(conn, database_url):
    """Two transactions submit one precise fix at once (a replaying tool on two connections, two phones of
    one fake-GPS setup): the second waits for the first to commit, then sees it. Before schema 0027 each
    looked only at what was committed when it looked, and neither was flagged."""
    world = await make_world(conn)
    version = await make_version(conn)

    async def submit(c, inspector: str) -> uuid.UUID:
        return await c.fetchval(
            """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                        body_hash, document, started_at, submitted_at, lat, lon, accuracy_m)
               VALUES (gen_random_uuid(), $1, $2, $3, 'submitted', 1, '\\x00', '{}', now(), now(), $4, $5, 5)
               RETURNING id""",
            world.stations["A"],
            version,
            world.users[inspector],
            FIX["lat"],
            FIX["lon"],
        )

    first_conn, second_conn = await db.connect(database_url), await db.connect(database_url)
    try:
        first_tx = first_conn.transaction()
        await first_tx.start()
        first = await submit(first_conn, "inspector_a")
        second_task = asyncio.create_task(submit(second_conn, "inspector_b"))
        waiting = False
        for _ in range(200):
            waiting = await conn.fetchval(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1",
                second_conn.get_server_pid(),
            )
            if waiting or second_task.done():
                break
            await asyncio.sleep(0.05)
        await first_tx.commit()
        second = await second_task
    finally:
        await first_conn.close()
        await second_conn.close()
    flags = dict(await conn.fetch("SELECT id, location_repeated FROM inspections WHERE id = ANY($1)", [first, second]))
    assert waiting, "the second submission of the fix did not wait for the first"
    assert flags == {first: True, second: True}


async def test_submissions_of_different_fixes_do_not_wait_for_each_other(conn, database_url):
    world = await make_world(conn)
    version = await make_version(conn)
    insert = """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                         body_hash, document, started_at, submitted_at, lat, lon, accuracy_m)
                VALUES (gen_random_uuid(), $1, $2, $3, 'submitted', 1, '\\x00', '{}', now(), now(), $4, 74.35, 5)
                RETURNING id"""
    first_conn, second_conn = await db.connect(database_url), await db.connect(database_url)
    try:
        async with first_conn.transaction():
            await first_conn.fetchval(insert, world.stations["A"], version, world.users["inspector_a"], FIX["lat"])
            # Commits at once though the first transaction holds its fix's lock.
            second = await asyncio.wait_for(
                second_conn.fetchval(insert, world.stations["A"], version, world.users["inspector_b"], JITTERED["lat"]),
                timeout=30,
            )
    finally:
        await first_conn.close()
        await second_conn.close()
    assert await conn.fetchval("SELECT location_repeated FROM inspections WHERE id = $1", second) is False
