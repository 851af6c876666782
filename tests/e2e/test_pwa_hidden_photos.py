"""Photos on a question the inspector's answers hide again are said before Submit and freed after it.

An inspector answered so that a follow-up showed, photographed for it, then changed the answer: the
follow-up hid, its photos were (rightly) not sent, but nothing said so, and they stayed in the phone's
storage for good (about half a megabyte each), holding the sent inspection on the phone with them.
"""

from __future__ import annotations

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import (
    answer_for,
    begin_inspection,
    fill_whole_form,
    inspection_id,
    jpeg,
    signed_in_phone,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ON_PHONE = """async (id) => {
  const db = await import('/js/db.js');
  const photos = (await db.getAll('photos')).filter((p) => p.inspection_id === id);
  const draft = await db.get('drafts', id);
  return { photos: photos.length, outbox: (await db.getAll('outbox')).length, answers: draft.answers, sync: draft.sync };
}"""


def test_photos_of_a_question_hidden_again_are_said_and_freed_on_submit(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    definition = phone.version["definition"]
    items = {i["key"]: i for s in definition["sections"] for i in s["items"]}
    follow = next(i for i in items.values() if i.get("visible_if") and i["type"] != "photo")
    control = items[follow["visible_if"]["item"]]
    shows = follow["visible_if"].get("equals", (follow["visible_if"].get("in") or [None])[0])
    assert shows is not None and shows != answer_for(control), "the follow-up must be hidden by the usual answer"

    begin_inspection(page, phone.station)
    iid = inspection_id(page)
    fill_whole_form(page, definition)
    base = page.url.split("#")[0]
    page.goto(f"{base}#/i/{iid}/s/0")
    page.locator(f"#item-{control['key']} [data-value='{shows}']").click()
    card = page.locator(f"#item-{follow['key']}")
    card.wait_for()
    card.locator("textarea").first.fill("printer broken")
    for n in range(3):
        card.locator("input[data-source=camera]").set_input_files(
            files=[{"name": f"h{n}.jpg", "mimeType": "image/jpeg", "buffer": jpeg(300 + n, (800, 600))}]
        )
        card.locator(f".thumbs li:nth-child({n + 1}) img").wait_for()
    page.locator(f"#item-{control['key']} [data-value='{answer_for(control)}']").click()
    card.wait_for(state="hidden")

    page.goto(f"{base}#/i/{iid}/review")
    said = page.locator("#hidden-photos")
    said.wait_for()
    assert said.inner_text().startswith("3 photos are on questions your answers now hide"), said.inner_text()
    assert follow["label"]["en"] in said.inner_text()
    page.click("#submit")
    wait_in_page(page, "import('/js/db.js').then((db) => db.getAll('outbox')).then((o) => o.length === 0)", timeout=120)

    kept = page.evaluate(ON_PHONE, iid)
    assert kept["photos"] == 0 and kept["outbox"] == 0 and kept["sync"] == "on_server", kept
    # The hidden answer keeps what was written; only its unsent photos went.
    assert kept["answers"][follow["key"]]["photos"] == []
    assert kept["answers"][follow["key"]]["value"] == "printer broken"
    stored = pwa_server.api("GET", f"/api/v1/inspections/{iid}", phone.token).json()
    assert stored["status"] == "submitted" and stored["missing_photos"] == []
    assert follow["key"] not in stored["answers"]
    assert phone.errors == []
    phone.context.close()
