"""The reviewer's screens keep a keyboard user's place and speak Urdu throughout, in real Chromium.

After an action redraws a screen (a decision, a corrective action raised or moved, a note added),
focus lands on what the user just acted on instead of falling back to the top of the document; and
in Urdu the photo evidence names stations and units in Urdu, with counts of one in the singular.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_pwa_support import PHONE, live_pwa_server, watch_errors
from tests.e2e.test_reviewer_support import inspector_setup, reviewer_desk, sign_in_reviewer, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

# What has focus, as "tag#id.class text" ("BODY" when focus was lost to the document).
FOCUSED = """() => { const a = document.activeElement;
  if (!a || a === document.body) return 'BODY';
  const card = a.closest('.rv-action, .rv-item');
  return { tag: a.tagName, id: a.id, cls: a.className, card: card && (card.dataset.id || card.id),
           status: card?.closest('.rv-col')?.dataset.status }; }"""


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("reviewer-focus"))


@pytest.fixture(scope="module")
def seeded(pwa_server):
    token, stations, version = inspector_setup(pwa_server)
    critical = next(
        i["key"]
        for s in version["definition"]["sections"]
        for i in s["items"]
        if i.get("critical") and i["type"] == "yes_no" and not i.get("visible_if")
    )
    clean = submit(pwa_server, token, stations[5], version, seed=21)
    key, answer = next((k, a) for k, a in clean["answers"].items() if a["photos"])
    reused = pwa_server.api("GET", f"/api/v1/photos/{answer['photos'][0]}/original", token).content
    flagged = submit(pwa_server, token, stations[4], version, fail=(critical,), seed=22, photo_bytes={key: reused})
    return {"clean": clean, "flagged": flagged, "stations": stations}


def press(page, locator):
    """Activates a control from the keyboard, as a keyboard or screen reader user does."""
    locator.focus()
    page.keyboard.press("Enter")


def test_focus_returns_to_the_item_after_raising_an_action_and_to_the_decision_after_approving(
    pwa_server, seeded, browser
):
    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.goto(pwa_server.url + f"/#/review/i/{seeded['clean']['id']}")
    item = page.locator(".rv-item").nth(2)
    item_id = item.get_attribute("id")
    press(page, item.locator(".rv-btn-action"))
    page.fill("dialog textarea", "Mend the waiting room bench.")
    page.click("dialog .btn-primary")
    page.locator(f"#{item_id} .callout-info").wait_for()
    focused = page.evaluate(FOCUSED)
    assert focused != "BODY", "focus fell back to the top of the page after raising the action"
    assert focused["card"] == item_id and "rv-btn-action" in focused["cls"]

    press(page, page.locator("#rv-approve"))
    page.locator("#rv-decided").wait_for()
    focused = page.evaluate(FOCUSED)
    assert focused != "BODY", "focus fell back to the top of the page after approving"
    assert focused["id"] == "rv-decided"
    assert errors == []
    context.close()


def test_focus_follows_an_action_card_to_its_new_column_and_stays_after_a_note(pwa_server, seeded, browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_reviewer(page, pwa_server.url)
    station = seeded["stations"][4]
    page.goto(pwa_server.url + f"/#/review/actions?station={station['id']}")

    # A new action from the board: focus lands on its card.
    press(page, page.locator("#rv-new-action"))
    page.select_option("dialog select[name=station]", station["id"])
    page.fill("dialog textarea", "Repaint the lock-up door.")
    page.click("dialog .btn-primary")
    card = page.locator(".rv-col[data-status=open] .rv-action", has_text="Repaint the lock-up door.")
    card.wait_for()
    action_id = card.get_attribute("data-id")
    focused = page.evaluate(FOCUSED)
    assert focused != "BODY", "focus fell back to the top of the page after creating the action"
    assert focused["card"] == action_id

    # Moving it redraws the board: focus goes with the card into its new column.
    press(page, card.locator("[data-to=in_progress]"))
    moved = page.locator(f".rv-col[data-status=in_progress] .rv-action[data-id='{action_id}']")
    moved.wait_for()
    focused = page.evaluate(FOCUSED)
    assert focused != "BODY", "focus fell back to the top of the page after moving the card"
    assert (focused["card"], focused["status"], focused["tag"]) == (action_id, "in_progress", "BUTTON")

    # Adding a note redraws it too: focus comes back to the card's Notes button.
    press(page, moved.locator(".rv-notes"))
    page.fill("dialog textarea", "Paint is ordered.")
    page.click("dialog .btn-primary")
    page.wait_for_selector("dialog", state="detached")
    focused = page.evaluate(FOCUSED)
    assert focused != "BODY", "focus fell back to the top of the page after adding a note"
    assert focused["card"] == action_id and "rv-notes" in focused["cls"]
    assert errors == []
    context.close()


def test_urdu_evidence_names_stations_and_units_in_urdu_and_counts_of_one_in_the_singular(pwa_server, seeded, browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in_reviewer(page, pwa_server.url)
    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    page.goto(pwa_server.url + f"/#/review/i/{seeded['flagged']['id']}")
    page.locator(".rv-insp summary").nth(1).click()
    link = page.locator(f".rv-reuse a[href='#/review/i/{seeded['clean']['id']}']").first
    link.wait_for()
    source = seeded["stations"][5]
    # The station the photo came from is named in Urdu, as everywhere else on the page.
    assert source["name"]["ur"] in link.inner_text()
    assert source["name"]["en"] not in link.inner_text()
    # The phone's GPS accuracy carries an Urdu unit, not an English "m".
    device = page.locator(".rv-evidence p").nth(1).inner_text()
    assert "±" in device and "میٹر" in device, device
    assert not re.search(r"\bm\b", device), device
    # The accuracy and the position keep their reading order among right-to-left words: each is a
    # left-to-right isolate, so "±12" does not come out as "12±", nor "31.5, 74.3" as "74.3 ,31.5".
    assert re.search(r"\u2066±[0-9۰-۹]+\u2069\s*میٹر", device), ascii(device)
    assert re.search("\u2066[0-9۰-۹.]+, [0-9۰-۹.]+\u2069", device), ascii(device)
    # One critical failure and a one-photo answer read in the singular.
    assert "1 انتہائی اہم نکتہ ناکام" in page.locator(".rv-scoreline").inner_text()
    main = page.inner_text("main")
    assert "1 تصاویر" not in main
    assert re.search(r"جواب:\s*1 تصویر", main), "no one-photo answer read in the singular"
    context.close()
