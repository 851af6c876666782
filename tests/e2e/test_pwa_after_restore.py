"""Phones after the server's database is restored from a backup: what they still hold reaches it.

The server never deletes a published checklist version or an inspection, but a restored database has
neither what was published nor what was received after its backup. Two things a phone may then hold
would be refused for ever, and are not:
- an inspection filled on a version the server no longer has (422 on `template_version_id`, or 404 when
  the phone lost the version too): the phone offers to move its answers and photos to the version of
  the same checklist it has now, after saying which answers have no place there (deleted) and which
  must be given again;
- a change to an inspection the server had acknowledged and no longer has (422 on `base_revision`): the
  phone's copy is all there is, and it is sent again as new.

Real Chromium against the real server; the restore is played by deleting the version's row, and by
giving the phone's draft a revision the server never made.
"""

from __future__ import annotations

import copy
import uuid

import asyncpg
import pytest

from tests.conftest import run_async, wait_in_page
from tests.e2e.test_admin_support import ADMIN, ADMIN_PASSWORD
from tests.e2e.test_pwa_bundle_versions import begin, bundle_has, new_template, publish, retitled, wait_on_server
from tests.e2e.test_pwa_outbox_more import on_server, wait_for
from tests.e2e.test_pwa_support import expected_answers, fill_whole_form, signed_in_phone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

LOCAL = """async (id) => {
    const db = await import('/js/db.js');
    const d = await db.get('drafts', id);
    return {
        version: d.template_version_id, status: d.status, sync: d.sync, answers: d.answers,
        photos: (await db.getAll('photos')).filter((p) => p.inspection_id === id).map((p) => p.id),
        entries: (await db.getAll('outbox')).filter((e) => e.inspection_id === id).length,
    };
}"""


def referenced(definition: dict) -> set[str]:
    """Items another item's visibility depends on: left as they are, so both versions stay valid."""
    return {i["visible_if"]["item"] for s in definition["sections"] for i in s["items"] if i.get("visible_if")}


def plain_items(definition: dict) -> list[dict]:
    keep = referenced(definition)
    return [i for s in definition["sections"] for i in s["items"] if not i.get("visible_if") and i["key"] not in keep]


def photo_ids(answers: dict) -> set[str]:
    return {p for a in answers.values() for p in a.get("photos") or []}


def test_an_inspection_on_a_version_the_server_lost_moves_to_the_current_one_and_is_sent(pwa_server, browser):
    admin = pwa_server.login(ADMIN, ADMIN_PASSWORD)
    phone = signed_in_phone(pwa_server, browser)
    page, station, errors = phone.page, phone.station, phone.errors
    # A checklist of its own, so that no other inspection is on the version the "restore" loses.
    first = new_template(pwa_server, admin, "night_round", "Night round", phone.version["definition"])
    v1 = retitled(phone.version["definition"], "Night round")
    candidates = plain_items(v1)
    gone = next(i for i in candidates if (i.get("min_photos") or 0) > 0)
    # An item whose scale version 2 shortens: the answer version 1 took (its maximum) no longer fits.
    # (A new type under the same key would be another question, which publishing refuses.)
    retyped = next(i for i in candidates if i["type"] == "scale" and int(i["max"]) >= 3 and i is not gone)
    new_max = int(retyped["max"]) - 1
    v2 = copy.deepcopy(v1)
    for section in v2["sections"]:
        section["items"] = [i for i in section["items"] if i["key"] != gone["key"]]
        for item in section["items"]:
            if item["key"] == retyped["key"]:
                item.update(max=new_max, required=True, critical=False)
    v2["sections"] = [s for s in v2["sections"] if s["items"]]

    page.reload()
    bundle_has(page, f"!!b.templates['{first['id']}']")
    iid = begin(page, pwa_server.url, station, "Night round")
    fill_whole_form(page, v1)
    before = page.evaluate(LOCAL, iid)
    gone_photos = set(before["answers"][gone["key"]]["photos"])
    assert gone_photos and gone_photos <= set(before["photos"]), before

    # The server's database comes back from before version 1 (now version 2 is its current one).
    second = publish(pwa_server, admin, first["template_id"], v2)
    page.reload()
    bundle_has(page, f"!!b.templates['{second['id']}']")

    async def lose_version_1() -> None:
        conn = await asyncpg.connect(pwa_server.database_url)
        try:
            async with conn.transaction():
                # What a restore does; the server itself never deletes a published version.
                await conn.execute("ALTER TABLE template_versions DISABLE TRIGGER template_versions_immutable")
                await conn.execute("DELETE FROM template_versions WHERE id = $1", uuid.UUID(first["id"]))
                await conn.execute("ALTER TABLE template_versions ENABLE TRIGGER template_versions_immutable")
        finally:
            await conn.close()

    run_async(lose_version_1())

    page.goto(f"{pwa_server.url}/#/i/{iid}/review")
    page.click("#submit")
    # Refused for its version alone: the screen offers the move instead of items to fix.
    page.wait_for_selector("#move-version-box")
    assert page.get_attribute("#move-version-box", "data-version") == second["id"]
    assert "removed from the server" in page.inner_text("#move-version-box")
    page.evaluate("import('/js/i18n.js').then((m) => m.setLang('ur'))")
    page.reload()
    page.wait_for_selector("#move-version-box")
    assert "سرور سے ہٹا دیا گیا" in page.inner_text("#move-version-box")
    page.evaluate("import('/js/i18n.js').then((m) => m.setLang('en'))")
    page.reload()
    parked = page.evaluate(LOCAL, iid)
    assert parked["version"] == first["id"] and parked["sync"] == "attention", parked
    page.evaluate(
        "(id) => import('/js/db.js').then((db) => db.get('drafts', id)).then((d) => { window.__before = d; })", iid
    )

    # The inspector is told what will not move before anything moves, and may say no.
    page.click("#move-version")
    dialog = page.locator("dialog.dialog")
    dialog.wait_for()
    said = dialog.inner_text()
    assert gone["label"]["en"] in said and retyped["label"]["en"] in said, said
    dialog.locator(".dialog-actions .btn-secondary").click()
    assert page.evaluate(LOCAL, iid) == parked

    page.click("#move-version")
    dialog.locator(".dialog-actions .btn-primary").click()
    page.wait_for_selector("#submit")
    moved = page.evaluate(LOCAL, iid)
    assert moved["version"] == second["id"] and moved["status"] == "draft" and moved["sync"] == "local", moved
    assert gone["key"] not in moved["answers"] and "value" not in moved["answers"][retyped["key"]], moved
    assert moved["entries"] == 0, "nothing of it waits to be sent until it is submitted again"
    assert set(moved["photos"]) == set(before["photos"]) - gone_photos, "the gone item's photos leave the phone"
    assert page.is_disabled("#submit"), "the rescaled item must be answered again first"
    # A change made on a screen's copy from before the move (a late tap or GPS fix, say) is not
    # written into the moved draft: it was made against the old version's items.
    page.evaluate(
        "(key) => import('/js/inspection.js').then((m) => m.setValue(window.__before, key, 3))", retyped["key"]
    )
    assert page.evaluate(LOCAL, iid) == moved

    section = next(n for n, s in enumerate(v2["sections"]) if any(i["key"] == retyped["key"] for i in s["items"]))
    page.goto(f"{pwa_server.url}/#/i/{iid}/s/{section}?item={retyped['key']}")
    page.click(f"#item-{retyped['key']} [data-value='{new_max}']")
    wait_in_page(
        page,
        f"import('/js/db.js').then((db) => db.get('drafts', '{iid}'))"
        f".then((d) => d.answers['{retyped['key']}'].value === {new_max})",
    )
    page.goto(f"{pwa_server.url}/#/i/{iid}/review")
    page.click("#submit")
    wait_on_server(page, pwa_server.url, iid)

    stored = wait_for(lambda: on_server(pwa_server, iid, phone.token))
    assert stored, pwa_server.api("GET", f"/api/v1/inspections/{iid}", phone.token).text
    assert stored["template_version_id"] == second["id"] and stored["status"] == "submitted"
    values = {k: a.get("value") for k, a in stored["answers"].items() if a.get("value") is not None}
    expected = {k: v for k, v in expected_answers(v1).items() if k not in (gone["key"], retyped["key"])}
    assert values == {**expected, retyped["key"]: new_max}
    assert photo_ids(stored["answers"]) == set(before["photos"]) - gone_photos
    assert errors == []
    phone.context.close()


# The draft as if the server had acknowledged its second revision and returned it to the inspector
# before the database went back to a backup older than the inspection.
ACKNOWLEDGED_THEN_RETURNED = """async (id) => {
    const db = await import('/js/db.js');
    const d = await db.get('drafts', id);
    await db.put('drafts', { ...d, status: 'returned', base_revision: 2,
        server: { revision: 2, status: 'returned', score: null, missing_photos: [] } });
}"""


def test_a_change_to_an_inspection_the_server_lost_is_sent_again_as_new(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page, errors = phone.page, phone.errors
    iid = begin(page, pwa_server.url, phone.station)
    fill_whole_form(page, phone.version["definition"])
    page.evaluate(ACKNOWLEDGED_THEN_RETURNED, iid)
    page.reload()
    page.click("#submit")
    wait_on_server(page, pwa_server.url, iid)

    stored = wait_for(lambda: on_server(pwa_server, iid, phone.token))
    assert stored, pwa_server.api("GET", f"/api/v1/inspections/{iid}", phone.token).text
    assert (stored["revision"], stored["status"]) == (1, "submitted")
    values = {k: a.get("value") for k, a in stored["answers"].items() if a.get("value") is not None}
    assert values == expected_answers(phone.version["definition"])
    local = page.evaluate("(id) => import('/js/db.js').then((db) => db.get('drafts', id))", iid)
    assert (local["base_revision"], local["sync"]) == (1, "on_server"), local
    assert errors == []
    phone.context.close()


# What the server says of a document's checklist, as the inspection's screen lists it, in both languages.
SAID = """async ([station, lang]) => {
    const i18n = await import('/js/i18n.js');
    const { errorsCallout } = await import('/js/views/inspector/common.js');
    i18n.setLang(lang);
    const refused = (message) => errorsCallout({
        id: 'x', station_id: station, template_id: crypto.randomUUID(), template_version_id: crypto.randomUUID(),
        status: 'draft', sync: 'attention', answers: {},
        error: { status: 422, errors: [{ field: 'template_version_id', message }] },
    }, { sections: [] }).querySelector('.server-errors').innerText;
    return [refused('is not a published template version'), refused('does not apply to this station (a khidmat markaz)')];
}"""


def test_a_checklist_the_server_refuses_is_said_in_plain_words_when_nothing_can_move(pwa_server, browser):
    """No other version of the checklist on the phone: no move is offered, and the refusal is said in
    words, not as the document's field name and the server's English."""
    phone = signed_in_phone(pwa_server, browser)
    english = phone.page.evaluate(SAID, [phone.station["id"], "en"])
    assert english[0].startswith("Checklist: this version of the checklist is not on the server"), english
    assert english[1].startswith("Checklist: this checklist is no longer used at this station"), english
    urdu = phone.page.evaluate(SAID, [phone.station["id"], "ur"])
    assert urdu[0].startswith("چیک لسٹ: چیک لسٹ کا یہ ورژن سرور پر نہیں"), urdu
    assert urdu[1].startswith("چیک لسٹ: یہ چیک لسٹ اب اس تھانے پر"), urdu
    assert phone.errors == []
    phone.context.close()
