"""The admin's audit page says how the trail compares with the copies of its head kept in the photo
store, outside the database: a line when they match (the first copy said so), a red finding naming the
rewritten entries when one no longer matches, and a warning when the store could not be read, in
English and in Urdu."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import ADMIN, ADMIN_PASSWORD, _in_thread, sign_in, signed_in_laptop
from tests.test_audit_anchors import rewrite_from

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

KEPT_AT = "2026-11-20T10:00:00Z"


def _rewritten(reply: dict) -> dict:
    """The server's reply as it is when the trail was rewritten consistently from entry #5 on: 23 kept
    copies differ (20 listed, oldest first), the newest of them for an entry now gone."""
    differs = [{"seq": 5 + i, "at": KEPT_AT, "hash": f"{i:02x}" * 32, "found": "cd" * 32} for i in range(20)]
    differs[-1]["found"] = None
    anchors = {
        "ok": False,
        "kept": 30,
        "newest_seq": 40,
        "newest_at": KEPT_AT,
        "written_seq": None,
        "differ_count": 23,
        "differs": differs,
    }
    return {**reply, "ok": False, "anchors": anchors}


def _store_unread(reply: dict) -> dict:
    anchors = {"ok": None, "kept": 0, "newest_seq": None, "newest_at": None, "written_seq": None}
    return {**reply, "anchors": {**anchors, "differ_count": 0, "differs": []}}


def _answer_with(page: Any, change: Callable[[dict], dict]) -> None:
    """Every check the page asks for goes to the live server; its reply reaches the page as `change`
    makes it (the server's own reply, whatever the check found, with the anchors of the case)."""

    def handle(route: Any) -> None:
        reply = route.fetch()
        route.fulfill(response=reply, json=change(copy.deepcopy(reply.json())))

    page.route("**/api/v1/audit/verify*", handle)


def _in_urdu(page: Any, url: str) -> None:
    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    page.goto(url + "/#/admin/audit?limit=5")
    # The card drawn again in Urdu, not the English one still on screen.
    expect(page.locator("#verify-h")).to_have_text("ریکارڈ کی سالمیت")


def _date_time(page: Any, value: str) -> str:
    """`value` as the page writes a date and time in its language now."""
    return page.evaluate("async (v) => (await import('/js/i18n.js')).fmtDateTime(v)", value)


def test_the_audit_page_says_the_trail_matches_the_copies_of_its_head_kept_in_the_photo_store(admin_server, browser):
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.click("a[href='#/admin/audit']")
    verify = page.locator("#audit-verify")
    line = verify.locator("#audit-anchors")
    # The first check ever keeps the first copy.
    expect(line).to_have_attribute("data-ok", "true")
    expect(line).to_contain_text("This check kept the first copy of the trail’s head in the photo store")
    first = int(line.get_attribute("data-written"))
    assert first > 0
    expect(verify).to_have_attribute("data-ok", "true")

    # A full check since is compared with it, and keeps the head it reached (its own record is newer).
    page.click("#audit-verify-again")
    expect(line).to_contain_text(
        f"The trail matches the 1 copy of its head kept in the photo store, outside the database "
        f"(newest: entry #{first:,}, "
    )
    expect(line).to_contain_text("This check kept a copy of entry #")
    assert int(line.get_attribute("data-written")) > first
    expect(verify.locator(".callout-ok")).to_contain_text("The trail is intact")

    _in_urdu(page, admin_server.url)
    expect(line).to_have_attribute("data-ok", "true")
    expect(line).to_contain_text("تصاویر کے ذخیرے میں رکھی گئی اپنے آخری اندراج کی")
    expect(line).to_contain_text("نقول سے میل کھاتا ہے")
    assert "photo store" not in line.inner_text()
    assert errors == []
    context.close()


def test_a_kept_copy_the_database_no_longer_matches_is_a_red_finding_naming_the_entries(admin_server, browser):
    context, page, errors = signed_in_laptop(admin_server, browser)
    _answer_with(page, _rewritten)
    page.click("a[href='#/admin/audit']")
    verify = page.locator("#audit-verify")
    expect(verify).to_have_attribute("data-ok", "false")
    finding = verify.locator(".callout-fail[role=alert] #audit-anchors")
    expect(finding).to_have_attribute("data-ok", "false")
    when = _date_time(page, KEPT_AT)
    expect(finding.locator(".strong").first).to_have_text(
        f"The trail no longer matches the copy of it kept in the photo store on {when}: "
        "entry #5 was rewritten (or removed) in the database"
    )
    expect(finding).to_contain_text("23 kept copies no longer match the database:")
    entries = finding.locator("li[data-seq]")
    expect(entries).to_have_count(20)
    expect(entries.first).to_have_attribute("data-seq", "5")
    expect(entries.first).to_contain_text(f"Entry #5 (copy of {when})")
    expect(entries.first).to_contain_text("hash kept 0000000000000000…")
    expect(entries.first).to_contain_text("in the database now cdcdcdcdcdcdcdcd…")
    expect(entries.last).to_contain_text("the entry is no longer in the database")
    expect(finding).to_contain_text("… and 3 more.")
    expect(finding).to_contain_text("call IT")
    expect(finding).to_contain_text("muaina verify-audit")
    # Red, and nothing on the card says the trail is intact or the inspection records were changed.
    expect(verify.locator(".callout-ok")).to_have_count(0)
    expect(verify).not_to_contain_text("The trail is intact")
    expect(verify.locator("#audit-records")).to_have_count(0)

    _in_urdu(page, admin_server.url)
    expect(verify).to_have_attribute("data-ok", "false")
    when = _date_time(page, KEPT_AT)
    expect(finding.locator(".strong").first).to_have_text(
        f"ریکارڈ اب {when} کو تصاویر کے ذخیرے میں رکھی گئی اپنی نقل سے میل نہیں کھاتا: "
        "اندراج #5 ڈیٹا بیس میں دوبارہ لکھا گیا (یا مٹا دیا گیا) ہے"
    )
    expect(finding).to_contain_text("آئی ٹی عملے کو فون کریں")
    expect(finding.locator("li[data-seq]")).to_have_count(20)
    assert errors == []
    context.close()


async def _rewrite(url: str, seq: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await rewrite_from(conn, seq)
    finally:
        await conn.close()


def test_a_trail_rewritten_in_the_live_database_with_every_hash_recomputed_turns_the_card_red(admin_server, browser):
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.click("a[href='#/admin/audit']")
    verify = page.locator("#audit-verify")
    line = verify.locator("#audit-anchors")
    expect(line).to_have_attribute("data-ok", "true")
    kept = int(line.get_attribute("data-written"))

    # The database's owner changes the kept entry and recomputes every hash from it: the chain holds.
    _in_thread(_rewrite(admin_server.database_url, kept))
    page.click("#audit-verify-again")
    expect(verify).to_have_attribute("data-ok", "false")
    finding = verify.locator(".callout-fail[role=alert] #audit-anchors")
    expect(finding.locator(".strong").first).to_contain_text(
        f"entry #{kept:,} was rewritten (or removed) in the database"
    )
    expect(finding).to_contain_text("1 kept copy no longer matches the database:")
    expect(finding.locator("li[data-seq]")).to_have_count(1)
    expect(finding.locator(f"li[data-seq='{kept}']")).to_contain_text("in the database now")
    expect(verify.locator(".callout-ok")).to_have_count(0)
    expect(verify.locator("#audit-records")).to_have_count(0)
    assert errors == []
    context.close()


def test_a_kept_copy_that_differs_joins_a_broken_chains_finding(admin_server, browser):
    context, page, errors = signed_in_laptop(admin_server, browser)
    _answer_with(page, lambda r: {**_rewritten(r), "first_bad": 5, "head_hash": None})
    page.click("a[href='#/admin/audit']")
    verify = page.locator("#audit-verify")
    alert = verify.locator(".callout-fail[role=alert]")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("The trail is broken at entry #5")
    expect(alert.locator("#audit-anchors")).to_contain_text("entry #5 was rewritten (or removed) in the database")
    assert errors == []
    context.close()


def test_a_photo_store_that_could_not_be_read_is_a_warning_not_a_break(admin_server, browser):
    context, page, errors = signed_in_laptop(admin_server, browser)
    _answer_with(page, _store_unread)
    page.click("a[href='#/admin/audit']")
    verify = page.locator("#audit-verify")
    expect(verify).to_have_attribute("data-ok", "true")
    warning = verify.locator(".callout-ok #audit-anchors.field-error")
    expect(warning).to_have_attribute("data-ok", "null")
    expect(warning).to_contain_text(
        "The photo store could not be read, so the trail was not compared with the copies of its head kept there."
    )
    expect(warning).to_contain_text("Try again")

    _in_urdu(page, admin_server.url)
    expect(warning).to_contain_text("تصاویر کا ذخیرہ پڑھا نہ جا سکا")
    expect(warning).to_contain_text("دوبارہ کوشش کریں")
    assert errors == []
    context.close()


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_on_a_phone_the_cards_hashes_wrap_instead_of_widening_the_page(admin_server, browser, lang):
    """The head line and a red finding carry 64-character hashes, which used to push the page to 595 px
    on a 360 px phone."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, service_workers="block")
    page = context.new_page()
    sign_in(page, admin_server.url, ADMIN, ADMIN_PASSWORD)
    if lang == "ur":
        page.click(".lang-toggle")
        page.locator("html[dir=rtl]").wait_for(state="attached")
    _answer_with(page, _rewritten)
    page.goto(admin_server.url + "/#/admin/audit?limit=5")
    expect(page.locator("#audit-anchors")).to_have_attribute("data-ok", "false")
    expect(page.locator("#audit-head")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()
