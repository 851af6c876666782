"""An admin who changes their own account so that it no longer opens the admin console, in real
Chromium against the real server: a confirmation says so first (Cancel changes nothing), and after the
change the browser is not left on a console its session no longer opens. The server ends every session
of a user whose role or state it changes, the admin's own included, so the browser signs out to the
sign-in screen with a message; a demoted admin signs in again and lands on the reviewer's queue. The
last active admin is still refused with the server's problem, and editing someone else asks nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import ADMIN, ADMIN_PASSWORD, sign_in, signed_in_laptop

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DIALOG = "dialog[open]"


def _create_admin(server, token: str, username: str, password: str) -> dict:
    response = server.api(
        "POST",
        "/api/v1/users",
        token,
        json={
            "username": username,
            "display_name": username,
            "password": password + "-given",
            "role": "admin",
            "active": True,
        },
    )
    assert response.status_code == 201, response.text
    # The admin gave the password; its owner chooses their own, as the app asks at the first sign-in.
    server.choose_own_password(username, password + "-given", password)
    return response.json()


def _open_user(page, username: str) -> None:
    page.click("a[href='#/admin/users']")
    page.fill("#user-search", username)
    page.click(f'#user-list li[data-username="{username}"] a.row-link')
    expect(page.locator("#user-role")).to_be_visible()


def test_an_admin_who_demotes_themselves_is_asked_first_then_lands_on_the_reviewer_screens(admin_server, browser):
    # The demo has one admin, and the last active admin cannot be demoted: two more are made first.
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    demo_admins = admin_server.api("GET", "/api/v1/users", token, params={"role": "admin"}).json()
    assert [u["username"] for u in demo_admins] == [ADMIN]
    second = _create_admin(admin_server, token, "admin.second", "second-admin-pass-1")
    third = _create_admin(admin_server, token, "admin.third", "third-admin-pass-1")
    second_token = admin_server.login("admin.second", "second-admin-pass-1")
    me = admin_server.api("GET", "/api/v1/me", token).json()

    context, page, errors = signed_in_laptop(admin_server, browser)

    # Another admin demoted: no question, the console stays.
    _open_user(page, "admin.third")
    page.select_option("#user-role", "reviewer")
    page.check('[data-field="region.LHR"] input')
    page.click("#user-save")
    expect(page.locator(".toast", has_text="Saved.")).to_be_visible()
    expect(page.locator(DIALOG)).to_have_count(0)
    assert admin_server.api("GET", f"/api/v1/users/{third['id']}", second_token).json()["role"] == "reviewer"
    expect(page.locator(".admin.page")).to_be_visible()

    # Their own role: the dialog says what will happen, with Cancel focused; Cancel changes nothing.
    _open_user(page, ADMIN)
    page.select_option("#user-role", "reviewer")
    page.check('[data-field="region.LHR"] input')
    page.click("#user-save")
    dialog = page.locator(DIALOG)
    expect(dialog.locator("h2")).to_have_text("Stop being an administrator?")
    expect(dialog).to_contain_text("You will no longer be an administrator. You will leave the admin console now")
    expect(dialog).to_contain_text("continue as Reviewer")
    cancel = dialog.locator(".dialog-actions button").first
    expect(cancel).to_have_text("Cancel")
    expect(cancel).to_be_focused()
    cancel.click()
    expect(page.locator(DIALOG)).to_have_count(0)
    assert admin_server.api("GET", f"/api/v1/users/{me['id']}", second_token).json()["role"] == "admin"
    assert admin_server.api("GET", "/api/v1/me", token).status_code == 200
    expect(page.locator("#user-role")).to_have_value("reviewer")

    # Confirmed: the server has the new role and has ended the admin's sessions, so the browser is
    # on the sign-in screen, saying why, and no admin screen is left behind.
    page.click("#user-save")
    page.click(f"{DIALOG} .dialog-actions .btn-primary")
    expect(page.locator("form.login")).to_be_visible()
    expect(page.locator("#left-console")).to_contain_text("Your role is now Reviewer")
    expect(page.locator(".admin.page")).to_have_count(0)
    assert page.evaluate("location.hash") == "#/login"
    changed = admin_server.api("GET", f"/api/v1/users/{me['id']}", second_token).json()
    assert (changed["role"], changed["region_ids"] != []) == ("reviewer", True)
    assert admin_server.api("GET", "/api/v1/me", token).status_code == 401

    # Signing in again opens the reviewer's queue, and the message goes.
    sign_in(page, admin_server.url, landing=".rv-queue")
    assert page.evaluate("location.hash").startswith("#/review")
    expect(page.locator("#left-console")).to_have_count(0)
    assert errors == []
    context.close()

    # The second admin is now the last one: deactivating themselves is asked, then refused with the
    # server's problem, and they stay where they were.
    context, page, errors = signed_in_laptop(admin_server, browser, "admin.second", "second-admin-pass-1")
    _open_user(page, "admin.second")
    page.click("#toggle-active")
    expect(page.locator(f"{DIALOG} h2")).to_have_text("Deactivate your own account?")
    page.click(f"{DIALOG} .dialog-actions .btn-primary")
    expect(page.locator(".toast-error")).to_contain_text("the last active admin cannot be deactivated")
    expect(page.locator(".admin.page")).to_be_visible()
    assert admin_server.api("GET", "/api/v1/me", second_token).json()["active"] is True

    # With another admin, it goes through: signed out, told why, and the account cannot sign in.
    _create_admin(admin_server, second_token, "admin.fourth", "fourth-admin-pass-1")
    page.click("#toggle-active")
    expect(page.locator(DIALOG)).to_contain_text("cannot sign in until another administrator reactivates")
    page.click(f"{DIALOG} .dialog-actions .btn-primary")
    expect(page.locator("form.login")).to_be_visible()
    expect(page.locator("#left-console")).to_contain_text("Your account is deactivated")
    expect(page.locator(".admin.page")).to_have_count(0)
    assert admin_server.api("GET", "/api/v1/me", second_token).status_code == 401
    fourth_token = admin_server.login("admin.fourth", "fourth-admin-pass-1")
    assert admin_server.api("GET", f"/api/v1/users/{second['id']}", fourth_token).json()["active"] is False
    assert errors == []
    context.close()
