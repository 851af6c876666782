"""A signed-in user changes their own password (POST /api/v1/auth/password): the current one is proven
and counted as a sign-in guess is, the new one follows the rules of an admin-set one, every other
session ends, and the change is audited without the password."""

from __future__ import annotations

import json

import pytest

from server.cli import _demo_sign_ins
from tests.factories import PASSWORD, make_world

NEW = "a-brand-new-passphrase"
URL = "/api/v1/auth/password"


@pytest.fixture
async def world(client):
    conn = await client.db()
    try:
        yield await make_world(conn)
    finally:
        await conn.close()


async def sign_in(client, username: str, password: str):
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password})


@pytest.mark.parametrize("username", ["inspector_a", "reviewer_a", "admin"])
async def test_a_user_changes_their_own_password_and_only_the_session_they_used_stays(client, world, username):
    here = await client.login(username)
    elsewhere = await client.login(username)
    known = await client.fetch("SELECT 1 FROM known_devices WHERE user_id = $1", world.users[username])
    assert known, "a sign-in makes its device known"

    response = await client.post(URL, here, json={"current_password": PASSWORD, "new_password": NEW})

    assert response.status_code == 204, response.text
    assert (await client.get("/api/v1/me", here)).status_code == 200
    assert (await client.get("/api/v1/me", elsewhere)).status_code == 401
    assert (await sign_in(client, username, PASSWORD)).status_code == 401
    # Devices made known with the old password are strangers again, as after an admin's reset.
    assert await client.fetch("SELECT 1 FROM known_devices WHERE user_id = $1", world.users[username]) == []
    assert (await sign_in(client, username, NEW)).status_code == 200


async def test_the_change_is_audited_as_the_users_own_without_the_password_and_the_demo_banner_sees_it(client, world):
    conn = await client.db()
    try:
        assert await _demo_sign_ins(conn, ["inspector_a"]) == {"inspector_a"}
    finally:
        await conn.close()
    token = await client.login("inspector_a")
    response = await client.post(URL, token, json={"current_password": PASSWORD, "new_password": NEW})
    assert response.status_code == 204, response.text

    [row] = await client.fetch(
        """SELECT actor_id, data FROM audit_log
            WHERE action = 'user.update' AND entity = 'user' AND entity_id = $1""",
        str(world.users["inspector_a"]),
    )
    assert row["actor_id"] == world.users["inspector_a"]
    data = row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])
    assert data["changes"] == {"password": "changed"}
    assert data["sessions_revoked"] == 0
    written = json.dumps(data)
    assert PASSWORD not in written and NEW not in written and "$argon2" not in written
    conn = await client.db()
    try:
        # The banner of `muaina serve --demo` no longer prints a password that does not work.
        assert await _demo_sign_ins(conn, ["inspector_a"]) == set()
    finally:
        await conn.close()


async def test_a_wrong_current_password_is_refused_naming_it_and_counted_on_the_session(client, world):
    token = await client.login("reviewer_a")
    for _ in range(5):
        wrong = await client.post(URL, token, json={"current_password": "not-my-password", "new_password": NEW})
        assert wrong.status_code == 422, wrong.text
        assert [e["field"] for e in wrong.json()["errors"]] == ["current_password"]
        # Refused, not signed out: the phone keeps its session and its work.
        assert (await client.get("/api/v1/me", token)).status_code == 200
    # Five wrong guesses lock the change in this session for the lockout time, as a sign-in's name...
    locked = await client.post(URL, token, json={"current_password": PASSWORD, "new_password": NEW})
    assert locked.status_code == 429, locked.text
    assert int(locked.headers["retry-after"]) == 900  # LOGIN_LOCKOUT_SECONDS, not the session's life
    # ...even after the nightly pruning of sign-in counters (it keeps a locked one)...
    from server.auth import queries as auth_queries

    conn = await client.db()
    try:
        await auth_queries.prune_sign_ins(conn, 30, 900)
    finally:
        await conn.close()
    assert (await client.post(URL, token, json={"current_password": PASSWORD, "new_password": NEW})).status_code == 429
    # ...but not the owner's sign-ins: who knows the password signs in again and changes it there.
    again = await sign_in(client, "reviewer_a", PASSWORD)
    assert again.status_code == 200, again.text
    fresh = again.json()["token"]
    assert (await client.post(URL, fresh, json={"current_password": PASSWORD, "new_password": NEW})).status_code == 204
    actions = [
        r["action"]
        for r in await client.fetch(
            "SELECT action FROM audit_log WHERE entity_id = $1 AND action LIKE 'auth.password%' ORDER BY seq",
            str(world.users["reviewer_a"]),
        )
    ]
    assert actions == ["auth.password_change_failed"] * 5 + ["auth.password_change_throttled"] * 2


async def test_guesses_at_the_name_elsewhere_do_not_stop_its_owner_changing_the_password(client, world):
    token = await client.login("inspector_a")
    for _ in range(5):  # someone guessing at the name's sign-in locks it from this address
        assert (await sign_in(client, "inspector_a", "wrong-pass")).status_code == 401
    assert (await sign_in(client, "inspector_a", PASSWORD)).status_code == 429
    done = await client.post(URL, token, json={"current_password": PASSWORD, "new_password": NEW})
    assert done.status_code == 204, done.text


async def test_a_right_current_password_gives_back_the_failures_counted_before_it(client, world):
    token = await client.login("inspector_a")
    for _ in range(4):
        wrong = await client.post(URL, token, json={"current_password": "not-my-password", "new_password": NEW})
        assert wrong.status_code == 422
    done = await client.post(URL, token, json={"current_password": PASSWORD, "new_password": NEW})
    assert done.status_code == 204, done.text
    counted = await client.fetch("SELECT key, failures FROM login_failures WHERE key NOT LIKE 'ip:%'")
    assert counted == []
    for _ in range(4):  # a fresh budget: four more slips do not lock the name
        assert (await sign_in(client, "inspector_a", "wrong-pass")).status_code == 401
    assert (await sign_in(client, "inspector_a", NEW)).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"current_password": PASSWORD, "new_password": "short"}, "new_password"),
        ({"current_password": PASSWORD, "new_password": "x" * 257}, "new_password"),
        ({"current_password": PASSWORD, "new_password": PASSWORD}, "new_password"),
        ({"new_password": NEW}, "current_password"),
        ({"current_password": "", "new_password": NEW}, "current_password"),
        ({"current_password": PASSWORD, "new_password": NEW, "user_id": "someone"}, "user_id"),
    ],
    ids=["too-short", "too-long", "same-as-current", "no-current", "blank-current", "unknown-field"],
)
async def test_a_weak_same_or_malformed_change_is_refused_naming_the_field_and_changes_nothing(
    client, world, body, field
):
    token = await client.login("inspector_a")
    before = await client.fetch("SELECT password_hash FROM users WHERE id = $1", world.users["inspector_a"])
    response = await client.post(URL, token, json=body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await client.fetch("SELECT password_hash FROM users WHERE id = $1", world.users["inspector_a"]) == before
    assert await client.fetch("SELECT 1 FROM audit_log WHERE action = 'user.update'") == []
    # Nothing was checked, so nothing was counted against the name.
    assert await client.fetch("SELECT 1 FROM login_failures WHERE key LIKE 'p:%' AND failures > 0") == []


async def test_no_session_or_an_ended_one_is_401(client, world):
    body = {"current_password": PASSWORD, "new_password": NEW}
    assert (await client.post(URL, json=body)).status_code == 401
    token = await client.login("inspector_a")
    assert (await client.post("/api/v1/auth/logout", token)).status_code == 204
    assert (await client.post(URL, token, json=body)).status_code == 401
    assert (await sign_in(client, "inspector_a", PASSWORD)).status_code == 200


async def test_a_reset_saved_while_the_current_password_was_checked_is_not_undone(client, world, monkeypatch):
    """An admin's reset that lands while argon2 checks the old password wins: the change is refused
    (409) rather than setting a password over the admin's."""
    from server.auth import queries, routes
    from server.auth.rules import hash_password

    token = await client.login("inspector_a")
    real_hash = queries.password_hash

    async def reset_during_check(conn, user_id):
        found = await real_hash(conn, user_id)
        other = await client.db()
        try:
            await other.execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1", user_id, hash_password("admins-choice-1")
            )
        finally:
            await other.close()
        return found

    monkeypatch.setattr(routes.queries, "password_hash", reset_during_check)
    response = await client.post(URL, token, json={"current_password": PASSWORD, "new_password": NEW})
    assert response.status_code == 409, response.text
    monkeypatch.undo()
    assert (await sign_in(client, "inspector_a", NEW)).status_code == 401
    assert (await sign_in(client, "inspector_a", "admins-choice-1")).status_code == 200
    assert await client.fetch("SELECT 1 FROM audit_log WHERE action = 'user.update'") == []
