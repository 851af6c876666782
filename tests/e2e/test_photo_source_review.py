"""A picture picked from the phone's gallery is told apart from one taken with the camera, from the
inspector's tap to the reviewer's screen.

The phone resizes every photo, which strips its EXIF, so a gallery picture (an old one, a screenshot)
used to reach the reviewer looking just like a camera shot taken without a GPS fix.
"""

from __future__ import annotations

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import begin_inspection, fill_whole_form, inspection_id, jpeg, signed_in_phone
from tests.e2e.test_reviewer_support import reviewer_desk

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_the_reviewer_sees_which_photo_came_from_the_gallery(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    definition = phone.version["definition"]
    begin_inspection(page, phone.station)
    iid = inspection_id(page)
    fill_whole_form(page, definition)  # every photo through the camera button

    # One more photo on the first item that takes photos, picked from the gallery.
    item = next(i for i in definition["sections"][0]["items"] if (i.get("min_photos") or 0) > 0)
    base = page.url.split("#")[0]
    page.goto(f"{base}#/i/{iid}/s/0")
    card = page.locator(f"#item-{item['key']}")
    card.locator("input[data-source=gallery]").set_input_files(
        files=[{"name": "old.jpg", "mimeType": "image/jpeg", "buffer": jpeg(900, (800, 600))}]
    )
    card.locator(f".thumbs li:nth-child({item['min_photos'] + 1}) img").wait_for()
    page.goto(f"{base}#/i/{iid}/review")
    page.click("#submit")
    wait_in_page(page, "import('/js/db.js').then((db) => db.getAll('outbox')).then((o) => o.length === 0)", timeout=120)
    phone.context.close()

    stored = pwa_server.api("GET", f"/api/v1/inspections/{iid}", phone.token).json()
    assert stored["missing_photos"] == []
    picked = stored["answers"][item["key"]]["photos"][-1]
    sources = {
        pid: pwa_server.api("GET", f"/api/v1/photos/{pid}", phone.token).json()["source"]
        for answer in stored["answers"].values()
        for pid in answer.get("photos", [])
    }
    assert sources.pop(picked) == "gallery"
    assert sources and set(sources.values()) == {"camera"}

    context, desk, errors = reviewer_desk(browser, pwa_server.url)
    desk.goto(pwa_server.url + f"/#/review/i/{iid}")
    evidence = desk.locator("[aria-labelledby=rv-pres-h]")
    evidence.locator("details").evaluate("(d) => { d.open = true; }")
    gallery = evidence.locator(f"tr[data-photo='{picked}'] [data-source=gallery]")
    gallery.wait_for()
    assert gallery.inner_text() == "From the gallery"
    assert "pill-warn" in (gallery.get_attribute("class") or "")
    # Its time is the file's date, not a capture, and the row says so.
    assert "File date on the phone:" in evidence.locator(f"tr[data-photo='{picked}']").inner_text()
    camera = evidence.locator(f"tr[data-photo='{next(iter(sources))}'] [data-source=camera]")
    camera.wait_for()
    assert camera.inner_text() == "Camera"
    assert evidence.locator("[data-source=gallery]").count() == 1
    assert evidence.locator("[data-source=camera]").count() == len(sources)

    # The enlarged photo shows it too.
    desk.locator(f"li[data-photo='{picked}'] button.thumb").click()
    enlarged = desk.locator("dialog[open] [data-source=gallery]")
    enlarged.wait_for()
    assert enlarged.inner_text() == "From the gallery"
    desk.keyboard.press("Escape")

    # In Urdu.
    desk.evaluate("import('/js/i18n.js').then((m) => m.setLang('ur'))")
    desk.wait_for_function("document.documentElement.lang === 'ur'")
    desk.goto(pwa_server.url + f"/#/review/i/{iid}")
    # The page is drawn again in place: wait for the new words rather than find the old ones.
    desk.wait_for_function(
        "(pid) => document.querySelector(`tr[data-photo='${pid}'] [data-source=gallery]`)?.textContent === 'گیلری سے'",
        arg=picked,
    )
    assert errors == []
    context.close()
