"""A station's place is refused alike by the station API and the CSV import (one check, one message),
and region, district and circle codes are one place whatever their case, as station codes are: in the
API, in the station and user imports, and in the schema (0019), which an old database with such
codes already in it still upgrades to."""

from __future__ import annotations

import asyncpg
import pytest

from server import db
from server.auth.importer import import_users
from server.errors import Invalid
from server.org.importer import import_stations
from tests.factories import make_district, make_region
from tests.test_migrations import database_before

STATION_HEADER = "code,name_en,name_ur,district_code,circle_code,lat,lon,sips,kind"
USER_HEADER = "username,display_name,role,region_codes,district_codes"


def csv(*rows: str, header: str = STATION_HEADER) -> bytes:
    return (header + "\n" + "".join(r + "\n" for r in rows)).encode()


def problems(response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(e["field"], e["message"]) for e in response.json()["errors"]]


async def post_csv(client, token, path: str, body: bytes, **params):
    return await client.post(path, token, content=body, headers={"content-type": "text/csv"}, params=params)


async def one(client, sql: str, *args):
    return (await client.fetch(sql, *args))[0][0]


# A station's place -----------------------------------------------------------------------------------

POINTS = [
    pytest.param(-0.0, 10.0, ["lat", "lon"], id="minus-zero-and-ten"),
    pytest.param(0.0, 0.0, ["lat", "lon"], id="null-island"),
    pytest.param(74.3587, 31.5204, ["lat"], id="swapped"),
    pytest.param(31.52, 54.35, ["lon"], id="iran"),
    pytest.param(40.71, -74.0, ["lat", "lon"], id="new-york"),
]


async def _import_says(client, admin, lat: float, lon: float) -> list[tuple[str, str]]:
    """What the CSV import says of this point, with the row taken off each field."""
    found = problems(
        await post_csv(
            client, admin, "/api/v1/stations/import", csv(f"NEWP,PS P,تھانہ,DA,,{lat!r},{lon!r},,"), dry_run="true"
        )
    )
    return [(field.removeprefix("row 2."), message) for field, message in found]


@pytest.mark.parametrize(("lat", "lon", "fields"), POINTS)
async def test_the_station_api_refuses_a_point_outside_pakistan_as_the_import_does(admin, client, lat, lon, fields):
    district = await one(client, "SELECT id FROM districts WHERE code = 'DA'")
    body = {"code": "NEWP", "name": {"en": "PS P", "ur": "تھانہ"}, "district_id": str(district), "lat": lat, "lon": lon}
    said = problems(await client.post("/api/v1/stations", admin, json=body))
    assert [f for f, _ in said] == fields
    assert said == await _import_says(client, admin, lat, lon)
    assert await one(client, "SELECT count(*) FROM stations WHERE code = 'NEWP'") == 0

    station = await one(client, "SELECT id FROM stations WHERE code = 'SA1'")
    before = await client.fetch("SELECT lat, lon, change_seq FROM stations WHERE id = $1", station)
    edited = problems(await client.patch(f"/api/v1/stations/{station}", admin, json={"lat": lat, "lon": lon}))
    assert edited == said
    assert await client.fetch("SELECT lat, lon, change_seq FROM stations WHERE id = $1", station) == before


async def test_editing_one_coordinate_checks_the_point_it_makes_with_the_stored_other(admin, client):
    station = await one(client, "SELECT id FROM stations WHERE code = 'SA1'")  # at 31.5, 74.35
    path = f"/api/v1/stations/{station}"
    assert problems(await client.patch(path, admin, json={"lon": 10})) == [
        ("lon", "10 is outside Pakistan (lon 60.8 to 77.9)")
    ]
    assert problems(await client.patch(path, admin, json={"lat": 74.35})) == [
        ("lat", "74.35 is outside Pakistan (lat 23.5 to 37.2)")
    ]
    # Range problems are said as before, and a point inside is written.
    assert problems(await client.patch(path, admin, json={"lat": 91})) == [("lat", "must be between -90 and 90")]
    moved = await client.patch(path, admin, json={"lat": 25.12, "lon": 62.32})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["lat"], moved.json()["lon"]) == (25.12, 62.32)
    # A change of name alone is not held up by the place check.
    renamed = await client.patch(path, admin, json={"name": {"en": "PS Renamed", "ur": "تھانہ"}})
    assert renamed.status_code == 200, renamed.text


# Codes whatever their case: the API --------------------------------------------------------------


async def test_a_region_district_or_circle_code_another_has_in_another_case_is_refused(admin, client):
    region_a = await one(client, "SELECT id FROM regions WHERE code = 'RA'")
    region_b = await one(client, "SELECT id FROM regions WHERE code = 'RB'")
    district_a = await one(client, "SELECT id FROM districts WHERE code = 'DA'")
    district_b = await one(client, "SELECT id FROM districts WHERE code = 'DB'")
    circle = await client.post(
        "/api/v1/circles", admin, json={"code": "CA", "name": "Circle A", "district_id": str(district_a)}
    )
    assert circle.status_code == 201, circle.text
    other_circle = await client.post(
        "/api/v1/circles", admin, json={"code": "CB", "name": "Circle B", "district_id": str(district_b)}
    )
    cases = [
        ("regions", {"code": "ra", "name": "Copy"}, f"/api/v1/regions/{region_b}", "region"),
        (
            "districts",
            {"code": "da", "name": "Copy", "region_id": str(region_a)},
            f"/api/v1/districts/{district_b}",
            "district",
        ),
        (
            "circles",
            {"code": "ca", "name": "Copy", "district_id": str(district_a)},
            f"/api/v1/circles/{other_circle.json()['id']}",
            "circle",
        ),
    ]
    for table, body, other, what in cases:
        before = await one(client, f"SELECT count(*) FROM {table}")
        taken = [("code", f"another {what} has this code")]
        assert problems(await client.post(f"/api/v1/{table}", admin, json=body)) == taken, table
        assert await one(client, f"SELECT count(*) FROM {table}") == before
        # Renaming another one to it in a third spelling is refused too.
        assert problems(await client.patch(other, admin, json={"code": body["code"].title()})) == taken, table
    # One may change the case of its own code.
    own = await client.patch(f"/api/v1/districts/{district_a}", admin, json={"code": "Da"})
    assert own.status_code == 200 and own.json()["code"] == "Da", own.text
    assert sorted(r["code"] for r in await client.fetch("SELECT code FROM districts")) == ["DB", "Da"]


# Codes whatever their case: the imports ----------------------------------------------------------


async def test_a_station_file_naming_a_district_and_circle_in_another_case_finds_them_and_keeps_their_spelling(
    admin, client
):
    district = await one(client, "SELECT id FROM districts WHERE code = 'DA'")
    await client.fetch(
        "INSERT INTO circles (code, name_en, name_ur, district_id) VALUES ('CA-1', 'Circle', 'سرکل', $1)",
        district,
    )
    body = csv("NEWC,PS C,تھانہ سی,da,ca-1,31.5,74.35,,", "SA1,PS SA1,تھانہ SA1,dA,,31.5,74.35,,")
    preview = await post_csv(client, admin, "/api/v1/stations/import", body, dry_run="true")
    assert preview.status_code == 200, preview.text
    # SA1 is where the file says: its district spelt otherwise is no change.
    assert (preview.json()["created"], preview.json()["updated"], preview.json()["unchanged"]) == (["NEWC"], [], 1)
    done = await post_csv(client, admin, "/api/v1/stations/import", body)
    assert done.json() == {"created": 1, "updated": 0, "unchanged": 1, "rows": 2}, done.text
    placed = await client.fetch(
        """SELECT d.code AS district, c.code AS circle FROM stations s JOIN districts d ON d.id = s.district_id
             LEFT JOIN circles c ON c.id = s.circle_id WHERE s.code = 'NEWC'""",
    )
    assert [tuple(r) for r in placed] == [("DA", "CA-1")]
    assert sorted(r["code"] for r in await client.fetch("SELECT code FROM districts")) == ["DA", "DB"]


async def test_a_user_file_naming_regions_and_districts_in_another_case_finds_them_as_stored(admin, client):
    body = csv("insp.case,Inspector Case,inspector,,da | Db", "rev.case,Reviewer Case,reviewer,rA,", header=USER_HEADER)
    preview = await post_csv(client, admin, "/api/v1/users/import", body, dry_run="true")
    assert preview.status_code == 200, preview.text
    assert [(u["username"], u["region_codes"], u["district_codes"]) for u in preview.json()["created"]] == [
        ("insp.case", [], ["DA", "DB"]),
        ("rev.case", ["RA"], []),
    ]
    done = await post_csv(client, admin, "/api/v1/users/import", body)
    assert done.status_code == 200 and done.json()["created"] == 2, done.text
    rows = await client.fetch(
        """SELECT u.username, array(SELECT r.code FROM regions r WHERE r.id = ANY(u.region_ids) ORDER BY 1) AS regions,
                  array(SELECT d.code FROM districts d WHERE d.id = ANY(u.district_ids) ORDER BY 1) AS districts
             FROM users u WHERE u.username LIKE '%.case' ORDER BY 1""",
    )
    assert [tuple(r) for r in rows] == [("insp.case", [], ["DA", "DB"]), ("rev.case", ["RA"], [])]


# The schema ----------------------------------------------------------------------------------------


async def _lower_indexes(conn) -> dict[str, bool]:
    rows = await conn.fetch(
        """SELECT c.relname, i.indisunique FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid IN ('regions'::regclass, 'districts'::regclass, 'circles'::regclass)
              AND pg_get_indexdef(i.indexrelid) LIKE '%lower(code)%'"""
    )
    return {r["relname"]: r["indisunique"] for r in rows}


async def test_the_migration_makes_region_district_and_circle_codes_unique_whatever_their_case(pg_admin_url, tmp_path):
    async with database_before(pg_admin_url, tmp_path, 19) as (conn, world):
        assert (await db.migrate(conn))[0] == "0019_org_code_case.sql"
        assert await _lower_indexes(conn) == {
            "regions_code_lower_key": True,
            "districts_code_lower_key": True,
            "circles_code_lower_key": True,
        }
        with pytest.raises(asyncpg.UniqueViolationError):
            await make_district(conn, world.regions["A"], "da")
        with pytest.raises(asyncpg.UniqueViolationError):
            await make_region(conn, "rb")


async def test_the_migration_does_not_fail_on_district_codes_that_already_differ_only_in_case(pg_admin_url, tmp_path):
    async with database_before(pg_admin_url, tmp_path, 19) as (conn, world):
        await make_district(conn, world.regions["A"], "Da")
        notices: list[str] = []
        conn.add_log_listener(lambda _conn, message: notices.append(message.message))
        assert (await db.migrate(conn))[0] == "0019_org_code_case.sql"
        assert await _lower_indexes(conn) == {
            "regions_code_lower_key": True,
            "districts_code_lower_idx": False,
            "circles_code_lower_key": True,
        }
        assert any("1 districts code(s)" in n for n in notices), notices
        # A third spelling could be either district: refused, by the station and the user import.
        with pytest.raises(Invalid) as refused:
            await import_stations(conn, csv("NEWT,PS T,تھانہ,da,,31.5,74.35,,"))
        assert [(e.field, e.message) for e in refused.value.errors] == [
            ("row 2.district_code", "could be any of the districts DA, Da: write the code exactly as stored")
        ]
        with pytest.raises(Invalid) as refused:
            await import_users(conn, csv("insp.t,Inspector T,inspector,,da", header=USER_HEADER), dry_run=True)
        assert [(e.field, e.message) for e in refused.value.errors] == [
            ("row 2.district_codes", "could be any of the districts DA, Da: write the code exactly as stored")
        ]
        # The exact spelling is that one district.
        counts = await import_stations(conn, csv("NEWT,PS T,تھانہ,Da,,31.5,74.35,,"))
        assert counts.created == 1
        placed = await conn.fetchval(
            "SELECT d.code FROM stations s JOIN districts d ON d.id = s.district_id WHERE s.code = 'NEWT'"
        )
        assert placed == "Da"
