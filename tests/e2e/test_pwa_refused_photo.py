"""A photo the server refuses does not leave its inspection stuck on the phone.

Real Chromium against the real server, no reply faked: the phone holds bytes that are no image (as a
broken camera file or a damaged store would leave them), so the server really answers the upload 415.
The inspector reads why on the inspection's screen, removes that photo alone, and the rest of the
inspection reaches the server; the phone is then empty and its inspector can sign out.

And a checklist version the server no longer has is said to be gone, not "connect to download it", with
the way out: moving the inspection to the version of its checklist the phone has now.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.test_pwa_outbox_more import wait_for
from tests.e2e.test_pwa_support import (
    begin_inspection,
    fill_whole_form,
    inspection_id,
    phone_context,
    signed_in_phone,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

# The first photo in the queue becomes bytes that are no image: the server sniffs the format and
# refuses it (415). Its entry comes before the inspection's other photos, which then wait behind it.
SPOIL_FIRST_PHOTO = """async (id) => {
    const db = await import('/js/db.js');
    const first = (await db.getAll('outbox')).filter((e) => e.inspection_id === id && e.kind === 'photo')
        .sort((a, b) => a.seq - b.seq)[0];
    const photo = await db.get('photos', first.ref);
    await db.put('photos', { ...photo, blob: new Blob(['%PDF-1.4 this is not a photo'], { type: 'image/jpeg' }) });
    return { id: first.ref, item_key: first.item_key };
}"""

LOCAL = """async (id) => {
    const db = await import('/js/db.js');
    const d = await db.get('drafts', id);
    const entries = (await db.getAll('outbox')).filter((e) => e.inspection_id === id);
    return {
        sync: d.sync, status: d.status, answers: d.answers,
        photos: (await db.getAll('photos')).map((p) => p.id),
        entries: entries.map((e) => ({ kind: e.kind, state: e.state, status: e.error && e.error.status })),
    };
}"""


def photo_ids(answers: dict) -> list[str]:
    return [p for a in answers.values() for p in a.get("photos", [])]


def test_a_refused_photo_is_explained_and_removed_and_the_rest_is_sent(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    token, station, version = phone.token, phone.station, phone.version
    context, page, errors = phone.context, phone.page, phone.errors

    # Filled and submitted offline; one of its photos is not a picture the server can take.
    context.set_offline(True)
    begin_inspection(page, station)
    iid = inspection_id(page)
    count = fill_whole_form(page, version["definition"])
    assert count >= 2, "the demo checklist should ask for several photos"
    page.click("#submit")
    page.wait_for_selector("[data-sync=queued]")
    bad = page.evaluate(SPOIL_FIRST_PHOTO, iid)
    label = next(i for s in version["definition"]["sections"] for i in s["items"] if i["key"] == bad["item_key"])
    label = label["label"]["en"] if isinstance(label["label"], dict) else label["label"]

    # The network returns: the inspection goes, its refused photo is parked, the others wait behind it.
    context.set_offline(False)
    page.wait_for_selector("[data-sync=attention]", timeout=120000)
    local = page.evaluate(LOCAL, iid)
    assert {"kind": "photo", "state": "attention", "status": 415} in local["entries"], local
    stored = pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    assert bad["id"] in stored["missing_photos"]

    # The inspection's screen says which photo, why in plain words, and what to do.
    refused = page.locator("#refused-photos")
    refused.wait_for()
    text = refused.inner_text()
    assert label in text, text
    assert "Not a photo format the server accepts" in text, text
    assert page.locator("#attention").count() == 0, "the bare 'error 415' callout should give way to the explanation"
    assert page.evaluate("import('/js/state.js').then((m) => m.hasUnsent())") is True

    refused.locator("button.remove-refused").click()
    page.click("dialog[open] .dialog-actions .btn-primary")

    # The rest is sent: every other photo reaches the server, the refused one never does.
    page.wait_for_selector("[data-sync=on_server]", timeout=120000)
    others = [p for p in photo_ids(local["answers"]) if p != bad["id"]]
    assert len(others) == count - 1
    stored = wait_for(
        lambda: (
            (s := pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json())["missing_photos"] == [bad["id"]]
            and s
        ),
        30,
    )
    assert stored, pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    assert stored["status"] == "submitted"
    for pid in others:
        assert pwa_server.api("GET", f"/api/v1/photos/{pid}", token).status_code == 200, pid
    assert pwa_server.api("GET", f"/api/v1/photos/{bad['id']}", token).status_code == 404

    # On the phone: that photo alone is gone, from its answer too; nothing waits; the screen says why
    # the server's copy (submitted, so read-only to its inspector) still lists it as missing.
    local = page.evaluate(LOCAL, iid)
    assert local["entries"] == [] and local["photos"] == [] and local["sync"] == "on_server", local
    assert bad["id"] not in photo_ids(local["answers"])
    assert sorted(photo_ids(local["answers"])) == sorted(others)
    page.wait_for_selector("#photos-removed")
    assert label in page.inner_text("#photos-removed")
    assert page.locator("#refused-photos").count() == 0
    page.wait_for_selector("#sync-badge[data-state=ok]", timeout=60000)

    # And the inspector can sign out.
    page.goto(pwa_server.url + "/#/settings")
    page.click("text=Sign out of this phone")
    page.wait_for_selector("input[name=username]")
    assert errors == []
    context.close()


# An inspection queued on a checklist version the server does not know: the outbox asks for it, hears
# 404, and parks the inspection. Begun through the screens, submitted through the phone's own modules
# (the form need not be filled for the checklist's absence to be what the server refuses).
QUEUE_ON_UNKNOWN_VERSION = """async ([id, versionId, definition]) => {
    const db = await import('/js/db.js');
    const outbox = await import('/js/outbox.js');
    await outbox.enqueueSubmission(id, definition, (d) => Object.assign(d, { status: 'submitted', template_version_id: versionId }));
    await outbox.sendQueued();
    const d = await db.get('drafts', id);
    return { sync: d.sync, title: d.error && d.error.title };
}"""

POINT_AT_VERSION = """async ([id, versionId]) => {
    const db = await import('/js/db.js');
    const d = await db.get('drafts', id);
    await db.put('drafts', { ...d, template_version_id: versionId });
}"""


def begin(page: Any, url: str, station: dict) -> str:
    page.goto(url + "/#/")
    page.wait_for_selector("#station-list li")
    begin_inspection(page, station)
    return inspection_id(page)


def test_a_checklist_the_server_no_longer_has_is_said_to_be_gone_not_to_be_downloaded(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    station, version = phone.station, phone.version
    context, page, errors = phone.context, phone.page, phone.errors

    # Merely not on this phone (nothing has asked the server yet): connecting may bring it.
    missing = begin(page, pwa_server.url, station)
    page.evaluate(POINT_AT_VERSION, [missing, str(uuid.uuid4())])
    page.goto(f"{pwa_server.url}/#/i/{missing}/review")
    page.wait_for_selector("text=Connect to download it")

    # The server has said it does not have it either: no download will help, and the phone says so.
    gone = begin(page, pwa_server.url, station)
    parked = page.evaluate(QUEUE_ON_UNKNOWN_VERSION, [gone, str(uuid.uuid4()), version["definition"]])
    assert parked["sync"] == "attention", parked
    for lang, words in (("en", "removed from the server"), ("ur", "سرور سے ہٹا دیا گیا")):
        page.evaluate("(l) => import('/js/i18n.js').then((m) => m.setLang(l))", lang)
        page.goto(f"{pwa_server.url}/#/i/{gone}/review")
        page.reload()
        page.wait_for_selector("[data-template-gone]")
        text = page.inner_text("[data-template-gone]")
        assert words in text, text
        assert "Connect to download" not in text and "انٹرنیٹ سے جڑیں" not in text, text
    page.goto(f"{pwa_server.url}/#/i/{gone}/s/0")
    page.reload()
    page.wait_for_selector("[data-template-gone]")

    # The way out: the phone has the checklist's current version, and the answers move to it.
    assert page.get_attribute("[data-template-gone] #move-version-box", "data-version") == version["id"]
    page.click("#move-version")
    page.click("dialog.dialog .dialog-actions .btn-primary")
    page.wait_for_selector("#submit")
    moved = page.evaluate("(id) => import('/js/db.js').then((db) => db.get('drafts', id))", gone)
    assert (moved["template_version_id"], moved["status"], moved["sync"]) == (version["id"], "draft", "local")
    assert errors == []
    context.close()


def test_a_refusal_is_named_by_what_the_server_said_about_the_photo(pwa_server, browser):
    """Only a 422 about the image itself (its body) says the photo may be damaged; a 422 about the item
    it was taken for, or a 409, is a plain refusal. Nothing but a parked photo has a refusal."""
    context = phone_context(browser)
    page = context.new_page()
    page.goto(pwa_server.url + "/")
    named = page.evaluate(
        """async () => {
            const { photoRefusal } = await import('/js/outbox.js');
            const parked = (status, errors) => ({ kind: 'photo', state: 'attention', error: { status, errors } });
            return [
                parked(413), parked(415), parked(422, [{ field: 'body', message: 'not a whole image' }]),
                parked(422, [{ field: 'item_key', message: 'is not an item of this checklist' }]),
                parked(409, []), { kind: 'inspection', state: 'attention', error: { status: 422 } },
                { kind: 'photo', state: 'pending', error: null },
            ].map(photoRefusal);
        }"""
    )
    assert named == ["tooLarge", "notImage", "unreadable", "refused", "refused", None, None]
    context.close()
