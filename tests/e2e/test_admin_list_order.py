"""The admin's screens in real Chromium draw the reply to the newest request only. A slow reply to an
older one arriving last must not put its rows under the newer filter (the admin acts on the wrong
accounts or stations), swap the preview of the file chosen since for an older file's (and import what
the admin never saw), or cover a full audit check's finding with an older quick check's "intact"."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import (
    ADMIN,
    ADMIN_PASSWORD,
    _in_thread,
    signed_in_laptop,
)
from tests.e2e.test_record_integrity_page import _draft, _tamper

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


class HeldReplies:
    """Holds back the first request whose URL contains `marker` (every one with `every`) until
    released; every other request goes through. With `answered`, the server answers the held request
    at once and only its reply waits (Playwright's fetch from a route handler is for GETs here)."""

    def __init__(self, marker: str, *, every: bool = False, answered: bool = False) -> None:
        self.marker = marker
        self.every = every
        self.answered = answered
        self.held: list[tuple[Any, Any]] = []

    def __call__(self, route: Any) -> None:
        if self.marker in route.request.url and (self.every or not self.held):
            self.held.append((route, route.fetch() if self.answered else None))
        else:
            route.continue_()

    def release(self, page: Any) -> None:
        assert self.held, f"no request with {self.marker!r} was made"
        with page.expect_response(lambda r: self.marker in r.url):
            for route, reply in self.held:
                if reply is None:
                    route.continue_()
                else:
                    route.fulfill(response=reply)
        # The reply's body is read and handed to the page's code after the response event.
        page.evaluate("() => new Promise((done) => setTimeout(done, 500))")


def _csv(header: str, rows: list[str], name: str) -> list[dict]:
    return [{"name": name, "mimeType": "text/csv", "buffer": (header + "".join(rows)).encode()}]


def _names(page: Any, selector: str, attribute: str) -> set[str]:
    return {el.get_attribute(attribute) for el in page.locator(selector).all()}


def test_a_slow_reply_to_an_older_user_filter_does_not_replace_the_newer_list(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    reviewers = {
        u["username"] for u in admin_server.api("GET", "/api/v1/users", token, params={"role": "reviewer"}).json()
    }
    inspectors = {
        u["username"] for u in admin_server.api("GET", "/api/v1/users", token, params={"role": "inspector"}).json()
    }
    assert reviewers and inspectors and not reviewers & inspectors

    context, page, errors = signed_in_laptop(admin_server, browser)
    page.click("a[href='#/admin/users']")
    expect(page.locator("#user-list li[data-username]").first).to_be_visible()
    slow = HeldReplies("role=inspector", every=True)
    page.route("**/api/v1/users?*", slow)

    page.select_option("#role-filter", "inspector")
    page.select_option("#role-filter", "reviewer")
    expect(page.locator("#user-list li[data-username]")).to_have_count(len(reviewers))
    # The newest reply is in: the list is no longer busy, though the older one is still out.
    expect(page.locator("#user-list")).not_to_have_attribute("aria-busy", "true")
    slow.release(page)

    assert _names(page, "#user-list li[data-username]", "data-username") == reviewers
    expect(page.locator("#user-count")).to_contain_text(str(len(reviewers)))
    expect(page.locator("#user-list")).not_to_have_attribute("aria-busy", "true")
    assert errors == []
    context.close()


def test_a_slow_reply_to_an_older_station_search_does_not_replace_the_newer_list(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    stations = admin_server.api("GET", "/api/v1/stations", token, params={"limit": 5000}).json()
    code = stations[0]["code"]
    found = admin_server.api("GET", "/api/v1/stations", token, params={"q": code, "limit": 5000}).json()
    assert 0 < len(found) < len(stations)

    context, page, errors = signed_in_laptop(admin_server, browser)
    page.goto(admin_server.url + "/#/admin/hierarchy/stations")
    expect(page.locator("#org-list li[data-code]").first).to_be_visible()
    # The first search is slow; the admin clears it and types the station's code before it returns.
    slow = HeldReplies("q=zz", every=True)
    page.route("**/api/v1/stations?*", slow)
    with page.expect_request(lambda r: "q=zz" in r.url):
        page.fill("#org-search", "zz")
    page.fill("#org-search", code)
    expect(page.locator("#org-list li[data-code]")).to_have_count(len(found))
    slow.release(page)

    assert _names(page, "#org-list li[data-code]", "data-code") == {s["code"] for s in found}
    expect(page.locator("#org-count")).to_contain_text(str(len(found)))
    assert errors == []
    context.close()


USERS = "username,display_name,role,region_codes,district_codes\n"
STATIONS = "code,name_en,name_ur,district_code,lat,lon\n"


def test_the_user_import_previews_and_imports_the_file_chosen_last(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    district = admin_server.api("GET", "/api/v1/districts", token).json()[0]["code"]
    first = _csv(USERS, [f"dsp.late.a,Late A,inspector,,{district}\n"], "a.csv")
    second = _csv(USERS, [f"dsp.late.b{i},Late B{i},inspector,,{district}\n" for i in (1, 2, 3)], "b.csv")

    context, page, errors = signed_in_laptop(admin_server, browser)
    page.click("a[href='#/admin/users']")
    page.click("#import-users")
    slow = HeldReplies("/users/import?dry_run=true")
    page.route("**/api/v1/users/import*", slow)
    # The admin picks a file, sees it is the wrong one and picks the right one before the first is checked.
    with page.expect_request(lambda r: "dry_run=true" in r.url):
        page.set_input_files("#user-import-file", files=first)
    page.set_input_files("#user-import-file", files=second)
    expect(page.locator("#user-import-created tbody tr")).to_have_count(3)
    slow.release(page)

    expect(page.locator("#user-import-created tbody tr")).to_have_count(3)
    expect(page.locator("#user-import-result")).not_to_contain_text("dsp.late.a")
    page.click("#user-import-confirm")
    page.click("dialog[open] .dialog-actions .btn-primary")
    expect(page.locator("#user-import-done")).to_contain_text("3 accounts created.")
    made = admin_server.api("GET", "/api/v1/users", token, params={"q": "dsp.late"}).json()
    assert sorted(u["username"] for u in made) == ["dsp.late.b1", "dsp.late.b2", "dsp.late.b3"]
    assert errors == []
    context.close()


def test_the_passwords_of_a_finished_user_import_stay_when_the_next_file_is_checked(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    district = admin_server.api("GET", "/api/v1/districts", token).json()[0]["code"]
    first = _csv(USERS, [f"dsp.kept.a{i},Kept A{i},inspector,,{district}\n" for i in (1, 2)], "a.csv")
    second = _csv(USERS, [f"dsp.kept.b{i},Kept B{i},inspector,,{district}\n" for i in (1, 2, 3)], "b.csv")

    context, page, errors = signed_in_laptop(admin_server, browser)
    page.click("a[href='#/admin/users']")
    page.click("#import-users")
    page.set_input_files("#user-import-file", files=first)
    expect(page.locator("#user-import-confirm")).to_be_enabled()
    # The import itself (its checks carry ?dry_run=true, which this pattern does not match).
    creating = HeldReplies("/users/import")
    page.route("**/api/v1/users/import", creating)
    page.click("#user-import-confirm")
    with page.expect_request(lambda r: r.url.endswith("/users/import")):
        page.click("dialog[open] .dialog-actions .btn-primary")
    # While the accounts are made, no other file can be chosen: its preview would pass for this import's.
    expect(page.locator("#user-import-file")).to_be_disabled()
    creating.release(page)
    expect(page.locator("#user-import-passwords tbody tr")).to_have_count(2)
    expect(page.locator("#user-import-file")).to_be_enabled()

    # The next file's preview comes under the passwords, which are shown only now, and leaves them.
    page.set_input_files("#user-import-file", files=second)
    expect(page.locator("#user-import-created tbody tr")).to_have_count(3)
    expect(page.locator("#user-import-passwords tbody tr")).to_have_count(2)
    expect(page.locator("#user-import-done")).to_contain_text("2 accounts created.")
    expect(page.locator("#user-import-done")).to_contain_text("From a.csv")

    # Imported too, the second file's passwords come on top of the first's, which stay, each box naming
    # its file; the admin is taken to the new one.
    page.click("#user-import-confirm")
    page.click("dialog[open] .dialog-actions .btn-primary")
    expect(page.locator("#user-import-done")).to_contain_text("3 accounts created.")
    expect(page.locator("#user-import-done")).to_contain_text("From b.csv")
    expect(page.locator("#user-import-passwords tbody tr")).to_have_count(3)
    expect(page.locator("#user-import-finished table tbody tr")).to_have_count(5)
    expect(page.locator("#user-import-finished")).to_contain_text("From a.csv")
    expect(page.locator("#user-import-done .strong")).to_be_focused()
    kept = page.locator("#user-import-finished table tbody td.mono").all_inner_texts()
    assert {"dsp.kept.a1", "dsp.kept.a2", "dsp.kept.b1", "dsp.kept.b2", "dsp.kept.b3"} <= set(kept)
    assert errors == []
    context.close()


def test_the_station_import_previews_and_imports_the_file_chosen_last(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    district = admin_server.api("GET", "/api/v1/districts", token).json()[0]["code"]
    first = _csv(STATIONS, [f"LATE-A-1,Late A One,اسٹیشن الف,{district},31.52,74.35\n"], "a.csv")
    second = _csv(
        STATIONS, [f"LATE-B-{i},Late B {i},اسٹیشن ب,{district},31.5{i},74.3{i}\n" for i in (1, 2, 3)], "b.csv"
    )

    context, page, errors = signed_in_laptop(admin_server, browser)
    page.goto(admin_server.url + "/#/admin/hierarchy/import")
    slow = HeldReplies("/stations/import?dry_run=true")
    page.route("**/api/v1/stations/import*", slow)
    with page.expect_request(lambda r: "dry_run=true" in r.url):
        page.set_input_files("#csv-file", files=first)
    page.set_input_files("#csv-file", files=second)
    expect(page.locator("#csv-confirm")).to_contain_text("3")
    slow.release(page)

    expect(page.locator("#csv-confirm")).to_contain_text("3")
    expect(page.locator("#csv-result")).not_to_contain_text("LATE-A-1")
    page.click("#csv-confirm")
    page.click("dialog[open] .dialog-actions .btn-primary")
    expect(page.locator("#csv-done")).to_be_visible()
    made = admin_server.api("GET", "/api/v1/stations", token, params={"q": "LATE-"}).json()
    assert sorted(s["code"] for s in made) == ["LATE-B-1", "LATE-B-2", "LATE-B-3"]
    assert errors == []
    context.close()


def test_a_quick_audit_check_come_back_late_does_not_cover_the_full_checks_finding(admin_server, browser):
    inspection = _draft(admin_server)
    # A full check records where the quick checks go on from; then the record is changed in the database.
    assert admin_server.api("GET", "/api/v1/audit/verify", admin_server.login(ADMIN, ADMIN_PASSWORD)).json()["ok"]
    _in_thread(_tamper(admin_server.database_url, inspection))

    context, page, errors = signed_in_laptop(admin_server, browser)
    slow = HeldReplies("since_last_check=true", answered=True)
    page.route("**/api/v1/audit/verify*", slow)
    with page.expect_request(lambda r: "since_last_check=true" in r.url):
        page.click("a[href='#/admin/audit']")
    verify = page.locator("#audit-verify")
    page.click("#audit-verify-again")
    expect(verify).to_have_attribute("data-ok", "false")
    finding = verify.inner_text()
    slow.release(page)

    expect(verify).to_have_attribute("data-ok", "false")
    assert verify.inner_text() == finding
    assert errors == []
    context.close()
