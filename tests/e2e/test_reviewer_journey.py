"""The review journey end to end, in real Chromium: submitted → returned with comments → corrected on
the phone and resubmitted → approved with a score override → the dashboard shows the new score. And a
stale review (409) is explained and replaced by the current copy.

The submission is seeded through the API exactly as a phone's outbox sends it; everything after that
is done in the browser: the reviewer on a laptop-sized page, the inspector on a 360×640 phone.
"""

from __future__ import annotations

import re

import pytest

from server.demo.content import DEMO_PASSWORDS
from server.templates.scoring import display_percent
from tests.conftest import snapshot
from tests.e2e.test_pwa_support import live_pwa_server, phone_context, sign_in, watch_errors
from tests.e2e.test_reviewer_support import inspector_setup, reviewer_desk, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("reviewer-journey"))


def shown_percent(p: float) -> str:
    """What the PWA prints: the server's display_percent, which scoring.displayPercent equals."""
    return f"{display_percent(p)}%"


def critical_item(version: dict) -> tuple[int, dict]:
    """(section index, item): a critical yes/no item that neither depends on nor controls another."""
    sections = version["definition"]["sections"]
    controlling = {i["visible_if"]["item"] for s in sections for i in s["items"] if i.get("visible_if")}
    for n, s in enumerate(sections):
        for i in s["items"]:
            if i["type"] == "yes_no" and i.get("critical") and not i.get("visible_if") and i["key"] not in controlling:
                return n, i
    raise AssertionError("the demo template has no plain critical yes/no item")


def test_a_returned_inspection_is_corrected_on_the_phone_approved_and_its_new_score_shown(
    pwa_server, browser, artifacts
):
    token, stations, version = inspector_setup(pwa_server)
    station = stations[0]
    section, item = critical_item(version)
    seeded = submit(pwa_server, token, station, version, fail=(item["key"],))
    iid = seeded["id"]
    assert seeded["score"]["critical_failed"] is True

    # The reviewer finds it in the queue, flagged, and returns it with a general and an item comment.
    desk, rp, errors = reviewer_desk(browser, pwa_server.url)
    queued = rp.locator(f".rv-queue tr[data-id='{iid}']")
    assert queued.locator("[data-flag=critical]").is_visible()
    queued.locator("a.rv-rowlink").click()
    card = rp.locator(f"#rv-item-{item['key']}")
    card.wait_for()
    assert "is-failed" in card.get_attribute("class")
    card.locator(".rv-btn-comment").click()
    rp.fill("dialog textarea", "The lock-up register shows a detainee not in the roznamcha.")
    rp.click("dialog .btn-primary")
    assert "not in the roznamcha" in card.locator(".rv-pending").inner_text()
    # Returning without a general comment is refused at the field.
    rp.click("#rv-return")
    assert rp.locator(".rv-decision .field-error").is_visible()
    rp.fill("#rv-comment", "Recheck the lock-up against the daily diary and correct the answer.")
    rp.click("#rv-return")
    rp.wait_for_selector("#rv-decided")
    snapshot(rp, path=str(artifacts / "reviewer-returned.png"))
    assert pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()["status"] == "returned"
    review = pwa_server.api("GET", f"/api/v1/inspections/{iid}/reviews", token).json()["rows"][0]
    assert review["decision"] == "return"
    assert review["comment"].startswith("Recheck the lock-up")
    assert review["item_comments"] == {item["key"]: "The lock-up register shows a detainee not in the roznamcha."}

    # The inspector, on the phone, finds it returned, corrects the item and resubmits.
    phone = phone_context(browser, station)
    pp = phone.new_page()
    phone_errors = watch_errors(pp)
    sign_in(pp, pwa_server.url)
    row = pp.locator(f"#h-returned ~ ul li[data-id='{iid}']")
    row.wait_for(timeout=30000)
    pp.goto(pwa_server.url + f"/#/i/{iid}/s/{section}")
    item_card = pp.locator(f"#item-{item['key']}")
    item_card.wait_for()
    item_card.locator("[data-value=yes]").click()
    pp.goto(pwa_server.url + f"/#/i/{iid}/review")
    pp.click("#submit")
    pp.wait_for_selector("[data-sync=on_server]", timeout=120000)
    resubmitted = pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    assert resubmitted["status"] == "submitted"
    assert resubmitted["answers"][item["key"]]["value"] == "yes"
    assert resubmitted["score"]["critical_failed"] is False
    new_score = resubmitted["score"]["percent"]
    assert shown_percent(new_score) != shown_percent(seeded["score"]["percent"])

    # The reviewer sees it back in the queue, halves one item's score (a reason is required) and approves.
    rp.goto(pwa_server.url + "/#/review")
    rp.locator(f".rv-queue tr[data-id='{iid}'] a.rv-rowlink").click()
    rp.wait_for_selector("#rv-approve")
    assert rp.inner_text("#rv-percent") == shown_percent(new_score)
    # The history shows what the return said of each item, under the item's name.
    said = rp.locator(".rv-timeline .rv-item-comment").inner_text()
    assert said == f"{item['label']['en']}: The lock-up register shows a detainee not in the roznamcha."
    other = next(
        i
        for s in version["definition"]["sections"]
        for i in s["items"]
        if i["type"] == "yes_no" and not i.get("critical") and not i.get("visible_if")
    )
    rp.click(f"#rv-item-{other['key']} .rv-btn-override")
    rp.fill("dialog input.input-number", "50")
    rp.click("dialog .btn-primary")
    # No reason given: the dialog stays open and says so at the reason, which takes focus.
    reason = rp.locator("dialog .field[data-field=reason]")
    assert reason.locator(".field-error").is_visible()
    assert "reason" in reason.locator(".field-error").inner_text().lower()
    assert reason.locator("textarea").get_attribute("aria-invalid") == "true"
    assert reason.locator("textarea").evaluate("(el) => el === document.activeElement")
    assert rp.locator("dialog .field[data-field=score] .field-error").is_hidden()
    rp.fill("dialog textarea", "The register was produced only after a long search.")
    rp.click("dialog .btn-primary")
    pending = rp.inner_text(f"#rv-item-{other['key']} .rv-pending")
    assert "score 100.0% → reviewer’s 50.0%" in pending and "long search" in pending
    assert rp.inner_text("#rv-preview").startswith(f"Score {shown_percent(new_score)} → ")
    rp.click("#rv-approve")
    rp.wait_for_selector("#rv-decided")
    approved = pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    assert approved["status"] == "approved"
    overrides = pwa_server.api("GET", f"/api/v1/inspections/{iid}/reviews", token).json()["rows"][0]["overrides"]
    assert [(o["item_key"], o["original_score"], o["score"]) for o in overrides] == [(other["key"], 1.0, 0.5)]
    final = approved["score"]["percent"]
    assert final < new_score
    assert rp.inner_text("#rv-percent") == shown_percent(final)

    # The dashboard's ranking table shows the station's new average: this one inspection's final score.
    rp.goto(pwa_server.url + "/#/review/dashboard")
    ranked = rp.locator(f"#rv-ranking tr[data-key='{station['code']}']")
    ranked.wait_for()
    cells = ranked.locator("td").all_inner_texts()
    assert shown_percent(final) in cells
    assert shown_percent(seeded["score"]["percent"]) not in cells
    snapshot(rp, path=str(artifacts / "reviewer-dashboard-after-approval.png"), full_page=True)
    assert errors == []
    assert phone_errors == []
    desk.close()
    phone.close()


def _returned_after_an_approval(pwa_server, browser, station: int, lang: str, comment: str):
    """A reviewer (in `lang`) opens a submitted inspection and writes a comment; meanwhile the
    administrator approves it, so the reviewer's Return is stale. Returns (id, context, page, page
    errors, the dialog the Return opened)."""
    token, stations, version = inspector_setup(pwa_server)
    seeded = submit(pwa_server, token, stations[station], version)
    iid = seeded["id"]
    desk, page, errors = reviewer_desk(browser, pwa_server.url)
    if lang != "en":
        page.evaluate("(l) => import('/js/i18n.js').then((m) => m.setLang(l))", lang)
    page.goto(pwa_server.url + f"/#/review/i/{iid}")
    page.wait_for_selector("#rv-return")
    page.fill("#rv-comment", comment)
    admin = pwa_server.login("admin", DEMO_PASSWORDS["admin"])
    decided = pwa_server.api(
        "POST", f"/api/v1/inspections/{iid}/review", admin, json={"decision": "approve", "revision": seeded["revision"]}
    )
    assert decided.status_code == 200, decided.text
    page.click("#rv-return")
    dialog = page.locator("dialog[open]")
    dialog.wait_for()
    return iid, desk, page, errors, dialog


def test_a_stale_review_is_explained_and_the_current_copy_shown_with_the_draft_kept(pwa_server, browser):
    token = inspector_setup(pwa_server)[0]
    iid, desk, page, errors, dialog = _returned_after_an_approval(
        pwa_server, browser, 1, "en", "Photos of the malkhana are missing their tags."
    )
    assert "changed" in dialog.inner_text()
    dialog.locator(".btn-primary").click()
    page.wait_for_selector("#rv-decided")
    assert page.locator(".rv-head [data-status=approved]").is_visible()
    assert pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()["status"] == "approved"
    # Only the administrator's approval was recorded, not the stale return.
    assert [
        r["decision"] for r in pwa_server.api("GET", f"/api/v1/inspections/{iid}/reviews", token).json()["rows"]
    ] == ["approve"]
    # What the reviewer wrote is still on this laptop for the next decision.
    kept = page.evaluate(f"""new Promise((resolve) => {{
        const open = indexedDB.open('muaina');
        open.onsuccess = () => {{
            const get = open.result.transaction('kv').objectStore('kv').get('rv-review:{iid}');
            get.onsuccess = () => resolve(get.result);
        }};
    }})""")
    assert kept["comment"] == "Photos of the malkhana are missing their tags."
    assert errors == []
    desk.close()


def test_a_stale_review_and_other_refusals_are_said_in_urdu_to_an_urdu_reviewer(pwa_server, browser):
    _, desk, page, errors, dialog = _returned_after_an_approval(
        pwa_server, browser, 2, "ur", "ملخانہ کی تصاویر پر لیبل نہیں ہیں۔"
    )
    said = dialog.inner_text()
    assert "آپ کے کھولنے کے بعد یہ بدل گیا" in said
    assert not re.search(r"[A-Za-z]", said), said  # the server's English sentence is not shown
    dialog.locator(".btn-primary").click()
    page.wait_for_selector("#rv-decided")

    # What else a reviewer can meet, as the screens say it (common.problem), in Urdu: by status, and
    # the review's own refusals by their words. An unknown refusal keeps the server's sentence.
    cases = page.evaluate("""async () => {
        const { problem } = await import('/js/views/reviewer/common.js');
        const say = (status, detail) => problem({ status, detail });
        return {
            offline: say(0, 'Failed to fetch'),
            signedOut: say(401, 'the session has expired or was revoked; sign in again'),
            gone: say(404, 'inspection not found'),
            busy: say(503, 'the database is unavailable'),
            own: say(403, 'you inspected this station yourself; another reviewer must review it'),
            approved: say(409, 'only a submitted inspection can be reviewed; this one is approved'),
            unknown: say(422, 'comment: is too long'),
        };
    }""")
    for name, text in cases.items():
        assert text and text.strip(), name
        if name == "unknown":
            assert text.startswith("سرور نے اسے قبول نہیں کیا") and "(comment: is too long)" in text, text
        else:
            assert not re.search(r"[A-Za-z]", text), (name, text)
    assert "منظور شدہ" in cases["approved"]
    assert len(set(cases.values())) == len(cases)
    assert errors == []
    desk.close()
