"""What Excel's default "CSV (Comma delimited)" does to a station file, refused row by row before it
reaches the stations: Urdu letters saved as '?', codes in another case or without their leading
zeros, ';' between values; swapped or impossible coordinates; and what a preview says of stations the
file leaves out. Codes are one station whatever their case, in the import, the API and the schema."""

from __future__ import annotations

import unicodedata

import asyncpg
import pytest

from server import db
from server.errors import Invalid
from server.org.importer import import_stations, import_stations_file
from server.org.rules import name_text
from tests.factories import make_station, make_world
from tests.test_migrations import database_before

HEADER = "code,name_en,name_ur,district_code,circle_code,lat,lon,sips,kind"
LOST = "Urdu letters were lost: in Excel use Save As → CSV UTF-8"


def csv(*rows: str, header: str = HEADER) -> bytes:
    return (header + "\n" + "".join(r + "\n" for r in rows)).encode()


async def post_csv(client, token, body: bytes, **params):
    return await client.post(
        "/api/v1/stations/import", token, content=body, headers={"content-type": "text/csv"}, params=params
    )


async def stations(client) -> dict[str, tuple]:
    conn = await client.db()
    try:
        rows = await conn.fetch("SELECT code, name_en, name_ur, lat, lon, change_seq FROM stations")
    finally:
        await conn.close()
    return {r["code"]: tuple(r) for r in rows}


def problems(response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(e["field"], e["message"]) for e in response.json()["errors"]]


# Urdu letters lost ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dry_run", ["true", "false"])
async def test_urdu_names_saved_as_question_marks_are_refused_by_row_and_nothing_is_written(admin, client, dry_run):
    before = await stations(client)
    body = csv(
        "SA1,PS SA1,????? ???? ?????,DA,,31.5,74.35,,",  # an English Windows wrote every letter as '?'
        "NEW1,PS New,Model Town,DA,,31.5,74.35,,",  # no Urdu letter at all
        "NEW2,PS New 2,تھا?ہ ماڈل,DA,,31.5,74.35,,",  # a code page with most letters, not all
        "NEW3,PS New 3,تھانہ ماڈل ٹاؤن، نمبر 2 (A-Div),DA,,31.5,74.35,,",
    )
    response = await post_csv(client, admin, body, dry_run=dry_run)
    found = problems(response)
    assert [f for f, _ in found] == ["row 2.name_ur", "row 3.name_ur", "row 4.name_ur"]
    assert all(LOST in m for _, m in found), found
    assert "no Urdu letters" in found[1][1]
    assert await stations(client) == before


@pytest.mark.parametrize(
    "name_ur",
    [
        "تھانہ ماڈل ٹاؤن",
        "تھانہ سٹی نمبر 2",
        "تھانہ سٹی نمبر ۲",
        "تھانہ SIPS-1 (صدر)",
        "خدمت مرکز، لاہور۔",
        "تھانہ؟",
        "ڈی ایچ اے فیز 5 - B",
    ],
)
async def test_legitimate_urdu_with_punctuation_digits_and_latin_is_accepted(admin, client, name_ur):
    response = await post_csv(client, admin, csv(f'NEWU,PS U,"{name_ur}",DA,,31.5,74.35,,'))
    assert response.status_code == 200, response.text
    assert (await stations(client))["NEWU"][2] == name_ur


async def test_the_command_line_import_refuses_lost_urdu_letters_by_row_and_column(conn, tmp_path):
    await make_world(conn)
    path = tmp_path / "excel.csv"
    path.write_bytes(csv("CLI1,PS Cli,????? ?????,DA,,31.5,74.3,,"))
    ok, message = await import_stations_file(conn, path)
    assert not ok and "row 2.name_ur" in message and LOST in message
    assert await conn.fetchval("SELECT count(*) FROM stations WHERE code = 'CLI1'") == 0


# Codes whatever their case -------------------------------------------------------------------------


async def test_a_code_in_another_case_updates_the_stored_station_and_keeps_its_spelling(admin, client):
    before = await stations(client)
    body = csv("sa1,PS SA1 renamed,تھانہ ایک,DA,,31.5,74.35,,")
    preview = await post_csv(client, admin, body, dry_run="true")
    assert preview.status_code == 200, preview.text
    assert preview.json()["created"] == []
    assert preview.json()["updated"] == [
        {
            "code": "SA1",
            "code_in_file": "sa1",
            "changes": {
                "name_en": {"from": "PS SA1", "to": "PS SA1 renamed"},
                "name_ur": {"from": "تھانہ SA1", "to": "تھانہ ایک"},
            },
        }
    ]
    done = await post_csv(client, admin, body)
    assert done.json() == {"created": 0, "updated": 1, "unchanged": 0, "rows": 1}
    after = await stations(client)
    assert set(after) == set(before)  # no second station "sa1"
    assert after["SA1"][1:3] == ("PS SA1 renamed", "تھانہ ایک")


async def test_two_rows_whose_codes_differ_only_in_case_are_refused(admin, client):
    found = problems(
        await post_csv(
            client, admin, csv("PS-7,PS Seven,تھانہ,DA,,31.5,74.35,,", "ps-7,PS seven,تھانہ,DA,,31.5,74.35,,")
        )
    )
    assert found == [("row 3.code", "the code 'ps-7' is also on row 2")]


async def test_the_station_api_refuses_a_code_another_station_has_in_another_case(admin, client):
    world_station = (await client.get("/api/v1/stations", admin, params={"q": "SA2"})).json()[0]
    body = {
        "code": "sa1",
        "name": {"en": "PS Copy", "ur": "تھانہ"},
        "district_id": world_station["district_id"],
        "lat": 31.5,
        "lon": 74.35,
    }
    created = await client.post("/api/v1/stations", admin, json=body)
    assert [f for f, _ in problems(created)] == ["code"]
    renamed = await client.patch(f"/api/v1/stations/{world_station['id']}", admin, json={"code": "Sa1"})
    assert [f for f, _ in problems(renamed)] == ["code"]
    # A station may change the case of its own code.
    own = await client.patch(f"/api/v1/stations/{world_station['id']}", admin, json={"code": "sa2"})
    assert own.status_code == 200 and own.json()["code"] == "sa2"
    assert sorted(await stations(client)) == ["SA1", "SB1", "SB2", "sa2"]


# Leading zeros -------------------------------------------------------------------------------------


async def test_a_numeric_code_that_lost_its_leading_zero_is_refused(admin, client):
    conn = await client.db()
    try:
        district = await conn.fetchval("SELECT id FROM districts WHERE code = 'DA'")
        await make_station(conn, district, "0101")
    finally:
        await conn.close()
    before = await stations(client)
    body = csv(
        "NEW1,PS N,تھانہ,NOPE,,31.5,74.35,,",
        "101,PS 0101,تھانہ,DA,,31.5,74.35,,",
        "NEW2,PS N2,تھانہ,DA,,31.5,74.35,,",
    )
    found = problems(await post_csv(client, admin, body))
    # Listed with the file's other problems, in the order of its rows.
    assert found == [
        ("row 2.district_code", "no district has the code 'NOPE'"),
        ("row 3.code", "looks like 0101 with its leading zero lost (Excel drops them: format the column as Text)"),
    ]
    assert await stations(client) == before
    # Written as stored, it is that station.
    kept = await post_csv(client, admin, csv("0101,PS 0101 renamed,تھانہ,DA,,31.5,74.35,,"))
    assert kept.json()["updated"] == 1, kept.text


# Coordinates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        ("74.3587", "31.5204", [("row 2.lat", "lat and lon look swapped")]),
        ("0", "0", [("row 2.lat", "outside Pakistan"), ("row 2.lon", "outside Pakistan")]),
        ("40.71", "-74.0", [("row 2.lat", "outside Pakistan"), ("row 2.lon", "outside Pakistan")]),
        ("31.52", "54.35", [("row 2.lon", "outside Pakistan (lon 60.8 to 77.9)")]),
        ("95", "74.35", [("row 2.lat", "must be between -90 and 90")]),
    ],
)
async def test_coordinates_outside_pakistan_are_refused_by_row_and_column(admin, client, lat, lon, expected):
    before = await stations(client)
    found = problems(await post_csv(client, admin, csv(f"SA1,PS SA1,تھانہ,DA,,{lat},{lon},,"), dry_run="true"))
    assert [f for f, _ in found] == [f for f, _ in expected]
    assert all(part in m for (_, m), (_, part) in zip(found, expected, strict=True)), found
    assert await stations(client) == before


async def test_coordinates_at_the_edges_of_pakistan_are_accepted(admin, client):
    body = csv("EDGE1,PS Gwadar,تھانہ گوادر,DA,,25.12,62.32,,", "EDGE2,PS Sost,تھانہ سوست,DA,,36.69,74.82,,")
    response = await post_csv(client, admin, body)
    assert response.status_code == 200 and response.json()["created"] == 2, response.text


# The file's shape ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("separator", "said"), [(";", "';'"), ("\t", "tabs")])
async def test_a_file_separated_by_semicolons_or_tabs_is_one_problem_saying_so(admin, client, separator, said):
    body = csv("SA1;PS SA1;تھانہ;DA;;31.5;74.35;;".replace(";", separator), header=HEADER.replace(",", separator))
    assert problems(await post_csv(client, admin, body)) == [
        ("header", f"the file uses {said} between values: save it as CSV UTF-8 (comma delimited)")
    ]


# What a preview says of stations left out ------------------------------------------------------------


async def test_a_preview_lists_active_stations_of_the_files_districts_that_it_leaves_out(admin, client):
    conn = await client.db()
    try:
        district = await conn.fetchval("SELECT id FROM districts WHERE code = 'DA'")
        for n in range(60):
            await make_station(conn, district, f"LEFT{n:02d}")
        off = await make_station(conn, district, "OFF1")
        await conn.execute("UPDATE stations SET active = false WHERE id = $1", off)
    finally:
        await conn.close()
    before = await stations(client)
    preview = await post_csv(client, admin, csv("sa1,PS SA1,تھانہ SA1,DA,,31.5,74.35,,"), dry_run="true")
    assert preview.status_code == 200, preview.text
    missing = preview.json()["not_in_file"]
    # District DA's SA2 and the 60 added, not SA1 (named as 'sa1'), not the inactive one, not district DB's.
    assert missing["count"] == 61
    assert missing["codes"] == sorted(["SA2"] + [f"LEFT{n:02d}" for n in range(60)])[:50]
    assert await stations(client) == before
    # The import itself answers with counts as before: it never switches a station off.
    done = await post_csv(client, admin, csv("SA1,PS SA1,تھانہ SA1,DA,,31.5,74.35,,"))
    assert done.json() == {"created": 0, "updated": 0, "unchanged": 1, "rows": 1}


# The schema ----------------------------------------------------------------------------------------


async def _indexes(conn) -> dict[str, bool]:
    rows = await conn.fetch(
        """SELECT c.relname, i.indisunique FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = 'stations'::regclass AND pg_get_indexdef(i.indexrelid) LIKE '%lower(code)%'"""
    )
    return {r["relname"]: r["indisunique"] for r in rows}


async def test_the_migration_makes_codes_unique_whatever_their_case(pg_admin_url, tmp_path):
    async with database_before(pg_admin_url, tmp_path, 17) as (conn, world):
        assert (await db.migrate(conn))[0] == "0017_station_code_case.sql"
        assert await _indexes(conn) == {"stations_code_lower_key": True}
        with pytest.raises(asyncpg.UniqueViolationError):
            await make_station(conn, world.districts["A"], "sa1")


async def test_the_migration_does_not_fail_on_codes_that_already_differ_only_in_case(pg_admin_url, tmp_path):
    async with database_before(pg_admin_url, tmp_path, 17) as (conn, world):
        await make_station(conn, world.districts["A"], "sa1")
        await make_station(conn, world.districts["A"], "Sa1")
        assert (await db.migrate(conn))[0] == "0017_station_code_case.sql"
        assert await _indexes(conn) == {"stations_code_lower_idx": False}
        # A third spelling could be either station: refused. The exact spelling is that one station.
        with pytest.raises(Invalid) as refused:
            await import_stations(conn, csv("SA1,PS,تھانہ,DA,,31.5,74.35,,".replace("SA1", "sA1")))
        assert [(e.field, e.message) for e in refused.value.errors] == [
            ("row 2.code", "could be any of the stations SA1, Sa1, sa1: write the code exactly as stored")
        ]
        counts = await import_stations(conn, csv("Sa1,PS Sa1 renamed,تھانہ,DA,,31.5,74.35,,"))
        assert (counts.created, counts.updated) == (0, 1)
        assert await conn.fetchval("SELECT name_en FROM stations WHERE code = 'Sa1'") == "PS Sa1 renamed"
        assert await conn.fetchval("SELECT count(*) FROM stations WHERE lower(code) = 'sa1'") == 3


# The size of what is sent, and of what is said back ------------------------------------------------


async def test_a_file_over_the_limit_is_refused_naming_the_limit(admin, client):
    from server.org.routes import IMPORT_MAX_BYTES

    too_large = await post_csv(client, admin, csv() + b"x" * IMPORT_MAX_BYTES, dry_run="true")
    assert too_large.status_code == 413, too_large.text
    assert too_large.json()["max_bytes"] == IMPORT_MAX_BYTES
    assert "larger than 32 MiB" in too_large.json()["detail"]


async def test_a_file_of_many_bad_rows_lists_the_first_problems_and_counts_them_all(admin, client):
    """50,000 rows with a problem in each of eight columns were answered with 400,000 problems in a reply
    of 33 MB, which the admin's screen then drew row by row; nothing is written either way."""
    from server.csvfile import SHOWN_PROBLEMS

    before = await stations(client)
    bad = csv(*(f"X{n},,,NOWHERE,NOCIRCLE,a,b,maybe,hut" for n in range(2000)))
    refused = await post_csv(client, admin, bad)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert len(body["errors"]) == SHOWN_PROBLEMS
    assert body["rows_with_problems"] == 2000 and body["problem_count"] > SHOWN_PROBLEMS
    assert body["detail"].startswith(f"nothing was imported: {body['problem_count']} problem(s) in 2000 row(s)")
    # The first, in the file's order.
    assert body["errors"][0]["field"].startswith("row 2.")
    assert await stations(client) == before


async def test_a_name_of_only_invisible_characters_is_missing(admin, client):
    """A zero-width space pasted into a cell made a station with a name no one can see."""
    before = await stations(client)
    refused = await post_csv(client, admin, csv("ZW1,\u200b,تھانہ,DA,,31.5,74.3,false,police_station"))
    assert ("row 2.name_en", "the English name is missing") in problems(refused)
    assert await stations(client) == before


# Names as typed -----------------------------------------------------------------------------------

# "Karachi Abad" in Urdu, as an Urdu keyboard types it, decomposed (a file saved on a Mac: آ as ا + U+0653),
# and with the Arabic yeh and kaf an Arabic keyboard or a copied web page writes.
TYPED = "کراچی آباد"
DECOMPOSED = unicodedata.normalize("NFD", TYPED)
ARABIC = TYPED.replace("ی", "ي").replace("ک", "ك")


def test_a_name_is_kept_as_typed_on_an_urdu_keyboard_whatever_wrote_it():
    assert DECOMPOSED != TYPED and ARABIC != TYPED
    assert name_text(DECOMPOSED) == name_text(ARABIC) == name_text(f" {TYPED} ") == TYPED
    assert name_text("PS Model Town") == "PS Model Town"


async def test_a_file_saved_decomposed_imports_as_typed_is_unchanged_again_and_is_found(admin, client):
    """The same file saved on a Mac previewed every Urdu name as changed (to itself, to the eye), and a
    station imported so was not found by its name typed on a keyboard."""
    first = await post_csv(client, admin, csv(f"KA1,Karachi Abad,{TYPED},DA,,31.5,74.35,false,police_station"))
    assert first.status_code == 200, first.text
    again = await post_csv(
        client, admin, csv(f"KA1,Karachi Abad,{DECOMPOSED},DA,,31.5,74.35,false,police_station"), dry_run="true"
    )
    assert again.status_code == 200, again.text
    assert again.json()["updated"] == [] and again.json()["unchanged"] == 1
    other = await post_csv(client, admin, csv(f"KA2,Karachi Abad Two,{ARABIC} 2,DA,,31.5,74.36,false,police_station"))
    assert other.status_code == 200, other.text
    assert (await stations(client))["KA2"][2] == f"{TYPED} 2"
    found = await client.get("/api/v1/stations", admin, params={"q": "آباد"})
    assert sorted(s["code"] for s in found.json()) == ["KA1", "KA2"]
    # A search typed with the Arabic letters finds them too.
    found = await client.get("/api/v1/stations", admin, params={"q": ARABIC})
    assert sorted(s["code"] for s in found.json()) == ["KA1", "KA2"]


async def test_the_migration_stores_names_already_there_as_typed(pg_admin_url, tmp_path):
    async with database_before(pg_admin_url, tmp_path, 32) as (conn, world):
        await make_station(conn, world.districts["A"], "KA9")
        await conn.execute("UPDATE stations SET name_ur = $1 WHERE code = 'KA9'", ARABIC)
        await conn.execute("UPDATE districts SET name_ur = $1 WHERE id = $2", DECOMPOSED, world.districts["A"])
        untouched = await conn.fetchval("SELECT change_seq FROM stations WHERE code = 'SA1'")
        assert (await db.migrate(conn))[0] == "0032_names_as_typed.sql"
        assert await conn.fetchval("SELECT name_ur FROM stations WHERE code = 'KA9'") == TYPED
        assert await conn.fetchval("SELECT name_ur FROM districts WHERE id = $1", world.districts["A"]) == TYPED
        # Only the names that differ are written (so only their stations travel to the phones again).
        assert await conn.fetchval("SELECT change_seq FROM stations WHERE code = 'SA1'") == untouched


def test_the_check_of_a_file_keeps_its_first_problems_and_counts_the_rest():
    """A 32 MiB file of bad rows has 26 million problems: kept whole they took 5 GB of the server's memory
    (and a 33 MB reply) before the first few hundred were shown."""
    from server.csvfile import SHOWN_PROBLEMS, refused
    from server.errors import FieldError
    from server.org.rules import parse_station_csv

    text = "code,name_en,name_ur,district_code,lat,lon\n" + "".join(f"X{n},,,NOWHERE,a,b\n" for n in range(3000))
    rows, problems = parse_station_csv(text, {}, {})
    assert rows == [] and len(problems.first) == SHOWN_PROBLEMS
    assert problems.count == 3000 * 5 and problems.rows == 3000
    assert [e.field for e in problems.first[:5]] == [
        "row 2.name_en", "row 2.name_ur", "row 2.district_code", "row 2.lat", "row 2.lon"
    ]  # fmt: skip
    # Problems found afterwards (stored stations) join them in the file's order, their rows counted once.
    later = [FieldError(field="row 3002.code", message="later"), FieldError(field="row 2.code", message="stored")]
    both = refused(problems.merged(later))
    assert both.extra == {"problem_count": 3000 * 5 + 2, "rows_with_problems": 3001}
    assert len(both.errors) == SHOWN_PROBLEMS and both.errors[5].field == "row 2.code"
    assert both.errors[-1].field.startswith("row 101.")


async def test_checking_a_large_file_leaves_the_server_free_to_answer_others(conn):
    """The check ran on the event loop: a large file held up every other request until it was done."""
    import asyncio
    import time

    await make_world(conn)
    data = ("code,name_en,name_ur,district_code,lat,lon\n" + "!,,,,x,y\n" * 60_000).encode()
    longest_wait = 0.0

    async def ticker() -> None:
        nonlocal longest_wait
        while True:
            started = time.monotonic()
            await asyncio.sleep(0.01)
            longest_wait = max(longest_wait, time.monotonic() - started - 0.01)

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    with pytest.raises(Invalid) as refused:
        await import_stations(conn, data)
    took = time.monotonic() - started
    ticking.cancel()
    assert refused.value.extra["rows_with_problems"] == 60_000
    # A ratio within this run: the longest the loop was held is a small part of the whole check.
    assert longest_wait < took / 4, (longest_wait, took)
