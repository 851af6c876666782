"""Every control in the top bar, on every screen, is a touch target of at least 44 × 44 px on a phone,
in English and in Urdu (UX: touch targets at least 44 px); so is the skip link when it shows; and a
0–5 scale is one row of such targets (UX: "0–5 as a row of buttons")."""

from __future__ import annotations

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import (
    begin_inspection,
    inspection_id,
    jpeg,
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
        # The bar changes height when its sync badge does (a draft saved, sent), and the head follows it
        # at the next frame (app.js measures the bar): compared once a frame has passed with no change,
        # for up to three seconds, and never followed means the head stays where it was.
        for _ in range(30):
            page.wait_for_timeout(100)
            bar, head = page.evaluate(
                "[document.getElementById('topbar').getBoundingClientRect().bottom,"
                " document.querySelector('.fill-head').getBoundingClientRect().top]"
            )
            if abs(head - bar) < 1:
                break
        assert page.evaluate("window.scrollY") > 200
        assert abs(head - bar) < 1, (lang, bar, head)
    assert phone.errors == []
    phone.context.close()


# Links shorter than a 44 px target among those `selector` finds, and whether any was found at all. An
# inline link that wraps is measured line by line: two 25 px lines are two small targets, not one of 50.
SHORT_LINKS = """(selector) => {
  const links = [...document.querySelectorAll(selector)].filter((a) => a.offsetParent !== null);
  return { found: links.length, short: links.flatMap((a) => [...a.getClientRects()].map((r) => ({ text: a.textContent.trim().slice(0, 30), r })))
    .filter(({ r }) => r.height < 44).map(({ text, r }) => `${text}: ${Math.round(r.width)}x${Math.round(r.height)}`) };
}"""
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
REVIEW_LINKS = ".sections-table a, .review .missing a, .score-card .callout-fail a"


def test_jump_links_are_44_px_targets_and_focus_and_announcements_follow_the_inspector(pwa_server, browser):
    """The still-to-answer links and the review's section, missing and critical-item links are 44 px
    targets on a 360 px phone in English and Urdu. The still-to-answer list is not read out again on
    every tap: its count is said when it changes. Focus is kept when a photo is deleted and when the
    review screen is drawn again by the outbox, a photo opened by keyboard is not deleted by a second
    Enter, and the photo buttons show the focus ring."""
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    begin_inspection(page, phone.station)
    iid = inspection_id(page)

    def no_short_links(selectors: str) -> None:
        for selector in selectors.split(", "):
            measured = page.evaluate(SHORT_LINKS, selector)
            assert measured["found"] and measured["short"] == [], (selector, measured)
        assert page.evaluate(NO_SIDEWAYS_SCROLL)

    no_short_links(".missing a")
    assert not page.evaluate(
        "[...document.querySelectorAll('.missing a')].some((a) => a.closest('[aria-live], [role=status], [role=alert]'))"
    ), "the list is drawn again on every tap; a live region would read all of it each time"
    left = page.locator(".missing li").count()
    page.evaluate(
        "window.saidCount = 0; new MutationObserver((m) => { window.saidCount += m.length; })"
        ".observe(document.getElementById('missing-status'), { childList: true, subtree: true, characterData: true })"
    )
    page.locator("#item-fd_rights_displayed [data-value=yes]").click()
    wait_in_page(page, f"document.querySelectorAll('.missing li').length === {left - 1}")
    assert str(left - 1) in page.inner_text("#missing-status")
    said = page.evaluate("window.saidCount")
    # Another answer to an item already answered leaves the count as it was: nothing to say.
    page.locator("#item-fd_rights_displayed [data-value=no]").click()
    page.wait_for_selector("#item-fd_rights_displayed [data-value=no][aria-pressed=true]")
    page.wait_for_timeout(200)
    assert page.evaluate("window.saidCount") == said

    # The camera button wraps a hidden file input; keyboard focus on it shows the ring on the button.
    page.locator("#item-fd_staffed [data-value=na]").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.source") == "camera"
    assert page.evaluate("getComputedStyle(document.activeElement.closest('label')).outlineStyle") == "solid"

    # Deleting a photo moves focus to the next one left, and after the last to the camera button.
    card = page.locator("#item-fd_staffed")
    card.locator("input[data-source=gallery]").set_input_files(
        files=[{"name": f"{n}.jpg", "mimeType": "image/jpeg", "buffer": jpeg(n)} for n in (1, 2)]
    )
    for remaining, focused in ((1, ".thumb"), (0, "input[data-source=camera]")):
        wait_in_page(page, f"document.querySelectorAll('#item-fd_staffed .thumb').length === {remaining + 1}")
        card.locator(".thumb").first.focus()
        page.keyboard.press("Enter")
        if remaining == 1:
            # Enter again, meaning to close the picture, closes it: the first focus is never on Delete.
            page.wait_for_selector("dialog[open] .btn-danger")
            assert page.evaluate("document.activeElement.closest('dialog') !== null")
            assert page.evaluate("document.activeElement.classList.contains('btn-danger')") is False
            page.keyboard.press("Enter")
            page.wait_for_selector("dialog[open]", state="detached")
            assert card.locator(".thumb").count() == 2
            card.locator(".thumb").first.focus()
            page.keyboard.press("Enter")
        page.locator("dialog[open] .btn-danger").click()
        wait_in_page(page, f"document.querySelectorAll('#item-fd_staffed .thumb').length === {remaining}")
        wait_in_page(page, f"document.activeElement.matches('#item-fd_staffed {focused}')")

    # A critical item failed, so the review lists it, with the sections and what is still missing.
    page.goto(pwa_server.url + f"/#/i/{iid}/s/4")
    page.locator("#item-fir_no_tampering [data-value=no]").click()
    page.goto(pwa_server.url + f"/#/i/{iid}/review")
    page.wait_for_selector(".score-card .callout-fail a")
    no_short_links(REVIEW_LINKS)

    # The outbox draws the review again; focus stays on the link it was on.
    link = page.locator(".sections-table a").nth(4)
    link.focus()
    href = link.get_attribute("href")
    page.evaluate("document.querySelector('.page.review').dataset.drawn = 'before'")
    page.evaluate("import('/js/bus.js').then((bus) => bus.emit('outbox'))")
    page.wait_for_selector(".page.review:not([data-drawn])")
    assert page.evaluate("[document.activeElement.getAttribute('href'), document.activeElement.isConnected]") == [
        href,
        True,
    ]

    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    page.wait_for_selector(".score-card .callout-fail a")
    no_short_links(REVIEW_LINKS)
    page.goto(pwa_server.url + f"/#/i/{iid}/s/0")
    page.wait_for_selector(".missing a")
    no_short_links(".missing a")
    assert phone.errors == []
    phone.context.close()


# What of the focused control is hidden under the sticky top bar and section head, in px (0: none).
HIDDEN_UNDER_HEAD = """() => {
  const head = document.querySelector('.fill-head').getBoundingClientRect();
  const r = document.activeElement.getBoundingClientRect();
  return Math.max(0, Math.min(head.bottom, r.bottom) - r.top);
}"""

# The words of an element's text that are drawn on more than one line (split inside the word).
WORDS_SPLIT = """(selector) => {
  const split = [];
  const walk = document.createTreeWalker(document.querySelector(selector), NodeFilter.SHOW_TEXT);
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    for (const m of node.data.matchAll(/[^\\s]+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      if (new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1) split.push(m[0]);
    }
  }
  return split;
}"""

# WCAG contrast ratio of two CSS colours.
CONTRAST = """([a, b]) => {
  const lum = (css) => {
    const probe = document.createElement('i'); probe.style.color = css; document.body.append(probe);
    const rgb = getComputedStyle(probe).color.match(/\\d+/g).slice(0, 3).map(Number); probe.remove();
    const [r, g, b2] = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b2;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}"""


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_with_the_browsers_text_at_150_percent_answers_grow_and_keyboard_focus_stays_in_view(pwa_server, browser, lang):
    """An older officer sets the browser's text to 150 %: the questions and answers grow with it (not
    only the headings), the sync badge says its words whole, and walking back through a section with
    Shift+Tab never leaves the focused control under the sticky top bar and section head. The control
    edges and the focus ring stand out from the page (WCAG 1.4.11, 3:1)."""
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    cdp = phone.context.new_cdp_session(page)
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 24}})
    if lang == "ur":
        page.click(".lang-toggle")
        page.locator("html[dir=rtl]").wait_for(state="attached")
    begin_inspection(page, phone.station)
    page.goto(pwa_server.url + f"/#/i/{inspection_id(page)}/s/1")
    page.wait_for_selector(".step-buttons .btn")
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "25.5px"
    # The buttons' words grow too.
    assert float(page.evaluate("getComputedStyle(document.querySelector('.step-buttons .btn')).fontSize")[:-2]) >= 24
    badge = page.evaluate(
        "(() => { const b = document.querySelector('.badge'); return [b.scrollWidth - b.clientWidth, b.textContent]; })()"
    )
    assert badge[0] <= 0, badge
    # Nor, at 200 %, broken inside a word (into a column of letters that made the sticky top bar half
    # the screen's height), nor run off the screen's side: whole words, the bar rows high, and then it
    # scrolls away with the page rather than hold the screen, the section head sticking at the top.
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32}})
    assert page.evaluate(WORDS_SPLIT, ".badge") == []
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    page.evaluate("scrollTo(0, document.body.scrollHeight)")
    wait_in_page(page, "document.getElementById('topbar').getBoundingClientRect().bottom <= 0")
    wait_in_page(page, "Math.abs(document.querySelector('.fill-head').getBoundingClientRect().top) < 1")
    page.evaluate("scrollTo(0, 0)")
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 24}})
    page.locator(".step-buttons .btn").last.focus()
    hidden = []
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("!!document.activeElement.closest('.fill-head, .topbar')"):
            break
        covered = page.evaluate(HIDDEN_UNDER_HEAD)
        if covered > 0:
            hidden.append((page.evaluate("document.activeElement.outerHTML.slice(0, 80)"), covered))
    assert hidden == []
    line, ring = page.evaluate(
        "['--line', '--ring'].map((v) => getComputedStyle(document.documentElement).getPropertyValue(v).trim())"
    )
    for colour in (line, ring):
        for ground in ("#ffffff", "#f3f4f6"):
            assert page.evaluate(CONTRAST, [colour, ground]) >= 3, (colour, ground)
    bar_ring = page.evaluate("getComputedStyle(document.getElementById('topbar')).getPropertyValue('--ring').trim()")
    assert page.evaluate(CONTRAST, [bar_ring, "#0b4f6c"]) >= 3
    assert phone.errors == []
    phone.context.close()
