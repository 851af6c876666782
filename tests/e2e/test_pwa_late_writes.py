"""A change that lands after the inspector moved on is kept, and undoes nothing.

A photo is still being resized when the inspector goes to the next section; a GPS fix asked for by
a section's screen comes while the review screen is open. Each fill screen holds its own copy of the
draft: written whole, the late copy would undo the answers given since, and the next tap would undo
the photo in turn (its blob left on the phone, never sent); Submit would freeze the review screen's
copy without the fix. So a late change is written as that change alone (inspection.save).

The same journey begins an inspection from the station list at a station the inspector is assigned
to, on the assigned checklist: Home shows the assignment begun, Start offers the draft to continue,
and once the server has the submission Home no longer offers to begin the assignment again.
"""

from __future__ import annotations

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_outbox_more import wait_for
from tests.e2e.test_pwa_support import (
    INSPECTOR,
    PASSWORD,
    STORED_DRAFT,
    begin_inspection,
    bundle,
    expected_answers,
    fill_whole_form,
    inspection_id,
    jpeg,
    open_station,
    phone_context,
    sign_in,
    signed_in_phone,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

# Resizing a photo waits until the test lets it go on, as a slow phone would take its time.
HOLD_PHOTOS = """() => {
    const original = window.createImageBitmap;
    window.__photoGate = new Promise((open) => { window.__openPhotoGate = open; });
    window.createImageBitmap = async (...args) => { await window.__photoGate; return original(...args); };
}"""

# GPS fixes asked for by the fill screens are held until the test releases them; the start screen
# never gets one, so the inspection begins without a location.
HOLD_FIXES = """(() => {
    const g = navigator.geolocation;
    const original = g.getCurrentPosition.bind(g);
    window.__held = [];
    window.__releaseFixes = () => { const held = window.__held; window.__held = []; held.forEach((f) => f()); return held.length; };
    g.getCurrentPosition = (ok, err, opts) => original((pos) => window.__held.push(() => ok(pos)), err, opts);
    g.watchPosition = (ok, err) => { setTimeout(() => err && err({ code: 3 }), 10); return 1; };
})();"""


def plain_yes_no(section: dict) -> list[dict]:
    controlling = {i["visible_if"]["item"] for i in section["items"] if i.get("visible_if")}
    return [
        i for i in section["items"] if i["type"] == "yes_no" and not i.get("visible_if") and i["key"] not in controlling
    ]


def test_a_photo_still_processing_when_the_inspector_moves_on_keeps_both_it_and_the_next_answers(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    sections = phone.version["definition"]["sections"]
    begin_inspection(page, phone.station)
    iid = inspection_id(page)
    before = plain_yes_no(sections[0])[0]
    first, second = plain_yes_no(sections[1])[:2]
    page.locator(f"#item-{before['key']} [data-value=yes]").click()

    # A photo from the gallery, still being resized when the inspector taps Next.
    page.evaluate(HOLD_PHOTOS)
    page.locator(f"#item-{before['key']} input[data-source=gallery]").set_input_files(
        files=[{"name": "late.jpg", "mimeType": "image/jpeg", "buffer": jpeg(7, (3000, 2000))}]
    )
    page.evaluate("setTimeout(() => window.__openPhotoGate(), 1500)")
    page.click(".step-buttons .btn-primary")
    page.locator(f"#item-{first['key']} [data-value=no]").click()
    wait_in_page(page, "import('/js/db.js').then((db) => db.getAll('photos')).then((p) => p.length === 1)")
    page.wait_for_timeout(300)
    page.locator(f"#item-{second['key']} [data-value=yes]").click()
    page.wait_for_timeout(500)

    stored = page.evaluate(STORED_DRAFT, iid)
    answers = stored["answers"]
    assert answers[before["key"]].get("photos") == stored["photos"] and len(stored["photos"]) == 1, stored
    assert answers[before["key"]]["value"] == "yes"
    assert answers.get(first["key"], {}).get("value") == "no", "the answer given while the photo was processed"
    assert answers.get(second["key"], {}).get("value") == "yes"
    # Back on the first section, the photo is there to see.
    page.click(".step-buttons button:not(.btn-primary)")
    page.locator(f"#item-{before['key']} .thumbs li img").wait_for()
    assert phone.errors == []
    phone.context.close()


def open_assignment(data: dict) -> tuple[dict, dict, dict]:
    """An open assignment at a police station, its station, and the newest version of its checklist."""
    stations = {s["id"]: s for s in data["stations"]}
    for a in data["assignments"]:
        st = stations.get(a["station_id"])
        if a["status"] != "open" or not st or st.get("kind", "police_station") != "police_station":
            continue
        versions = [v for v in data["templates"] if v["template_id"] == a["template_id"] and not v.get("retired")]
        if versions:
            return a, st, max(versions, key=lambda v: v["version"])
    raise AssertionError("the demo bundle has no open assignment at a police station")


def test_a_late_gps_fix_is_submitted_and_an_assignment_begun_from_the_station_list_is_not_offered_again(
    pwa_server, browser
):
    token = pwa_server.login(INSPECTOR, PASSWORD)
    assignment, station, version = open_assignment(bundle(pwa_server, token))
    definition = version["definition"]
    context = phone_context(browser, station)
    context.add_init_script(HOLD_FIXES)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    row = page.locator(f"li[data-assignment='{assignment['id']}']")
    problems = []

    # Begun from the station list, not from the assignment.
    open_station(page, station)
    choice = page.locator(".choice-col button", has_text=definition["title"]["en"])
    if choice.count():
        choice.click()
    page.click("#begin")
    page.wait_for_selector(".item")
    iid = inspection_id(page)
    page.goto(pwa_server.url + "/#/")
    row.wait_for()
    if row.locator("a").get_attribute("href") != f"#/i/{iid}/s/0" or "Started" not in row.inner_text():
        problems.append(f"Home offers the assignment afresh: {row.inner_text()!r}")
    # Start again at that station: the draft there is offered to be continued.
    open_station(page, station)
    if choice.count():
        choice.click()
    if page.locator(f"#continue-draft[href='#/i/{iid}/s/0']").count() != 1:
        problems.append("Start does not say that this station's inspection is already begun")
    page.goto(pwa_server.url + f"/#/i/{iid}/s/0")
    page.wait_for_selector(".item")

    fill_whole_form(page, definition)
    # On the review screen, the fixes the fill screens asked for come at last.
    assert page.evaluate("window.__releaseFixes()") > 0
    wait_in_page(page, f"import('/js/db.js').then((db) => db.get('drafts', '{iid}')).then((d) => !!d.location)")
    page.click("#submit")
    page.wait_for_selector("[data-sync=on_server]", timeout=120000)
    stored = pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    values = {k: a.get("value") for k, a in stored["answers"].items() if a.get("value") is not None}
    assert values == expected_answers(definition)
    if not stored.get("location"):
        problems.append("the GPS fix that came while the review screen was open was not submitted")

    # Submitted: Home shows the assignment done (or, once the bundle says so, no more), never Begin.
    page.goto(pwa_server.url + "/#/")
    page.wait_for_selector("#station-list li")
    gone_or_done = wait_for(
        lambda: not row.count() or not (row.locator("a").get_attribute("href") or "").startswith("#/start/"), 30
    )
    if not gone_or_done:
        problems.append(f"Home still offers to begin the submitted assignment: {row.inner_text()!r}")
    assert problems == []
    assert errors == []
    context.close()
