"""Cancelled corrective actions on the reviewer's board, in real Chromium against the real server.

- A reviewer cancels an action from the board: the dialog says a note is needed before anything is
  sent, refuses to go on without one (and the server keeps the action open), then cancels it with the
  note; the action is then shown as cancelled, tucked away from the open work, with no moves and no
  way to add a note.
- An untouched automatic action that a reviewer's override withdrew says why, on the board and on the
  inspection's item.
- An open action whose item a reviewer's override has since passed carries a notice saying so.
- The same in Urdu, right to left.
Everything is made through the real API, as a phone and a reviewer would; nothing is faked.
"""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
import pytest
from playwright.sync_api import expect

from tests.conftest import run_async, snapshot
from tests.e2e.test_pwa_support import PHONE, live_pwa_server, watch_errors
from tests.e2e.test_reviewer_support import (
    REVIEWER_PASSWORD,
    inspector_setup,
    reviewer_desk,
    sign_in_reviewer,
    submit,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

WITHDRAWN_EN = "Withdrawn: a reviewer’s score change passed this item."
PASSED_EN = "A reviewer’s score change has since passed this item."
WITHDRAWN_UR = "واپس لے لیا گیا: جائزہ کار کی اسکور تبدیلی نے یہ نکتہ پاس کر دیا۔"
PASSED_UR = "جائزہ کار کی اسکور تبدیلی نے بعد میں یہ نکتہ پاس کر دیا ہے۔"


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("reviewer-cancelled"))


def _actions(server, token, **query) -> list[dict]:
    reply = server.api("GET", "/api/v1/actions", token, params={"limit": 500, **query})
    assert reply.status_code == 200, reply.text
    return reply.json()["rows"]


def _approve(server, reviewer: str, insp: dict, overrides: dict) -> None:
    approved = server.api(
        "POST",
        f"/api/v1/inspections/{insp['id']}/review",
        reviewer,
        json={"decision": "approve", "revision": insp["revision"], "score_overrides": overrides},
    )
    assert approved.status_code == 200, approved.text


def yes_no_key(version: dict, *, critical: bool) -> str:
    """The first yes/no item of the checklist, critical or not, that is always shown."""
    return next(
        i["key"]
        for s in version["definition"]["sections"]
        for i in s["items"]
        if i["type"] == "yes_no" and bool(i.get("critical")) is critical and not i.get("visible_if")
    )


@pytest.fixture(scope="module")
def seeded(pwa_server):
    """Three stations: one with an action a reviewer raised by hand, one whose critical failure a
    reviewer's override passed (its untouched action withdrawn), and one whose failure's action was
    worked on before an override passed the item (left open, flagged)."""
    token, stations, version = inspector_setup(pwa_server)
    reviewer = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    critical = yes_no_key(version, critical=True)
    by_hand, withdrawn_at, worked_at = stations[4], stations[5], stations[6]

    made = pwa_server.api(
        "POST",
        "/api/v1/actions",
        reviewer,
        json={
            "station_id": by_hand["id"],
            "description": "Repaint the lock-up door",
            "due_date": (date.today() + timedelta(days=10)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text

    def failed_and_approved(station: dict, seed: int, note: str | None) -> tuple[dict, dict]:
        insp = submit(pwa_server, token, station, version, fail=(critical,), seed=seed)
        [action] = [a for a in _actions(pwa_server, reviewer, inspection_id=insp["id"]) if a["item_key"] == critical]
        if note:
            noted = pwa_server.api("PATCH", f"/api/v1/actions/{action['id']}", token, json={"note": note})
            assert noted.status_code == 200, noted.text
        _approve(pwa_server, reviewer, insp, {critical: {"score": 1, "reason": "Seen in order at the second look"}})
        return insp, pwa_server.api("GET", f"/api/v1/actions/{action['id']}", reviewer).json()

    withdrawn_insp, withdrawn = failed_and_approved(withdrawn_at, 21, None)
    assert (withdrawn["status"], withdrawn["cancel_reason"]) == ("cancelled", "override_passed")
    _, worked = failed_and_approved(worked_at, 22, "SHO has asked for a new register")
    assert (worked["status"], worked["item_passed_by_override"]) == ("open", True)
    return {
        "by_hand": made.json(),
        "withdrawn": withdrawn,
        "withdrawn_inspection": withdrawn_insp,
        "worked": worked,
        "critical": critical,
    }


def _board(page, url: str, station_id: str) -> None:
    page.goto(f"{url}/#/review/actions?station={station_id}")
    page.wait_for_selector(".rv-board")


def test_a_reviewer_cancels_an_action_with_a_note_and_it_is_closed(pwa_server, seeded, browser, artifacts):
    action = seeded["by_hand"]
    context, page, errors = reviewer_desk(browser, pwa_server.url)
    _board(page, pwa_server.url, action["station"]["id"])

    card = page.locator(f".rv-col[data-status=open] .rv-action[data-id='{action['id']}']")
    cancel = card.locator("[data-to=cancelled]")
    # Set apart from Verify: a destructive button, not the same look.
    assert "btn-danger" in cancel.get_attribute("class")
    assert "btn-danger" not in card.locator("[data-to=verified]").get_attribute("class")
    cancel.click()
    dialog = page.locator("dialog")
    # The form says a note is needed before anything is sent.
    note = dialog.locator(".field[data-field=note]")
    assert "required" in note.inner_text().lower()
    dialog.locator(".dialog-actions .btn-danger").click()
    note.locator(".field-error").wait_for()
    assert "note is required" in note.locator(".field-error").inner_text()
    snapshot(page, path=str(artifacts / "reviewer-action-cancel-needs-note-en.png"))
    assert (
        pwa_server.api(
            "GET", f"/api/v1/actions/{action['id']}", pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
        ).json()["status"]
        == "open"
    )

    note.locator("textarea").fill("Raised in error: the door was repainted last month.")
    dialog.locator(".dialog-actions .btn-danger").click()
    page.wait_for_selector("dialog", state="detached")

    done = page.locator(f"[data-status=cancelled] .rv-action[data-id='{action['id']}']")
    done.wait_for()
    assert page.locator(f".rv-col[data-status=open] .rv-action[data-id='{action['id']}']").count() == 0
    assert done.locator("[data-to]").count() == 0
    assert "Cancelled" in page.locator("[data-status=cancelled]").first.inner_text()
    # Its notes can be read, but nothing more can be added.
    done.locator(".rv-notes").click()
    page.locator("dialog .rv-timeline").wait_for()
    assert "Raised in error" in page.locator("dialog").inner_text()
    assert page.locator("dialog textarea").count() == 0
    assert page.locator("dialog .dialog-actions button").all_inner_texts() == ["Close"]
    assert "closed" in page.locator("dialog .rv-closed").inner_text()
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog", state="detached")

    token = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    stored = pwa_server.api("GET", f"/api/v1/actions/{action['id']}", token).json()
    assert (stored["status"], stored["cancel_reason"]) == ("cancelled", None)
    assert any(n["status_to"] == "cancelled" and "Raised in error" in (n["body"] or "") for n in stored["notes"])

    # Drawn afresh, cancelled actions are kept out of the way of the open work: folded away.
    page.reload()
    page.wait_for_selector(".rv-board")
    folded = page.locator("details[data-status=cancelled]")
    assert folded.get_attribute("open") is None
    assert not page.locator(f".rv-action[data-id='{action['id']}']").is_visible()
    assert errors == []
    context.close()


def test_withdrawn_and_passed_actions_say_why_in_english_and_urdu(pwa_server, seeded, browser, artifacts):
    """On a phone: the notices must fit its width in both languages."""
    withdrawn, worked = seeded["withdrawn"], seeded["worked"]
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_reviewer(page, pwa_server.url)

    _board(page, pwa_server.url, withdrawn["station"]["id"])
    page.locator("details[data-status=cancelled] > summary").click()
    card = page.locator(f"[data-status=cancelled] .rv-action[data-id='{withdrawn['id']}']")
    card.wait_for()
    assert WITHDRAWN_EN in card.inner_text()
    assert card.locator("[data-to]").count() == 0

    # On the inspection, the item's action reads cancelled, with the reason.
    page.goto(f"{pwa_server.url}/#/review/i/{seeded['withdrawn_inspection']['id']}")
    item = page.locator(f"#rv-item-{seeded['critical']}")
    item.wait_for()
    assert "Cancelled" in item.inner_text() and WITHDRAWN_EN in item.inner_text()

    _board(page, pwa_server.url, worked["station"]["id"])
    open_card = page.locator(f".rv-col[data-status=open] .rv-action[data-id='{worked['id']}']")
    assert PASSED_EN in open_card.locator(".rv-passed").inner_text()
    assert open_card.locator("[data-to=cancelled]").count() == 1

    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    _board(page, pwa_server.url, worked["station"]["id"])
    assert (page.evaluate("document.documentElement.dir"), page.evaluate("document.documentElement.lang")) == (
        "rtl",
        "ur",
    )
    # The board may still show its English render a moment after the switch: these wait for Urdu.
    expect(page.locator(f".rv-action[data-id='{worked['id']}'] .rv-passed")).to_contain_text(PASSED_UR)
    expect(page.locator(f".rv-action[data-id='{worked['id']}'] [data-to=cancelled]")).to_have_text("اقدام منسوخ کریں")
    assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0
    snapshot(page, path=str(artifacts / "reviewer-action-passed-ur-phone.png"), full_page=True)

    _board(page, pwa_server.url, withdrawn["station"]["id"])
    page.locator(f".rv-action[data-id='{withdrawn['id']}']").wait_for(state="attached")  # this station's board
    summary = page.locator("details[data-status=cancelled] > summary")
    expect(summary).to_contain_text("منسوخ شدہ")
    summary.click()
    expect(page.locator(f".rv-action[data-id='{withdrawn['id']}']")).to_contain_text(WITHDRAWN_UR)
    snapshot(page, path=str(artifacts / "reviewer-action-withdrawn-ur-phone.png"), full_page=True)
    assert errors == []
    context.close()


def test_the_dashboard_marks_a_reviewers_score_and_an_overdue_action_whose_item_has_passed(pwa_server, seeded, browser):
    """Last in this module: it makes the worked action overdue."""
    token, stations, version = inspector_setup(pwa_server)
    reviewer = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    plain_item = yes_no_key(version, critical=False)
    # Two inspections flagged as far from their station; a reviewer changed a score on one of them.
    changed = submit(pwa_server, token, stations[1], version, far=True, seed=23)
    plain = submit(pwa_server, token, stations[2], version, far=True, seed=24)
    _approve(pwa_server, reviewer, changed, {plain_item: {"score": 0.5, "reason": "Half done, from the photos"}})

    async def make_overdue() -> None:
        conn = await asyncpg.connect(pwa_server.database_url)
        try:
            await conn.execute("UPDATE actions SET due_date = current_date - 3 WHERE id = $1", seeded["worked"]["id"])
        finally:
            await conn.close()

    run_async(make_overdue())

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.goto(f"{pwa_server.url}/#/review/dashboard")
    flagged = page.locator("#rv-flagged")
    changed_row, plain_row = (flagged.locator(f"[data-key='{i['id']}']") for i in (changed, plain))
    expect(changed_row.locator("[data-mark=overridden]")).to_have_text("reviewer’s score")
    expect(plain_row).to_be_visible()
    assert plain_row.locator("[data-mark=overridden]").count() == 0
    # The worked action is the only overdue one whose item has passed since.
    late = page.locator("#rv-late-act tbody tr").filter(has=page.locator("[data-mark=passed]"))
    expect(late.locator("[data-mark=passed]")).to_have_text("item since passed")
    assert seeded["worked"]["station"]["name"]["en"] in late.inner_text()

    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    expect(changed_row.locator("[data-mark=overridden]")).to_have_text("جائزہ کار کا اسکور")
    expect(late.locator("[data-mark=passed]")).to_have_text("نکتہ بعد میں پاس ہو گیا")
    assert errors == []
    context.close()


def test_verifying_an_action_is_confirmed_first_and_keeps_what_the_reviewer_saw(pwa_server, seeded, browser):
    token, stations, _ = inspector_setup(pwa_server)
    reviewer = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    station = stations[7]
    made = pwa_server.api(
        "POST",
        "/api/v1/actions",
        reviewer,
        json={
            "station_id": station["id"],
            "description": "Fix the lock-up's window bars",
            "due_date": (date.today() + timedelta(days=5)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    action = made.json()
    context, page, errors = reviewer_desk(browser, pwa_server.url)
    _board(page, pwa_server.url, station["id"])

    card = page.locator(f".rv-action[data-id='{action['id']}']")
    card.locator("[data-to=verified]").click()
    dialog = page.locator("dialog")
    dialog.wait_for()
    assert "closed for good" in dialog.inner_text()
    # Going back sends nothing.
    dialog.locator(".dialog-actions button").first.click()
    page.wait_for_selector("dialog", state="detached")
    assert pwa_server.api("GET", f"/api/v1/actions/{action['id']}", reviewer).json()["status"] == "open"

    card.locator("[data-to=verified]").click()
    dialog.wait_for()
    dialog.locator("textarea[name=note]").fill("New bars welded in; seen on the visit of the 3rd.")
    dialog.locator(".dialog-actions .btn-primary").click()
    page.wait_for_selector("dialog", state="detached")
    page.locator(f"[data-status=verified] .rv-action[data-id='{action['id']}']").wait_for(state="attached")
    stored = pwa_server.api("GET", f"/api/v1/actions/{action['id']}", reviewer).json()
    assert stored["status"] == "verified"
    assert any(n["status_to"] == "verified" and "bars welded" in (n["body"] or "") for n in stored["notes"])
    assert errors == []
    context.close()
