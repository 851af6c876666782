"""A phone whose storage is full: the inspector is told, and nothing on screen is quietly lost.

A write IndexedDB refuses (QuotaExceededError, the phone out of space) must be said in the person's
language, must not stop later changes from being saved once there is room again, and a photo the
phone could not store must not be counted as taken (else the inspection is submitted naming a photo
that will never arrive).
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_pwa_support import (
    STORED_DRAFT,
    begin_inspection,
    fill_whole_form,
    inspection_id,
    jpeg,
    open_station,
    signed_in_phone,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def start_offline(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    phone.context.set_offline(True)
    begin_inspection(page, phone.station)
    return phone.context, page, phone.errors, phone.version["definition"]


# IndexedDB refusing writes the way a full phone does: each put to the drafts or photos store fails
# with a QuotaExceededError (Chromium's test hook for a real quota, Storage.overrideQuotaForOrigin,
# does not apply to the off-the-record contexts these tests use).
FULL = """(stores) => {
    if (!window.__put) {
        window.__put = IDBObjectStore.prototype.put;
        window.__add = IDBObjectStore.prototype.add;
        const refuse = (original) => function (...args) {
            if ((window.__full || []).includes(this.name)) {
                throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
            }
            return original.apply(this, args);
        };
        IDBObjectStore.prototype.put = refuse(window.__put);
        IDBObjectStore.prototype.add = refuse(window.__add);
    }
    window.__full = stores;
}"""


def fill_storage(page, stores=("drafts", "photos")):
    page.evaluate(FULL, list(stores))
    return lambda: page.evaluate("window.__full = []")


def yes_no_items(definition):
    items = definition["sections"][0]["items"]
    controlling = {i["visible_if"]["item"] for i in items if i.get("visible_if")}
    return [i for i in items if i["type"] == "yes_no" and not i.get("visible_if") and i["key"] not in controlling]


def test_a_change_the_full_phone_refused_is_said_and_later_changes_are_saved(pwa_server, browser):
    context, page, errors, definition = start_offline(pwa_server, browser)
    first, second = yes_no_items(definition)[:2]

    # The phone is full when the inspector taps an answer.
    release = fill_storage(page)
    card = page.locator(f"#item-{first['key']}")
    card.locator("[data-value=yes]").click()
    toast = page.locator(".toast-error")
    toast.wait_for(timeout=10000)
    assert "storage is full" in toast.inner_text()
    # Said in Urdu too (the screen is drawn again from what is stored, so the tap is made again).
    page.click(".lang-toggle")
    card.locator("h3", has_text=first["label"]["ur"]).wait_for()
    card.locator("[data-value=no]").click()
    page.locator(".toast-error", has_text="جگہ ختم ہو گئی ہے").wait_for(timeout=15000)
    page.click(".lang-toggle")
    card.locator("h3", has_text=first["label"]["en"]).wait_for()
    card.locator("[data-value=yes]").click()

    # Room again (the inspector deleted something): the next tap is saved, and the one before with it.
    release()
    page.locator(f"#item-{second['key']} [data-value=no]").click()
    shown_first = card.locator("[aria-pressed=true]").get_attribute("data-value")
    page.wait_for_timeout(500)
    page.reload()
    page.wait_for_selector(f"#item-{second['key']}")
    assert page.locator(f"#item-{second['key']} [aria-pressed=true]").get_attribute("data-value") == "no"
    assert page.locator(f"#item-{first['key']} [aria-pressed=true]").get_attribute("data-value") == shown_first
    assert errors == []
    context.close()


def test_a_photo_the_full_phone_could_not_keep_is_not_counted_as_taken(pwa_server, browser):
    context, page, errors, definition = start_offline(pwa_server, browser)
    iid = inspection_id(page)
    item = next(i for i in definition["sections"][0]["items"] if i.get("min_photos") and i["type"] != "photo")
    other = next(i for i in yes_no_items(definition) if i["key"] != item["key"])
    card = page.locator(f"#item-{item['key']}")

    release = fill_storage(page)
    card.locator("input[data-source=camera]").set_input_files(
        files=[{"name": "p1.jpg", "mimeType": "image/jpeg", "buffer": jpeg(1)}]
    )
    toast = page.locator(".toast-error")
    toast.wait_for(timeout=30000)
    assert "storage is full" in toast.inner_text(), "said as storage, not as a bad picture"
    assert card.locator(".thumbs li").count() == 0
    assert "more needed" in card.locator(".photo-count").inner_text()

    # Room again; the next change saves the draft, which must not name the photo that was never kept.
    release()
    page.locator(f"#item-{other['key']} [data-value=yes]").click()
    page.wait_for_timeout(500)
    stored = page.evaluate(STORED_DRAFT, iid)
    assert stored["answers"][other["key"]]["value"] == "yes"
    named = stored["answers"].get(item["key"], {}).get("photos", [])
    assert named == stored["photos"] == []

    # The inspector takes it again and this time it is kept, counted and stored.
    card.locator("input[data-source=camera]").set_input_files(
        files=[{"name": "p2.jpg", "mimeType": "image/jpeg", "buffer": jpeg(2)}]
    )
    card.locator(".thumbs li img").wait_for()
    stored = page.evaluate(STORED_DRAFT, iid)
    assert stored["answers"][item["key"]]["photos"] == stored["photos"] and len(stored["photos"]) == 1

    # Full again. Deleting the photo cannot be stored, so it is not deleted: it stays shown as it stays
    # named (the submission would otherwise send a photo the screen had shown as gone).
    release = fill_storage(page)
    card.locator(".thumbs li button").first.click()
    page.locator("dialog[open] .btn-danger").click()
    said = page.locator(".toast-error", has_text="Not saved")
    said.first.wait_for(timeout=15000)
    assert card.locator(".thumbs li").count() == 1
    assert page.evaluate(STORED_DRAFT, iid) == stored
    # A tap the full phone refused is still the inspector's on the next screen opened.
    page.locator(f"#item-{other['key']} [data-value=no]").click()
    said.nth(1).wait_for(timeout=15000)
    release()
    base = page.url.split("#")[0]
    page.goto(f"{base}#/i/{iid}/review")
    page.wait_for_selector("#submit")
    page.goto(f"{base}#/i/{iid}/s/0")
    page.wait_for_selector(f"#item-{other['key']}")
    assert page.locator(f"#item-{other['key']} [aria-pressed=true]").get_attribute("data-value") == "no"
    assert errors == []
    context.close()


def test_a_submission_the_full_phone_could_not_queue_stays_a_draft_to_submit_again(pwa_server, browser):
    context, page, errors, definition = start_offline(pwa_server, browser)
    iid = inspection_id(page)
    fill_whole_form(page, definition)

    # Everything answered and saved; the queue is what the full phone refuses.
    release = fill_storage(page, ["outbox"])
    page.click("#submit")
    page.locator(".toast-error").wait_for(timeout=15000)
    assert "storage is full" in page.locator(".toast-error").inner_text()
    assert page.locator("#submit").is_enabled()

    # Not a submitted inspection that nothing will send: still a draft on the phone and on Home.
    state = page.evaluate(
        """async (id) => {
        const db = await import('/js/db.js');
        const d = await db.get('drafts', id);
        return {status: d.status, sync: d.sync, outbox: (await db.getAll('outbox')).length};
    }""",
        iid,
    )
    assert state == {"status": "draft", "sync": "local", "outbox": 0}
    page.goto(page.url.split("#")[0] + "#/")
    page.wait_for_selector(f"#h-progress ~ ul li[data-id='{iid}']")

    release()
    page.goto(page.url.split("#")[0] + f"#/i/{iid}/review")
    page.click("#submit")
    page.wait_for_selector("[data-sync=queued]")
    assert errors == []
    context.close()


# The browser's estimate of the room left, as on a phone nearly full: 150 MB free. (The estimate is
# replaced, not the quota, for the reason FULL gives.)
NEARLY_FULL = """Object.defineProperty(navigator.storage, 'estimate', {
    value: async () => ({ quota: 4 * 1024 ** 3, usage: 4 * 1024 ** 3 - 150 * 1024 ** 2 }),
})"""


def test_a_phone_running_out_of_space_says_so_on_home_before_a_photo_is_refused(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    page.locator("#station-list li").first.wait_for()
    assert page.locator("#low-space").count() == 0  # plenty of room: nothing said
    phone.context.add_init_script(NEARLY_FULL)
    page.reload()
    warning = page.locator("#low-space")
    warning.wait_for()
    # 150 MB at the 1 MB a photo is taken to be when the phone holds none.
    assert "150 MB left" in warning.inner_text() and "Room for about 150 more photos" in warning.inner_text()
    warning.locator("a[href='#/settings']").click()
    page.wait_for_selector("#st-h")
    assert phone.errors == []
    phone.context.close()


def test_a_full_phone_still_switches_to_urdu_at_once(pwa_server, browser):
    """The language is a choice the phone keeps in IndexedDB; a full phone refuses to write it. The
    screen must switch all the same, in the same moment as its direction, and without an error: before,
    the text stayed English under a right-to-left page until the next start."""
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    english = page.inner_text("#sync-badge").strip()
    assert re.search("[A-Za-z]", english), english
    fill_storage(page, ("kv",))
    # One evaluation that switches and reads the badge in the same task as `dir` changes.
    seen = page.evaluate(
        """() => new Promise((done) => {
            new MutationObserver((_, watcher) => {
                watcher.disconnect();
                done([document.documentElement.dir, document.getElementById('sync-badge').innerText.trim()]);
            }).observe(document.documentElement, { attributes: true, attributeFilter: ['dir'] });
            document.querySelector('.lang-toggle').click();
        })"""
    )
    direction, badge = seen
    assert direction == "rtl"
    # A MutationObserver runs after the task that changed `dir`: the words must be Urdu by then.
    assert badge and not re.search("[A-Za-z]", badge), badge
    page.wait_for_timeout(300)
    assert not re.search("[A-Za-z]", page.inner_text("#sync-badge")), page.inner_text("#sync-badge")
    assert phone.errors == []
    phone.context.close()


def test_begin_on_a_full_phone_is_said_and_can_be_pressed_again_once_there_is_room(pwa_server, browser):
    """Before, the refused write was uncaught: "Begin" did nothing, said nothing, and stayed disabled."""
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    phone.context.set_offline(True)
    open_station(page, phone.station)
    release = fill_storage(page, ("drafts",))
    page.click("#begin")
    toast = page.locator(".toast-error")
    toast.wait_for(timeout=10000)
    assert "storage is full" in toast.inner_text()
    assert page.locator("#begin").is_enabled()
    assert page.locator(".item").count() == 0
    # In Urdu too.
    page.click(".lang-toggle")
    page.locator("#begin").click()
    page.locator(".toast-error", has_text="جگہ ختم ہو گئی ہے").wait_for(timeout=10000)

    # Room again: the same button begins it.
    release()
    page.locator("#begin").click()
    page.wait_for_selector(".item")
    assert phone.errors == []
    phone.context.close()
