"""Two tabs of the app on one phone (the installed app and a browser tab share one store).

When one tab signs its person out and another person signs in there, a tab still showing the person
before went on under their name: an inspection done in it went into the shared outbox and was sent with
the next person's session, stored as theirs, and shown to them. A tab now follows the stored session.
"""

from __future__ import annotations

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import INSPECTOR, sign_in, signed_in_phone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

WHO = "async () => (await import('/js/state.js')).state.user?.username ?? null"


def test_a_tab_follows_a_sign_out_and_the_next_sign_in_made_in_another(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    first = phone.page
    admin = pwa_server.login("admin", "admin-demo-2026")
    ali = next(u for u in pwa_server.api("GET", "/api/v1/users", admin).json() if u["username"] == INSPECTOR)
    made = pwa_server.api(
        "POST",
        "/api/v1/users",
        admin,
        json={
            "username": "inspector.bilal",
            "display_name": "Bilal",
            "password": "given-by-the-admin",
            "role": "inspector",
            "region_ids": [],
            "district_ids": ali["district_ids"],
            "active": True,
        },
    )
    assert made.status_code == 201, made.text
    pwa_server.choose_own_password("inspector.bilal", "given-by-the-admin", "bilal-pass-2026")
    assert first.evaluate(WHO) == INSPECTOR

    second = phone.context.new_page()
    second.goto(pwa_server.url + "/#/settings")
    second.click("button.btn-danger")
    second.wait_for_selector("form.login")
    # The first tab leaves Ali's screens for the sign-in form: nothing more is done under his name.
    # The tab reloads on its way there: `wait_in_page` asks again across the navigation.
    wait_in_page(first, f"({WHO})().then(who => who === null && !!document.querySelector('form.login'))")

    sign_in(second, pwa_server.url, "inspector.bilal", "bilal-pass-2026")
    # And then shows the person signed in now: what it sends is theirs, under their own session.
    wait_in_page(first, f"({WHO})().then(who => who === 'inspector.bilal')")
    first.wait_for_selector("#station-list")
    assert phone.errors == []
    phone.context.close()
