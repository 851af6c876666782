"""A reviewer whose session ends mid-review is asked to sign in again where they are.

The screen said "Your session has ended. Sign in again." and offered no way to, short of a reload or
a sign-out (which deletes the review begun). Every 401 met on any screen now opens the same sign-in
dialog as the phone's outbox does; the comment typed stays, and the decision goes once signed in.
"""

from __future__ import annotations

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_reviewer_support import inspector_setup, reviewer_desk, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_a_session_ended_mid_review_asks_for_the_password_and_keeps_the_review(pwa_server, browser):
    token, stations, version = inspector_setup(pwa_server)
    stored = submit(pwa_server, token, stations[0], version, seed=5)
    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.goto(pwa_server.url + f"/#/review/i/{stored['id']}")
    page.fill("#rv-comment", "Photo of the malkhana register is blurred; take it again.")
    wait_in_page(
        page, f"import('/js/db.js').then((db) => db.kv.get('rv-review:{stored['id']}')).then((r) => !!r?.comment)"
    )

    # The administrator resets the reviewer's password: every session of theirs ends.
    admin = pwa_server.login("admin", "admin-demo-2026")
    reviewer = next(u for u in pwa_server.api("GET", "/api/v1/users", admin).json() if u["username"] == "rpo.lahore")
    reset = pwa_server.api("PATCH", f"/api/v1/users/{reviewer['id']}", admin, json={"password": "new-review-pass-1"})
    assert reset.status_code == 200, reset.text

    page.click("#rv-return")
    page.wait_for_selector("dialog[open] input[type=password]", timeout=15000)
    assert "rpo.lahore" in page.inner_text("dialog[open]")
    page.fill("dialog[open] input[type=password]", "new-review-pass-1")
    page.click("dialog[open] button.btn-primary")
    wait_in_page(page, "!document.querySelector('dialog[open]')")
    assert page.input_value("#rv-comment") == "Photo of the malkhana register is blurred; take it again."
    page.click("#rv-return")
    page.wait_for_selector("#rv-decided")
    assert pwa_server.api("GET", f"/api/v1/inspections/{stored['id']}", token).json()["status"] == "returned"
    assert errors == []
    context.close()
