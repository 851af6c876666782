"""The corrective actions board in real Chromium against the real server.

- A reviewer's board drawn before a colleague reopened an action ("not good enough") no longer verifies
  it over the reopen: the change is sent with the change_seq the board read, the server refuses it (409),
  and the board says, in English and in Urdu, that someone changed the action meanwhile and shows it as
  it is now.
- The photos named as evidence of an action's fix are shown in its notes dialog, each opening larger.
- The new action dialog names the checklist of the item picked, where two checklists share an item key.
Everything is made through the real API, as a phone and a reviewer would; nothing is faked.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_action_checklists import _another_checklist_with
from tests.e2e.test_reviewer_support import REVIEWER_PASSWORD, inspector_setup, reviewer_desk, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ADMIN_PASSWORD = "admin-demo-2026"
CHANGED_EN = "Someone changed this action while you had it open: it is now “{status}”. Nothing was changed."
CHANGED_UR = "آپ کے دیکھتے دیکھتے کسی اور نے یہ اقدام بدل دیا: اب یہ “{status}” ہے۔ کچھ تبدیل نہیں کیا گیا۔"


def _critical_key(version: dict) -> str:
    return next(
        i["key"]
        for s in version["definition"]["sections"]
        for i in s["items"]
        if i["type"] == "yes_no" and i.get("critical") and not i.get("visible_if")
    )


def _failed_action(server, station: dict, seed: int) -> tuple[dict, dict, str]:
    """A submitted inspection failing a critical item, and the action it opened: (inspection, action,
    reviewer's token)."""
    token, _, version = inspector_setup(server)
    key = _critical_key(version)
    insp = submit(server, token, station, version, fail=(key,), seed=seed)
    reviewer = server.login("rpo.lahore", REVIEWER_PASSWORD)
    rows = server.api("GET", "/api/v1/actions", reviewer, params={"inspection_id": insp["id"]}).json()["rows"]
    [action] = [a for a in rows if a["item_key"] == key]
    return insp, action, reviewer


def _patch(server, token: str, action_id: str, body: dict) -> dict:
    reply = server.api("PATCH", f"/api/v1/actions/{action_id}", token, json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _board(page, url: str, station_id: str) -> None:
    page.goto(f"{url}/#/review/actions?station={station_id}")
    page.wait_for_selector(".rv-board")


def test_a_change_from_a_board_drawn_before_a_colleagues_reopen_is_refused_and_shown_as_it_is(pwa_server, browser):
    _, stations, _ = inspector_setup(pwa_server)
    station = stations[0]
    _, action, reviewer = _failed_action(pwa_server, station, seed=41)
    _patch(pwa_server, reviewer, action["id"], {"status": "done", "note": "SHO says the diary is complete"})
    admin = pwa_server.login("admin", ADMIN_PASSWORD)

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    _board(page, pwa_server.url, station["id"])
    card = page.locator(f".rv-col[data-status=done] .rv-action[data-id='{action['id']}']")
    card.wait_for()
    # Meanwhile a colleague looks at it and reopens it.
    _patch(pwa_server, admin, action["id"], {"status": "open", "note": "Not good enough: two entries missing"})

    card.locator("[data-to=verified]").click()
    dialog = page.locator("dialog")
    dialog.locator("textarea[name=note]").fill("Seen complete")
    dialog.locator(".dialog-actions .btn-primary").click()
    expect(dialog.locator(".rv-changed")).to_contain_text(CHANGED_EN.format(status="Open"))
    stored = pwa_server.api("GET", f"/api/v1/actions/{action['id']}", reviewer).json()
    assert stored["status"] == "open"
    assert stored["notes"][-1]["body"] == "Not good enough: two entries missing"
    # Closed, the dialog leaves the board showing the action as it is now: open again.
    dialog.locator(".dialog-actions button").first.click()
    expect(page.locator(f".rv-col[data-status=open] .rv-action[data-id='{action['id']}']")).to_have_count(1)
    expect(page.locator(f".rv-col[data-status=done] .rv-action[data-id='{action['id']}']")).to_have_count(0)

    # A note, from a notes dialog opened before a colleague pushed the due date back: refused, the dialog
    # says why and keeps the note; sent again, against the action as it is now, it is added.
    page.locator(f".rv-action[data-id='{action['id']}'] .rv-notes").click()
    expect(dialog.locator(".rv-timeline")).to_contain_text("Not good enough: two entries missing")
    _patch(pwa_server, admin, action["id"], {"due_date": "2099-01-01"})
    dialog.locator(".field[data-field=note] textarea").fill("Asked the SHO to finish the entries")
    dialog.locator(".dialog-actions .btn-primary").click()
    expect(dialog.locator(".rv-changed")).to_contain_text(CHANGED_EN.format(status="Open"))
    assert pwa_server.api("GET", f"/api/v1/actions/{action['id']}", reviewer).json()["notes"][-1]["body"] != (
        "Asked the SHO to finish the entries"
    )
    dialog.locator(".dialog-actions .btn-primary").click()
    page.wait_for_selector("dialog", state="detached")
    notes = pwa_server.api("GET", f"/api/v1/actions/{action['id']}", reviewer).json()["notes"]
    assert notes[-1]["body"] == "Asked the SHO to finish the entries"

    # In Urdu, a move made on the card itself: a colleague started work on it after the board was drawn.
    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    _board(page, pwa_server.url, station["id"])
    card = page.locator(f".rv-col[data-status=open] .rv-action[data-id='{action['id']}']")
    expect(card.locator("[data-to=done]")).to_have_text("مکمل قرار دیں")
    _patch(pwa_server, admin, action["id"], {"status": "in_progress"})
    card.locator("[data-to=done]").click()
    moved = page.locator(f".rv-col[data-status=in_progress] .rv-action[data-id='{action['id']}']")
    expect(moved.locator(".rv-changed")).to_contain_text(CHANGED_UR.format(status="کام جاری"))
    assert pwa_server.api("GET", f"/api/v1/actions/{action['id']}", reviewer).json()["status"] == "in_progress"
    assert errors == []
    context.close()


def test_the_notes_dialog_shows_the_evidence_photos_of_the_fix_each_opening_larger(pwa_server, browser):
    _, stations, _ = inspector_setup(pwa_server)
    station = stations[1]
    insp, action, reviewer = _failed_action(pwa_server, station, seed=42)
    photos = [pid for a in insp["answers"].values() for pid in a.get("photos") or []][:2]
    assert len(photos) == 2, insp["answers"]
    _patch(pwa_server, reviewer, action["id"], {"evidence_photo_ids": photos, "note": "Photos of the new register"})

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    _board(page, pwa_server.url, station["id"])
    page.locator(f".rv-action[data-id='{action['id']}'] .rv-notes").click()
    dialog = page.locator("dialog")
    evidence = dialog.locator(".rv-act-evidence")
    expect(evidence.locator("h3")).to_have_text("Evidence photos")
    expect(evidence.locator("li")).to_have_count(2)
    for n, pid in enumerate(photos):
        thumb = evidence.locator(f"li[data-photo='{pid}'] img")
        expect(thumb).to_have_attribute("alt", f"Evidence photo {n + 1}")
        wait_in_page(page, f"document.querySelector(\"dialog li[data-photo='{pid}'] img\")?.naturalWidth > 0")

    evidence.locator(f"li[data-photo='{photos[1]}'] button").click()
    large = page.locator("dialog .photo-large")
    large.wait_for()
    expect(page.locator("dialog h2").last).to_have_text(f"Evidence photo — {station['code']}")
    wait_in_page(page, "document.querySelector('dialog .photo-large')?.naturalWidth > 0")
    # Larger than the thumbnail: the display rendition.
    assert large.evaluate("img => img.naturalWidth") > evidence.locator("img").first.evaluate("img => img.naturalWidth")
    page.locator("dialog").last.locator(".dialog-actions .btn-primary").click()
    expect(page.locator("dialog .photo-large")).to_have_count(0)
    expect(dialog.locator(".rv-act-evidence li")).to_have_count(2)
    assert errors == []
    context.close()


def test_the_new_action_dialog_names_the_checklist_of_an_item_key_two_checklists_share(pwa_server, browser):
    token, stations, version = inspector_setup(pwa_server)
    station = stations[2]
    item = next(i for s in version["definition"]["sections"] for i in s["items"] if i["type"] == "yes_no")
    fire = _another_checklist_with(pwa_server, item)
    # The checklists the dialog groups items by, by their titles: the same key asks something else in each.
    checklists = {
        version["definition"]["title"]["en"]: (version["template_id"], item["label"]["en"]),
        "Fire safety": (fire, "Extinguisher charged"),
    }

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.goto(f"{pwa_server.url}/#/review/actions")
    page.wait_for_selector(".rv-board")
    reviewer = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)

    def create_for(group: int, description: str) -> None:
        """Creates an action on the shared key's item of the `group`-th checklist the dialog lists, and
        checks the server holds it for that checklist."""
        page.click("#rv-new-action")
        dialog = page.locator("dialog")
        dialog.locator("select[name=station]").select_option(station["id"])
        groups = dialog.locator("select[name=item] optgroup")
        expect(groups).to_have_count(2)
        template_id, label = checklists[groups.nth(group).get_attribute("label")]
        option = groups.nth(group).locator("option", has_text=label)
        expect(option).to_have_count(1)
        dialog.locator("select[name=item]").select_option(option.get_attribute("value"))
        dialog.locator(".field[data-field=description] textarea").fill(description)
        dialog.locator(".dialog-actions .btn-primary").click()
        page.wait_for_selector("dialog", state="detached")
        rows = pwa_server.api("GET", "/api/v1/actions", reviewer, params={"station_id": station["id"]}).json()["rows"]
        [made] = [a for a in rows if a["description"] == description]
        assert (made["item_key"], made["template_id"]) == (item["key"], template_id), label
        expect(page.locator(f".rv-col[data-status=open] .rv-action[data-id='{made['id']}']")).to_have_count(1)

    # The second checklist's item, then the first's: the server, told only the key, guesses one checklist
    # (the newest published, the station never inspected), so one of the two is not its guess.
    create_for(1, "Put it right")
    create_for(0, "Put the other right")
    assert errors == []
    context.close()
