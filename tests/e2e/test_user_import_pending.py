"""A user import whose reply is lost, and then the page too (a reload), in real Chromium: the import
id is kept on this computer until the server answers, so the page offers "Try again" for it when it
opens and when the same file is chosen again, and the accounts come back with first passwords that
sign in. Leaving meanwhile asks first; another file is previewed as usual."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import ADMIN, ADMIN_PASSWORD, signed_in_laptop
from tests.e2e.test_user_import_retry import HEADER, LoseReplies

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PENDING = "() => import('/js/db.js').then((db) => db.kv.get('admin.userImport.pending'))"


def lose_the_reply(admin_server, browser, csv: bytes, name: str) -> tuple[Any, Any, list[str], LoseReplies]:
    """Signs in, confirms `csv` and loses the reply of the import the server made, then of the three
    sends the screen makes by itself: the screen ends on its "did not get an answer" box."""
    context, page, errors = signed_in_laptop(admin_server, browser)
    losing = LoseReplies(lost=3)
    page.route("**/api/v1/users/import*", losing)
    page.click("a[href='#/admin/users']")
    page.click("#import-users")
    page.set_input_files("#user-import-file", files=[{"name": name, "mimeType": "text/csv", "buffer": csv}])
    page.click("#user-import-confirm")
    page.click("dialog[open] .dialog-actions .btn-primary")
    expect(page.locator("#user-import-unsent")).to_be_visible(timeout=60_000)
    assert len(losing.keys) == 4
    return context, page, errors, losing


def reload_leaving(page) -> list[str]:
    """Reloads the page, agreeing to leave when asked; returns what was asked."""
    asked: list[str] = []

    def leave(dialog) -> None:
        asked.append(dialog.type)
        dialog.accept()

    page.on("dialog", leave)
    page.evaluate("location.reload()")
    page.wait_for_selector("#import-users")
    page.remove_listener("dialog", leave)
    return asked


def signs_in(admin_server, username: str, password: str) -> bool:
    reply = admin_server.api("POST", "/api/v1/auth/login", json={"username": username, "password": password})
    return reply.status_code == 200


def test_after_a_reload_the_same_file_chosen_again_finishes_the_import_with_its_first_id(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    district = admin_server.api("GET", "/api/v1/districts", token).json()[0]
    csv = (
        HEADER + f"dsp.gone.one,DSP Gone One,inspector,,{district['code']}\n"
        f"dsp.gone.two,DSP Gone Two,inspector,,{district['code']}\n"
    ).encode()
    other = (HEADER + f"dsp.other.one,DSP Other One,inspector,,{district['code']}\n").encode()
    context, page, errors, losing = lose_the_reply(admin_server, browser, csv, "gone.csv")

    # The import was kept on this computer before its first send, under the id every send carried.
    kept = page.evaluate(PENDING)
    digest = hashlib.sha256(csv).hexdigest()
    assert list(kept) == [digest]
    assert kept[digest]["id"] == losing.keys[0]
    assert (kept[digest]["name"], kept[digest]["size"]) == ("gone.csv", len(csv))

    # Leaving now asks first; the admin leaves anyway.
    assert reload_leaving(page) == ["beforeunload"]

    # The page opens on the import left without an answer, naming its file.
    expect(page.locator("#user-import")).to_be_visible()
    expect(page.locator("#user-import-unsent")).to_contain_text("gone.csv")
    expect(page.locator("#user-import-file")).to_be_enabled()

    # Another file is previewed as any other.
    page.set_input_files("#user-import-file", files=[{"name": "other.csv", "mimeType": "text/csv", "buffer": other}])
    expect(page.locator("#user-import-created tbody tr")).to_have_count(1)
    expect(page.locator("#user-import-confirm")).to_be_enabled()
    expect(page.locator("#user-import-unsent")).to_have_count(0)

    # The same file chosen again is not previewed as new ("nothing to import"): it is the kept import.
    page.set_input_files("#user-import-file", files=[{"name": "gone.csv", "mimeType": "text/csv", "buffer": csv}])
    expect(page.locator("#user-import-unsent")).to_contain_text("gone.csv")
    expect(page.locator("#user-import-confirm")).to_have_count(0)
    page.click("#user-import-retry")

    done = page.locator("#user-import-done")
    expect(done).to_contain_text("2 accounts created.")
    expect(done).to_contain_text("gone.csv")
    expect(page.locator("#user-import-replayed")).to_be_visible()
    fresh = page.locator("#user-import-passwords tr[data-in-use='false']")
    expect(fresh).to_have_count(2)
    # The send after the reload carried the first id: the server replayed the import it had made.
    assert len(losing.keys) == 5 and set(losing.keys) == {losing.keys[0]}
    lost = {p["username"]: p["password"] for p in losing.first_reply["passwords"]}
    for row in range(2):
        cells = fresh.nth(row).locator("td")
        username, password = cells.nth(0).inner_text().strip(), cells.nth(2).inner_text().strip()
        assert signs_in(admin_server, username, password)
        assert not signs_in(admin_server, username, lost[username])

    # Answered: nothing is kept any more, and the page opens as usual, asking nothing on leaving.
    assert page.evaluate(PENDING) is None
    assert reload_leaving(page) == []
    expect(page.locator("#user-import")).to_be_hidden()
    expect(page.locator("#user-import-unsent")).to_have_count(0)
    assert errors == []
    context.close()


def test_the_page_opened_again_offers_try_again_straight_away(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    district = admin_server.api("GET", "/api/v1/districts", token).json()[0]
    csv = (HEADER + f"dsp.back.one,DSP Back One,inspector,,{district['code']}\n").encode()
    context, page, errors, losing = lose_the_reply(admin_server, browser, csv, "back.csv")

    # The admin goes to another page of the console and comes back: the import is still offered.
    page.click("a[href='#/admin/audit']")
    page.wait_for_selector("#user-import", state="detached")
    page.click("a[href='#/admin/users']")
    expect(page.locator("#user-import-unsent")).to_contain_text("back.csv")
    page.click("#user-import-retry")
    expect(page.locator("#user-import-done")).to_contain_text("1 account created.")
    password = page.locator("#user-import-passwords tbody td").nth(2).inner_text().strip()
    assert signs_in(admin_server, "dsp.back.one", password)
    assert set(losing.keys) == {losing.keys[0]}
    assert page.evaluate(PENDING) is None
    assert errors == []
    context.close()


def test_an_import_kept_longer_than_the_server_replays_it_is_not_offered(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    district = admin_server.api("GET", "/api/v1/districts", token).json()[0]
    csv = (HEADER + f"dsp.old.one,DSP Old One,inspector,,{district['code']}\n").encode()
    context, page, errors, _ = lose_the_reply(admin_server, browser, csv, "old.csv")
    # A day and an hour later (the server refuses the id after 24 hours).
    page.evaluate(
        """() => import('/js/db.js').then(async (db) => {
             const kept = await db.kv.get('admin.userImport.pending');
             for (const p of Object.values(kept)) p.at = new Date(Date.now() - 25 * 3600 * 1000).toISOString();
             await db.kv.set('admin.userImport.pending', kept);
           })"""
    )
    reload_leaving(page)
    expect(page.locator("#user-import")).to_be_hidden()
    expect(page.locator("#user-import-unsent")).to_have_count(0)
    assert page.evaluate(PENDING) is None
    assert errors == []
    context.close()
