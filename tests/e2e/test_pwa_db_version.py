"""The phone's database at another version than the code's: a rolled-back release, another tab's update.

Real Chromium against the real server. A release that raised DB_VERSION and was then rolled back
leaves the database at a version above the code's: opening it at the code's version fails
(VersionError), and the app used to stop at start with that error in English, the drafts, outbox and
photos out of reach. Versions only ever add stores and indexes, so the older code now uses the newer
database as it is, and says in the person's words when it truly cannot. A tab left open while another
upgraded the database saves nothing more; it used to say so at each tap as a failed save, and now asks
once, in a prompt that stays, to be reloaded.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_outbox_more import on_server, wait_for
from tests.e2e.test_pwa_storage_full import yes_no_items
from tests.e2e.test_pwa_support import (
    STORED_DRAFT,
    begin_inspection,
    fill_whole_form,
    inspection_id,
    signed_in_phone,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def upgrade(change: str) -> str:
    """What a newer release's upgrade does: the database to version 2, running `change` (db, tx)."""
    return f"""() => new Promise((resolve, reject) => {{
        const r = indexedDB.open('muaina', 2);
        r.onupgradeneeded = () => {{ const db = r.result, tx = r.transaction; {change} }};
        r.onsuccess = () => {{ r.result.close(); resolve(); }};
        r.onerror = () => reject(r.error);
    }})"""


ADDS_A_STORE = upgrade("db.createObjectStore('extra');")
DROPS_AN_INDEX = upgrade("tx.objectStore('photos').deleteIndex('inspection_id');")


def answered(page, iid, key, value):
    wait_in_page(
        page,
        f"import('/js/db.js').then((m) => m.get('drafts', '{iid}'))"
        f".then((d) => d.answers['{key}']?.value === '{value}')",
    )


def begun_offline(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    phone.context.set_offline(True)
    begin_inspection(phone.page, phone.station)
    iid = inspection_id(phone.page)
    item = yes_no_items(phone.version["definition"])[0]
    phone.page.locator(f"#item-{item['key']} [data-value=yes]").click()
    answered(phone.page, iid, item["key"], "yes")
    return phone, iid, item


def test_after_a_rollback_of_a_release_that_raised_the_database_version_the_app_starts_and_sends(pwa_server, browser):
    phone, iid, item = begun_offline(pwa_server, browser)
    page = phone.page
    page.evaluate(ADDS_A_STORE)

    # The rolled-back code starts on the newer database, with the draft where it was.
    page.reload()
    page.goto(pwa_server.url + f"/#/i/{iid}/s/0")
    card = page.locator(f"#item-{item['key']}")
    expect(card.locator("[data-value=yes]")).to_have_attribute("aria-pressed", "true", timeout=15000)
    assert page.evaluate("indexedDB.databases()") == [{"name": "muaina", "version": 2}]
    card.locator("[data-value=no]").click()
    answered(page, iid, item["key"], "no")

    # And it is finished and sent.
    page.reload()
    page.wait_for_selector(".item")
    fill_whole_form(page, phone.version["definition"])
    phone.context.set_offline(False)
    page.click("#submit")
    assert wait_for(lambda: on_server(pwa_server, iid, phone.token)), "the inspection did not reach the server"
    assert phone.errors == []
    phone.context.close()


def test_a_newer_database_this_code_cannot_use_is_said_in_the_persons_words_and_nothing_is_deleted(pwa_server, browser):
    phone, iid, item = begun_offline(pwa_server, browser)
    page = phone.page
    page.evaluate(DROPS_AN_INDEX)
    page.reload()
    said = page.locator(".boot-error")
    expect(said).to_have_text(
        "This phone holds data of a newer version of Muaina; update the app to continue. Nothing has been deleted."
    )
    urdu = page.evaluate("async () => (await import('/js/i18n.js')).dictionaries.ur['db.newer']")
    assert "نئے ورژن" in urdu
    # Nothing was deleted: the draft is there for the newer release to open.
    stored = page.evaluate(
        """(id) => new Promise((resolve) => {
        indexedDB.open('muaina').onsuccess = (e) => {
            const db = e.target.result;
            db.transaction('drafts').objectStore('drafts').get(id).onsuccess = (g) => { db.close(); resolve(g.target.result); };
        };
    })""",
        iid,
    )
    assert stored["answers"][item["key"]]["value"] == "yes"
    phone.context.close()


def test_a_tab_left_open_while_another_upgraded_the_database_asks_once_to_be_reloaded(pwa_server, browser):
    phone, iid, item = begun_offline(pwa_server, browser)
    page = phone.page
    # Another tab, of a newer release, upgrades the database (a page of the app's origin that runs none
    # of its code, so that only the first tab is the one left behind).
    other = phone.context.new_page()
    other.goto(pwa_server.url + "/manifest.webmanifest")
    other.evaluate(ADDS_A_STORE)

    prompt = page.locator("dialog#superseded[open]")
    expect(prompt).to_contain_text("Muaina was updated in another tab: reload to keep saving")
    # It stays: Escape does not close it, and no change is taken behind it as if it could be saved.
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    expect(prompt).to_be_visible()
    expect(page.locator(".toast-error")).to_have_count(0)

    # In Urdu too.
    urdu = page.evaluate("async () => (await import('/js/i18n.js')).dictionaries.ur['db.superseded']")
    assert "دوسرے ٹیب" in urdu

    prompt.get_by_role("button", name="Reload").click()
    card = page.locator(f"#item-{item['key']}")
    expect(card.locator("[data-value=yes]")).to_have_attribute("aria-pressed", "true", timeout=15000)
    card.locator("[data-value=no]").click()
    answered(page, iid, item["key"], "no")
    assert page.evaluate(STORED_DRAFT, iid)["answers"][item["key"]]["value"] == "no"
    assert phone.errors == []
    phone.context.close()
