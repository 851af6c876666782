"""Every control in the top bar, on every screen, is a touch target of at least 44 × 44 px on a phone,
in English and in Urdu (UX: touch targets at least 44 px); so is the skip link when it shows."""

from __future__ import annotations

import pytest

from tests.e2e.test_pwa_support import live_pwa_server, phone_context, sign_in, watch_errors

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SMALL = """() => [...document.querySelectorAll('.topbar a, .topbar button, .skip')]
    .filter((el) => (el.classList.contains('skip') ? el === document.activeElement : el.offsetParent !== null))
    .map((el) => ({ what: el.className + ' ' + el.textContent.trim(), r: el.getBoundingClientRect() }))
    .filter(({ r }) => r.width < 44 || r.height < 44)
    .map(({ what, r }) => `${what}: ${Math.round(r.width)}×${Math.round(r.height)}`)"""


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("targets"))


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_the_top_bar_and_skip_link_are_44_px_targets_on_a_phone(pwa_server, browser, lang):
    context = phone_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    if lang == "ur":
        page.click(".lang-toggle")
        page.locator("html[dir=rtl]").wait_for(state="attached")
    page.wait_for_selector(".topbar .lang-toggle")
    assert page.locator(".topbar a, .topbar button").count() >= 3
    assert page.evaluate(SMALL) == []
    page.focus(".skip")
    assert page.locator(".skip").bounding_box()["height"] >= 44
    assert page.evaluate(SMALL) == []
    assert errors == []
    context.close()
