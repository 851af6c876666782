"""Corrective actions read in the reader's language, in real Chromium.

An action a critical failure opened is stored in English (the exports read it), but a reviewer or an
inspector using Muaina in Urdu reads it in Urdu, with the item's Urdu label; an action a reviewer typed
keeps the reviewer's words in either language.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.test_pwa_support import live_pwa_server, open_station, phone_context, sign_in, watch_errors
from tests.e2e.test_reviewer_support import (
    REVIEWER_PASSWORD,
    inspector_setup,
    reviewer_desk,
    submit,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

TYPED = "Repaint the lock-up walls and fix the fan"

# A second check of the same action, as another tab would queue it: whether it was added, and how many
# checks of the action the outbox then holds.
CHECK_AGAIN = """async (id) => {
    const outbox = await import('/js/outbox.js');
    const added = await outbox.enqueueActionCheck({ id }, 'seen from another tab');
    return [added, (await outbox.allEntries()).filter((e) => e.kind === 'action' && e.ref === id).length];
}"""

# A check the server refused (as the outbox parks one), of an action this phone no longer lists.
PARKED_CHECK = """import('/js/db.js').then((db) => db.put('outbox', {
    kind: 'action', ref: '00000000-0000-4000-8000-000000000001', state: 'attention', note: 'x', note_id: 'n',
    action: { id: '00000000-0000-4000-8000-000000000001', description: 'Repaint the gate', due_date: '2099-01-01' },
    error: { status: 422, title: 'Validation failed', detail: 'note: must not be longer than 4000 characters' },
}))"""


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("action-words"))


@pytest.fixture(scope="module")
def seeded(pwa_server):
    """A submission failing one critical item (the server opens an action) and an action a reviewer typed
    for another item of the same section, at the same station."""
    token, stations, version = inspector_setup(pwa_server)
    station = stations[6]
    sections = version["definition"]["sections"]
    s_idx, critical = next(
        (n, i)
        for n, s in enumerate(sections)
        for i in s["items"]
        if i.get("critical") and i["type"] == "yes_no" and not i.get("visible_if")
    )
    other = next(i for i in sections[s_idx]["items"] if i["key"] != critical["key"] and not i.get("visible_if"))
    submitted = submit(pwa_server, token, station, version, fail=(critical["key"],), seed=31)
    reviewer = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    rows = pwa_server.api("GET", "/api/v1/actions", reviewer, params={"station_id": station["id"]}).json()["rows"]
    auto = next(a for a in rows if a["item_key"] == critical["key"] and a["status"] != "verified")
    typed = pwa_server.api(
        "POST",
        "/api/v1/actions",
        reviewer,
        json={
            "station_id": station["id"],
            "inspection_id": submitted["id"],
            "item_key": other["key"],
            "description": TYPED,
            "owner_name": "Moharrar Aslam",
            "due_date": (date.today() + timedelta(days=20)).isoformat(),
        },
    )
    assert typed.status_code == 201, typed.text
    return {
        "station": station,
        "section": s_idx,
        "critical": critical,
        "other": other,
        "auto": auto,
        "typed": typed.json(),
    }


def test_an_automatic_action_reads_in_urdu_on_the_board_and_a_typed_one_keeps_its_words(pwa_server, seeded, browser):
    station, critical, auto = seeded["station"], seeded["critical"], seeded["auto"]
    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.goto(pwa_server.url + f"/#/review/actions?station={station['id']}")
    auto_card = page.locator(f".rv-action[data-id='{auto['id']}']")
    typed_card = page.locator(f".rv-action[data-id='{seeded['typed']['id']}']")
    auto_card.wait_for()
    # In English the composed sentence is the stored one, word for word.
    assert auto_card.locator(".rv-desc").inner_text() == auto["description"]
    assert auto_card.locator(".rv-desc").inner_text() == f"Critical item failed: {critical['label']['en']}"
    assert f"SHO, {station['name']['en']}" in auto_card.inner_text()

    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    # The board draws itself again in Urdu once it has switched: wait for that, not for the old card.
    auto_card.locator(".rv-desc", has_text="انتہائی اہم نکتہ ناکام").wait_for()
    assert auto_card.locator(".rv-desc").inner_text() == f"انتہائی اہم نکتہ ناکام: {critical['label']['ur']}"
    assert f"ایس ایچ او، {station['name']['ur']}" in auto_card.inner_text()
    assert "Critical item failed" not in auto_card.inner_text() and "SHO," not in auto_card.inner_text()
    # A reviewer's own words are never translated or recomposed.
    assert typed_card.locator(".rv-desc").inner_text() == TYPED
    assert "Moharrar Aslam" in typed_card.inner_text()
    # The notes dialog names the action the same way.
    auto_card.locator(".rv-notes").click()
    assert f"انتہائی اہم نکتہ ناکام: {critical['label']['ur']}" in page.locator("dialog").inner_text()
    # The inspection's page notes the open action on its item in the same words.
    page.keyboard.press("Escape")
    page.goto(pwa_server.url + f"/#/review/i/{auto['inspection_id']}")
    note = page.locator(".callout-info", has_text=f"انتہائی اہم نکتہ ناکام: {critical['label']['ur']}")
    note.wait_for()
    assert "Critical item failed" not in page.locator("main").inner_text()
    assert errors == []
    context.close()


def _at_the_actions_section(pwa_server, browser, seeded, *, urdu: bool = False):
    """A phone at the seeded station, an inspection begun there and open at the section of the actions."""
    context = phone_context(browser, seeded["station"])
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    if urdu:
        page.click(".lang-toggle")
        page.locator("html[dir=rtl]").wait_for(state="attached")
    open_station(page, seeded["station"])
    page.click("#begin")
    page.wait_for_selector(".section-title")
    page.goto(page.url.rsplit("/s/", 1)[0] + f"/s/{seeded['section']}")
    return context, page, errors


def test_the_inspectors_phone_shows_an_automatic_action_in_urdu_and_a_typed_one_as_typed(pwa_server, seeded, browser):
    critical = seeded["critical"]
    context, page, errors = _at_the_actions_section(pwa_server, browser, seeded, urdu=True)
    item = page.locator(f"#item-{critical['key']} .callout-info")
    item.wait_for()
    sentence = f"انتہائی اہم نکتہ ناکام: {critical['label']['ur']}"
    assert sentence in item.inner_text()
    assert "Critical item failed" not in item.inner_text()
    # The section's list of open actions: the automatic one in Urdu, the typed one as the reviewer wrote it.
    listed = page.locator(".callout-info ul li").all_inner_texts()
    assert any(sentence in li for li in listed), listed
    assert any(TYPED in li for li in listed), listed
    assert TYPED in page.locator(f"#item-{seeded['other']['key']} .callout-info").inner_text()
    # Due dates read as dates in the person's language, not as the API's ISO text.
    due = seeded["typed"]["due_date"]
    assert due and not any(due in li for li in listed), listed
    assert due not in page.locator(f"#item-{seeded['other']['key']} .callout-info").inner_text()
    year = due[:4]
    assert any(TYPED in li and year in li for li in listed), listed
    assert errors == []
    context.close()


def test_an_inspector_marks_an_action_seen_fixed_offline_and_it_is_verified_once_with_the_note(
    pwa_server, seeded, browser
):
    """Last in this module: it verifies the typed action. Offline at the station, the inspector says
    what they saw; the phone sends it when the network is back, and the action is verified with the
    note. (The same request sent twice, as after a lost reply, changes nothing the second time:
    tests/test_action_defects.py.)"""
    station, other, typed = seeded["station"], seeded["other"], seeded["typed"]
    reviewer = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    context, page, errors = _at_the_actions_section(pwa_server, browser, seeded)
    callout = page.locator(f"#item-{other['key']} .action-callout")
    callout.wait_for()

    context.set_offline(True)
    # A check of another action the server refused earlier waits parked: it must hold up no other.
    page.evaluate(PARKED_CHECK)
    callout.locator(".action-seen").click()
    dialog = page.locator("dialog")
    dialog.locator(".btn-primary").click()  # no note: refused where it is asked for, nothing queued
    expect(dialog.locator("[role=alert]")).to_be_visible()
    expect(dialog.locator("textarea")).to_be_focused()
    note = "Walls repainted; the fan works"
    dialog.locator("textarea").fill(note)
    dialog.locator(".btn-primary").click()
    expect(dialog).to_have_count(0)
    expect(callout.locator(".action-check")).to_be_focused()
    expect(callout.locator(".action-seen")).to_have_count(0)
    # Checked again (another tab, a dialog left open meanwhile): the first check stands, alone.
    assert page.evaluate(CHECK_AGAIN, typed["id"]) == [False, 1]
    assert pwa_server.api("GET", f"/api/v1/actions/{typed['id']}", reviewer).json()["status"] == "open"

    # Drawn again (the page reloaded offline), the check is still there, and the sync screen lists it.
    page.reload()
    expect(page.locator(f"#item-{other['key']} .action-check")).to_be_visible()
    page.goto(pwa_server.url + "/#/sync")
    expect(page.locator("li[data-kind=action]", has_text=TYPED)).to_be_visible()

    context.set_offline(False)
    page.evaluate("dispatchEvent(new Event('online'))")
    deadline = time.monotonic() + 30
    while (shown := pwa_server.api("GET", f"/api/v1/actions/{typed['id']}", reviewer).json())["status"] != "verified":
        assert time.monotonic() < deadline, shown
        time.sleep(0.3)
    page.reload()
    expect(page.locator("li[data-kind=action]", has_text=TYPED)).to_have_count(0)
    # The refused one stays until the inspector removes it; then nothing is left to send.
    parked = page.locator("li[data-kind=action]", has_text="Repaint the gate")
    expect(parked.locator(".field-error")).to_contain_text("must not be longer")
    parked.locator(".action-drop").click()
    expect(page.locator("li[data-kind=action]")).to_have_count(0)
    # Only the inspection begun here is left on the phone, a draft.
    page.locator("#sync-badge", has_text="Drafts on phone").wait_for()
    assert [(n["body"], n["status_to"]) for n in shown["notes"]] == [(note, "verified")]
    assert shown["notes"][0]["author"]["display_name"] != "RPO Lahore"
    # Verified, the action leaves the phone's open actions at the next download.
    page.goto(pwa_server.url + f"/#/start/{station['id']}")
    page.reload()
    page.wait_for_selector("#begin")
    assert TYPED not in page.locator("main").inner_text()
    assert errors == []
    context.close()
