"""An item answered n.a. needs no photos, on the phone as on the server (DESIGN §4, §7).

The server asks for `min_photos` only as evidence backing an answer: an n.a. needs none. The phone
must agree, or an inspector at a station without, say, a women and child desk, who rightly answers
n.a., could not submit without photographing something that is not there.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_pwa_support import (
    INSPECTOR,
    PASSWORD,
    answer_for,
    begin_inspection,
    bundle,
    fill_item,
    inspection_id,
    next_section,
    phone_context,
    pick_station_and_template,
    sign_in,
    visible,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_na_on_an_item_that_wants_photos_can_be_submitted_without_them(pwa_server, browser):
    token = pwa_server.login(INSPECTOR, PASSWORD)
    station, version = pick_station_and_template(bundle(pwa_server, token))
    definition = version["definition"]
    na_keys = {
        i["key"]
        for s in definition["sections"]
        for i in s["items"]
        if i["type"] == "yes_no" and (i.get("min_photos") or 0) > 0 and not i.get("visible_if")
    }
    assert na_keys, "the demo template has yes/no items that want photos"

    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    begin_inspection(page, station)
    seed, values = [0], {}
    for index, section in enumerate(definition["sections"]):
        for item in section["items"]:
            if not visible(item, values):
                continue
            if item["key"] in na_keys:
                page.locator(f"#item-{item['key']} [data-value='na']").click()
                values[item["key"]] = "na"
            else:
                fill_item(page, item, seed)
                if item["type"] != "photo":
                    values[item["key"]] = answer_for(item)
        next_section(page, definition, index)

    # The review screen lists nothing missing and lets the inspector submit.
    assert page.locator(".page.review .missing").count() == 0
    assert page.locator("#submit").is_enabled()
    page.click("#submit")
    page.wait_for_selector("[data-sync=on_server]", timeout=120000)

    stored = pwa_server.api("GET", f"/api/v1/inspections/{inspection_id(page)}", token).json()
    assert stored["status"] == "submitted"
    assert {k: stored["answers"][k]["value"] for k in na_keys} == dict.fromkeys(na_keys, "na")
    assert errors == []
    context.close()
