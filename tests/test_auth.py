"""Sign-in, sessions, throttling, deactivation and the users API."""

from __future__ import annotations

import asyncio

import pytest

from tests.factories import PASSWORD, make_world


@pytest.fixture
async def world(client):
    conn = await client.db()
    try:
        yield await make_world(conn)
    finally:
        await conn.close()


async def test_login_returns_a_token_and_the_user_with_scope(client, world):
    response = await client.post("/api/v1/auth/login", json={"username": "reviewer_a", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert len(body["token"]) >= 40
    assert body["user"]["username"] == "reviewer_a" and body["user"]["role"] == "reviewer"
    assert body["user"]["region_ids"] == [str(world.regions["A"])]
    me = await client.get("/api/v1/me", body["token"])
    assert me.status_code == 200 and me.json()["id"] == str(world.users["reviewer_a"])


async def test_only_a_hash_of_the_token_is_stored(client, world):
    token = await client.login("admin")
    conn = await client.db()
    try:
        stored = await conn.fetchval("SELECT count(*) FROM sessions WHERE token_hash = $1", token.encode())
        hashed = await conn.fetchval(
            "SELECT count(*) FROM sessions WHERE token_hash = sha256($1::bytea)", token.encode()
        )
    finally:
        await conn.close()
    assert stored == 0 and hashed == 1


async def test_unknown_user_and_wrong_password_get_identical_answers(client, world):
    unknown = await client.post("/api/v1/auth/login", json={"username": "nobody", "password": "whatever-1"})
    wrong = await client.post("/api/v1/auth/login", json={"username": "admin", "password": "whatever-1"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


async def test_logout_revokes_the_session_at_once(client, world):
    token = await client.login("inspector_a")
    assert (await client.post("/api/v1/auth/logout", token)).status_code == 204
    assert (await client.get("/api/v1/me", token)).status_code == 401


async def test_an_expired_session_is_refused(client, world):
    token = await client.login("inspector_a")
    conn = await client.db()
    try:
        await conn.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
    finally:
        await conn.close()
    response = await client.get("/api/v1/me", token)
    assert response.status_code == 401
    assert response.json()["title"] == "Not signed in"


async def test_missing_or_malformed_token_is_401(client, world):
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.get("/api/v1/me", headers={"Authorization": "Basic abc"})).status_code == 401
    assert (await client.get("/api/v1/me", "not-a-real-token")).status_code == 401


async def test_repeated_failures_for_a_user_are_throttled_even_with_the_right_password(client, world):
    for _ in range(5):
        response = await client.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong-pass"})
        assert response.status_code == 401
    locked = await client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    # Another user from the same address is not locked out by these five failures.
    assert (
        await client.post("/api/v1/auth/login", json={"username": "reviewer_a", "password": PASSWORD})
    ).status_code == 200


async def test_throttling_applies_to_unknown_usernames_too(client, world):
    for _ in range(5):
        await client.post("/api/v1/auth/login", json={"username": "ghost", "password": "wrong-pass"})
    assert (await client.post("/api/v1/auth/login", json={"username": "ghost", "password": "x"})).status_code == 429


async def test_deactivating_a_user_revokes_every_session_and_blocks_login(client, world):
    admin = await client.login("admin")
    phone = await client.login("inspector_a")
    laptop = await client.login("inspector_a")
    response = await client.patch(f"/api/v1/users/{world.users['inspector_a']}", admin, json={"active": False})
    assert response.status_code == 200 and response.json()["active"] is False
    assert (await client.get("/api/v1/me", phone)).status_code == 401
    assert (await client.get("/api/v1/me", laptop)).status_code == 401
    again = await client.post("/api/v1/auth/login", json={"username": "inspector_a", "password": PASSWORD})
    assert again.status_code == 401


async def test_password_reset_revokes_sessions_and_the_new_password_works(client, world):
    admin = await client.login("admin")
    old = await client.login("reviewer_b")
    response = await client.patch(
        f"/api/v1/users/{world.users['reviewer_b']}", admin, json={"password": "brand-new-pass-1"}
    )
    assert response.status_code == 200
    assert (await client.get("/api/v1/me", old)).status_code == 401
    assert (
        await client.post("/api/v1/auth/login", json={"username": "reviewer_b", "password": "brand-new-pass-1"})
    ).status_code == 200


async def test_admin_creates_a_user_and_usernames_are_unique_ignoring_case(client, world):
    admin = await client.login("admin")
    body = {
        "username": "Inspector.New",
        "display_name": "DSP New",
        "password": "long-enough-1",
        "role": "inspector",
        "district_ids": [str(world.districts["A"])],
    }
    created = await client.post("/api/v1/users", admin, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["district_ids"] == [str(world.districts["A"])]
    duplicate = await client.post("/api/v1/users", admin, json={**body, "username": "inspector.new"})
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["field"] == "username"
    assert (
        await client.post("/api/v1/auth/login", json={"username": "inspector.new", "password": "long-enough-1"})
    ).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "superuser"}, "role"),
        ({"password": "short"}, "password"),
        ({"username": "a b"}, "username"),
        ({"region_ids": ["not-a-uuid"]}, "region_ids.0"),
        ({"district_ids": []}, "region_ids"),
        ({"district_ids": ["00000000-0000-0000-0000-000000000001"]}, "district_ids"),
        ({"is_admin": True}, "is_admin"),
    ],
)
async def test_invalid_user_bodies_name_the_field_and_write_nothing(client, world, body, field):
    admin = await client.login("admin")
    base = {
        "username": "someone",
        "display_name": "Someone",
        "password": "long-enough-1",
        "role": "inspector",
        "district_ids": [str(world.districts["A"])],
    }
    response = await client.post("/api/v1/users", admin, json={**base, **body})
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    conn = await client.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM users WHERE username = 'someone'") == 0
    finally:
        await conn.close()


USERS_ENDPOINTS = [
    ("GET", "/api/v1/users", None),
    ("POST", "/api/v1/users", {"username": "zed", "display_name": "Z", "password": "long-enough-1", "role": "admin"}),
    ("GET", "/api/v1/users/{id}", None),
    ("PATCH", "/api/v1/users/{id}", {"display_name": "Renamed"}),
    ("GET", "/api/v1/audit", None),
    ("GET", "/api/v1/audit/verify", None),
]


@pytest.mark.parametrize(("method", "path", "body"), USERS_ENDPOINTS)
@pytest.mark.parametrize(("who", "expected"), [(None, 401), ("inspector_a", 403), ("reviewer_a", 403), ("admin", 200)])
async def test_role_matrix_for_users_and_audit(client, world, method, path, body, who, expected):
    token = await client.login(who) if who else None
    response = await client.request(method, path.format(id=world.users["inspector_b"]), token, json=body)
    if expected == 200:
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == expected
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_concurrent_logins_all_succeed(client, world):
    tokens = await asyncio.gather(*[client.login("reviewer_a") for _ in range(5)])
    assert len(set(tokens)) == 5
