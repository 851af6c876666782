"""The demo seed: complete, published, planned, audited, and idempotent."""

from __future__ import annotations

import pytest

from server import db
from server.audit.queries import verify
from server.demo.content import DEMO_PASSWORDS, DEMO_USERS, iter_stations, load_hierarchy
from server.demo.seed import seed_demo

TABLES = (
    "regions",
    "districts",
    "circles",
    "stations",
    "users",
    "templates",
    "template_versions",
    "schedules",
    "assignments",
    "audit_log",
)


async def _counts(conn) -> dict[str, int]:
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


@pytest.fixture
async def seeded(demo_database_url):
    """A connection to a fresh copy of the database the test session seeded once."""
    connection = await db.connect(demo_database_url)
    yield connection
    await connection.close()


async def test_seeding_twice_changes_nothing_the_second_time_and_says_so(conn):
    first = await seed_demo(conn)
    after_first = await _counts(conn)
    second = await seed_demo(conn)
    assert await _counts(conn) == after_first
    assert "loaded" in first and "nothing changed" in second


async def test_seed_loads_the_whole_hierarchy_and_every_demo_user(seeded):
    conn = seeded
    hierarchy = load_hierarchy()
    codes = {s["code"] for *_, s in iter_stations(hierarchy)}
    assert {r["code"] for r in await conn.fetch("SELECT code FROM stations")} == codes
    rows = {
        r["username"]: r
        for r in await conn.fetch(
            """SELECT u.username, u.role, array(SELECT code FROM regions WHERE id = ANY(u.region_ids) ORDER BY code) AS regions,
                  array(SELECT code FROM districts WHERE id = ANY(u.district_ids) ORDER BY code) AS districts
             FROM users u"""
        )
    }
    for spec in DEMO_USERS:
        row = rows[spec["username"]]
        assert row["role"] == spec["role"]
        assert list(row["regions"]) == sorted(spec["region_ids"])
        assert list(row["districts"]) == sorted(spec["district_ids"])


async def test_seeded_templates_are_published_as_version_1_and_the_draft_matches(seeded):
    conn = seeded
    rows = await conn.fetch(
        """SELECT t.key, v.version, v.kinds, t.draft = v.definition AS same
             FROM templates t JOIN template_versions v ON v.template_id = t.id ORDER BY t.key"""
    )
    assert [(r["key"], r["version"], r["same"]) for r in rows] == [
        ("khidmat_markaz", 1, True),
        ("sips_station", 1, True),
    ]
    assert {r["key"]: list(r["kinds"]) for r in rows}["sips_station"] == ["police_station"]


async def test_seeded_inspectors_have_overdue_soon_and_later_work_and_a_monthly_schedule(seeded):
    conn = seeded
    rows = await conn.fetch(
        """SELECT u.username, a.due_date - (now() AT TIME ZONE 'Asia/Karachi')::date AS days, a.schedule_id IS NOT NULL AS scheduled,
                  (s.district_id = ANY(u.district_ids)) AS in_scope, s.kind, t.key
             FROM assignments a JOIN users u ON u.id = a.inspector_id JOIN stations s ON s.id = a.station_id
             JOIN templates t ON t.id = a.template_id WHERE a.status = 'open'"""
    )
    for username in ("inspector.ali", "inspector.sana"):
        mine = [r for r in rows if r["username"] == username]
        assert any(r["days"] < 0 for r in mine) and any(0 <= r["days"] <= 7 for r in mine)
        assert any(r["days"] > 14 for r in mine) and any(r["scheduled"] for r in mine)
        assert all(r["in_scope"] for r in mine)
        assert all((r["kind"] == "khidmat_markaz") == (r["key"] == "khidmat_markaz") for r in mine)
    frequencies = await conn.fetch("SELECT frequency FROM schedules")
    assert frequencies and {r["frequency"] for r in frequencies} == {"monthly"}


async def test_seed_is_audited_and_the_chain_verifies(seeded):
    conn = seeded
    row = await conn.fetchrow("SELECT data FROM audit_log WHERE action = 'demo.seed'")
    assert row["data"]["stations"] == len(list(iter_stations(load_hierarchy())))
    assert (await verify(conn)).ok


async def test_demo_users_sign_in_with_the_published_passwords(demo_client):
    for username, role in (("admin", "admin"), ("rpo.lahore", "reviewer"), ("inspector.ali", "inspector")):
        token = await demo_client.login(username, DEMO_PASSWORDS[role])
        me = (await demo_client.get("/api/v1/me", token)).json()
        assert me["role"] == role
