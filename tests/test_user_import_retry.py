"""The user import sent again with its import id (Idempotency-Key) after its reply was lost: nothing is
made twice, the same accounts come back with fresh first passwords where the first is still unused,
and a key used for another file, by another admin or too long ago is refused by name."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from server.auth.rules import verify_password
from tests.conftest import app_in_this_loop
from tests.factories import make_world
from tests.test_user_import import post_csv, users_csv

TWO = users_csv("dsp.lahore,DSP Lahore City,inspector,,DA", "rpo.b,RPO Region B,reviewer,RB,")
OTHER = users_csv("dsp.lahore,DSP Lahore City,inspector,,DA", "rpo.c,RPO Region C,reviewer,RB,")


@pytest.fixture
async def world(client):
    conn = await client.db()
    try:
        return await make_world(conn)
    finally:
        await conn.close()


async def send(client, token, body: bytes, key: object):
    return await post_csv_keyed(client, token, body, str(key))


async def post_csv_keyed(client, token, body: bytes, key: str, **params):
    return await client.post(
        "/api/v1/users/import",
        token,
        content=body,
        headers={"content-type": "text/csv", "Idempotency-Key": key},
        params=params,
    )


async def signs_in(client, username: str, password: str) -> bool:
    answer = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


async def user_count(client) -> int:
    return (await client.fetch("SELECT count(*) AS n FROM users"))[0]["n"]


def by_name(body: dict) -> dict[str, dict]:
    return {p["username"]: p for p in body["passwords"]}


async def test_a_retry_after_the_reply_was_lost_gives_the_same_accounts_with_fresh_passwords_that_sign_in(
    client, world
):
    admin = await client.login("admin")
    key = uuid.uuid4()
    first = await send(client, admin, TWO, key)
    assert first.status_code == 200, first.text
    assert first.json()["replayed"] is False
    count = await user_count(client)
    # The first reply never reached the admin: the same file is sent again with the same key.
    again = await send(client, admin, TWO, key)
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["created"], body["unchanged"], body["rows"], body["replayed"]) == (2, 0, 2, True)
    assert [(p["username"], p["display_name"], p["in_use"]) for p in body["passwords"]] == [
        ("dsp.lahore", "DSP Lahore City", False),
        ("rpo.b", "RPO Region B", False),
    ]
    assert await user_count(client) == count
    lost = by_name(first.json())
    for p in body["passwords"]:
        assert p["password"] != lost[p["username"]]["password"]
        assert not await signs_in(client, p["username"], lost[p["username"]]["password"])
        assert await signs_in(client, p["username"], p["password"])
    # Still to be changed by its owner: an admin knew it.
    rows = await client.fetch("SELECT password_must_change FROM users WHERE username IN ('dsp.lahore', 'rpo.b')")
    assert [r["password_must_change"] for r in rows] == [True, True]
    # Audited per account and as a whole, without any password.
    trail = await client.fetch("SELECT entity_id, data FROM audit_log WHERE action = 'user.import_replay' ORDER BY seq")
    assert len(trail) == 3 and trail[-1]["entity_id"] is None
    assert all(p["password"] not in str(r["data"]) for r in trail for p in body["passwords"])
    assert '"reissued": 2' in str(trail[-1]["data"]).replace("'", '"')


async def test_an_account_used_meanwhile_is_left_alone_by_every_later_retry(client, world):
    admin = await client.login("admin")
    key = uuid.uuid4()
    three = users_csv(
        "dsp.lahore,DSP Lahore City,inspector,,DA", "rpo.b,RPO Region B,reviewer,RB,", "sdpo.x,SDPO X,inspector,,DB"
    )
    first = by_name((await send(client, admin, three, key)).json())
    # dsp.lahore signs in with the first password (the admin saw the reply after all, on another tab);
    # an admin resets rpo.b's; sdpo.x is untouched.
    assert await signs_in(client, "dsp.lahore", first["dsp.lahore"]["password"])
    rpo_b = (await client.fetch("SELECT id FROM users WHERE username = 'rpo.b'"))[0]["id"]
    reset = await client.patch(f"/api/v1/users/{rpo_b}", admin, json={"password": "chosen-by-admin-1"})
    assert reset.status_code == 200, reset.text
    for _ in range(2):
        body = (await send(client, admin, three, key)).json()
        got = by_name(body)
        assert (got["dsp.lahore"]["in_use"], got["dsp.lahore"]["password"]) == (True, None)
        assert (got["rpo.b"]["in_use"], got["rpo.b"]["password"]) == (True, None)
        assert got["sdpo.x"]["in_use"] is False
    assert await signs_in(client, "dsp.lahore", first["dsp.lahore"]["password"])
    assert await signs_in(client, "rpo.b", "chosen-by-admin-1")
    assert await signs_in(client, "sdpo.x", got["sdpo.x"]["password"])
    # Once signed in with, sdpo.x's password is no longer handed out again either.
    assert by_name((await send(client, admin, three, key)).json())["sdpo.x"] == {
        "username": "sdpo.x",
        "display_name": "SDPO X",
        "password": None,
        "in_use": True,
    }


async def test_a_deactivated_account_is_not_given_a_password_again(client, world):
    admin = await client.login("admin")
    key = uuid.uuid4()
    await send(client, admin, TWO, key)
    rpo_b = (await client.fetch("SELECT id FROM users WHERE username = 'rpo.b'"))[0]["id"]
    assert (await client.patch(f"/api/v1/users/{rpo_b}", admin, json={"active": False})).status_code == 200
    got = by_name((await send(client, admin, TWO, key)).json())
    assert (got["rpo.b"]["in_use"], got["dsp.lahore"]["in_use"]) == (True, False)


async def expire(client, key) -> None:
    conn = await client.db()
    try:
        await conn.execute("UPDATE user_imports SET created_at = now() - interval '25 hours' WHERE id = $1", key)
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("case", "words"),
    [("other file", "another file"), ("other admin", "another admin"), ("expired", "expired")],
)
async def test_a_key_with_another_file_another_admin_or_too_old_is_refused_by_name(client, world, case, words):
    admin = await client.login("admin")
    key = uuid.uuid4()
    first = await send(client, admin, TWO, key)
    assert first.status_code == 200, first.text
    hashes = await client.fetch("SELECT username, password_hash FROM users ORDER BY username")
    body, who = TWO, admin
    if case == "other file":
        body = OTHER
    elif case == "other admin":
        made = await client.post(
            "/api/v1/users",
            admin,
            json={"username": "admin.two", "display_name": "Admin Two", "password": "admin-two-pass", "role": "admin"},
        )
        assert made.status_code == 201, made.text
        who = await client.login("admin.two", "admin-two-pass")
        hashes = await client.fetch("SELECT username, password_hash FROM users ORDER BY username")
    else:
        await expire(client, key)
    refused = await send(client, who, body, key)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    [error] = refused.json()["errors"]
    assert error["field"] == "Idempotency-Key" and words in error["message"]
    assert await client.fetch("SELECT username, password_hash FROM users ORDER BY username") == hashes
    assert await client.fetch("SELECT 1 FROM audit_log WHERE action = 'user.import_replay'") == []


async def test_a_key_that_is_not_a_uuid_is_refused_by_name_and_a_dry_run_records_nothing(client, world):
    admin = await client.login("admin")
    refused = await post_csv_keyed(client, admin, TWO, "not-a-uuid")
    assert refused.status_code in (400, 422), refused.text
    assert "Idempotency-Key" in refused.text
    key = uuid.uuid4()
    preview = await post_csv_keyed(client, admin, TWO, str(key), dry_run="true")
    assert preview.status_code == 200 and preview.json()["dry_run"] is True
    assert await client.fetch("SELECT id FROM user_imports") == []
    done = await send(client, admin, TWO, key)
    assert done.json()["replayed"] is False and done.json()["created"] == 2
    # Without a key, as before: the same file again is "unchanged", nothing recorded.
    plain = await post_csv(client, admin, users_csv("sdpo.y,SDPO Y,inspector,,DA"))
    assert plain.status_code == 200 and plain.json()["created"] == 1
    assert len(await client.fetch("SELECT id FROM user_imports")) == 1


async def test_ten_sends_of_one_key_at_once_make_each_account_once(settings, executor, world):
    key = str(uuid.uuid4())
    async with app_in_this_loop(settings, executor) as api:
        admin = await api.login("admin")
        replies = await asyncio.gather(*(post_csv_keyed(api, admin, TWO, key) for _ in range(10)))
        assert [r.status_code for r in replies] == [200] * 10, [r.text for r in replies]
        bodies = [r.json() for r in replies]
        assert sum(not b["replayed"] for b in bodies) == 1
        assert {tuple(p["username"] for p in b["passwords"]) for b in bodies} == {("dsp.lahore", "rpo.b")}
        made = await api.fetch(
            "SELECT username, password_hash FROM users WHERE username IN ('dsp.lahore', 'rpo.b') ORDER BY username"
        )
        assert [r["username"] for r in made] == ["dsp.lahore", "rpo.b"]
        assert (await api.fetch("SELECT count(*) AS n FROM user_imports"))[0]["n"] == 1
        # The reply of the send that finished last holds the passwords now valid: one per account.
        for row in made:
            given = [by_name(b)[row["username"]]["password"] for b in bodies]
            assert sum(verify_password(row["password_hash"], p) for p in given if p) == 1
