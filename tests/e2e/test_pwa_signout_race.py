"""Signing out is done on the phone at once, or not at all: work begun meanwhile is never wiped unseen.

Real Chromium against the real server. "Sign out" used to wait for the server (up to 30 seconds on a
slow link) with the screens still usable, and then wiped the phone without looking again for unsent
work: an inspection begun and answered meanwhile was gone, and nothing was said. Now the phone signs
out first, in one transaction with the look for unsent work, and the server's session is ended after;
work that turned up after the Settings screen looked (another tab, a dialog still open) stops the
sign-out, and the person is told why.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from server.demo.content import DEMO_PASSWORDS
from tests.conftest import wait_in_page
from tests.e2e.test_pwa_storage_full import yes_no_items
from tests.e2e.test_pwa_support import STORED_DRAFT, begin_inspection, inspection_id, signed_in_phone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

OTHER = "inspector.sana"
KV = "async (key) => (await import('/js/db.js')).kv.get(key)"


def test_a_sign_out_waiting_for_a_slow_server_has_already_signed_out_the_phone(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    token = page.evaluate(KV, "token")
    held = []
    page.route("**/api/v1/auth/logout", lambda route: held.append(route))
    page.goto(pwa_server.url + "/#/settings")
    page.get_by_role("button", name="Sign out of this phone").click()

    # The server has not answered yet (a slow link): the phone is signed out all the same, so there is
    # no screen left on which to begin work that the sign-out would then wipe.
    expect(page.locator("input[name=username]")).to_be_visible(timeout=5000)
    # Asked in the background, after the phone signed out (its request may leave a moment later).
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the server was not asked to end the session"
    page.goto(pwa_server.url + "/#/")
    expect(page.locator("input[name=username]")).to_be_visible()
    expect(page.locator("#station-list")).to_have_count(0)
    assert page.evaluate(KV, "user") is None
    assert page.evaluate(KV, "token") is None
    # Until the server says so, the session is one to end (again at the next chance, if this try fails).
    assert page.evaluate(KV, "revoke") == [token]

    held[0].continue_()
    deadline = time.monotonic() + 30
    while pwa_server.api("GET", "/api/v1/me", token).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pwa_server.api("GET", "/api/v1/me", token).status_code == 401, "the session was left open"
    wait_in_page(page, "import('/js/db.js').then((m) => m.kv.get('revoke')).then((left) => left == null)")
    assert phone.errors == []
    phone.context.close()


# A review begun on this phone and not sent: Settings asks before a sign-out deletes it.
BEGUN_REVIEW = """async () => (await import('/js/db.js')).kv.set('rv-review:x', {comment: 'half written'})"""


def test_work_begun_in_another_tab_while_the_sign_out_is_confirmed_stops_it_and_is_said(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    page.evaluate(BEGUN_REVIEW)
    page.goto(pwa_server.url + "/#/settings")
    page.get_by_role("button", name="Sign out of this phone").click()
    asked = page.locator("dialog[open]")
    expect(asked).to_contain_text("review")

    # Meanwhile, in another tab of the app: an inspection begun and answered, only on this phone.
    other = phone.context.new_page()
    other.goto(pwa_server.url + "/#/")
    other.wait_for_selector("#station-list li")
    begin_inspection(other, phone.station)
    iid = inspection_id(other)
    item = yes_no_items(phone.version["definition"])[0]
    other.locator(f"#item-{item['key']} [data-value=yes]").click()
    wait_in_page(
        other,
        f"import('/js/db.js').then((m) => m.get('drafts', '{iid}'))"
        f".then((d) => d.answers['{item['key']}']?.value === 'yes')",
    )

    asked.get_by_role("button", name="Sign out of this phone").click()
    refused = page.locator("dialog[open]")
    expect(refused).to_contain_text("You cannot sign out yet")
    # Nothing was deleted, and both tabs are still signed in.
    assert page.evaluate(STORED_DRAFT, iid)["answers"][item["key"]]["value"] == "yes"
    assert page.evaluate(KV, "user") is not None
    assert page.evaluate(KV, "rv-review:x") == {"comment": "half written"}
    expect(other.locator(f"#item-{item['key']} [data-value=yes]")).to_have_attribute("aria-pressed", "true")
    assert phone.errors == []
    phone.context.close()


SET = "async ([key, value]) => (await import('/js/db.js')).kv.set(key, value)"


def test_a_review_begun_in_another_tab_while_the_sign_out_is_confirmed_stops_it(pwa_server, browser):
    """The person agreed to lose the one review the question named; a second one begun in another tab
    while the question was open was never named, and stops the sign-out."""
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    page.evaluate(BEGUN_REVIEW)
    page.goto(pwa_server.url + "/#/settings")
    page.get_by_role("button", name="Sign out of this phone").click()
    asked = page.locator("dialog[open]")
    expect(asked).to_contain_text("1 review")

    other = phone.context.new_page()
    other.goto(pwa_server.url + "/#/")
    other.evaluate(SET, ["rv-review:y", {"comment": "begun after the question"}])

    asked.get_by_role("button", name="Sign out of this phone").click()
    expect(page.locator("dialog[open]")).to_contain_text("You cannot sign out yet")
    assert page.evaluate(KV, "rv-review:y") == {"comment": "begun after the question"}
    assert page.evaluate(KV, "rv-review:x") == {"comment": "half written"}
    assert page.evaluate(KV, "user") is not None
    assert phone.errors == []
    phone.context.close()


def test_another_persons_refused_sign_in_leaves_no_session_open_on_the_server(pwa_server, browser):
    """Another person's sign-in on a phone holding unsent work is refused after the server has opened
    their session: that session is ended, not left open for its lifetime with its token thrown away."""
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    phone.context.set_offline(True)
    begin_inspection(page, phone.station)
    item = yes_no_items(phone.version["definition"])[0]
    page.locator(f"#item-{item['key']} [data-value=yes]").click()
    wait_in_page(page, "import('/js/state.js').then((m) => m.hasUnsent())")
    phone.context.set_offline(False)

    with page.expect_response("**/api/v1/auth/login") as signed_in:
        refused = page.evaluate(
            """async ([name, password]) => {
                try { await (await import('/js/state.js')).signIn(name, password); return null; }
                catch (err) { return err.code || String(err); }
            }""",
            [OTHER, DEMO_PASSWORDS["inspector"]],
        )
    assert refused == "other-user-unsent"
    token = signed_in.value.json()["token"]
    deadline = time.monotonic() + 30
    while pwa_server.api("GET", "/api/v1/me", token).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pwa_server.api("GET", "/api/v1/me", token).status_code == 401, "the refused person's session was left open"
    # The phone is still the first person's, their work kept.
    assert page.evaluate(KV, "user")["username"] == "inspector.ali"
    assert page.evaluate("import('/js/state.js').then((m) => m.hasUnsent())") is True
    assert phone.errors == []
    phone.context.close()
