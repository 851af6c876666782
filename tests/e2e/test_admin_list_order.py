"""The admin's filtered lists in real Chromium show the reply to the newest filter only: a slow reply to
an older filter (a search the admin typed, then a role chosen before it came back) arriving last must
not put its rows under the newer filter, or the admin acts on the wrong accounts or stations."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import ADMIN, ADMIN_PASSWORD, signed_in_laptop

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


class HeldReplies:
    """Holds back the requests whose URL contains `marker` until released; lets every other through."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.held: list[Any] = []

    def __call__(self, route: Any) -> None:
        if self.marker in route.request.url:
            self.held.append(route)
        else:
            route.continue_()

    def release(self, page: Any) -> None:
        assert self.held, f"no request with {self.marker!r} was made"
        with page.expect_response(lambda r: self.marker in r.url):
            for route in self.held:
                route.continue_()
        # The reply's body is read and handed to the page's code after the response event.
        page.evaluate("() => new Promise((done) => setTimeout(done, 400))")


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
    slow = HeldReplies("role=inspector")
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
    slow = HeldReplies("q=zz")
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
