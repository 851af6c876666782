"""The phone holds an answer to the server's limits as the inspector types (DESIGN §7).

A text answer over 5,000 characters, a note over 4,000, more than 50 photos on one item or a date with
a five-digit year is refused by the server with a 422 on every sync, drafts included: the inspection
would sit "needs attention" for a limit the form never showed. The form keeps to the limits instead.
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
    jpeg,
    phone_context,
    pick_station_and_template,
    sign_in,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def first(definition: dict, kind: str) -> tuple[int, dict]:
    return next(
        (n, i)
        for n, s in enumerate(definition["sections"])
        for i in s["items"]
        if i["type"] == kind and not i.get("visible_if")
    )


def test_answers_notes_photos_and_dates_stay_within_what_the_server_takes(pwa_server, browser):
    token = pwa_server.login(INSPECTOR, PASSWORD)
    station, version = pick_station_and_template(bundle(pwa_server, token))
    definition = version["definition"]
    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    begin_inspection(page, station)
    base = page.url.rsplit("/s/", 1)[0]

    # 53 pictures picked from the gallery at once: 50 are added and the inspector is told why not the rest.
    section, photo = first(definition, "photo")
    page.goto(f"{base}/s/{section}")
    card = page.locator(f"#item-{photo['key']}")
    files = [{"name": f"p{n}.jpg", "mimeType": "image/jpeg", "buffer": jpeg(n, (64, 48))} for n in range(53)]
    card.locator("input[data-source=gallery]").set_input_files(files=files)
    page.locator(".toast-error", has_text="at most 50 photos").wait_for(timeout=15000)
    card.locator(".thumbs li:nth-child(50) img").wait_for(timeout=120000)
    page.wait_for_timeout(500)
    assert card.locator(".thumbs li").count() == 50
    # Full: another picture is not added.
    card.locator("input[data-source=gallery]").set_input_files(
        files=[{"name": "more.jpg", "mimeType": "image/jpeg", "buffer": jpeg(99, (64, 48))}]
    )
    page.locator(".toast-error", has_text="at most 50 photos").nth(1).wait_for(timeout=15000)
    assert card.locator(".thumbs li").count() == 50

    section, text = first(definition, "text")
    page.goto(f"{base}/s/{section}")
    card = page.locator(f"#item-{text['key']}")
    card.locator("textarea").first.fill("ک" * 6000)
    assert card.locator("textarea").first.evaluate("t => t.value.length") == 5000
    card.locator("button", has_text="Add a note").click()
    card.locator(".note textarea").fill("n" * 4500)
    assert card.locator(".note textarea").evaluate("t => t.value.length") == 4000

    section, day = first(definition, "date")
    page.goto(f"{base}/s/{section}")
    field = page.locator(f"#item-{day['key']} input[type=date]")
    assert (field.get_attribute("min"), field.get_attribute("max")) == ("0001-01-01", "9999-12-31")

    # What the phone keeps, and would send, is within the limits.
    iid = inspection_id(page)
    for _ in range(50):  # the draft is written a moment after the last keystroke
        kept = page.evaluate(STORED_DRAFT, iid)
        if kept["answers"].get(text["key"], {}).get("note"):
            break
        page.wait_for_timeout(200)
    assert len(kept["answers"][photo["key"]]["photos"]) == 50
    assert len(kept["answers"][text["key"]]["value"]) == 5000
    assert len(kept["answers"][text["key"]]["note"]) == 4000
    assert errors == []
    context.close()
