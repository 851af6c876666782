"""The reviewer's long tables and ranked bars, measured in real Chromium in both languages.

Column names must stay in view just below the sticky top bar while the officer scrolls a long table
(which a scrolling wrapper around the table, or a header stuck at the very top, defeats), and the
dashboard's ranked bars must show station names whole on a phone, as the table beside them does.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_pwa_support import live_pwa_server, watch_errors
from tests.e2e.test_reviewer_support import LAPTOP, inspector_setup, sign_in_reviewer, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SIZES = {"laptop": LAPTOP, "tablet": {"width": 768, "height": 1000}, "phone": {"width": 360, "height": 740}}


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("reviewer-layout"))


@pytest.fixture(scope="module")
def submitted(pwa_server):
    """Two submissions for each of the inspector's police stations: a queue taller than any screen, and
    a ranking of every station."""
    token, stations, version = inspector_setup(pwa_server)
    return [submit(pwa_server, token, st, version, seed=40 + n) for n in range(2) for st in stations]


def open_as(browser, server, size, lang):
    viewport = SIZES[size]
    context = browser.new_context(viewport=viewport, is_mobile=size == "phone", has_touch=size == "phone")
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_reviewer(page, server.url)
    if lang == "ur":
        page.click(".lang-toggle")
        page.locator("html[dir=rtl]").wait_for(state="attached")
    return context, page, errors


def show(page, server, path, ready):
    # A reload, so the selector cannot be satisfied by the screen shown before.
    page.goto(server.url + "/#" + path)
    page.reload()
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")


# Scrolls the page until the table's top edge is `into` px above the top bar's lower edge (the officer
# is part way down the table), then reports where each column name is and what is drawn at its centre.
SCROLL_INTO_TABLE = """([selector, into]) => {
  const table = document.querySelector(selector);
  const bar = document.getElementById('topbar');
  const wanted = table.getBoundingClientRect().top + scrollY - bar.getBoundingClientRect().height + into;
  scrollTo(0, wanted);
  const barBottom = bar.getBoundingClientRect().bottom;
  const box = table.getBoundingClientRect();
  return {
    scrolled: Math.abs(scrollY - wanted) < 1, barBottom, tableTop: box.top, tableBottom: box.bottom,
    wide: table.scrollWidth - table.parentElement.clientWidth,
    page: document.documentElement.scrollWidth - innerWidth,
    heads: [...table.tHead.rows[0].cells].map((th) => {
      const r = th.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return { text: th.textContent, top: r.top, bottom: r.bottom, seen: th.contains(hit) };
    }),
  };
}"""


def assert_header_below_bar(page, selector, where):
    into = min(150, page.locator(selector).bounding_box()["height"] / 2)
    got = page.evaluate(SCROLL_INTO_TABLE, [selector, into])
    assert got["scrolled"], f"{where}: the page is too short to scroll into the table"
    assert got["tableTop"] < got["barBottom"] - 20 < got["tableBottom"] - 60, f"{where}: not part way down: {got}"
    assert got["wide"] <= 1 and got["page"] <= 0, f"{where}: the table is wider than its box: {got}"
    for head in got["heads"]:
        assert abs(head["top"] - got["barBottom"]) <= 1, f"{where}: {head['text']!r} is not just below the bar: {got}"
        assert head["seen"], f"{where}: {head['text']!r} is covered: {got}"


@pytest.mark.parametrize("lang", ["en", "ur"])
@pytest.mark.parametrize("size", ["laptop", "tablet"])
def test_column_names_stay_below_the_top_bar_while_a_long_table_scrolls(pwa_server, submitted, browser, size, lang):
    context, page, errors = open_as(browser, pwa_server, size, lang)
    show(page, pwa_server, "/review", ".rv-queue tbody tr")
    assert page.locator(".rv-queue tbody tr").count() == len(submitted)
    assert_header_below_bar(page, ".rv-queue", f"queue, {size}, {lang}")
    show(page, pwa_server, "/review/dashboard", "#rv-ranking tbody tr")
    assert_header_below_bar(page, "#rv-ranking .rv-table", f"ranking, {size}, {lang}")
    assert errors == []
    context.close()


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_on_a_phone_rows_are_cards_with_their_column_names_and_a_plain_table_keeps_its_header_in_view(
    pwa_server, submitted, browser, lang
):
    context, page, errors = open_as(browser, pwa_server, "phone", lang)
    show(page, pwa_server, "/review", ".rv-queue tbody tr")
    cards = page.evaluate("""() => [...document.querySelectorAll('.rv-queue tbody tr:first-child td')].map((td) =>
        [td.dataset.label, getComputedStyle(td, '::before').content, getComputedStyle(td, '::before').display])""")
    # The first cell is the station's link, which needs no name; every other value is shown after its column's.
    assert all(content == f'"{label}"' and display != "none" for label, content, display in cards[1:])
    assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0
    show(page, pwa_server, f"/review/i/{submitted[0]['id']}", "#rv-approve")
    page.locator(".rv-head details summary").click()
    assert_header_below_bar(page, ".rv-head .rv-table", f"section scores, phone, {lang}")
    assert errors == []
    context.close()


# Each ranked bar's label (its lines joined), the label's box and its bar's box, in the SVG's units.
BARS = """() => {
  const svg = document.querySelector('#rv-ranking .rv-svg');
  return {
    width: Number(svg.getAttribute('width')),
    names: [...document.querySelectorAll('#rv-ranking tbody tr td:nth-child(2) .rv-name')].map((n) => n.textContent),
    bars: [...svg.querySelectorAll('.rv-label')].map((label) => {
      const lines = [...label.querySelectorAll('tspan')].map((t) => t.textContent);
      const box = (el) => { const b = el.getBBox(); return { l: b.x, r: b.x + b.width, t: b.y, b: b.y + b.height }; };
      return { text: lines.length ? lines.join(' ') : label.textContent, label: box(label), bar: box(label.nextElementSibling) };
    }),
  };
}"""


@pytest.mark.parametrize("lang", ["en", "ur"])
@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_ranked_bars_show_station_names_whole_beside_or_above_their_bars(pwa_server, submitted, browser, size, lang):
    context, page, errors = open_as(browser, pwa_server, size, lang)
    show(page, pwa_server, "/review/dashboard", "#rv-ranking .rv-svg")
    got = page.evaluate(BARS)
    assert len(got["bars"]) == len(got["names"]) > 0
    assert [b["text"] for b in got["bars"]] == got["names"], "a name in the chart is not the one in the table"
    previous_bottom = 0
    for b in got["bars"]:
        label, bar = b["label"], b["bar"]
        assert 0 <= label["l"] and label["r"] <= got["width"], f"{b['text']!r} runs off the chart"
        if size == "phone":
            # The name above its bar, clear of the bar before it.
            assert previous_bottom <= label["t"] and label["b"] <= bar["t"], f"{b['text']!r} overlaps a bar"
            previous_bottom = bar["b"]
        else:
            # The name on its bar's line, on the side the language reads from, not over the bar.
            assert bar["t"] <= (label["t"] + label["b"]) / 2 <= bar["b"], f"{b['text']!r} is not beside its bar"
            assert label["r"] <= bar["l"] if lang == "en" else bar["r"] <= label["l"], f"{b['text']!r} is on the bar"
    assert errors == []
    context.close()


# Elements that start an overflow past a 360 px screen's edge (their parent does not), the hidden
# column names of card tables and the off-screen skip link aside.
OVERFLOWING = """() => {
  const rtl = document.documentElement.dir === 'rtl';
  const over = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && (rtl ? r.left < -1 : r.right > 361); };
  return [...document.querySelectorAll('main *')]
    .filter((el) => !el.closest('thead') && over(el) && !over(el.parentElement))
    .map((el) => `${el.tagName}.${el.className} "${el.textContent.slice(0, 30)}"`).slice(0, 10);
}"""


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_with_the_browsers_text_at_200_percent_no_reviewer_screen_spills_off_a_phone(
    pwa_server, submitted, browser, lang
):
    """A regional officer with the phone's text at 200 %: every screen still fits the 360 px screen. A
    card's column name beside its value left the value 60 px, so grades, flags, buttons and photo
    evidence ran off the edge (off the left edge in Urdu, where it cannot even be scrolled to)."""
    context, page, errors = open_as(browser, pwa_server, "phone", lang)
    cdp = context.new_cdp_session(page)
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32}})
    screens = (
        ("/review", ".rv-queue tbody tr"),
        (f"/review/i/{submitted[0]['id']}", "#rv-approve"),
        ("/review/visits", ".rv-cards tbody tr"),
        ("/review/dashboard", "#rv-ranking tbody tr"),
        ("/review/actions", "main h1"),
    )
    for path, ready in screens:
        show(page, pwa_server, path, ready)
        if path.startswith("/review/i/"):
            page.locator(".rv-head details summary").click()
        assert page.evaluate(OVERFLOWING) == [], (path, lang)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, (path, lang)
    assert errors == []
    context.close()
