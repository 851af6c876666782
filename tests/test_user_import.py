"""Accounts in bulk: the all-or-nothing user CSV import (API and command line), the users list's area
filters and paging, and username refusals in words."""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from server.auth import importer
from server.auth.models import NewPassword
from server.auth.rules import USERNAME_RULE
from tests.factories import make_world

ROOT = Path(__file__).resolve().parent.parent
HEADER = "username,display_name,role,region_codes,district_codes\n"


@pytest.fixture
async def world(client):
    conn = await client.db()
    try:
        return await make_world(conn)
    finally:
        await conn.close()


def users_csv(*rows: str, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + HEADER + "".join(r + "\n" for r in rows)).encode()


async def post_csv(client, token, body: bytes, **params):
    return await client.post(
        "/api/v1/users/import", token, content=body, headers={"content-type": "text/csv"}, params=params
    )


async def user_rows(client) -> dict[str, tuple]:
    conn = await client.db()
    try:
        rows = await conn.fetch("SELECT username, role, region_ids, district_ids, password_hash FROM users")
    finally:
        await conn.close()
    return {
        r["username"]: (r["role"], list(r["region_ids"]), list(r["district_ids"]), r["password_hash"]) for r in rows
    }


async def audit_rows(client, action: str) -> list[dict]:
    conn = await client.db()
    try:
        return [dict(r) for r in await conn.fetch("SELECT data, actor FROM audit_log WHERE action = $1", action)]
    finally:
        await conn.close()


THREE = users_csv(
    "dsp.lahore,DSP Lahore City,inspector,,DA",
    "sdpo.two,SDPO Two,inspector,,DA | DB",
    "rpo.b,RPO Region B,reviewer,RB,",
)


async def test_a_dry_run_lists_who_would_be_created_and_writes_nothing_nor_gives_passwords(client, world):
    admin = await client.login("admin")
    before = await user_rows(client)
    preview = await post_csv(client, admin, THREE, dry_run="true")
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["dry_run"] is True and body["rows"] == 3 and body["unchanged"] == []
    assert [(u["row"], u["username"], u["role"]) for u in body["created"]] == [
        (2, "dsp.lahore", "inspector"),
        (3, "sdpo.two", "inspector"),
        (4, "rpo.b", "reviewer"),
    ]
    assert body["created"][1]["district_codes"] == ["DA", "DB"]
    assert "passwords" not in body and "password" not in preview.text
    assert await user_rows(client) == before
    assert await audit_rows(client, "user.import") == []


async def test_the_import_creates_each_account_with_its_role_and_area_and_each_password_signs_in(client, world):
    admin = await client.login("admin")
    done = await post_csv(client, admin, users_csv("dsp.lahore,DSP Lahore City,inspector,,DA", bom=True))
    assert done.status_code == 200, done.text
    done = await post_csv(client, admin, THREE)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["created"], body["unchanged"], body["rows"]) == (2, 1, 3)
    assert [p["username"] for p in body["passwords"]] == ["sdpo.two", "rpo.b"]
    rows = await user_rows(client)
    assert rows["dsp.lahore"][:3] == ("inspector", [], [world.districts["A"]])
    assert rows["sdpo.two"][:3] == ("inspector", [], [world.districts["A"], world.districts["B"]])
    assert rows["rpo.b"][:3] == ("reviewer", [world.regions["B"]], [])
    for p in body["passwords"]:
        assert len(p["password"]) == 19 and p["password"].count("-") == 3
        signed_in = await client.post("/api/v1/auth/login", json={"username": p["username"], "password": p["password"]})
        assert signed_in.status_code == 200, signed_in.text
        assert p["password"] not in rows[p["username"]][3]
    # A reviewer imported for region B sees region B's inspectors, and not region A's alone.
    rpo = await client.login("rpo.b", next(p["password"] for p in body["passwords"] if p["username"] == "rpo.b"))
    seen = {u["username"] for u in (await client.get("/api/v1/users", rpo)).json()}
    assert "inspector_b" in seen and "sdpo.two" in seen and "inspector_a" not in seen
    # One user.import per import, and each account's user.create as the single-user path writes it.
    imports = await audit_rows(client, "user.import")
    assert [r["data"]["created"] for r in imports] == [1, 2] and imports[1]["actor"] == "admin"
    creates = {r["data"]["username"]: r["data"] for r in await audit_rows(client, "user.create")}
    assert creates["rpo.b"] == {
        "username": "rpo.b",
        "role": "reviewer",
        "region_ids": [str(world.regions["B"])],
        "district_ids": [],
        "via": "import",
    }
    conn = await client.db()
    try:
        trail = await conn.fetchval("SELECT string_agg(data::text, ' ') FROM audit_log")
    finally:
        await conn.close()
    assert not any(p["password"] in trail for p in body["passwords"])


async def test_importing_the_same_file_again_changes_nothing_and_gives_no_passwords(client, world):
    admin = await client.login("admin")
    assert (await post_csv(client, admin, THREE)).status_code == 200
    before = await user_rows(client)
    # The same accounts, one of them written in other letter case (sign-in finds it so too).
    again = await post_csv(
        client,
        admin,
        users_csv(
            "DSP.Lahore,Another name,inspector,,DA",
            "sdpo.two,SDPO Two,inspector,,DB|DA",
            "rpo.b,RPO Region B,reviewer,RB,",
            "reviewer_a,Reviewer A,reviewer,RA,",
        ),
    )
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["created"], body["rows"], body["passwords"]) == (0, 4, [])
    assert await user_rows(client) == before


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ("inspector_a,Inspector A,reviewer,RA,", "row 2.username", "already exists as inspector of district DA"),
        ("inspector_a,Inspector A,inspector,,DB", "row 2.username", "never changes an existing account"),
        ("REVIEWER_A,Reviewer A,inspector,RA,", "row 2.username", "already exists as reviewer"),
    ],
)
async def test_an_existing_account_with_another_role_or_area_is_refused_not_changed(client, world, row, field, words):
    admin = await client.login("admin")
    before = await user_rows(client)
    refused = await post_csv(client, admin, users_csv("new.one,New One,inspector,,DA", row))
    assert refused.status_code == 422, refused.text
    [problem] = [e for e in refused.json()["errors"] if e["field"].startswith("row 3")]
    assert problem["field"] == field.replace("row 2", "row 3") and words in problem["message"]
    assert await user_rows(client) == before


async def test_a_row_that_would_change_an_account_and_a_mistyped_row_are_said_in_one_reply(client, world):
    """The account's row was said only once the mistyped row was mended and the file sent again."""
    admin = await client.login("admin")
    before = await user_rows(client)
    refused = await post_csv(
        client,
        admin,
        users_csv("inspector_a,Inspector A,reviewer,RA,", "new.two,New Two,inspector,,DZ"),
        dry_run="true",
    )
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["row 2.username", "row 3.district_codes"]
    assert refused.json()["detail"].startswith("nothing was imported: 2 problem(s) in 2 row(s)")
    assert await user_rows(client) == before


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ("x,Too short,inspector,,DA", "row 3.username", USERNAME_RULE),
        ("معائنہ.افسر,Urdu name,inspector,,DA", "row 3.username", USERNAME_RULE),
        (".dot,Dot first,inspector,,DA", "row 3.username", USERNAME_RULE),
        ("new.two,,inspector,,DA", "row 3.display_name", "must not be blank"),
        ("new.two,  ,inspector,,DA", "row 3.display_name", "must not be blank"),
        ("new.two,New Two,superuser,,DA", "row 3.role", "'superuser' is not a role"),
        ("new.two,New Two,admin,,", "row 3.role", "admins are added one at a time"),
        ("new.two,New Two,,,DA", "row 3.role", "is missing"),
        ("new.two,New Two,inspector,,DZ", "row 3.district_codes", "no district has the code 'DZ'"),
        ("new.two,New Two,reviewer,RA RQ,", "row 3.region_codes", "no region has the code 'RQ'"),
        ("new.two,New Two,inspector,,", "row 3.region_codes", "a inspector needs at least one region or district"),
        ("New.One,Twice,inspector,,DA", "row 3.username", "the username 'New.One' is also on row 2"),
        ("admin,Admin,reviewer,RA,", "row 3.username", "already exists as admin"),
        ("new.two,New Two", "row 3", "has 2 values but the header names 5 columns"),
    ],
)
async def test_each_problem_is_named_by_row_and_column_and_nothing_is_written(client, world, row, field, words):
    admin = await client.login("admin")
    before = await user_rows(client)
    for dry_run in ("true", "false"):
        refused = await post_csv(client, admin, users_csv("new.one,New One,inspector,,DA", row), dry_run=dry_run)
        assert refused.status_code == 422, refused.text
        errors = refused.json()["errors"]
        assert [e["field"] for e in errors] == [field] and words in errors[0]["message"], errors
    assert await user_rows(client) == before
    assert await audit_rows(client, "user.import") == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "the file is empty"),
        (b"username,display_name\nx,y\n", "the column 'role' is missing"),
        (b"username,display_name,role,scope\n", "the column 'scope' is unknown"),
        (HEADER.encode(), "the file has a header but no users"),
        ("username,display_name,role,district_codes\nn.ur,نام,inspector,DA\n".encode("utf-16"), "CSV UTF-8"),
    ],
)
async def test_a_file_that_is_not_a_user_list_is_refused_as_a_whole(client, world, body, words):
    admin = await client.login("admin")
    refused = await post_csv(client, admin, body)
    assert refused.status_code == 422, refused.text
    assert words in str(refused.json()["errors"])


async def test_a_file_too_long_or_too_large_is_refused_with_413(client, world, monkeypatch):
    admin = await client.login("admin")
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    rows = [f"new.{n},New {n},inspector,,DA" for n in range(4)]
    too_long = await post_csv(client, admin, users_csv(*rows[:2], "bad name,x,x,,", *rows[2:]))
    assert too_long.status_code == 413, too_long.text
    assert "at most 3 can be imported at once" in too_long.json()["detail"]
    assert (await post_csv(client, admin, users_csv(*rows[:3]), dry_run="true")).status_code == 200
    too_large = await post_csv(client, admin, users_csv(*rows[:1]) + b" " * importer.MAX_BYTES)
    assert too_large.status_code == 413, too_large.text
    assert "Request body too large" in too_large.text
    assert "larger than 1 MiB" in too_large.json()["detail"]
    assert not {f"new.{n}" for n in range(4)} & set(await user_rows(client))


@pytest.mark.parametrize("who", ["reviewer_a", "inspector_a"])
async def test_only_an_admin_may_import_users(client, world, who):
    token = await client.login(who)
    for dry_run in ("true", "false"):
        refused = await post_csv(client, token, THREE, dry_run=dry_run)
        assert refused.status_code == 403, refused.text
    assert "rpo.b" not in await user_rows(client)


async def test_the_import_takes_csv_only(client, world):
    admin = await client.login("admin")
    refused = await client.post("/api/v1/users/import", admin, json={"username": "x"})
    assert refused.status_code == 415, refused.text


async def test_a_username_the_api_refuses_is_refused_in_words(client, world):
    admin = await client.login("admin")
    body = {"display_name": "Urdu", "password": "long-enough-1", "role": "inspector"}
    body["district_ids"] = [str(world.districts["A"])]
    for name in ("معائنہ", "ab", "-dash", "a b", "x" * 65):
        refused = await client.post("/api/v1/users", admin, json={**body, "username": name})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"] == [{"field": "username", "message": USERNAME_RULE}]
        assert "regex" not in refused.text
    # With a scope problem too: both are said in one reply.
    both = await client.post("/api/v1/users", admin, json={**body, "username": "ab", "district_ids": []})
    assert [e["field"] for e in both.json()["errors"]] == ["username", "region_ids"]
    assert (await client.post("/api/v1/users", admin, json={**body, "username": "a.b@c-d_e"})).status_code == 201


async def test_the_users_list_filters_by_area_matches_codes_and_pages(client, world):
    admin = await client.login("admin")
    assert (await post_csv(client, admin, THREE)).status_code == 200

    async def names(**query) -> list[str]:
        found = await client.get("/api/v1/users", admin, params=query)
        assert found.status_code == 200, found.text
        return [u["username"] for u in found.json()]

    # Region B: its reviewers, and whoever has one of its districts.
    assert await names(region_id=str(world.regions["B"])) == ["inspector_b", "reviewer_b", "rpo.b", "sdpo.two"]
    # District A: who has it, and who has its region.
    assert await names(district_id=str(world.districts["A"])) == ["dsp.lahore", "inspector_a", "reviewer_a", "sdpo.two"]
    assert await names(district_id=str(world.districts["B"]), role="reviewer") == ["reviewer_b", "rpo.b"]
    # A district's or region's code finds the users of it.
    assert await names(q="DA") == ["dsp.lahore", "inspector_a", "sdpo.two"]
    assert await names(q="rb") == ["reviewer_b", "rpo.b"]
    every = await names()
    assert len(every) == 8
    assert await names(limit=3) == every[:3]
    assert await names(limit=3, offset=3) == every[3:6]
    assert (await client.get("/api/v1/users", admin, params={"limit": 0})).status_code == 422


def _cli(args: list[str], database_url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "S3_ENDPOINT"}}
    env.update({"LOG_LEVEL": "WARNING", "DATABASE_URL": database_url})
    return subprocess.run(
        [sys.executable, "-m", "server", "import-users", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_command_writes_the_passwords_to_a_new_file_only_its_owner_reads(
    client, world, database_url, tmp_path
):
    source = tmp_path / "users.csv"
    source.write_bytes(THREE)
    out = tmp_path / "passwords.csv"

    checked = _cli([str(source), "--dry-run"], database_url)
    assert checked.returncode == 0, checked.stderr
    assert "3 would be created" in checked.stdout and not out.exists()
    assert "rpo.b" not in await user_rows(client)
    # A real import needs somewhere to put the passwords, other than the terminal.
    unsaid = _cli([str(source)], database_url)
    assert unsaid.returncode == 1 and "--passwords-out" in unsaid.stderr
    assert "rpo.b" not in await user_rows(client)

    done = _cli([str(source), "--passwords-out", str(out)], database_url)
    assert done.returncode == 0, done.stderr
    assert "3 created" in done.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # As the app's "Download passwords" writes it: a byte-order mark, so Excel shows Urdu names as written.
    assert out.read_bytes().startswith("\ufeff".encode())
    sheet = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["username"] for r in sheet] == ["dsp.lahore", "sdpo.two", "rpo.b"]
    for r in sheet:
        assert r["password"] not in done.stdout + done.stderr
        await client.login(r["username"], r["password"])
    [entry] = await audit_rows(client, "user.import")
    assert entry["data"]["source"] == "command line: users.csv" and entry["actor"] is None

    # An existing file (the last import's passwords) is never overwritten, and nothing is imported.
    source.write_bytes(users_csv("late.one,Late One,inspector,,DB"))
    kept = _cli([str(source), "--passwords-out", str(out)], database_url)
    assert kept.returncode == 1 and "nothing was imported" in kept.stderr
    assert "late.one" not in await user_rows(client)
    # A file with problems: each said by row and column, and no passwords file is left behind.
    source.write_bytes(users_csv("late.one,Late One,inspector,,DQ"))
    bad = tmp_path / "bad-passwords.csv"
    refused = _cli([str(source), "--passwords-out", str(bad)], database_url)
    assert refused.returncode == 1
    assert "row 2.district_codes: no district has the code 'DQ'" in refused.stderr
    assert not bad.exists()


def test_the_passwords_sheet_keeps_a_name_that_starts_a_formula_as_text():
    """A display name `=HYPERLINK(...)` was written as a live formula into the sheet an admin opens."""
    out = io.StringIO(newline="")
    importer.write_passwords(
        out, [NewPassword(username="dsp.x", display_name='=HYPERLINK("http://evil","x")', password="a-b")]
    )
    [header, row] = list(csv.reader(io.StringIO(out.getvalue().removeprefix("\ufeff"))))
    assert header == ["username", "display_name", "password"]
    assert row == ["dsp.x", '\'=HYPERLINK("http://evil","x")', "a-b"]
