"""Typing into an answer saves every key but draws the rest of the section once the typing rests.

Each key in a text answer drew the section's head, steps and "still to answer" list again (the whole
form's score, progress and visibility): 60–170 ms a key on a slow phone, and typing lagged behind the
fingers.
"""

from __future__ import annotations

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import begin_inspection, inspection_id, signed_in_phone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

WATCH_HEAD = """() => {
  window.headDraws = 0;
  new MutationObserver(() => { window.headDraws += 1; })
    .observe(document.querySelector('.progress-text').parentElement, { childList: true });
}"""

SAVED = """async ([id, key]) => (await (await import('/js/inspection.js')).loadDraft(id)).answers[key]?.value ?? null"""


def test_typing_saves_every_key_and_draws_the_section_once_it_rests(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    sections = phone.version["definition"]["sections"]
    index, item = next(
        (n, i) for n, s in enumerate(sections) for i in s["items"] if i["type"] == "text" and not i.get("visible_if")
    )
    begin_inspection(page, phone.station)
    iid = inspection_id(page)
    page.goto(page.url.rsplit("/s/", 1)[0] + f"/s/{index}")
    box = page.locator(f"#item-{item['key']} textarea").first
    box.wait_for()
    before = page.inner_text(".progress-text")
    page.evaluate(WATCH_HEAD)

    words = "Roznamcha entries checked up to today"
    box.press_sequentially(words, delay=15)
    assert page.evaluate(SAVED, [iid, item["key"]]) == words  # every key is kept
    wait_in_page(page, f"document.querySelector('.progress-text').innerText !== {before!r}")
    # Drawn once the typing rested (a loaded machine may pause mid-word), not once a key.
    assert 1 <= page.evaluate("window.headDraws") <= 5, page.evaluate("window.headDraws")
    assert phone.errors == []
    phone.context.close()
