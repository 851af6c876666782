"""The inspector's phone for someone with very large text, a keyboard or a screen reader (TalkBack).

With the phone's text at 200 % (Android's largest font: the root font size doubles), the screens still
fit a 360 px phone: nothing scrolls sideways, and every button holds its words, in English and Urdu,
while at normal size the answers and photo buttons keep their rows. Switching the language keeps
focus on the language button. A chosen answer is named by its word; the tick drawn before it is not read.

One signed-in phone, with one inspection begun, serves the whole module; each test sets the language,
text size and screen it needs.
"""

from __future__ import annotations

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import begin_inspection, inspection_id, live_pwa_server, signed_in_phone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("a11y"))


@pytest.fixture(scope="module")
def phone(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    begin_inspection(phone.page, phone.station)
    phone.inspection = inspection_id(phone.page)
    yield phone
    assert phone.errors == []
    phone.context.close()


@pytest.fixture(autouse=True)
def normal_text_size(phone):
    """Each test starts at the phone's normal text size, whatever the one before left."""
    set_text_size(phone.page, 100)


def set_language(page, lang: str) -> None:
    if page.evaluate("document.documentElement.lang") != lang:
        page.click(".lang-toggle")
        wait_in_page(page, f"document.documentElement.lang === '{lang}'")


def set_text_size(page, percent: int) -> None:
    """What the phone's font-size setting does to a page: the root font size, which every rem follows."""
    page.evaluate(f"document.documentElement.style.fontSize = '{percent}%'")


def show(page, hash_: str, ready: str) -> None:
    page.evaluate(f"location.hash = '{hash_}'")
    page.wait_for_selector(ready)


# What of the screen lies beyond its sides (the page then scrolls sideways), and which buttons draw
# their words outside themselves: measured on the text itself (a Range), which a word too long for
# its box overflows. A scrolling strip (the section steps) may hold more than the screen's width.
OUT_OF_PLACE = """() => {
  const width = document.documentElement.clientWidth;
  const say = (el) => `${el.tagName.toLowerCase()}.${String(el.className).trim().replace(/ +/g, '.')} "${el.textContent.trim().slice(0, 30)}"`;
  const textBox = (el) => { const r = document.createRange(); r.selectNodeContents(el); return r.getBoundingClientRect(); };
  const scrolls = (el) => { for (let p = el.parentElement; p; p = p.parentElement) if (getComputedStyle(p).overflowX !== 'visible') return true; return false; };
  const outside = [...document.querySelectorAll('main *')].filter((el) => {
    if (scrolls(el)) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && (r.left < -1 || r.right > width + 1);
  }).map(say);
  const spilled = [...document.querySelectorAll('main .btn')].filter((b) => {
    const r = b.getBoundingClientRect(), t = textBox(b);
    return r.width > 0 && t.width > 0 && (t.left < r.left - 1 || t.right > r.right + 1);
  }).map(say);
  const helpOutOfCard = [...document.querySelectorAll('main .item-head .btn')].filter((b) => {
    const r = b.getBoundingClientRect(), card = b.closest('.item').getBoundingClientRect();
    return r.left < card.left || r.right > card.right;
  }).map(say);
  return { pageWidth: document.documentElement.scrollWidth, width, outside: outside.slice(0, 8), spilled, helpOutOfCard };
}"""


def assert_fits(page, where: str) -> None:
    found = page.evaluate(OUT_OF_PLACE)
    assert found["pageWidth"] <= found["width"], f"{where}: the page scrolls sideways: {found}"
    assert found["outside"] == [], f"{where}: beyond the screen's side: {found['outside']}"
    assert found["spilled"] == [], f"{where}: words drawn outside their button: {found['spilled']}"
    assert found["helpOutOfCard"] == [], f"{where}: the help button outside its card: {found['helpOutOfCard']}"


# Where the buttons of the first card's answers and of its photos stand: rows of (top, width).
ROWS = """() => {
  const card = document.querySelector('.item');
  const at = (sel) => [...card.querySelectorAll(sel)].map((b) => { const r = b.getBoundingClientRect(); return [Math.round(r.top), Math.round(r.width)]; });
  return { answers: at('.yes-no .btn'), photos: at('.photo-buttons .btn') };
}"""


def test_the_fill_screen_fits_a_360_px_phone_with_text_at_200_percent(phone):
    page = phone.page
    fill = f"#/i/{phone.inspection}/s/0"
    for lang in ("en", "ur"):
        set_language(page, lang)
        set_text_size(page, 100)
        show(page, fill, ".item .photo-buttons")
        # Normal size as it was: Yes, No and N.A. in one row of equal buttons, the photo buttons side by side.
        rows = page.evaluate(ROWS)
        for buttons in rows.values():
            assert len({top for top, _ in buttons}) == 1, f"{lang} at 100 %: not in one row: {rows}"
            assert max(w for _, w in buttons) - min(w for _, w in buttons) <= 1, f"{lang} at 100 %: {rows}"
        assert_fits(page, f"{lang} at 100 %")
        # Large: the first section's long questions, its "Take photo" / "From gallery", a choice of
        # long options ("No acknowledgement given") and the list of what is still to answer.
        set_text_size(page, 200)
        page.wait_for_selector(".missing li a")
        assert_fits(page, f"the fill screen in {lang} at 200 %")
        rows = page.evaluate(ROWS)
        assert len({top for top, _ in rows["photos"]}) == 2, (
            f"{lang} at 200 %: photo buttons not on rows of their own: {rows}"
        )


def test_the_other_inspector_screens_fit_with_text_at_200_percent(phone):
    page = phone.page
    screens = [
        ("home", "#/", "#station-list li"),
        ("start", f"#/start/{phone.station['id']}", "#begin"),
        ("review", f"#/i/{phone.inspection}/review", "#overall-percent"),
        ("sync", "#/sync", "#local-drafts"),
    ]
    for lang in ("en", "ur"):
        set_language(page, lang)
        set_text_size(page, 200)
        for name, hash_, ready in screens:
            show(page, hash_, ready)
            assert_fits(page, f"{name} in {lang} at 200 %")


FOCUSED = """() => { const a = document.activeElement;
  return a && { langToggle: a.classList.contains('lang-toggle'), lang: a.lang, inBar: !!a.closest('#topbar'), connected: a.isConnected }; }"""


def test_switching_language_by_keyboard_keeps_focus_on_the_language_button(phone):
    page = phone.page
    set_language(page, "en")
    show(page, f"#/i/{phone.inspection}/s/0", ".item")
    page.focus(".lang-toggle")
    for lang, other in (("ur", "en"), ("en", "ur")):
        page.keyboard.press("Enter")
        wait_in_page(page, f"document.documentElement.lang === '{lang}'")
        # The bar was drawn again in the new language: focus is on its new language button (which now
        # offers the other one), not dropped to the start of the page.
        assert page.evaluate(FOCUSED) == {"langToggle": True, "lang": other, "inBar": True, "connected": True}


def test_a_chosen_answer_is_named_by_its_word_without_the_tick(phone):
    page = phone.page
    set_language(page, "en")
    show(page, f"#/i/{phone.inspection}/s/0", ".item")
    no = page.locator(".item").first.locator(".yes-no [data-value=no]")
    if no.get_attribute("aria-pressed") != "true":
        no.click()
    assert no.get_attribute("aria-pressed") == "true"
    # Still drawn for the eye...
    assert "✓" in no.evaluate("(b) => getComputedStyle(b, '::before').content")
    # ...but not read: the name in Chromium's accessibility tree (what TalkBack reads) is the word alone.
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": ".item .yes-no [data-value=no]"})["nodeId"]
        ax = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node, "fetchRelatives": False})["nodes"][0]
    finally:
        cdp.detach()
    assert ax["role"]["value"] == "button"
    assert ax["name"]["value"] == "No"
    pressed = {p["name"]: p["value"]["value"] for p in ax.get("properties", [])}.get("pressed")
    assert pressed == "true"


def test_a_button_in_a_callout_keeps_its_own_colours(phone):
    page = phone.page
    set_language(page, "en")
    # The station's screen, with the inspection begun there: "Continue that inspection" sits in a callout.
    show(page, f"#/start/{phone.station['id']}", "#continue-draft")
    colours = (
        "(sel) => { const s = getComputedStyle(document.querySelector(sel)); return [s.color, s.backgroundColor]; }"
    )
    # Drawn as the primary button it is (white on blue, as "Start inspection" beside it), not in the
    # callout's brown on the button's blue, which could hardly be read.
    assert page.evaluate(colours, "#continue-draft") == page.evaluate(colours, "#begin")


def test_choosing_the_language_in_settings_by_keyboard_keeps_focus_on_the_chosen_button(phone):
    page = phone.page
    set_language(page, "en")
    show(page, "#/settings", "button.btn-choice[lang=ur]")
    page.focus("button.btn-choice[lang=ur]")
    page.keyboard.press("Enter")
    wait_in_page(page, "document.documentElement.lang === 'ur'")
    # The screen was drawn again in Urdu: focus is on the Urdu button, now pressed, not on the page's start.
    wait_in_page(page, "document.activeElement?.matches('button.btn-choice[lang=ur][aria-pressed=true]')")
    set_language(page, "en")
