"""Bundle refreshes on the phone run one at a time, so an older reply cannot undo a newer one.

Several things start a refresh (the connection coming back, "Update now", a submission acknowledged,
sign-in, app start). Each merges the server's reply onto the bundle it started from: run side by
side, the older reply, landing last, put back what the newer one had removed. Here a visit an admin
cancelled, which "Update now" had already taken off Home, came back there, and the inspector might
travel to it.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from server.demo.content import DEMO_PASSWORDS
from tests.e2e.test_pwa_support import bundle, signed_in_phone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


class HeldReply:
    """Holds the first bundle reply the page asks for (fetched from the server at once, so it is of
    that moment) until released; later requests go through."""

    def __init__(self) -> None:
        self.held: list[tuple[Any, Any]] = []
        self.requests = 0

    def __call__(self, route: Any) -> None:
        self.requests += 1
        if not self.held:
            self.held.append((route, route.fetch()))
            return
        route.continue_()

    def release(self) -> None:
        for route, reply in self.held:
            route.fulfill(response=reply)


def wait_held(page: Any, held: Any) -> None:
    """Waits up to five seconds for the page's bundle request to be held."""
    for _ in range(50):
        if held.held:
            return
        page.wait_for_timeout(100)
    raise AssertionError("no bundle request")


def test_older_bundle_reply_cannot_bring_back_a_cancelled_visit(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    me = pwa_server.api("GET", "/api/v1/me", phone.token).json()
    mine = [
        a["id"] for a in bundle(pwa_server, phone.token)["assignments"] if a.get("inspector_id", me["id"]) == me["id"]
    ]
    assert len(mine) >= 2, mine
    first, second = mine[:2]
    admin = pwa_server.login("admin", DEMO_PASSWORDS["admin"])
    page.goto(pwa_server.url + "/#/")
    expect(page.locator(f"li[data-assignment='{second}']")).to_be_visible()

    def cancel(assignment_id: str) -> None:
        r = pwa_server.api("PATCH", f"/api/v1/assignments/{assignment_id}", admin, json={"status": "cancelled"})
        assert r.status_code == 200, r.text

    cancel(first)
    held = HeldReply()
    page.route("**/api/v1/sync/bundle*", held)
    page.evaluate("() => dispatchEvent(new Event('online'))")  # the connection comes back: a refresh
    wait_held(page, held)  # its reply, fetched now, knows of the first cancellation only
    cancel(second)

    page.goto(pwa_server.url + "/#/settings")
    page.get_by_role("button", name="Update now").click()
    page.wait_for_timeout(1500)
    # While the older refresh is on its way, the press waits for it: it neither runs beside it nor
    # says "Up to date." (the phone does not know of the second cancellation yet).
    answered_early = page.locator("dialog[open]").count()
    requests_before_release = held.requests
    held.release()
    expect(page.locator("dialog[open]")).to_contain_text("Up to date.")
    page.locator("dialog[open] button").first.click()
    page.goto(pwa_server.url + "/#/")
    expect(page.locator("li[data-assignment]").first).to_be_visible()
    page.wait_for_timeout(1000)  # nothing else lands afterwards to put either back
    expect(page.locator(f"li[data-assignment='{first}']")).to_have_count(0)
    expect(page.locator(f"li[data-assignment='{second}']")).to_have_count(0)
    # What the phone keeps is the newest too: it opens with the same after a reload, offline.
    page.unroute("**/api/v1/sync/bundle*")
    phone.context.set_offline(True)
    page.reload()
    expect(page.locator("li[data-assignment]").first).to_be_visible()
    expect(page.locator(f"li[data-assignment='{second}']")).to_have_count(0)
    expect(page.locator(f"li[data-assignment='{first}']")).to_have_count(0)
    assert answered_early == 0, "'Up to date.' said before the phone was"
    assert (requests_before_release, held.requests) == (1, 2)  # then one more, from the newest cursor
    assert phone.errors == []
    phone.context.close()


def test_the_next_person_signing_in_does_not_wait_for_or_get_the_last_persons_refresh(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    theirs = {s["code"] for s in bundle(pwa_server, phone.token)["stations"]}
    sana = pwa_server.login("inspector.sana", DEMO_PASSWORDS["inspector"])
    hers = {s["code"] for s in bundle(pwa_server, sana)["stations"]}
    assert theirs and hers and not theirs & hers

    held = HeldReply()
    page.route("**/api/v1/sync/bundle*", held)
    page.evaluate("() => dispatchEvent(new Event('online'))")  # the first inspector's refresh, held
    wait_held(page, held)
    page.goto(pwa_server.url + "/#/settings")
    page.get_by_role("button", name="Sign out of this phone").click()
    page.fill("input[name=username]", "inspector.sana")
    page.fill("input[name=password]", DEMO_PASSWORDS["inspector"])
    page.click("form.login button[type=submit]")
    # Her sign-in fetches her own bundle at once, the last person's still on its way.
    expect(page.locator("#station-list li").first).to_be_visible(timeout=10_000)
    assert held.requests == 2
    held.release()
    page.wait_for_timeout(1000)

    # The last person's reply, landing now, is neither shown nor kept: offline, the phone opens with hers.
    page.unroute("**/api/v1/sync/bundle*")
    phone.context.set_offline(True)
    page.reload()
    expect(page.locator("#station-list li").first).to_be_visible()
    shown = " ".join(page.locator("#station-list li").all_inner_texts())
    assert any(code in shown for code in hers), shown
    assert not any(code in shown for code in theirs), shown
    assert phone.errors == []
    phone.context.close()


class HeldRequest:
    """Holds the first bundle request itself, before it reaches the server, until released."""

    def __init__(self) -> None:
        self.held: list[Any] = []

    def __call__(self, route: Any) -> None:
        if not self.held:
            self.held.append(route)
            return
        route.continue_()


def test_the_last_persons_request_refused_after_their_sign_out_does_not_end_the_next_persons_session(
    pwa_server, browser
):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    held = HeldRequest()
    page.route("**/api/v1/sync/bundle*", held)
    page.evaluate("() => dispatchEvent(new Event('online'))")  # the first inspector's refresh, not yet sent
    wait_held(page, held)
    page.goto(pwa_server.url + "/#/settings")
    page.get_by_role("button", name="Sign out of this phone").click()  # online: the server ends the session
    page.fill("input[name=username]", "inspector.sana")
    page.fill("input[name=password]", DEMO_PASSWORDS["inspector"])
    page.click("form.login button[type=submit]")
    expect(page.locator("#station-list li").first).to_be_visible(timeout=10_000)

    # The held request was the page's that the sign-out started again (state.signOut): let go now, it has
    # no page left to answer, and it can neither end her session nor ask her to sign in again.
    held.held[0].continue_()
    page.wait_for_timeout(1500)
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert page.evaluate("() => import('/js/db.js').then((m) => m.kv.get('auth_needed'))") is not True
    page.reload()
    expect(page.locator("#station-list li").first).to_be_visible()
    page.wait_for_timeout(1000)
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert phone.errors == []
    phone.context.close()
