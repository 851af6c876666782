"""Every control in the top bar, on every screen, is a touch target of at least 44 × 44 px on a phone,
in English and in Urdu (UX: touch targets at least 44 px); so is the skip link when it shows; and a
0–5 scale is one row of such targets (UX: "0–5 as a row of buttons")."""

from __future__ import annotations

import pytest

from tests.e2e.test_pwa_support import (
    begin_inspection,
    inspection_id,
    live_pwa_server,
    phone_context,
    sign_in,
    signed_in_phone,
    watch_errors,
)

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
    # The badge is hidden until it first knows what to say; measured once it says it.
    page.wait_for_selector("#sync-badge[data-state]")
    assert page.locator(".topbar a, .topbar button").count() >= 3
    assert page.evaluate(SMALL) == []
    page.focus(".skip")
    assert page.locator(".skip").bounding_box()["height"] >= 44
    assert page.evaluate(SMALL) == []
    assert errors == []
    context.close()


SCALE_BUTTONS = """() => [...document.querySelectorAll('.choice-row.scale')].map((row) =>
    [...row.querySelectorAll('button')].map((b) => {
      const r = b.getBoundingClientRect();
      return { top: Math.round(r.top), width: r.width, height: r.height };
    }))"""


def test_a_0_to_5_scale_is_one_row_of_44_px_targets_on_a_360_px_phone_in_english_and_urdu(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    sections = phone.version["definition"]["sections"]
    index = next(
        n for n, s in enumerate(sections) if any(i["type"] == "scale" and i.get("max", 5) == 5 for i in s["items"])
    )
    begin_inspection(page, phone.station)
    page.goto(pwa_server.url + f"/#/i/{inspection_id(page)}/s/{index}")
    page.wait_for_selector(".choice-row.scale")
    assert page.viewport_size["width"] == 360
    for lang in ("en", "ur"):
        if lang == "ur":
            page.click(".lang-toggle")
            page.locator("html[dir=rtl]").wait_for(state="attached")
            page.wait_for_selector(".choice-row.scale")
        rows = [r for r in page.evaluate(SCALE_BUTTONS) if len(r) == 6]
        assert rows, "the demo checklist has a 0–5 scale"
        for buttons in rows:
            assert len({b["top"] for b in buttons}) == 1, (lang, buttons)
            assert all(b["width"] >= 44 and b["height"] >= 44 for b in buttons), (lang, buttons)
    assert phone.errors == []
    phone.context.close()


def test_the_section_head_sticks_just_below_the_top_bar_in_english_and_urdu(pwa_server, browser):
    """The fill screen's station and progress line stay whole under the top bar while the items scroll,
    though the bar is taller in Urdu (Nastaliq's line height)."""
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    begin_inspection(page, phone.station)
    for lang in ("en", "ur"):
        if lang == "ur":
            page.click(".lang-toggle")
            page.locator("html[dir=rtl]").wait_for(state="attached")
            page.wait_for_selector(".fill-head")
        page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
        page.wait_for_timeout(100)
        bar, head = page.evaluate(
            "[document.getElementById('topbar').getBoundingClientRect().bottom,"
            " document.querySelector('.fill-head').getBoundingClientRect().top]"
        )
        assert page.evaluate("window.scrollY") > 200
        assert abs(head - bar) < 1, (lang, bar, head)
    assert phone.errors == []
    phone.context.close()
