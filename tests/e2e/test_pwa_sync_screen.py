"""The sync screen, where the sync badge leads, in real Chromium: drafts kept only on this phone are
listed there, instead of the screen saying that everything is on the server while the badge says
"Drafts on phone"; an inspection not sent yet says why in the person's words, not the browser's; a
backlog reads as the inspections it is, with their photos counted, not one row per photo; and the
screen follows the outbox as it drains, without a reload."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import (
    begin_inspection,
    fill_whole_form,
    inspection_id,
    signed_in_phone,
)
from tests.e2e.test_reviewer_support import REVIEWER_PASSWORD, inspector_setup, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_the_sync_screen_lists_the_drafts_kept_only_on_this_phone(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    begin_inspection(page, phone.station)
    page.locator(".item [data-value=yes]").first.click()
    iid = inspection_id(page)

    badge = page.locator("#sync-badge", has_text="Drafts on phone")
    badge.wait_for(timeout=30000)
    badge.click()
    page.wait_for_selector(f"#local-drafts li[data-id='{iid}']")
    # A new screen names itself in the tab's title and takes focus at its heading, as a page load would.
    assert page.title() == "Waiting to send · Muaina"
    assert page.evaluate("document.activeElement.tagName + ':' + document.activeElement.textContent") == (
        "H1:Waiting to send"
    )
    main = page.inner_text("main")
    assert "Drafts on this phone" in main and "sent to the server when you submit it" in main
    assert "Everything is on the server" not in main

    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    page.locator("#local-drafts h2", has_text="اس فون پر مسودے").wait_for()
    assert "سب سرور پر ہے" not in page.inner_text("main")

    # The row opens the draft where it was left.
    page.locator(f"#local-drafts li[data-id='{iid}'] a").click()
    page.wait_for_selector(".item [aria-pressed=true]")
    assert inspection_id(page) == iid
    assert phone.errors == []
    phone.context.close()


def test_an_inspection_not_sent_yet_says_why_in_plain_words(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    # The server cannot be reached for inspections, as behind a dead connection the phone believes live.
    page.route("**/api/v1/inspections/*", lambda route: route.abort("internetdisconnected"))
    begin_inspection(page, phone.station)
    fill_whole_form(page, phone.version["definition"])
    page.click("#submit")
    iid = inspection_id(page)
    page.goto(pwa_server.url + "/#/sync")
    rows = page.locator(f"main li:has(a[href='#/i/{iid}/review'])")
    rows.filter(has_text="Not sent yet: no connection to the server.").wait_for(timeout=30000)
    assert "Failed to fetch" not in page.inner_text("main")
    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    rows.filter(has_text="ابھی نہیں بھیجا گیا: سرور سے رابطہ نہیں۔").wait_for()
    assert phone.errors == []
    phone.context.close()


# Twenty queued photos leave the outbox one every 40 ms, as on a fast connection, each with the event
# the outbox sends; a MutationObserver notes every text the badge shows meanwhile. Then the same
# event ten times over with nothing changed (a note typed): the badge must not be drawn again.
FAST_DRAIN = """async () => {
    const db = await import('/js/db.js');
    const { emit } = await import('/js/bus.js');
    const badge = document.getElementById('sync-badge');
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    for (let i = 0; i < 20; i += 1) {
        await db.put('outbox', { kind: 'photo', ref: 'p' + i, inspection_id: 'x', state: 'pending' });
    }
    emit('outbox');
    await sleep(400);
    const seen = [];
    const watch = new MutationObserver(() => seen.push(badge.textContent));
    watch.observe(badge, { childList: true, subtree: true, characterData: true });
    const seqs = (await db.getAll('outbox')).map((e) => e.seq);
    for (const seq of seqs.slice(0, 18)) {
        await db.del('outbox', seq);
        emit('outbox');
        await sleep(40);
    }
    await sleep(400);
    const drained = seen.length;
    for (let i = 0; i < 10; i += 1) { emit('drafts'); await sleep(20); }
    await sleep(400);
    watch.disconnect();
    return { seen: seen.slice(0, drained), redrawn: seen.length - drained, now: badge.textContent };
}"""


def test_the_badge_counts_down_through_a_fast_drain_and_is_not_redrawn_for_nothing(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    page.locator("#sync-badge", has_text="All on server").wait_for()
    phone.context.set_offline(True)  # nothing is really sent: the test moves the queue itself
    result = page.evaluate(FAST_DRAIN)
    counts = {text for text in result["seen"] if "waiting" in text}
    assert len(counts) >= 3, f"the badge stood still while the queue emptied: {result['seen']}"
    # One inspection whose photos are going: it is one thing waiting, and its photos count down.
    assert result["now"].strip() == "1 waiting to send · 2 photos"
    assert result["redrawn"] == 0, "the badge was drawn again with the same words"
    assert phone.errors == []
    phone.context.close()


# Two inspections queued offline (one with three photos, one whose document went and one photo is
# left) and a corrective action's check: what the badge and the sync screen make of them.
BACKLOG = """async () => {
    const db = await import('/js/db.js');
    const { emit } = await import('/js/bus.js');
    await db.put('outbox', { kind: 'inspection', ref: 'y', inspection_id: 'y', state: 'pending' });
    for (let i = 0; i < 3; i += 1) await db.put('outbox', { kind: 'photo', ref: 'py' + i, inspection_id: 'y', state: 'pending' });
    await db.put('outbox', { kind: 'photo', ref: 'pz', inspection_id: 'z', state: 'pending' });
    await db.put('outbox', { kind: 'action', ref: 'a1', state: 'pending', note: 'seen', note_id: 'n1',
                             action: { id: 'a1', description: 'Fix the lock-up door', due_date: '2099-01-01' } });
    emit('outbox');
}"""


def test_a_backlog_reads_as_inspections_with_their_photos_counted_not_one_row_per_photo(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    page.locator("#sync-badge", has_text="All on server").wait_for()
    phone.context.set_offline(True)  # nothing is sent: the queue is made by the test
    page.evaluate(BACKLOG)
    page.locator("#sync-badge", has_text="3 waiting to send · 4 photos").wait_for(timeout=10000)
    page.goto(pwa_server.url + "/#/sync")
    # The sync screen's own rows: until it is drawn, the home screen's station rows match a bare
    # "ul.list > li" too (a hash navigation keeps the page).
    page.locator("li.list-row[data-id=y]").wait_for()
    rows = page.locator("main ul.list > li.list-row[data-kind]")
    assert rows.count() == 3, rows.all_inner_texts()
    assert "3 photos still to send" in page.locator("li[data-id=y]").inner_text()
    assert "1 photo still to send" in page.locator("li[data-id=z]").inner_text()
    assert "Fix the lock-up door" in page.locator("li[data-kind=action]").inner_text()
    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    page.locator("li[data-id=y]", has_text="3 تصاویر بھیجنی باقی").wait_for()
    assert phone.errors == []
    phone.context.close()


# Checks of two corrective actions the phone has, queued as "Seen fixed" queues them: one the server
# takes, one it refuses (a note over its 4000 characters).
CHECK_TWO = """async ([good, refused]) => {
    const { state } = await import('/js/state.js');
    const outbox = await import('/js/outbox.js');
    await outbox.enqueueActionCheck(state.bundle.actions[refused], 'x'.repeat(4001));
    await outbox.enqueueActionCheck(state.bundle.actions[good], 'Lock-up door mended');
}"""


def test_the_sync_screen_follows_checks_as_they_are_sent_or_refused_without_a_reload(pwa_server, browser):
    token, stations, version = inspector_setup(pwa_server)
    station = stations[0]
    critical = [
        i["key"]
        for s in version["definition"]["sections"]
        for i in s["items"]
        if i.get("critical") and i["type"] == "yes_no" and not i.get("visible_if")
    ][:2]
    submit(pwa_server, token, station, version, fail=tuple(critical), seed=91)
    reviewer = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    rows = pwa_server.api("GET", "/api/v1/actions", reviewer, params={"station_id": station["id"]}).json()["rows"]
    good, refused = (next(a["id"] for a in rows if a["item_key"] == key and a["status"] == "open") for key in critical)

    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    wait_in_page(page, f"import('/js/state.js').then((s) => !!s.state.bundle.actions['{refused}'])")
    phone.context.set_offline(True)
    page.evaluate(CHECK_TWO, [good, refused])
    page.goto(pwa_server.url + "/#/sync")
    sent_row = page.locator(f"li[data-kind=action][data-id='{good}']")
    refused_row = page.locator(f"li[data-kind=action][data-id='{refused}']")
    expect(sent_row).to_contain_text("Waiting to send")
    expect(refused_row).to_contain_text("Waiting to send")

    phone.context.set_offline(False)
    page.evaluate("dispatchEvent(new Event('online'))")
    deadline = time.monotonic() + 30
    while pwa_server.api("GET", f"/api/v1/actions/{good}", reviewer).json()["status"] != "verified":
        assert time.monotonic() < deadline, "the check was never sent"
        time.sleep(0.3)
    # Sent, its row goes; refused, the other says so and can be removed: no reload in between.
    expect(sent_row).to_have_count(0)
    expect(refused_row).to_contain_text("Needs attention")
    assert "Waiting to send" not in refused_row.inner_text()
    refused_row.locator(".action-drop").click()
    expect(page.locator("li[data-kind=action]")).to_have_count(0)
    expect(page.locator("main .empty")).to_be_visible()
    # Focus is not dropped to the top of the page with the row it was on.
    assert page.evaluate("document.activeElement.tagName") == "H1"
    assert pwa_server.api("GET", f"/api/v1/actions/{refused}", reviewer).json()["status"] == "open"
    assert phone.errors == []
    phone.context.close()
