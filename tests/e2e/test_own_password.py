"""Every role changes its own password from the settings screen, beside "Sign out": the current one
is checked by the server (its refusal shown at the field), the new one typed twice, nothing is tried
or kept without a connection, the session used goes on and every other one ends, and the next
sign-in takes the new password."""

from __future__ import annotations

import pytest

from server.demo.content import DEMO_PASSWORDS
from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import INSPECTOR, PASSWORD, phone_context, sign_in, watch_errors
from tests.e2e.test_reviewer_support import reviewer_desk

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

NEW = "my-own-secret-2026"


def words(page, key: str) -> str:
    return page.evaluate(f"async () => (await import('/js/i18n.js')).t({key!r})")


def open_password_screen(page, url: str) -> None:
    page.goto(url + "/#/settings")
    page.get_by_role("link", name=words(page, "password.open")).click()
    page.wait_for_selector("input[name=current_password]")


def change(page, current: str, new: str, again: str | None = None) -> None:
    page.fill("input[name=current_password]", current)
    page.fill("input[name=new_password]", new)
    page.fill("input[name=new_password_again]", new if again is None else again)
    page.click("form.password-form button[type=submit]")


def error_at(page, field: str) -> str:
    selector = f"[data-field={field}] .field-error:not([hidden])"
    page.wait_for_selector(selector)
    return page.inner_text(selector)


def test_an_inspector_changes_their_password_on_the_phone_and_signs_in_with_it(pwa_server, browser):
    context = phone_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url, INSPECTOR, PASSWORD)
    laptop = pwa_server.login(INSPECTOR, PASSWORD)  # the same inspector signed in elsewhere
    open_password_screen(page, pwa_server.url)
    assert words(page, "password.needsNetwork") in page.inner_text("main")

    # Without a connection nothing is sent later: the screen says the password is unchanged.
    context.set_offline(True)
    change(page, PASSWORD, NEW)
    page.wait_for_selector(".password-form .form-error:not([hidden])")
    assert "password has not been changed" in page.inner_text(".password-form .form-error")
    context.set_offline(False)
    assert pwa_server.api("GET", "/api/v1/me", laptop).status_code == 200

    # The server's refusal of the current password is shown at that field.
    change(page, "not-my-password", NEW)
    assert error_at(page, "current_password") == "This is not your current password."
    assert page.get_attribute("input[name=current_password]", "aria-invalid") == "true"
    # The two new ones must agree, and the new one must be new.
    change(page, PASSWORD, NEW, again=NEW + "x")
    assert error_at(page, "new_password_again") == "The two new passwords are not the same."
    change(page, PASSWORD, PASSWORD)
    assert error_at(page, "new_password") == "The new password must be different from the current one."

    change(page, PASSWORD, NEW)
    page.wait_for_selector(".callout-ok:not([hidden])")
    assert "Your password has been changed" in page.inner_text(".callout-ok")
    assert page.input_value("input[name=current_password]") == ""
    assert page.locator("[data-field] .field-error:not([hidden])").count() == 0

    # The laptop's session ended; the phone's goes on.
    assert pwa_server.api("GET", "/api/v1/me", laptop).status_code == 401
    page.goto(pwa_server.url + "/#/")
    page.wait_for_selector("#station-list li")
    refused = pwa_server.api("POST", "/api/v1/auth/login", json={"username": INSPECTOR, "password": PASSWORD})
    assert refused.status_code == 401

    page.goto(pwa_server.url + "/#/settings")
    page.get_by_role("button", name=words(page, "signout.button")).click()
    page.wait_for_selector("input[name=username]")
    sign_in(page, pwa_server.url, INSPECTOR, NEW)
    assert errors == []
    context.close()


def test_a_reviewer_changes_their_password_in_urdu(pwa_server, browser):
    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    open_password_screen(page, pwa_server.url)
    assert page.inner_text("h1") == "پاس ورڈ تبدیل کریں"

    reviewer_password = DEMO_PASSWORDS["reviewer"]
    change(page, "not-my-password", NEW)
    assert error_at(page, "current_password") == "یہ آپ کا موجودہ پاس ورڈ نہیں ہے۔"
    change(page, reviewer_password, NEW)
    page.wait_for_selector(".callout-ok:not([hidden])")
    assert "آپ کا پاس ورڈ تبدیل ہو گیا ہے" in page.inner_text(".callout-ok")
    wait_in_page(page, "document.documentElement.dir === 'rtl'")

    page.goto(pwa_server.url + "/#/settings")
    page.get_by_role("button", name=words(page, "signout.button")).click()
    page.wait_for_selector("input[name=username]")
    page.fill("input[name=username]", "rpo.lahore")
    page.fill("input[name=password]", NEW)
    page.click("form.login button[type=submit]")
    page.wait_for_selector(".rv-queue")
    assert errors == []
    context.close()
