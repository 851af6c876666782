"""Sign-in, sessions, throttling, deactivation and the users API."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
from datetime import timedelta

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from server import db
from server.app import create_app
from tests.conftest import ROOT, app_in_this_loop
from tests.factories import PASSWORD, ApiClient, make_world


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


async def test_an_account_has_one_throttle_however_its_name_is_spelt(client, world):
    """PostgreSQL lowers U+0130 (İ) to "i"; Python does not. Another spelling of a locked name was a new
    budget of guesses that still signed in to the same account."""
    for _ in range(5):
        await client.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong-pass"})
    assert (
        await client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    ).status_code == 429
    for spelling in ("adm\u0130n", "ADM\u0130N", "\u0430dmin"):  # dotted capital I; Cyrillic a
        response = await client.post("/api/v1/auth/login", json={"username": spelling, "password": PASSWORD})
        assert response.status_code == 401, (spelling, response.text)


async def test_a_name_locked_from_one_address_still_signs_in_from_another(client, world, monkeypatch):
    """Five wrong passwords from one place lock the name there, not everywhere; guesses spread over
    many places still meet the name's wider limit (3 x LOGIN_MAX_FAILURES)."""
    from server.auth import routes

    monkeypatch.setattr(routes, "client_ip", lambda request: request.headers.get("x-test-address"))

    async def attempt(password: str, address: str) -> int:
        body = {"username": "reviewer_a", "password": password}
        return (await client.post("/api/v1/auth/login", json=body, headers={"x-test-address": address})).status_code

    assert [await attempt("wrong-pass", "10.0.0.1") for _ in range(5)] == [401] * 5
    assert await attempt(PASSWORD, "10.0.0.1") == 429
    assert await attempt(PASSWORD, "10.0.0.2") == 200  # and a success clears the name's count
    for address in ("10.0.0.3", "10.0.0.4", "10.0.0.5"):
        assert [await attempt("wrong-pass", address) for _ in range(5)] == [401] * 5
    assert await attempt(PASSWORD, "10.0.0.6") == 429


async def test_guesses_from_many_addresses_cannot_lock_an_account_out_of_its_own_device(client, world, monkeypatch):
    """A successful sign-in gives the device a token; sign-ins presenting it for that name are counted
    on their own, so a name locked everywhere else still signs in there. The token is no credential:
    it is worth nothing for another name, made up, or with a wrong password past its own limit."""
    from server.auth import routes

    monkeypatch.setattr(routes, "client_ip", lambda request: request.headers.get("x-test-address"))

    async def attempt(password: str, address: str, device: str | None = None, name: str = "reviewer_a"):
        body = {"username": name, "password": password} | ({"device": device} if device else {})
        return await client.post("/api/v1/auth/login", json=body, headers={"x-test-address": address})

    first = await attempt(PASSWORD, "10.1.0.1")
    assert first.status_code == 200, first.text
    phone = first.json()["device"]
    assert isinstance(phone, str) and len(phone) >= 40
    # Someone guesses at the name from three places: it is locked for everyone else.
    for address in ("10.1.0.2", "10.1.0.3", "10.1.0.4"):
        assert [(await attempt("wrong-pass", address)).status_code for _ in range(5)] == [401] * 5
    assert (await attempt(PASSWORD, "10.1.0.5")).status_code == 429
    assert (await attempt(PASSWORD, "10.1.0.5", device="made-up-token")).status_code == 429
    other = (await attempt(PASSWORD, "10.1.0.6", name="reviewer_b")).json()["device"]
    assert (await attempt(PASSWORD, "10.1.0.6", device=other)).status_code == 429  # another account's device
    # Its owner's phone still signs in, from a new address too, and keeps its token.
    again = await attempt(PASSWORD, "10.1.0.7", device=phone)
    assert again.status_code == 200, again.text
    assert again.json()["device"] == phone
    # Whoever holds the phone gets the same five guesses as anyone, counted for the phone alone.
    assert [(await attempt("wrong-pass", "10.1.0.8", device=phone)).status_code for _ in range(5)] == [401] * 5
    assert (await attempt(PASSWORD, "10.1.0.8", device=phone)).status_code == 429
    conn = await client.db()
    try:
        [stored] = await conn.fetch(
            "SELECT token_hash, expires_at - created_at AS lasts FROM known_devices WHERE user_id = $1",
            world.users["reviewer_a"],
        )
    finally:
        await conn.close()
    assert bytes(stored["token_hash"]) == hashlib.sha256(phone.encode()).digest()  # only its hash is kept
    assert stored["lasts"] >= timedelta(days=89)


async def test_an_account_keeps_its_newest_devices_and_forgets_them_at_a_password_reset(client, world):
    """Each known device has its own budget of guesses, so one who once knew the password must not
    collect a budget per sign-in, nor keep them once the password is reset."""

    async def sign_in(device: str | None = None, password: str = PASSWORD) -> str:
        body = {"username": "reviewer_a", "password": password} | ({"device": device} if device else {})
        response = await client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 200, response.text
        return response.json()["device"]

    async def known() -> set[bytes]:
        conn = await client.db()
        try:
            rows = await conn.fetch(
                "SELECT token_hash FROM known_devices WHERE user_id = $1", world.users["reviewer_a"]
            )
        finally:
            await conn.close()
        return {bytes(r[0]) for r in rows}

    tokens = [await sign_in() for _ in range(7)]
    assert len(set(tokens)) == 7
    assert await known() == {hashlib.sha256(t.encode()).digest() for t in tokens[-5:]}
    assert await sign_in(tokens[0]) != tokens[0]  # the oldest was forgotten: a new one is given
    assert await sign_in(tokens[-1]) == tokens[-1]

    admin = await client.login("admin")
    reset = await client.patch(
        f"/api/v1/users/{world.users['reviewer_a']}", admin, json={"password": "a-new-long-passphrase"}
    )
    assert reset.status_code == 200, reset.text
    assert await known() == set()
    assert await sign_in(tokens[-1], password="a-new-long-passphrase") != tokens[-1]


async def test_sign_in_takes_json_only_so_no_other_web_site_can_spend_its_budget(client, world):
    """A text/plain POST is one a browser sends from any site without asking; JSON needs consent (CORS)."""
    body = b'{"username": "admin", "password": "wrong-pass"}'
    for label in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": label} if label else {}
        for _ in range(6):
            response = await client.post("/api/v1/auth/login", content=body, headers=headers)
            assert response.status_code == 415, response.text
    conn = await client.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM login_failures") == 0
    finally:
        await conn.close()
    assert (
        await client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    ).status_code == 200


async def test_deactivating_a_user_revokes_every_session_and_blocks_login(client, world):
    admin = await client.login("admin")
    phone = await client.login("inspector_a")
    laptop = await client.login("inspector_a")
    response = await client.patch(f"/api/v1/users/{world.users['inspector_a']}", admin, json={"active": False})
    assert response.status_code == 200 and response.json()["active"] is False
    assert (await client.get("/api/v1/me", phone)).status_code == 401
    assert (await client.get("/api/v1/me", laptop)).status_code == 401
    again = await client.post("/api/v1/auth/login", json={"username": "inspector_a", "password": PASSWORD})
    # Whoever knows the password is told why, so that a phone holding the person's work can say so.
    assert again.status_code == 403 and "switched off" in again.json()["detail"], again.text
    assert "token" not in again.json()
    guessed = await client.post("/api/v1/auth/login", json={"username": "inspector_a", "password": "wrong-pass"})
    assert guessed.status_code == 401  # a guess learns nothing about the account


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


async def test_an_admin_resetting_their_own_password_keeps_this_session_and_ends_the_others(client, world):
    here = await client.login("admin")
    elsewhere = await client.login("admin")
    response = await client.patch(f"/api/v1/users/{world.users['admin']}", here, json={"password": "brand-new-pass-1"})
    assert response.status_code == 200, response.text
    # The admin who just proved who they are goes on working; a session left open elsewhere ends.
    assert (await client.get("/api/v1/me", here)).status_code == 200
    assert (await client.get("/api/v1/me", elsewhere)).status_code == 401
    # A change of their own role or scope is not a password reset: every session ends, this one too.
    other = await client.post(
        "/api/v1/users",
        here,
        json={"username": "admin.two", "display_name": "Admin Two", "password": "long-enough-1", "role": "admin"},
    )
    assert other.status_code == 201, other.text
    demoted = await client.patch(
        f"/api/v1/users/{world.users['admin']}",
        here,
        json={"role": "reviewer", "region_ids": [str(world.regions["A"])]},
    )
    assert demoted.status_code == 200, demoted.text
    assert (await client.get("/api/v1/me", here)).status_code == 401


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
    # Nor one that differs by a newline at its end, which a pattern ending in a bare `$` let in.
    newline = await client.post("/api/v1/users", admin, json={**body, "username": "Inspector.New2\n"})
    assert newline.status_code == 422, newline.text
    assert newline.json()["errors"][0]["field"] == "username"
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
        ({"display_name": "   "}, "display_name"),
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


async def test_a_change_to_a_user_that_changes_nothing_writes_nothing_and_a_blank_name_is_refused(client, world):
    admin = await client.login("admin")
    target = world.users["inspector_a"]
    conn = await client.db()
    try:
        before = await conn.fetchrow("SELECT display_name, updated_at FROM users WHERE id = $1", target)
        audited = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'user.update'")
        for body in ({}, {"display_name": None}):
            same = await client.patch(f"/api/v1/users/{target}", admin, json=body)
            assert same.status_code == 200, same.text
            assert same.json()["display_name"] == before["display_name"]
        blank = await client.patch(f"/api/v1/users/{target}", admin, json={"display_name": " \t "})
        assert blank.status_code == 422, blank.text
        assert blank.json()["errors"] == [{"field": "display_name", "message": "must not be blank"}]
        assert await conn.fetchrow("SELECT display_name, updated_at FROM users WHERE id = $1", target) == before
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'user.update'") == audited
        trimmed = await client.patch(f"/api/v1/users/{target}", admin, json={"display_name": "  SI Ahmed  "})
        assert trimmed.json()["display_name"] == "SI Ahmed"
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
    if (who, method, path) == ("reviewer_a", "GET", "/api/v1/users"):
        expected = 200  # the inspectors serving their area, to assign visits to (tested on its own below)
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


@pytest.fixture
async def parallel(settings, executor):
    """The app driven over ASGI in this event loop (requests sent together run together), on the
    two-region test world."""
    async with app_in_this_loop(settings, executor) as api:
        conn = await api.db()
        try:
            api.world = await make_world(conn)  # type: ignore[attr-defined]
        finally:
            await conn.close()
        yield api


async def test_a_burst_of_simultaneous_guesses_gets_no_more_tries_than_the_limit(parallel):
    # Guesses sent all at once must not each pass the lockout check before any failure is counted:
    # that would give an attacker as many tries as requests in flight instead of five.
    client = parallel
    guesses = await asyncio.gather(
        *[
            client.post("/api/v1/auth/login", json={"username": "admin", "password": f"guess-{i:04d}"})
            for i in range(15)
        ]
    )
    statuses = sorted(r.status_code for r in guesses)
    assert statuses.count(401) <= 5 and set(statuses) <= {401, 429}, statuses
    locked = await client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert locked.status_code == 429


async def live_sessions(client, user_id) -> int:
    conn = await client.db()
    try:
        return await conn.fetchval("SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL", user_id)
    finally:
        await conn.close()


async def test_a_sign_in_racing_a_password_reset_gets_no_session_with_the_old_password(parallel, monkeypatch):
    from server.auth import routes

    client, world = parallel, parallel.world
    admin = await client.login("admin")
    real_verify = routes.verify_password

    def slow_verify(password_hash, password):
        # The old password is checked, then the admin's reset lands before the session is made.
        ok = real_verify(password_hash, password)
        time.sleep(1.0)
        return ok

    monkeypatch.setattr(routes, "verify_password", slow_verify)

    async def reset():
        await asyncio.sleep(0.3)
        return await client.patch(
            f"/api/v1/users/{world.users['reviewer_b']}", admin, json={"password": "brand-new-pass-1"}
        )

    signed_in, reset_done = await asyncio.gather(
        client.post("/api/v1/auth/login", json={"username": "reviewer_b", "password": PASSWORD}), reset()
    )
    assert reset_done.status_code == 200
    if signed_in.status_code == 200:
        assert (await client.get("/api/v1/me", signed_in.json()["token"])).status_code == 401
    else:
        assert signed_in.status_code == 401
        assert signed_in.headers["content-type"].startswith("application/problem+json")
    assert await live_sessions(client, world.users["reviewer_b"]) == 0


@pytest.mark.parametrize("change", [{"password": "brand-new-pass-1"}, {"active": False}], ids=["reset", "deactivation"])
async def test_a_sign_in_landing_while_a_reset_or_deactivation_is_saved_gets_no_session(parallel, monkeypatch, change):
    """The old password is checked against the row as it was, and the session is made while the
    administrator's change holds the row: the session must wait for it and find the password gone
    (or the account off), not be made after the change has revoked every other one. A deactivated
    account that lets one through would have it back when it is switched on again."""
    from server.auth import queries

    client, world = parallel, parallel.world
    admin = await client.login("admin")
    real_forget = queries.forget_devices
    saving = asyncio.Event()

    async def slow_forget(conn, user_id):
        await real_forget(conn, user_id)
        saving.set()
        await asyncio.sleep(1.5)  # the change's transaction is still open: its row locked, the old hash readable

    monkeypatch.setattr(queries, "forget_devices", slow_forget)

    async def sign_in():
        await saving.wait()
        return await client.post("/api/v1/auth/login", json={"username": "reviewer_b", "password": PASSWORD})

    changed, signed_in = await asyncio.gather(
        client.patch(f"/api/v1/users/{world.users['reviewer_b']}", admin, json=change), sign_in()
    )
    assert changed.status_code == 200, changed.text
    assert signed_in.status_code in (401, 403), signed_in.text
    if "active" in change:
        back = await client.patch(f"/api/v1/users/{world.users['reviewer_b']}", admin, json={"active": True})
        assert back.status_code == 200, back.text
    assert await live_sessions(client, world.users["reviewer_b"]) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [({"active": False}, "active"), ({"role": "reviewer", "region_ids": ["{region}"]}, "role")],
)
async def test_the_last_active_admin_cannot_be_deactivated_or_demoted(client, world, change, field):
    admin = await client.login("admin")
    body = {k: [str(world.regions["A"])] if k == "region_ids" else v for k, v in change.items()}
    response = await client.patch(f"/api/v1/users/{world.users['admin']}", admin, json=body)
    assert response.status_code == 409, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    # Nothing changed: the admin is still an active admin, still signed in.
    me = await client.get("/api/v1/me", admin)
    assert me.status_code == 200 and (me.json()["role"], me.json()["active"]) == ("admin", True)


async def test_an_admin_may_be_deactivated_while_another_admin_remains(client, world):
    admin = await client.login("admin")
    second = await client.post(
        "/api/v1/users",
        admin,
        json={"username": "admin2", "display_name": "Admin Two", "password": "long-enough-1", "role": "admin"},
    )
    assert second.status_code == 201
    response = await client.patch(f"/api/v1/users/{world.users['admin']}", admin, json={"active": False})
    assert response.status_code == 200 and response.json()["active"] is False
    other = await client.login("admin2", "long-enough-1")
    # Now admin2 is the last one.
    assert (
        await client.patch(f"/api/v1/users/{second.json()['id']}", other, json={"active": False})
    ).status_code == 409


async def test_a_limit_of_one_failure_locks_after_the_first_one(settings, executor):
    strict = msgspec.structs.replace(settings, login_max_failures=1)
    app = create_app(strict, executor=executor, run_migrations=False)
    async with AsyncTestClient(app, raise_server_exceptions=False) as http:
        client = ApiClient(http, strict.database_url or "")
        conn = await client.db()
        try:
            await make_world(conn)
        finally:
            await conn.close()
        wrong = await client.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong-pass"})
        assert wrong.status_code == 401
        locked = await client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        assert locked.status_code == 429


async def test_two_scope_changes_at_once_never_leave_a_user_without_a_scope(parallel, monkeypatch):
    # Each change alone leaves the inspector something (a region, or a district); both together
    # would leave nothing. The second must be judged on what the first left, not on what it read.
    from server.auth import queries

    client, world = parallel, parallel.world
    admin = await client.login("admin")
    conn = await client.db()
    try:
        await conn.execute(
            "UPDATE users SET region_ids = $2 WHERE id = $1", world.users["inspector_a"], [world.regions["A"]]
        )
    finally:
        await conn.close()
    real = queries.unknown_scope_ids

    async def slow_check(conn, region_ids, district_ids):
        found = await real(conn, region_ids, district_ids)
        await asyncio.sleep(0.5)  # both requests are checking before either one writes
        return found

    monkeypatch.setattr(queries, "unknown_scope_ids", slow_check)
    path = f"/api/v1/users/{world.users['inspector_a']}"
    answers = await asyncio.gather(
        client.patch(path, admin, json={"region_ids": []}), client.patch(path, admin, json={"district_ids": []})
    )
    assert sorted(r.status_code for r in answers) == [200, 422], [r.text for r in answers]
    conn = await client.db()
    try:
        row = await conn.fetchrow(
            "SELECT region_ids, district_ids FROM users WHERE id = $1", world.users["inspector_a"]
        )
    finally:
        await conn.close()
    assert row["region_ids"] or row["district_ids"]


@pytest.mark.parametrize(
    ("q", "found"),
    [("field_1", ["field_1"]), ("100%", ["rated"]), ("%", ["rated"]), ("_", ["field_1"]), ("\\", ["slashed"])],
)
async def test_searching_users_takes_percent_underscore_and_backslash_as_they_are(client, world, q, found):
    admin = await client.login("admin")
    for username, display_name in [
        ("field_1", "Field One"),
        ("fieldx1", "Field X"),
        ("rated", "Rated 100% Ready"),
        ("slashed", "Back\\Slash"),
    ]:
        created = await client.post(
            "/api/v1/users",
            admin,
            json={
                "username": username,
                "display_name": display_name,
                "password": "long-enough-1",
                "role": "inspector",
                "district_ids": [str(world.districts["A"])],
            },
        )
        assert created.status_code == 201, created.text
    response = await client.get("/api/v1/users", admin, params={"q": q})
    assert response.status_code == 200
    # Only the users made here count: the world's own usernames have underscores too.
    assert [
        u["username"] for u in response.json() if u["username"] in {"field_1", "fieldx1", "rated", "slashed"}
    ] == found


async def test_two_admins_deactivating_each_other_at_once_leave_one_active_admin(parallel, monkeypatch):
    # Each sees the other as the remaining admin; judged one after the other, the second is refused
    # (409), neither deadlocks (503) nor leaves the system without an admin.
    from server.auth import queries

    client = parallel
    first = await client.login("admin")
    made = await client.post(
        "/api/v1/users",
        first,
        json={"username": "admin2", "display_name": "Admin Two", "password": "long-enough-1", "role": "admin"},
    )
    assert made.status_code == 201
    second = await client.login("admin2", "long-enough-1")
    real = queries.update_user

    async def slow_update(conn, user_id, changes):
        await asyncio.sleep(0.5)  # both requests are past their checks before either one writes
        return await real(conn, user_id, changes)

    monkeypatch.setattr(queries, "update_user", slow_update)
    answers = await asyncio.gather(
        client.patch(f"/api/v1/users/{made.json()['id']}", first, json={"active": False}),
        client.patch(f"/api/v1/users/{client.world.users['admin']}", second, json={"active": False}),
    )
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    conn = await client.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM users WHERE role = 'admin' AND active") == 1
    finally:
        await conn.close()


async def test_prune_sessions_deletes_long_ended_sessions_and_spent_counters_and_keeps_the_rest(database_url):
    conn = await db.connect(database_url)
    try:
        world = await make_world(conn)
        user = world.users["inspector_a"]
        sessions = {
            # name: (expires in days, revoked days ago or None) -> kept?
            "live": (10, None, True),
            "expired_lately": (-5, None, True),
            "expired_long_ago": (-40, None, False),
            "revoked_lately": (10, 3, True),
            "revoked_long_ago": (10, 45, False),
        }
        for name, (expires, revoked, _) in sessions.items():
            await conn.execute(
                """INSERT INTO sessions (token_hash, user_id, expires_at, revoked_at)
                   VALUES ($1, $2, now() + make_interval(days => $3),
                           now() - make_interval(days => $4::int))""",
                name.encode(),
                user,
                expires,
                revoked,
            )
        counters = {
            # key: (first failure minutes ago, locked for minutes more or None) -> kept?
            "user:fresh": (2, None, True),
            "user:spent": (60, None, False),
            "ip:locked": (60, 10, True),
            "ip:lock_over": (60, -20, False),
        }
        for name, days in (("device_kept", 10), ("device_expired", -1)):
            await conn.execute(
                """INSERT INTO known_devices (token_hash, user_id, expires_at)
                   VALUES ($1, $2, now() + make_interval(days => $3))""",
                name.encode(),
                user,
                days,
            )
        for key, (ago, locked, _) in counters.items():
            await conn.execute(
                """INSERT INTO login_failures (key, failures, first_at, locked_until)
                   VALUES ($1, 3, now() - make_interval(mins => $2),
                           now() + make_interval(mins => $3::int))""",
                key,
                ago,
                locked,
            )
    finally:
        await conn.close()

    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "LOGIN_LOCKOUT_SECONDS": "900"}
    refused = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server", "prune-sessions", "--keep-days", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "1 to 3650" in refused.stderr
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server", "prune-sessions"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "deleted 2 session(s)" in done.stdout and "2 spent sign-in counter(s)" in done.stdout
    assert "1 expired device token(s)" in done.stdout

    conn = await db.connect(database_url)
    try:
        left = {bytes(r["token_hash"]).decode() for r in await conn.fetch("SELECT token_hash FROM sessions")}
        keys = {r["key"] for r in await conn.fetch("SELECT key FROM login_failures")}
        devices = [bytes(r[0]).decode() for r in await conn.fetch("SELECT token_hash FROM known_devices")]
    finally:
        await conn.close()
    assert devices == ["device_kept"]
    assert left == {name for name, (_, _, kept) in sessions.items() if kept}
    assert keys == {key for key, (_, _, kept) in counters.items() if kept}


async def test_a_reviewer_lists_only_the_inspectors_who_can_serve_their_area(client, world):
    reviewer = await client.login("reviewer_a")
    listed = await client.get("/api/v1/users", reviewer)
    assert listed.status_code == 200, listed.text
    assert [u["username"] for u in listed.json()] == ["inspector_a"]
    # Whatever role is asked for: a reviewer sees no admins, reviewers or inspectors of another region.
    for role in ("admin", "reviewer", "inspector"):
        asked = await client.get("/api/v1/users", reviewer, params={"role": role})
        assert [u["username"] for u in asked.json()] == ["inspector_a"]
    assert (await client.get("/api/v1/users", reviewer, params={"q": "nobody"})).json() == []
    other = await client.get("/api/v1/users", await client.login("reviewer_b"))
    assert [u["username"] for u in other.json()] == ["inspector_b"]
    # One user's page, and everything else about users, stays an admin's.
    assert (await client.get(f"/api/v1/users/{world.users['inspector_a']}", reviewer)).status_code == 403
    assert (await client.get("/api/v1/users", await client.login("inspector_a"))).status_code == 403
    admin = await client.get("/api/v1/users", await client.login("admin"))
    assert {u["username"] for u in admin.json()} >= {"admin", "reviewer_a", "inspector_a", "inspector_b"}
