"""Signing out deletes what the browser keeps; a review begun and not sent is said before it goes.

The reviewer's screen keeps a review as it is written (comment, item comments, score changes), so
that a reload or a lost connection loses nothing; a sign-out would delete it silently. The settings
screen now asks first, in English and Urdu, and keeping the review keeps the person signed in."""

from __future__ import annotations

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_reviewer_support import inspector_setup, reviewer_desk, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_a_review_begun_and_not_sent_is_said_before_a_sign_out_deletes_it(pwa_server, browser):
    token, stations, version = inspector_setup(pwa_server)
    stored = submit(pwa_server, token, stations[0], version, seed=3)
    context, page, errors = reviewer_desk(browser, pwa_server.url)

    def sign_out_asks() -> str:
        page.goto(pwa_server.url + "/#/settings")
        words = page.evaluate("async () => (await import('/js/i18n.js')).t('signout.button')")
        page.get_by_role("button", name=words).click()
        page.wait_for_selector("dialog[open]")
        return page.inner_text("dialog[open]")

    page.goto(pwa_server.url + f"/#/review/i/{stored['id']}")
    page.fill("#rv-comment", "Photos of the lockup are missing; please add them.")
    # The review is kept as it is typed.
    wait_in_page(
        page, f"import('/js/db.js').then((db) => db.kv.get('rv-review:{stored['id']}')).then((r) => !!r?.comment)"
    )

    asked = sign_out_asks()
    assert "1 review or template change begun here has not been sent" in asked, asked
    page.click("dialog[open] button:not(.btn-danger):not(.btn-primary)")  # keep it
    page.goto(pwa_server.url + f"/#/review/i/{stored['id']}")
    assert page.input_value("#rv-comment") == "Photos of the lockup are missing; please add them."

    # A template change the server has not taken yet is kept the way the builder keeps it, and counted too.
    page.evaluate(
        "async () => (await import('/js/db.js')).kv.set('admin.template.t1', {def: {}, at: new Date().toISOString()})"
    )
    assert "2 reviews or template changes begun here have not been sent" in sign_out_asks()
    page.click("dialog[open] button:not(.btn-danger):not(.btn-primary)")

    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    asked = sign_out_asks()
    assert "جائزے یا فارم کی تبدیلیاں ابھی بھیجی نہیں گئیں" in asked, asked
    page.click("dialog[open] .btn-primary")
    page.wait_for_selector("input[name=username]")
    gone = page.evaluate("async (id) => (await import('/js/db.js')).kv.get('rv-review:' + id)", stored["id"])
    assert gone is None
    assert errors == []
    context.close()
