"""A password someone else chose is the person's to replace: an account an admin creates, another
person's password an admin resets, and each account the user import creates carry
`password_must_change` (in the sign-in reply, /me and the users list) until their owner changes their
own password. The operator's own (`muaina create-admin`, an admin's reset of their own) never do, and
nothing on the server is refused meanwhile."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.factories import PASSWORD, make_world

ROOT = Path(__file__).resolve().parent.parent
CHOSEN = "a-passphrase-of-my-own"
SET_BY_ADMIN = "set-by-the-admin-1"


async def world_and_admin(client):
    conn = await client.db()
    try:
        world = await make_world(conn)
    finally:
        await conn.close()
    return world, await client.login("admin")


async def flag_in_db(client, username: str) -> bool:
    conn = await client.db()
    try:
        return await conn.fetchval("SELECT password_must_change FROM users WHERE username = $1", username)
    finally:
        await conn.close()


async def sign_in(client, username: str, password: str) -> dict:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


async def flags_seen(client, admin: str, username: str, password: str) -> tuple[bool, bool, bool]:
    """What the sign-in reply, that session's /me and the admin's users list say of the account."""
    login = await sign_in(client, username, password)
    me = (await client.get("/api/v1/me", login["token"])).json()
    listed = {u["username"]: u for u in (await client.get("/api/v1/users", admin, params={"q": username})).json()}
    return login["user"]["password_must_change"], me["password_must_change"], listed[username]["password_must_change"]


async def test_an_account_an_admin_creates_must_choose_its_own_password_until_its_owner_changes_it(client):
    world, admin = await world_and_admin(client)
    created = await client.post(
        "/api/v1/users",
        admin,
        json={
            "username": "sdpo.new",
            "display_name": "SDPO New",
            "password": SET_BY_ADMIN,
            "role": "inspector",
            "district_ids": [str(world.districts["A"])],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["password_must_change"] is True
    assert await flags_seen(client, admin, "sdpo.new", SET_BY_ADMIN) == (True, True, True)
    # The reviewer who picks inspectors for visits sees the account, not whose password is still handed out.
    reviewer = await client.login("reviewer_a")
    seen = {u["username"]: u for u in (await client.get("/api/v1/users", reviewer)).json()}
    assert seen["sdpo.new"]["password_must_change"] is False

    # Nothing is refused meanwhile: an inspector offline for days must still be able to send work.
    token = (await sign_in(client, "sdpo.new", SET_BY_ADMIN))["token"]
    assert (await client.get("/api/v1/sync/bundle", token)).status_code == 200

    changed = await client.post(
        "/api/v1/auth/password", token, json={"current_password": SET_BY_ADMIN, "new_password": CHOSEN}
    )
    assert changed.status_code == 204, changed.text
    assert (await client.get("/api/v1/me", token)).json()["password_must_change"] is False
    assert await flags_seen(client, admin, "sdpo.new", CHOSEN) == (False, False, False)
    assert await flag_in_db(client, "sdpo.new") is False


async def test_an_admins_reset_of_another_persons_password_asks_them_again_and_other_changes_do_not(client):
    world, admin = await world_and_admin(client)
    inspector = world.users["inspector_a"]
    # Accounts made before (and outside) the admin's screens are not asked.
    assert await flags_seen(client, admin, "inspector_a", PASSWORD) == (False, False, False)
    renamed = await client.patch(f"/api/v1/users/{inspector}", admin, json={"display_name": "Inspector Ali"})
    assert renamed.status_code == 200 and renamed.json()["password_must_change"] is False

    reset = await client.patch(f"/api/v1/users/{inspector}", admin, json={"password": SET_BY_ADMIN})
    assert reset.status_code == 200, reset.text
    assert reset.json()["password_must_change"] is True
    assert await flags_seen(client, admin, "inspector_a", SET_BY_ADMIN) == (True, True, True)
    # Changing the name again leaves the flag as it is: only the owner's own change clears it.
    again = await client.patch(f"/api/v1/users/{inspector}", admin, json={"display_name": "Inspector A"})
    assert again.json()["password_must_change"] is True

    token = (await sign_in(client, "inspector_a", SET_BY_ADMIN))["token"]
    changed = await client.post(
        "/api/v1/auth/password", token, json={"current_password": SET_BY_ADMIN, "new_password": CHOSEN}
    )
    assert changed.status_code == 204, changed.text
    assert await flags_seen(client, admin, "inspector_a", CHOSEN) == (False, False, False)


async def test_an_admin_resetting_their_own_password_is_not_asked_to_choose_it_again(client):
    world, admin = await world_and_admin(client)
    reset = await client.patch(f"/api/v1/users/{world.users['admin']}", admin, json={"password": CHOSEN})
    assert reset.status_code == 200, reset.text
    assert reset.json()["password_must_change"] is False
    assert await flags_seen(client, admin, "admin", CHOSEN) == (False, False, False)

    # One whose password another admin set chooses their own this way too.
    conn = await client.db()
    try:
        await conn.execute("UPDATE users SET password_must_change = true WHERE username = 'admin'")
    finally:
        await conn.close()
    again = await client.patch(f"/api/v1/users/{world.users['admin']}", admin, json={"password": SET_BY_ADMIN})
    assert again.json()["password_must_change"] is False
    assert await flag_in_db(client, "admin") is False


async def test_each_account_the_import_creates_must_choose_its_own_and_an_unchanged_one_is_left_alone(client):
    _, admin = await world_and_admin(client)
    body = (
        b"username,display_name,role,region_codes,district_codes\n"
        b"sdpo.one,SDPO One,inspector,,DA\n"
        b"rpo.b,RPO B,reviewer,RB,\n"
        b"inspector_a,Inspector A,inspector,,DA\n"
    )
    done = await client.post("/api/v1/users/import", admin, content=body, headers={"content-type": "text/csv"})
    assert done.status_code == 200, done.text
    passwords = {p["username"]: p["password"] for p in done.json()["passwords"]}
    assert set(passwords) == {"sdpo.one", "rpo.b"}
    for username, password in passwords.items():
        assert await flags_seen(client, admin, username, password) == (True, True, True)
    # The account the file named as it already was keeps its own password and is not asked.
    assert await flag_in_db(client, "inspector_a") is False


async def test_an_admin_made_with_create_admin_typed_their_own_password_and_is_not_asked(database_url: str):
    from server import db

    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "S3_ENDPOINT"}}
    env.update({"LOG_LEVEL": "WARNING", "DATABASE_URL": database_url})
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server", "create-admin", "--username", "it.officer"],
        cwd=ROOT,
        env=env,
        input="a long passphrase\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    conn = await db.connect(database_url)
    try:
        flag = await conn.fetchval("SELECT password_must_change FROM users WHERE username = 'it.officer'")
    finally:
        await conn.close()
    assert flag is False
