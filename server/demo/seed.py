"""`muaina seed-demo`: load the demo hierarchy, users, templates and assignments, once.

One transaction, audited as "demo.seed". The audit row is also the marker: when it exists the demo is
already there and nothing is written again, so `make run` can call this on every start. Rows go in
as bulk statements (unnest arrays), and every insert tolerates an existing row with the same code,
so a database that already holds some of the same codes is completed rather than refused.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

from asyncpg import Connection

from server.assignments import queries as assignment_queries
from server.audit import queries as audit
from server.auth.rules import hash_password
from server.demo.content import DEMO_USERS, TEMPLATES, iter_stations, load_hierarchy, load_template
from server.templates.api_models import stored_form
from server.templates.models import to_definition
from server.templates.rules import validate_definition

SEED_LOCK_ID = 0x7365656B  # "seek": two servers starting at once seed one after the other

# The demo inspectors' work, as (days from today, template name). Some overdue, some due this week,
# some later, so the dashboards and the phone's list have something of each to show.
PLAN = [(-12, "sips"), (-4, "sips"), (2, "sips"), (5, "sips"), (18, "sips"), (30, "sips"), (45, "sips"), (9, "khidmat")]
# A monthly schedule per inspector, on a station the plan above leaves free.
SCHEDULE_START_DAYS = 21


async def seed_demo(conn: Connection) -> str:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SEED_LOCK_ID)
        seeded_at = await conn.fetchval("SELECT min(at) FROM audit_log WHERE action = 'demo.seed'")
        if seeded_at is not None:
            return f"demo data already present (seeded {seeded_at:%Y-%m-%d %H:%M} UTC); nothing changed"
        counts = await _seed(conn)
        await audit.record(conn, "demo.seed", entity="demo", data=counts)
    return (
        "demo data loaded: "
        + ", ".join(f"{n} {what}" for what, n in counts.items())
        + "; templates published as version 1"
    )


async def _seed(conn: Connection) -> dict[str, int]:
    hierarchy = load_hierarchy()
    regions = await _upsert_places(
        conn, "regions", [(r["code"], r["name"]["en"], r["name"]["ur"], None) for r in hierarchy["regions"]]
    )
    districts = await _upsert_places(
        conn,
        "districts",
        [
            (d["code"], d["name"]["en"], d["name"]["ur"], regions[r["code"]])
            for r in hierarchy["regions"]
            for d in r["districts"]
        ],
    )
    circles = await _upsert_places(
        conn,
        "circles",
        [
            (c["code"], c["name"]["en"], c["name"]["ur"], districts[d["code"]])
            for r in hierarchy["regions"]
            for d in r["districts"]
            for c in d["circles"]
        ],
    )
    stations = list(iter_stations(hierarchy))
    await conn.execute(
        """INSERT INTO stations (code, name_en, name_ur, district_id, circle_id, lat, lon, sips, kind)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::float8[],
                                $7::float8[], $8::bool[], $9::text[])
           ON CONFLICT (code) DO NOTHING""",
        [s["code"] for *_, s in stations],
        [s["name"]["en"] for *_, s in stations],
        [s["name"]["ur"] for *_, s in stations],
        [districts[d["code"]] for _, d, _, _ in stations],
        [circles[c["code"]] for _, _, c, _ in stations],
        [s["lat"] for *_, s in stations],
        [s["lon"] for *_, s in stations],
        [s.get("sips", True) for *_, s in stations],
        [s.get("kind", "police_station") for *_, s in stations],
    )
    users = await _upsert_users(conn, regions, districts)
    templates = await _publish_templates(conn, users["admin"])
    assignments, schedules = await _plan_work(conn, users, templates, districts)
    return {
        "regions": len(regions),
        "districts": len(districts),
        "circles": len(circles),
        "stations": len(stations),
        "users": len(users),
        "templates": len(templates),
        "assignments": assignments,
        "schedules": schedules,
    }


async def _upsert_places(
    conn: Connection, table: str, rows: list[tuple[str, str, str, UUID | None]]
) -> dict[str, UUID]:
    """Insert regions, districts or circles by code; return code -> id for all of them."""
    parent = {"regions": None, "districts": "region_id", "circles": "district_id"}[table]
    codes, names_en, names_ur, parents = (list(col) for col in zip(*rows, strict=True))
    if parent is None:
        await conn.execute(
            f"""INSERT INTO {table} (code, name_en, name_ur)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT (code) DO NOTHING""",
            codes,
            names_en,
            names_ur,
        )
    else:
        await conn.execute(
            f"""INSERT INTO {table} (code, name_en, name_ur, {parent})
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[]) ON CONFLICT (code) DO NOTHING""",
            codes,
            names_en,
            names_ur,
            parents,
        )
    found = await conn.fetch(f"SELECT code, id FROM {table} WHERE code = ANY($1::text[])", codes)
    return {r["code"]: r["id"] for r in found}


async def _upsert_users(conn: Connection, regions: dict[str, UUID], districts: dict[str, UUID]) -> dict[str, UUID]:
    # argon2 is slow on purpose: hash each distinct demo password once (they are published anyway).
    passwords = sorted({u["password"] for u in DEMO_USERS})
    hashes = dict(
        zip(passwords, await asyncio.gather(*(asyncio.to_thread(hash_password, p) for p in passwords)), strict=True)
    )
    await conn.executemany(
        """INSERT INTO users (username, display_name, password_hash, role, region_ids, district_ids)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (lower(username)) DO NOTHING""",
        [
            (
                u["username"],
                u["display_name"],
                hashes[u["password"]],
                u["role"],
                [regions[c] for c in u["region_ids"]],
                [districts[c] for c in u["district_ids"]],
            )
            for u in DEMO_USERS
        ],
    )
    found = await conn.fetch(
        "SELECT username, id FROM users WHERE lower(username) = ANY($1::text[])",
        [u["username"].lower() for u in DEMO_USERS],
    )
    return {r["username"]: r["id"] for r in found}


async def _publish_templates(conn: Connection, admin_id: UUID) -> dict[str, UUID]:
    """Create each demo template with its definition as the draft, and publish it as version 1."""
    ids: dict[str, UUID] = {}
    for name, entry in TEMPLATES.items():
        defn = to_definition(load_template(name))
        problems = validate_definition(defn)
        if problems:
            raise RuntimeError(f"demo template {name!r} breaks the template rules: {problems[:3]}")
        definition = stored_form(defn)
        template_id = await conn.fetchval(
            """INSERT INTO templates (key, title_en, title_ur, draft, created_by) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (key) DO NOTHING RETURNING id""",
            entry["key"],
            defn.title.en,
            defn.title.ur,
            definition,
            admin_id,
        )
        if template_id is None:  # a template with this key exists: keep it and its versions as they are
            ids[name] = await conn.fetchval("SELECT id FROM templates WHERE key = $1", entry["key"])
            continue
        await conn.execute(
            """INSERT INTO template_versions (template_id, version, definition, kinds, published_by)
               VALUES ($1, 1, $2, $3, $4)""",
            template_id,
            definition,
            defn.kinds,
            admin_id,
        )
        ids[name] = template_id
    return ids


async def _plan_work(
    conn: Connection, users: dict[str, UUID], templates: dict[str, UUID], districts: dict[str, UUID]
) -> tuple[int, int]:
    today = await assignment_queries.today(conn)
    admin = users["admin"]
    assignments: list[tuple[Any, ...]] = []
    schedules: list[tuple[Any, ...]] = []
    for spec in DEMO_USERS:
        if spec["role"] != "inspector" or spec["username"] not in users:
            continue
        inspector = users[spec["username"]]
        district_ids = [districts[c] for c in spec["district_ids"]]
        free = {
            kind: await _stations_of_kind(conn, district_ids, kind) for kind in ("police_station", "khidmat_markaz")
        }
        for days, template in PLAN:
            pool = free["khidmat_markaz" if template == "khidmat" else "police_station"]
            if pool:
                assignments.append((pool.pop(0), templates[template], inspector, today + timedelta(days=days), None))
        if free["police_station"]:
            schedules.append(
                (
                    free["police_station"].pop(0),
                    templates["sips"],
                    inspector,
                    today + timedelta(days=SCHEDULE_START_DAYS),
                )
            )
    schedule_ids = []
    for station_id, template_id, inspector, first_due in schedules:
        schedule_id = await conn.fetchval(
            """INSERT INTO schedules (station_id, template_id, inspector_id, frequency, next_due, anchor_day, created_by)
               VALUES ($1, $2, $3, 'monthly', $4, $5, $6) RETURNING id""",
            station_id,
            template_id,
            inspector,
            first_due,
            first_due.day,
            admin,
        )
        schedule_ids.append(schedule_id)
        assignments.append((station_id, template_id, inspector, first_due, schedule_id))
    await conn.executemany(
        """INSERT INTO assignments (station_id, template_id, inspector_id, due_date, schedule_id, created_by)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (station_id, template_id) WHERE status = 'open' DO NOTHING""",
        [(*a, admin) for a in assignments],
    )
    return len(assignments), len(schedule_ids)


async def _stations_of_kind(conn: Connection, district_ids: list[UUID], kind: str) -> list[UUID]:
    rows = await conn.fetch(
        """SELECT id FROM stations WHERE district_id = ANY($1::uuid[]) AND kind = $2 AND active ORDER BY code""",
        district_ids,
        kind,
    )
    return [r["id"] for r in rows]
