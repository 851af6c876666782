"""Urdu: the whole app right-to-left, the template's own Urdu text, a Nastaliq font, and screenshots.

Screenshots at 360×640 of the home, start and fill screens in each language are saved to
test-artifacts/ for people to look at.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import snapshot
from tests.e2e.test_pwa_support import (
    INSPECTOR,
    PASSWORD,
    begin_inspection,
    bundle,
    open_station,
    phone_context,
    pick_station_and_template,
    sign_in,
    wait_in_page,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# Which side of the digits around it a sign is drawn on, as the eye sees the screen: "left", "right"
# or "inside". A score reads "40.0%" and an accuracy "±12" in Urdu too; after Urdu words the bidi
# algorithm would otherwise draw them "%40.0" and "12±".
SIGN_SIDE = """(el, sign) => {
  const range = document.createRange();
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let at = null;
  const digits = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (let i = 0; i < node.data.length; i += 1) {
      if (node.data[i] !== sign && !/[0-9\u06f0-\u06f9]/.test(node.data[i])) continue;
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const r = range.getBoundingClientRect();
      if (node.data[i] === sign) at = r.left + r.width / 2; else digits.push(r.left + r.width / 2);
    }
  }
  if (at === null || !digits.length) return null;
  return at < Math.min(...digits) ? 'left' : at > Math.max(...digits) ? 'right' : 'inside';
}"""


def test_urdu_turns_the_app_right_to_left_with_the_templates_urdu_text(pwa_server, browser, artifacts):
    token = pwa_server.login(INSPECTOR, PASSWORD)
    station, version = pick_station_and_template(bundle(pwa_server, token))
    definition = version["definition"]
    first_section = definition["sections"][0]
    first_item = first_section["items"][0]

    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["en", "ltr"]

    def shoot(lang: str) -> None:
        snapshot(page, path=str(artifacts / f"pwa-home-{lang}.png"))
        open_station(page, station)
        page.wait_for_selector("#gps .pill-ok")
        snapshot(page, path=str(artifacts / f"pwa-start-{lang}.png"))

    shoot("en")
    page.click("#begin")
    page.wait_for_selector(f"#item-{first_item['key']}")
    snapshot(page, path=str(artifacts / "pwa-fill-en.png"))
    assert page.inner_text(".section-title") == first_section["title"]["en"]
    fill_url = page.url

    # Switch language from the top bar: the same screen re-renders in Urdu, right to left.
    page.click(".lang-toggle")
    wait_in_page(page, "document.documentElement.dir === 'rtl'")
    assert page.evaluate("document.documentElement.lang") == "ur"
    # The top bar switches whole, its sync badge included: no English words left from before.
    badge = page.inner_text("#sync-badge")
    assert badge.strip() and not re.search("[A-Za-z]", badge), badge
    assert page.inner_text(".section-title") == first_section["title"]["ur"]
    assert page.inner_text(f"#lbl-{first_item['key']}") == first_item["label"]["ur"]
    if first_item["type"] == "yes_no":
        assert page.locator(f"#item-{first_item['key']} [data-value=yes]").inner_text().strip().endswith("ہاں")
    # A number's unit is the template's Urdu word, beside the box and in the range below it.
    counted = next(i for i in first_section["items"] if i["type"] == "number" and isinstance(i.get("unit"), dict))
    unit = page.locator(f"#item-{counted['key']} .unit")
    assert unit.inner_text() == counted["unit"]["ur"]
    assert counted["unit"]["ur"] in page.inner_text(f"#item-{counted['key']} .hint")
    # The layout really mirrors: the card's label starts at the right edge.
    box = page.locator(f"#lbl-{first_item['key']}").bounding_box()
    card = page.locator(f"#item-{first_item['key']}").bounding_box()
    assert card["x"] + card["width"] - (box["x"] + box["width"]) < 40
    # The bundled Nastaliq face is used for Urdu text.
    page.evaluate("document.fonts.ready")
    assert page.evaluate("document.fonts.check('16px \"Noto Nastaliq Urdu\"', 'معائنہ')")
    assert "Nastaliq" in page.evaluate(
        f"getComputedStyle(document.getElementById('lbl-{first_item['key']}')).fontFamily"
    )
    snapshot(page, path=str(artifacts / "pwa-fill-ur.png"))
    # The section's score keeps its % after the number.
    page.locator(f"#item-{first_item['key']} .btn-choice").first.click()
    page.wait_for_selector("#section-score:not([data-percent=''])")
    assert page.locator("#section-score").evaluate(SIGN_SIDE, "%") == "right"

    # The choice survives a reload, and so does the language.
    page.goto(pwa_server.url + "/#/")
    page.wait_for_selector("#station-list li")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.inner_text("#h-stations") == "تمام تھانے"
    shoot("ur")
    assert page.inner_text("h1") == station["name"]["ur"]
    assert page.locator("#gps p.hint").first.evaluate(SIGN_SIDE, "±") == "left"
    page.goto(fill_url)
    page.wait_for_selector(f"#item-{first_item['key']}")
    assert page.inner_text(".section-title") == first_section["title"]["ur"]
    assert errors == []
    context.close()


def test_every_string_of_the_interface_has_an_urdu_translation(pwa_server, browser):
    context = phone_context(browser)
    page = context.new_page()
    page.goto(pwa_server.url + "/")
    page.wait_for_selector("form.login")
    missing = page.evaluate("""() => import('/js/i18n.js').then(({dictionaries: {en, ur}}) => ({
        noUrdu: Object.keys(en).filter(k => !(k in ur)),
        noEnglish: Object.keys(ur).filter(k => !(k in en)),
        untranslated: Object.keys(en).filter(k => typeof en[k] === 'string' && en[k] === ur[k] && /[a-z]{3}/i.test(en[k])),
        // A count English says in two forms is said in the Urdu forms too ("1 تصویر", never "1 تصاویر").
        noUrduPlural: Object.keys(en).filter(k => typeof en[k] === 'object' && typeof ur[k] !== 'object'),
    }))""")
    assert missing == {"noUrdu": [], "noEnglish": [], "untranslated": [], "noUrduPlural": []}
    context.close()


def test_urdu_screens_use_western_digits_unless_the_person_chooses_urdu_ones(pwa_server, browser):
    """UX: numbers in Western digits unless the user chooses otherwise; the choice is kept."""
    token = pwa_server.login(INSPECTOR, PASSWORD)
    station, version = pick_station_and_template(bundle(pwa_server, token))
    sections = version["definition"]["sections"]
    index = next(n for n, s in enumerate(sections) if any(i["type"] == "scale" for i in s["items"]))
    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    begin_inspection(page, station)
    fill_url = page.url.rsplit("/s/", 1)[0] + f"/s/{index}"
    page.click(".lang-toggle")
    wait_in_page(page, "document.documentElement.dir === 'rtl'")

    def scale_labels() -> list[str]:
        page.goto(fill_url)
        page.wait_for_selector(".choice-row.scale")
        return [b.strip() for b in page.locator(".choice-row.scale").first.locator("button").all_inner_texts()]

    assert scale_labels()[:3] == ["0", "1", "2"]
    page.goto(pwa_server.url + "/#/settings")
    page.click("#digits [data-digits=arabext]")
    page.wait_for_selector("#digits [data-digits=arabext][aria-pressed=true]")
    # The phone's storage and the last download are said in Urdu words on the 24-hour clock: no
    # "kB", "GB" or "PM" (the account and the language buttons name themselves in either script).
    said = page.evaluate("[...document.querySelectorAll('main .card')].slice(2).map((c) => c.innerText).join(' | ')")
    assert re.search("[۰-۹]", said) and not re.search("[A-Za-z]", said), said
    assert scale_labels()[:3] == ["۰", "۱", "۲"]
    # A score in Urdu digits keeps its % after the number too.
    page.locator(".choice-row.scale").first.locator("button").nth(3).click()
    page.wait_for_selector("#section-score:not([data-percent=''])")
    assert re.search("[۰-۹]", page.inner_text("#section-score"))
    assert page.locator("#section-score").evaluate(SIGN_SIDE, "%") == "right"
    # Kept across a reload; and only Urdu screens use them.
    page.reload()
    page.wait_for_selector(".choice-row.scale")
    assert scale_labels()[:3] == ["۰", "۱", "۲"]
    page.click(".lang-toggle")
    wait_in_page(page, "document.documentElement.dir === 'ltr'")
    assert scale_labels()[:3] == ["0", "1", "2"]
    page.goto(pwa_server.url + "/#/settings")
    page.wait_for_selector("h1")
    assert page.locator("#digits").count() == 0, "the choice is for Urdu screens, offered on them only"
    page.click(".lang-toggle")
    wait_in_page(page, "document.documentElement.dir === 'rtl'")
    page.goto(pwa_server.url + "/#/settings")
    page.click("#digits [data-digits=latn]")
    page.wait_for_selector("#digits [data-digits=latn][aria-pressed=true]")
    assert scale_labels()[:3] == ["0", "1", "2"]
    assert errors == []
    context.close()
