"""A phone its inspector has signed in on is counted on its own at sign-in: a colleague typing wrong
passwords for the name elsewhere (here from the same address, the station's one connection) cannot
lock its owner out of it, and a sign-out or another person's sign-in keeps what makes it known.
And a sign-out made without a network ends the session on the server once the phone has one."""

from __future__ import annotations

import time

import pytest

from server.demo.content import DEMO_PASSWORDS
from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import INSPECTOR, OTHER_INSPECTOR, PASSWORD, phone_context, sign_in, watch_errors

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def sign_out(page) -> None:
    """Sign out from the settings screen, in whichever language the phone is."""
    page.goto(page.url.split("#")[0] + "#/settings")
    words = page.evaluate("async () => (await import('/js/i18n.js')).t('signout.button')")
    page.get_by_role("button", name=words).click()
    page.wait_for_selector("input[name=username]")


def test_a_name_locked_by_guesses_elsewhere_still_signs_in_on_its_owners_phone(pwa_server, browser):
    # An inspector whose name was created with capitals, and who types it in small letters.
    admin = pwa_server.login("admin", DEMO_PASSWORDS["admin"])
    ali = next(u for u in pwa_server.api("GET", "/api/v1/users", admin).json() if u["username"] == INSPECTOR)
    created = pwa_server.api(
        "POST",
        "/api/v1/users",
        admin,
        json={
            "username": "Nadia.Khan",
            "display_name": "Nadia Khan",
            "password": "given-by-the-admin",
            "role": "inspector",
            "district_ids": ali["district_ids"],
        },
    )
    assert created.status_code == 201, created.text
    inspector = "nadia.khan"
    pwa_server.choose_own_password(inspector, "given-by-the-admin", PASSWORD)
    context = phone_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url, inspector, PASSWORD)
    page.click(".lang-toggle")
    wait_in_page(page, "document.documentElement.lang === 'ur'")
    sign_out(page)

    # Another person signs in on the same phone and out again: the first one's device token stays.
    sign_in(page, pwa_server.url, OTHER_INSPECTOR, PASSWORD)
    sign_out(page)

    # Someone guesses at the inspector's name: it is locked for every browser that is not theirs.
    for _ in range(5):
        guess = pwa_server.api("POST", "/api/v1/auth/login", json={"username": inspector, "password": "wrong-pass"})
        assert guess.status_code == 401
    refused = pwa_server.api("POST", "/api/v1/auth/login", json={"username": inspector, "password": PASSWORD})
    assert refused.status_code == 429, refused.text

    sent: list[dict] = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/auth/login") else None)
    page.fill("input[name=username]", inspector)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_selector("#station-list li")
    [body] = sent
    assert len(body.get("device") or "") >= 40, "the phone did not present the token its last sign-in gave it"
    # The language chosen before the sign-outs is still the phone's.
    assert page.evaluate("document.documentElement.lang") == "ur"

    # A browser that never signed in as the inspector is still refused.
    other = browser.new_context()
    stranger = other.new_page()
    stranger.goto(pwa_server.url + "/")
    stranger.fill("input[name=username]", inspector)
    stranger.fill("input[name=password]", PASSWORD)
    stranger.click("form.login button[type=submit]")
    stranger.wait_for_selector("form.login .form-error:not([hidden])")
    assert "Too many attempts" in stranger.inner_text("form.login .form-error")
    assert stranger.locator("#station-list li").count() == 0
    other.close()
    assert errors == []
    context.close()


def test_a_session_signed_out_of_without_a_network_is_ended_on_the_server_once_there_is_one(pwa_server, browser):
    context = phone_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    token = page.evaluate("async () => (await import('/js/db.js')).kv.get('token')")
    assert pwa_server.api("GET", "/api/v1/me", token).status_code == 200

    context.set_offline(True)
    sign_out(page)
    # Signed out on the phone; on the server the session is still open until the phone can say so.
    assert pwa_server.api("GET", "/api/v1/me", token).status_code == 200
    context.set_offline(False)
    deadline = time.monotonic() + 30
    while pwa_server.api("GET", "/api/v1/me", token).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pwa_server.api("GET", "/api/v1/me", token).status_code == 401, "the session was left open"
    assert page.evaluate("async () => (await import('/js/db.js')).kv.get('revoke')") is None
    assert errors == []
    context.close()
