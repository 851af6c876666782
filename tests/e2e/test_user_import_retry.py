"""A user import whose reply is lost after the server made the accounts, in real Chromium: the screen
sends the same file again with the same import id, by itself and then from its "Try again" button,
and shows the accounts with first passwords that sign in (the lost reply's no longer do), an account
used meanwhile marked as in use."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import ADMIN, ADMIN_PASSWORD, signed_in_laptop

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

HEADER = "username,display_name,role,region_codes,district_codes\n"


class LoseReplies:
    """The real import's sends: the first reaches the server (route.fetch) and its reply is then lost
    (route.abort: the page sees a network failure after the server committed); the next `lost` sends
    fail without reaching it; the rest go through."""

    def __init__(self, lost: int):
        self.lost = lost
        self.keys: list[str | None] = []
        self.first_reply: dict[str, Any] | None = None

    def __call__(self, route: Any) -> None:
        if "dry_run" in route.request.url:
            route.continue_()
            return
        self.keys.append(route.request.headers.get("idempotency-key"))
        if len(self.keys) == 1:
            reply = route.fetch()
            assert reply.status == 200, reply.text()
            self.first_reply = json.loads(reply.text())
            route.abort("connectionreset")
        elif len(self.keys) <= 1 + self.lost:
            route.abort("internetdisconnected")
        else:
            route.continue_()


def test_a_lost_import_reply_is_retried_with_the_same_id_and_shows_passwords_that_sign_in(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    district = admin_server.api("GET", "/api/v1/districts", token).json()[0]
    rows = [
        f"dsp.retry.one,DSP Retry One,inspector,,{district['code']}",
        f"dsp.retry.two,DSP Retry Two,inspector,,{district['code']}",
    ]
    csv = (HEADER + "\n".join(rows) + "\n").encode()

    context, page, errors = signed_in_laptop(admin_server, browser)
    # The first send's reply is lost, and the three sends the screen makes by itself fail too.
    losing = LoseReplies(lost=3)
    page.route("**/api/v1/users/import*", losing)
    page.click("a[href='#/admin/users']")
    page.click("#import-users")
    page.set_input_files("#user-import-file", files=[{"name": "retry.csv", "mimeType": "text/csv", "buffer": csv}])
    expect(page.locator("#user-import-created tbody tr")).to_have_count(2)
    page.click("#user-import-confirm")
    page.click("dialog[open] .dialog-actions .btn-primary")

    # After its own retries the screen says so and offers to try again; the accounts exist meanwhile.
    expect(page.locator("#user-import-unsent")).to_contain_text("retry.csv", timeout=60_000)
    expect(page.locator("#user-import-file")).to_be_disabled()
    assert len(losing.keys) == 4
    lost = {p["username"]: p["password"] for p in losing.first_reply["passwords"]}
    assert sorted(lost) == ["dsp.retry.one", "dsp.retry.two"]
    # One of the two accounts is used with the lost reply's password (it reached someone after all).
    admin_server.login("dsp.retry.two", lost["dsp.retry.two"])

    page.click("#user-import-retry")
    done = page.locator("#user-import-done")
    expect(done).to_contain_text("2 accounts created.")
    expect(done).to_contain_text("retry.csv")
    expect(page.locator("#user-import-replayed")).to_be_visible()
    expect(page.locator("#user-import-passwords tr[data-in-use='true']")).to_contain_text("dsp.retry.two")
    expect(page.locator("#user-import-passwords tr[data-in-use='true']")).to_contain_text("Already in use")
    fresh = page.locator("#user-import-passwords tr[data-in-use='false']")
    expect(fresh).to_have_count(1)
    expect(fresh).to_contain_text("dsp.retry.one")
    password = fresh.locator("td").nth(2).inner_text().strip()

    # Every send carried the one id made when the file was confirmed.
    assert len(losing.keys) == 5 and losing.keys[0] and set(losing.keys) == {losing.keys[0]}
    assert password != lost["dsp.retry.one"]
    signed_in = admin_server.api("POST", "/api/v1/auth/login", json={"username": "dsp.retry.one", "password": password})
    assert signed_in.status_code == 200, signed_in.text
    old = admin_server.api(
        "POST", "/api/v1/auth/login", json={"username": "dsp.retry.one", "password": lost["dsp.retry.one"]}
    )
    assert old.status_code == 401
    # The account already in use kept the password it was used with; nothing was made twice.
    admin_server.login("dsp.retry.two", lost["dsp.retry.two"])
    found = admin_server.api("GET", "/api/v1/users", token, params={"q": "dsp.retry"}).json()
    assert sorted(u["username"] for u in found) == ["dsp.retry.one", "dsp.retry.two"]
    expect(page.locator("#user-import-file")).to_be_enabled()
    assert errors == []
    context.close()


def test_the_screen_retries_a_lost_reply_by_itself(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    district = admin_server.api("GET", "/api/v1/districts", token).json()[0]
    csv = (HEADER + f"dsp.auto.one,DSP Auto One,inspector,,{district['code']}\n").encode()
    context, page, errors = signed_in_laptop(admin_server, browser)
    losing = LoseReplies(lost=0)
    page.route("**/api/v1/users/import*", losing)
    page.click("a[href='#/admin/users']")
    page.click("#import-users")
    page.set_input_files("#user-import-file", files=[{"name": "auto.csv", "mimeType": "text/csv", "buffer": csv}])
    expect(page.locator("#user-import-created tbody tr")).to_have_count(1)
    page.click("#user-import-confirm")
    page.click("dialog[open] .dialog-actions .btn-primary")
    expect(page.locator("#user-import-done")).to_contain_text("1 account created.", timeout=30_000)
    expect(page.locator("#user-import-replayed")).to_be_visible()
    assert len(losing.keys) == 2 and losing.keys[0] == losing.keys[1]
    password = page.locator("#user-import-passwords tbody td").nth(2).inner_text().strip()
    assert password != losing.first_reply["passwords"][0]["password"]
    admin_server.login("dsp.auto.one", password)
    assert errors == []
    context.close()
