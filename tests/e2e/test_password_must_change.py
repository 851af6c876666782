"""An account whose password an admin set: at its first sign-in the phone takes the person to the
password screen, says why, and opens nothing else (Settings aside, for signing out) until they choose
their own, while it is online; offline they reach their work and are asked again once back online.
After the change they land on their home, and the next sign-in does not ask again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from server.demo.content import DEMO_PASSWORDS
from tests.conftest import wait_in_page
from tests.e2e.test_admin_support import signed_in_laptop
from tests.e2e.test_own_password import change
from tests.e2e.test_pwa_support import INSPECTOR, phone_context, sign_in, watch_errors

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

USERNAME = "sdpo.new"
SET_BY_ADMIN = "set-by-the-admin-1"
CHOSEN = "a-passphrase-of-my-own"
EXPLANATION = "Your password was set by an administrator. Choose your own to go on."


def make_inspector(server) -> None:
    """An inspector of inspector.ali's district, created by the admin with a password the admin chose."""
    admin = server.login("admin", DEMO_PASSWORDS["admin"])
    [ali] = server.api("GET", "/api/v1/users", admin, params={"q": INSPECTOR}).json()
    created = server.api(
        "POST",
        "/api/v1/users",
        admin,
        json={
            "username": USERNAME,
            "display_name": "SDPO New",
            "password": SET_BY_ADMIN,
            "role": "inspector",
            "district_ids": ali["district_ids"],
        },
    )
    assert created.status_code == 201, created.text


def asked_to_choose(page) -> None:
    page.wait_for_selector("#password-must-change")
    wait_in_page(page, "location.hash === '#/password'")
    assert page.inner_text("#password-must-change") == EXPLANATION
    assert page.locator("#station-list").count() == 0


def test_an_admin_created_inspector_chooses_their_own_password_before_anything_else(pwa_server, browser):
    make_inspector(pwa_server)
    context = phone_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(pwa_server.url + "/")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", SET_BY_ADMIN)
    page.click("form.login button[type=submit]")
    asked_to_choose(page)
    wait_in_page(page, "navigator.serviceWorker.controller !== null")

    # Home and the other screens, opened by their address, come back here; Settings (to sign out) opens.
    for screen in ("#/", "#/sync"):
        page.goto(f"{pwa_server.url}/{screen}")
        asked_to_choose(page)
    page.goto(f"{pwa_server.url}/#/settings")
    page.wait_for_selector("#password-card")
    page.goto(f"{pwa_server.url}/#/password")
    asked_to_choose(page)

    # Offline the password cannot be changed: the work stays reachable, and back online it asks again.
    context.set_offline(True)
    page.evaluate("() => { location.hash = '#/'; }")
    page.wait_for_selector("#station-list li")
    context.set_offline(False)
    asked_to_choose(page)

    # The phone says it is online but the server cannot be reached (a portal, no balance): the change
    # fails, and the inspector is let go on to their work instead of being held on this screen.
    page.route("**/api/v1/auth/password", lambda route: route.abort())
    change(page, SET_BY_ADMIN, CHOSEN)
    page.click("#password-later a")
    page.wait_for_selector("#station-list li")
    page.unroute("**/api/v1/auth/password")
    # The server answers again: the app asks again when it next comes into view (or a minute on).
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    asked_to_choose(page)

    change(page, SET_BY_ADMIN, CHOSEN)
    page.wait_for_selector("#station-list li")
    wait_in_page(page, "location.hash === '#/'")
    page.goto(f"{pwa_server.url}/#/sync")
    page.wait_for_selector("main h1")
    wait_in_page(page, "location.hash === '#/sync'")
    assert page.locator("#password-must-change").count() == 0

    # The next sign-in goes straight home.
    page.goto(f"{pwa_server.url}/#/settings")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("input[name=username]")
    sign_in(page, pwa_server.url, USERNAME, CHOSEN)
    wait_in_page(page, "location.hash === '#/'")
    assert page.locator("#password-must-change").count() == 0
    assert errors == []
    context.close()


def test_the_admins_users_list_marks_the_accounts_that_have_not_chosen_their_own_password(pwa_server, browser):
    make_inspector(pwa_server)
    context, page, errors = signed_in_laptop(pwa_server, browser)
    page.goto(f"{pwa_server.url}/#/admin/users")
    marked = page.locator(f"#user-list li[data-username='{USERNAME}'] .must-choose")
    marked.wait_for()
    assert marked.inner_text() == "Has not chosen own password yet"
    page.locator(f"#user-list li[data-username='{INSPECTOR}']").wait_for()
    assert page.locator(f"#user-list li[data-username='{INSPECTOR}'] .must-choose").count() == 0
    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    # The list is drawn again in Urdu after the page turns right to left: waited for, not read at once.
    expect(marked).to_have_text("اپنا پاس ورڈ ابھی منتخب نہیں کیا")

    # Once its owner has chosen their own, the mark is gone.
    token = pwa_server.login(USERNAME, SET_BY_ADMIN)
    body = {"current_password": SET_BY_ADMIN, "new_password": CHOSEN}
    assert pwa_server.api("POST", "/api/v1/auth/password", token, json=body).status_code == 204
    page.reload()
    page.locator(f"#user-list li[data-username='{USERNAME}']").wait_for()
    assert marked.count() == 0
    assert errors == []
    context.close()
