"""What the phone sends is what the inspector submitted, in real Chromium against the real server.

A screen's copy of a draft can be written late (a GPS fix that arrives after the inspector moved on),
the phone can be full when the network returns, and the service worker can outlive a sign-in in the
page: none of these may change, strand or misfile the work waiting in the outbox.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_pwa_support import (
    INSPECTOR,
    PASSWORD,
    begin_inspection,
    bundle,
    fill_whole_form,
    inspection_id,
    phone_context,
    pick_station_and_template,
    sign_in,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


# A phone whose GPS answers late: every request for a fix waits until the test gives one.
SLOW_GPS = """(() => {
    const waiting = [];
    const geo = navigator.geolocation;
    if (!geo) return;
    geo.getCurrentPosition = (ok) => { waiting.push(ok); };
    geo.watchPosition = () => 1;
    geo.clearWatch = () => {};
    window.__giveFix = (lat, lon) => {
        const pos = {coords: {latitude: lat, longitude: lon, accuracy: 12}, timestamp: Date.now()};
        for (const ok of waiting.splice(0)) ok(pos);
        return true;
    };
})();"""

LOCAL = """async (id) => {
    const db = await import('/js/db.js');
    const d = await db.get('drafts', id);
    return {status: d.status, sync: d.sync, outbox: (await db.getAll('outbox')).length};
}"""


def test_a_late_gps_fix_does_not_turn_a_submitted_inspection_back_into_a_draft(pwa_server, browser):
    token = pwa_server.login(INSPECTOR, PASSWORD)
    station, version = pick_station_and_template(bundle(pwa_server, token))
    context = phone_context(browser)
    context.add_init_script(SLOW_GPS)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)

    # Indoors, no fix yet: the inspection begins without one, and each section asks for one again.
    context.set_offline(True)
    begin_inspection(page, station)
    iid = inspection_id(page)
    fill_whole_form(page, version["definition"])
    page.click("#submit")
    page.wait_for_selector("[data-sync=queued]")

    # The fix arrives after Submit, for the form screens the inspector has already left.
    assert page.evaluate(f"window.__giveFix({station['lat']}, {station['lon']})")
    page.wait_for_timeout(1000)
    assert page.evaluate(LOCAL, iid)["status"] == "submitted", "a late write un-submitted the inspection"

    context.set_offline(False)
    page.wait_for_selector("[data-sync=on_server]", timeout=120000)
    page.wait_for_selector("#sync-badge[data-state=ok]", timeout=60000)
    stored = pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    assert stored["status"] == "submitted", "the reviewer must receive it as submitted"
    assert stored["missing_photos"] == []
    assert page.evaluate(LOCAL, iid) == {"status": "submitted", "sync": "on_server", "outbox": 0}
    assert errors == []
    context.close()


# A phone out of space, as IndexedDB behaves then: every put or add is refused, whatever the store,
# and a deleted photo gives its space back once its deletion commits. Background Sync is left out
# (as on browsers without it) so the page alone sends, where this hook applies.
FULL_UNTIL_A_PHOTO_GOES = """() => {
    const put = IDBObjectStore.prototype.put;
    const add = IDBObjectStore.prototype.add;
    const del = IDBObjectStore.prototype.delete;
    window.__refused = 0;
    window.__full = true;
    const refuse = (original) => function (...args) {
        if (window.__full) {
            window.__refused += 1;
            throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        }
        return original.apply(this, args);
    };
    IDBObjectStore.prototype.put = refuse(put);
    IDBObjectStore.prototype.add = refuse(add);
    IDBObjectStore.prototype.delete = function (...args) {
        if (this.name === 'photos') this.transaction.addEventListener('complete', () => { window.__full = false; });
        return del.apply(this, args);
    };
}"""

NO_BACKGROUND_SYNC = """(() => {
    if (self.SyncManager) SyncManager.prototype.register = () => Promise.reject(new Error('no Background Sync'));
})();"""

PHONE_STATE = """async (id) => {
    const db = await import('/js/db.js');
    const d = await db.get('drafts', id);
    return {sync: d.sync, photos: (await db.getAll('photos')).length, outbox: (await db.getAll('outbox')).length};
}"""


def test_a_phone_out_of_space_still_sends_its_queue_which_gives_the_space_back(pwa_server, browser):
    token = pwa_server.login(INSPECTOR, PASSWORD)
    station, version = pick_station_and_template(bundle(pwa_server, token))
    context = phone_context(browser, station)
    context.add_init_script(NO_BACKGROUND_SYNC)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)

    # Days offline: a whole inspection with its photos waits on the phone, and then the phone is full.
    context.set_offline(True)
    begin_inspection(page, station)
    iid = inspection_id(page)
    photos = fill_whole_form(page, version["definition"])
    page.click("#submit")
    page.wait_for_selector("[data-sync=queued]")
    assert page.evaluate(PHONE_STATE, iid) == {"sync": "queued", "photos": photos, "outbox": 1 + photos}
    page.evaluate(FULL_UNTIL_A_PHOTO_GOES)

    # The network returns: the queue goes out although the phone could write nothing to begin with.
    context.set_offline(False)
    page.wait_for_selector("[data-sync=on_server]", timeout=120000)
    page.wait_for_selector("#sync-badge[data-state=ok]", timeout=60000)
    assert page.evaluate("window.__refused") > 0, "the phone was full when the sending began"
    stored = pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    assert stored["status"] == "submitted"
    assert stored["missing_photos"] == []
    assert page.evaluate(PHONE_STATE, iid) == {"sync": "on_server", "photos": 0, "outbox": 0}
    assert errors == []
    context.close()
