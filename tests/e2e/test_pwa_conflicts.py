"""When the server refuses a submission, the inspector sees why and loses nothing.

A 409 (the inspection was changed elsewhere since the phone's base revision) and a 422 (the
server's validation disagrees with the phone's copy) each become an explained "needs attention"
state; the draft, its photos and the outbox entries stay on the phone until the inspector acts.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import snapshot
from tests.e2e.test_pwa_support import (
    PASSWORD,
    STORED_DRAFT,
    begin_inspection,
    fill_whole_form,
    inspection_id,
    signed_in_phone,
)
from tests.e2e.test_reviewer_support import build_document

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


LOCAL_STATE = """async (id) => {
    const db = await import('/js/db.js');
    const draft = await db.get('drafts', id);
    const outbox = (await db.getAll('outbox')).filter(e => e.inspection_id === id);
    const photos = (await db.getAll('photos')).filter(p => p.inspection_id === id && p.blob);
    return {answers: Object.keys(draft.answers).length, status: draft.status, sync: draft.sync,
            outbox: outbox.map(e => [e.kind, e.state]), photos: photos.length};
}"""


def submit_offline(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    token, station, version = phone.token, phone.station, phone.version
    context, page, errors = phone.context, phone.page, phone.errors
    context.set_offline(True)
    begin_inspection(page, station)
    photos = fill_whole_form(page, version["definition"])
    page.click("#submit")
    page.wait_for_selector("[data-sync=queued]")
    return token, station, version, context, page, errors, photos


def test_an_inspection_changed_elsewhere_is_explained_and_kept_until_the_inspector_chooses(
    pwa_server, browser, artifacts
):
    token, station, version, context, page, errors, photos = submit_offline(pwa_server, browser)
    iid = inspection_id(page)

    # Meanwhile the same inspection is saved from somewhere else (another device), revision 1.
    other = {
        "station_id": station["id"],
        "template_version_id": version["id"],
        "base_revision": 0,
        "status": "draft",
        "started_at": "2026-11-27T09:00:00Z",
        "finished_at": None,
        "location": None,
        "answers": {},
    }
    first_key = version["definition"]["sections"][0]["items"][0]["key"]
    other["answers"][first_key] = {"value": "no", "note": "entered on the office laptop"}
    saved = pwa_server.api("PUT", f"/api/v1/inspections/{iid}", token, json=other)
    assert saved.status_code in (200, 201), saved.text

    context.set_offline(False)
    page.wait_for_selector("[data-sync=attention]", timeout=60000)
    attention = page.locator("#attention")
    assert attention.get_attribute("data-status") == "409"
    assert "Changed somewhere else" in attention.inner_text()
    # Said in the person's words only: the server's sentence for API clients is not shown.
    assert "server_copy" not in attention.inner_text() and attention.locator(".server-message").count() == 0
    page.wait_for_selector("#sync-badge[data-state=fail]")
    snapshot(page, path=str(artifacts / "pwa-conflict-409.png"))

    # Nothing was dropped: answers, photos and the outbox entries (parked, not deleted) remain.
    local = page.evaluate(LOCAL_STATE, iid)
    assert local["sync"] == "attention" and local["answers"] > 50
    assert local["photos"] == photos
    assert ("inspection", "attention") in [tuple(e) for e in local["outbox"]]
    assert len(local["outbox"]) == 1 + photos

    # The server still has the other device's version, untouched.
    assert pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()["answers"][first_key]["value"] == "no"

    # The inspector keeps the phone's answers: they go on top of the newer revision.
    page.click("#keep-mine")
    page.wait_for_selector("[data-sync=on_server]", timeout=120000)
    stored = pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    assert stored["status"] == "submitted"
    assert stored["answers"][first_key]["value"] == "yes"
    assert stored["missing_photos"] == []
    assert errors == []
    context.close()


def test_a_server_copy_submitted_meanwhile_is_not_offered_to_be_overwritten(pwa_server, browser):
    """Submitted from another device first: the inspector can no longer change it, so sending the
    phone's answers on top of it would be refused again at every tap. The phone says so, and offers
    only to take the server's version."""
    token, station, version, context, page, errors, photos = submit_offline(pwa_server, browser)
    iid = inspection_id(page)
    document, _ = build_document(station, version, seed=5)
    saved = pwa_server.api("PUT", f"/api/v1/inspections/{iid}", token, json=document)
    assert saved.status_code == 201, saved.text

    context.set_offline(False)
    page.wait_for_selector("[data-sync=attention]", timeout=60000)
    assert page.locator("#keep-mine").count() == 0
    assert "can no longer be changed from this phone" in page.locator("#server-final").inner_text()

    page.click("button:has-text('Use the server’s version')")
    page.click("dialog[open] .dialog-actions .btn-primary")
    page.wait_for_selector("[data-sync=on_server]", timeout=30000)
    local = page.evaluate(LOCAL_STATE, iid)
    assert (local["status"], local["outbox"], local["photos"]) == ("submitted", [], 0)
    stored = pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    assert (stored["status"], stored["revision"]) == ("submitted", 1)
    assert errors == []
    context.close()


def test_photos_the_server_copy_keeps_are_sent_as_soon_as_the_inspector_takes_it(pwa_server, browser):
    """Taking the server's version keeps the photos it references queued: they go at once, not at the
    next reconnection or the next start of the app."""
    token, station, version, context, page, errors, photos = submit_offline(pwa_server, browser)
    iid = inspection_id(page)
    local = page.evaluate(STORED_DRAFT, iid)
    assert photos and len(local["photos"]) == photos
    # Another device saved the same answers, photos referenced, as a draft first.
    other = {
        "station_id": station["id"],
        "template_version_id": version["id"],
        "base_revision": 0,
        "status": "draft",
        "started_at": "2026-11-27T09:00:00Z",
        "finished_at": None,
        "location": None,
        "answers": local["answers"],
    }
    saved = pwa_server.api("PUT", f"/api/v1/inspections/{iid}", token, json=other)
    assert saved.status_code == 201, saved.text
    assert sorted(saved.json()["missing_photos"]) == sorted(local["photos"])

    context.set_offline(False)
    page.wait_for_selector("[data-sync=attention]", timeout=60000)
    page.click("button:has-text('Use the server’s version')")
    page.click("dialog[open] .dialog-actions .btn-primary")
    deadline = time.monotonic() + 30
    while pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()["missing_photos"]:
        assert time.monotonic() < deadline, "the kept photos were not sent"
        time.sleep(0.5)
    page.wait_for_selector("[data-sync=on_server]", timeout=30000)
    assert page.evaluate(LOCAL_STATE, iid)["outbox"] == []

    # The copy taken is a draft, which the inspector may change: a change is work only this phone has
    # again, said by the badge, and it keeps the phone from signing out (which would wipe it).
    assert page.evaluate(LOCAL_STATE, iid)["status"] == "draft"
    section = version["definition"]["sections"][0]
    item = next(i for i in section["items"] if i["type"] == "yes_no" and not i.get("visible_if"))
    page.goto(page.url.split("#")[0] + f"#/i/{iid}/s/0")
    page.locator(f"#item-{item['key']} [data-value=no]").click()
    page.locator("#sync-badge", has_text="Drafts on phone").wait_for(timeout=10000)
    assert page.evaluate("import('/js/state.js').then((m) => m.hasUnsent())") is True
    assert errors == []
    context.close()


def test_a_submission_the_server_finds_invalid_is_explained_and_can_be_fixed(pwa_server, browser, artifacts):
    token, station, version, context, page, errors, photos = submit_offline(pwa_server, browser)
    iid = inspection_id(page)
    definition = version["definition"]
    required = next(
        i
        for s in definition["sections"]
        for i in s["items"]
        if i["required"] and i["type"] == "yes_no" and not i.get("visible_if")
    )

    # The phone checks the same rules before Submit, so a 422 means the two disagree (an older
    # app build, a template corrected on the server). Simulate that: drop a required answer from
    # the stored copy after Submit.
    page.evaluate(
        """async ([id, key]) => {
        const db = await import('/js/db.js');
        const d = await db.get('drafts', id);
        delete d.answers[key].value;
        await db.put('drafts', d);
    }""",
        [iid, required["key"]],
    )

    context.set_offline(False)
    page.wait_for_selector("[data-sync=attention]", timeout=60000)
    attention = page.locator("#attention")
    assert attention.get_attribute("data-status") == "422"
    assert "The server found problems" in attention.inner_text()
    assert attention.locator(".server-message").count() == 0
    # Each problem the server found is shown in the person's language, linked to the item it concerns.
    link = attention.locator(".server-errors a", has_text=required["label"]["en"])
    assert link.count() == 1
    assert link.inner_text() == f"{required['label']['en']}: needs an answer"
    snapshot(page, path=str(artifacts / "pwa-invalid-422.png"))
    page.click(".lang-toggle")
    in_urdu = page.locator("#attention .server-errors a", has_text=required["label"]["ur"])
    in_urdu.wait_for()
    assert in_urdu.inner_text() == f"{required['label']['ur']}: جواب درکار ہے"
    page.click(".lang-toggle")
    link.wait_for()

    local = page.evaluate(LOCAL_STATE, iid)
    assert local["status"] == "draft", "a refused submission becomes editable again"
    assert local["photos"] == photos
    assert ("inspection", "attention") in [tuple(e) for e in local["outbox"]]
    assert pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).status_code == 404

    # Fix it where the link points, then submit again: the parked entries are re-armed and sent.
    link.click()
    page.locator(f"#item-{required['key']} [data-value=yes]").click()
    page.goto(page.url.split("#")[0] + f"#/i/{iid}/review")
    page.click("#submit")
    page.wait_for_selector("[data-sync=on_server]", timeout=120000)
    stored = pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    assert stored["status"] == "submitted"
    assert stored["answers"][required["key"]]["value"] == "yes"
    assert stored["missing_photos"] == []
    assert errors == []
    context.close()


def test_an_ended_session_asks_to_sign_in_again_and_loses_nothing(pwa_server, browser):
    token, station, version, context, page, errors, photos = submit_offline(pwa_server, browser)
    iid = inspection_id(page)

    # The phone's session is revoked on the server (signed out elsewhere, or an admin action).
    phone_token = page.evaluate("import('/js/db.js').then(db => db.kv.get('token'))")
    assert pwa_server.api("POST", "/api/v1/auth/logout", phone_token).status_code == 204

    context.set_offline(False)
    dialog = page.locator("dialog")
    dialog.wait_for(timeout=60000)
    assert "Sign in again to send your work" in dialog.inner_text()
    page.wait_for_selector("#sync-badge[data-state=warn]")
    local = page.evaluate(LOCAL_STATE, iid)
    assert local["photos"] == photos and len(local["outbox"]) == 1 + photos
    assert all(state != "attention" for _, state in local["outbox"])

    dialog.locator("input[type=password]").fill(PASSWORD)
    dialog.locator(".btn-primary").click()
    page.wait_for_selector("[data-sync=on_server]", timeout=120000)
    stored = pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    assert stored["status"] == "submitted" and stored["missing_photos"] == []
    assert errors == []
    context.close()
