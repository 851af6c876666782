"""The inspector's whole day offline, in real Chromium against the real server and database.

Sign in online → the network goes → the app still opens → the whole demo template is filled with
photos → a reload half-way loses nothing → submit while offline → the network returns → the outbox
drains, and the server holds exactly one inspection with every answer, every photo, and the score
the phone showed.
"""

from __future__ import annotations

import math

import pytest

from tests.conftest import snapshot
from tests.e2e.test_pwa_support import (
    INSPECTOR,
    PASSWORD,
    bundle,
    expected_answers,
    fill_whole_form,
    inspection_id,
    open_station,
    phone_context,
    pick_station_and_template,
    server_items,
    sign_in,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_an_inspection_filled_and_submitted_offline_reaches_the_server_whole(pwa_server, browser, artifacts):
    token = pwa_server.login(INSPECTOR, PASSWORD)
    station, version = pick_station_and_template(bundle(pwa_server, token))
    definition = version["definition"]

    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)

    # No network from here on: a cold reload is served by the service worker, data by IndexedDB.
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#station-list li")
    assert page.evaluate("navigator.onLine") is False

    open_station(page, station)
    page.wait_for_selector("#gps .pill-ok")  # GPS fix at the station, distance under 300 m
    page.click("#begin")
    page.wait_for_selector(".item")

    def reload_and_check(section, values):
        # Every tap was saved at once: after a reload the same answers are pressed / filled.
        page.reload()
        page.wait_for_selector(f"#item-{section['items'][0]['key']}")
        for item in section["items"]:
            if item["key"] not in values:
                continue
            card = page.locator(f"#item-{item['key']}")
            if item["type"] in ("yes_no", "scale", "choice"):
                assert card.locator("[aria-pressed=true]").get_attribute("data-value") == str(values[item["key"]])
            elif item["type"] == "number":
                assert float(card.locator("input.input-number").input_value()) == values[item["key"]]
            elif item["type"] == "text":
                assert card.locator("textarea").first.input_value() == values[item["key"]]
        for item in section["items"]:
            if item.get("min_photos"):
                assert page.locator(f"#item-{item['key']} .thumbs img").count() == item["min_photos"]

    photos = fill_whole_form(
        page, definition, reload_after=len(definition["sections"]) // 2, on_reload=reload_and_check
    )
    assert photos >= 3, "the demo template should ask for several photos"

    # Review: everything answered, so Submit is enabled; remember the score the phone shows.
    assert page.locator("#submit").is_enabled()
    phone_percent = float(page.get_attribute("#overall-percent", "data-percent"))
    phone_text = page.inner_text("#overall-percent")
    snapshot(page, path=str(artifacts / "pwa-review-before-submit.png"))
    page.click("#submit")
    page.wait_for_selector("[data-sync=queued]")
    assert "will send when online" in page.inner_text("main")
    iid = inspection_id(page)

    # Signing out now would strand the work, so it is refused with a reason; free space is shown.
    page.goto(pwa_server.url + "/#/settings")
    page.wait_for_selector("text=Free for Muaina")
    page.click("text=Sign out of this phone")
    assert "cannot sign out yet" in page.inner_text("dialog")
    page.click("dialog button")
    page.goto(pwa_server.url + f"/#/i/{iid}/review")
    page.wait_for_selector("[data-sync=queued]")

    # Still offline: the server has nothing yet.
    assert pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).status_code == 404

    context.set_offline(False)
    page.wait_for_selector("[data-sync=on_server]", timeout=120000)
    page.wait_for_selector("#sync-badge[data-state=ok]", timeout=60000)
    snapshot(page, path=str(artifacts / "pwa-on-server.png"))

    # Exactly one inspection for this station, holding every answer and every photo.
    listed = server_items(pwa_server.api("GET", f"/api/v1/inspections?station_id={station['id']}", token).json())
    assert [row["id"] for row in listed] == [iid]
    stored = pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    assert stored["status"] == "submitted"
    assert stored["missing_photos"] == []
    sent_values = {k: a.get("value") for k, a in stored["answers"].items() if a.get("value") is not None}
    assert sent_values == expected_answers(definition)
    photo_ids = [p for a in stored["answers"].values() for p in a.get("photos", [])]
    assert len(photo_ids) == len(set(photo_ids)) == photos
    for pid in photo_ids:
        assert pwa_server.api("GET", f"/api/v1/photos/{pid}/thumb", token).status_code == 200
    assert stored["location"]["accuracy_m"] == 12

    # The same score, to full precision and as displayed.
    assert math.isclose(stored["score"]["percent"], phone_percent, rel_tol=0, abs_tol=1e-9)
    assert phone_text.startswith(
        page.evaluate("p => import('/js/scoring.js').then(m => m.displayPercent(p))", stored["score"]["percent"])
    )

    # Acknowledged photos left the phone; the inspection record stays as "on server".
    local = page.evaluate("""async () => {
        const db = await import('/js/db.js');
        return {photos: (await db.getAll('photos')).length, outbox: (await db.getAll('outbox')).length,
                drafts: (await db.getAll('drafts')).map(d => d.sync)};
    }""")
    assert local == {"photos": 0, "outbox": 0, "drafts": ["on_server"]}
    assert errors == []
    context.close()
