"""A multiple choice answered by mistake can be taken back to unanswered on the phone.

Nothing ticked is an answer of its own ("none of these": scored 0 and sent as `[]`), so taking the
ticks off again does not undo the answer. An inspector who tapped an optional multiple choice by
mistake needs a way back to "not answered", which is scored as nothing at all.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_pwa_support import (
    INSPECTOR,
    PASSWORD,
    STORED_DRAFT,
    begin_inspection,
    bundle,
    inspection_id,
    phone_context,
    pick_station_and_template,
    sign_in,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def stored_value(page, iid: str, key: str, want):
    """The draft's stored answer for `key` once it equals `want` (the draft is written just after a tap)."""
    for _ in range(50):
        answer = page.evaluate(STORED_DRAFT, iid)["answers"].get(key, {})
        if answer.get("value", "unanswered") == want:
            return want
        page.wait_for_timeout(100)
    return answer.get("value", "unanswered")


def test_a_multiple_choice_can_be_cleared_back_to_unanswered(pwa_server, browser):
    token = pwa_server.login(INSPECTOR, PASSWORD)
    station, version = pick_station_and_template(bundle(pwa_server, token))
    section, item = next(
        (n, i)
        for n, s in enumerate(version["definition"]["sections"])
        for i in s["items"]
        if i["type"] == "multi_choice" and not i.get("required") and not i.get("visible_if")
    )
    first_option = item["options"][0]["key"]
    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    begin_inspection(page, station)
    page.goto(f"{page.url.rsplit('/s/', 1)[0]}/s/{section}")
    card = page.locator(f"#item-{item['key']}")
    clear = card.locator("button.clear-answer")
    iid = inspection_id(page)

    # Unanswered: nothing to clear.
    card.wait_for()
    assert clear.is_hidden()
    card.locator(f"[data-value='{first_option}']").click()
    assert stored_value(page, iid, item["key"], [first_option]) == [first_option]
    assert clear.is_visible()

    # The tick taken off again leaves "none of these", still an answer.
    card.locator(f"[data-value='{first_option}']").click()
    assert stored_value(page, iid, item["key"], []) == []
    assert clear.is_visible()

    clear.click()
    assert stored_value(page, iid, item["key"], "unanswered") == "unanswered"
    assert clear.is_hidden()
    pressed = card.locator("[data-value]").evaluate_all("bs => bs.map((b) => b.getAttribute('aria-pressed'))")
    assert pressed and set(pressed) == {"false"}

    # It reads the same in Urdu.
    card.locator(f"[data-value='{first_option}']").click()
    page.click(".lang-toggle")
    page.locator(f"#item-{item['key']} button.clear-answer", has_text="جواب ہٹائیں").wait_for(timeout=10000)
    assert errors == []
    context.close()
