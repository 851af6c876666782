"""The outbox sends each inspection as its own inspector's, and one stuck inspection holds up no other.

Real Chromium against the real server. The service worker drains the same outbox as the page (on a
Background Sync event, fired here through the DevTools protocol as the browser fires it when the
network returns), and may outlive a sign-in in the page; an inspection whose checklist is no longer
on the phone must neither block the others nor wait for ever without a word.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.e2e.test_pwa_support import (
    INSPECTOR,
    OTHER_INSPECTOR,
    PASSWORD,
    begin_inspection,
    bundle,
    fill_whole_form,
    inspection_id,
    phone_context,
    pick_station_and_template,
    sign_in,
    signed_in_phone,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def submit_offline(page: Any, station: dict, definition: dict) -> str:
    """Fills and submits one inspection while the phone is offline; returns its id."""
    page.goto(page.url.split("#")[0] + "#/")
    page.wait_for_selector("#station-list li")
    begin_inspection(page, station)
    iid = inspection_id(page)
    fill_whole_form(page, definition)
    page.click("#submit")
    page.wait_for_selector("[data-sync=queued]")
    return iid


def wait_for(check: Any, timeout: float = 60.0) -> Any:
    """Polls check() until it returns something truthy; returns it, or None after the timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    return None


def on_server(server: Any, iid: str, token: str) -> dict | None:
    """The inspection as the server holds it, once complete (every photo received), for this token."""
    response = server.api("GET", f"/api/v1/inspections/{iid}", token)
    if response.status_code != 200:
        return None
    stored = response.json()
    return stored if stored["missing_photos"] == [] else None


class SyncEvents:
    """Fires the service worker's Background Sync event, as the browser does when the network returns."""

    def __init__(self, context: Any, page: Any, url: str) -> None:
        self.context = context
        self.cdp = context.new_cdp_session(page)
        self.origin = url
        self.registrations: dict[str, str] = {}
        self.cdp.on("ServiceWorker.workerRegistrationUpdated", self._seen)
        self.cdp.send("ServiceWorker.enable")

    def _seen(self, event: dict) -> None:
        for reg in event["registrations"]:
            if not reg.get("isDeleted"):
                self.registrations[reg["scopeURL"]] = reg["registrationId"]

    def fire(self, tag: str = "outbox") -> None:
        # The browser fires the event once it is online again; the worker must see that first too.
        workers = self.context.service_workers
        assert workers, "no service worker is running"
        assert wait_for(lambda: workers[0].evaluate("navigator.onLine"), 10), "the worker still thinks it is offline"
        registration = self.registrations.get(self.origin + "/")
        assert registration, f"no service worker registration seen: {self.registrations}"
        self.cdp.send(
            "ServiceWorker.dispatchSyncEvent",
            {"origin": self.origin, "registrationId": registration, "tag": tag, "lastChance": False},
        )


def test_the_service_worker_sends_with_the_token_of_whoever_is_signed_in_now(pwa_server, browser):
    token_a = pwa_server.login(INSPECTOR, PASSWORD)
    token_b = pwa_server.login(OTHER_INSPECTOR, PASSWORD)
    station_a, version_a = pick_station_and_template(bundle(pwa_server, token_a))
    station_b, version_b = pick_station_and_template(bundle(pwa_server, token_b))
    b_id = pwa_server.api("GET", "/api/v1/me", token_b).json()["id"]

    context = phone_context(browser, station_a)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    sync = SyncEvents(context, page, pwa_server.url)

    # A's inspection, queued offline, is sent by the service worker (the page is gone meanwhile): the
    # worker has now used A's token.
    context.set_offline(True)
    iid_a = submit_offline(page, station_a, version_a["definition"])
    page.goto("about:blank")
    context.set_offline(False)
    sync.fire()
    assert wait_for(lambda: on_server(pwa_server, iid_a, token_a)), "the worker did not send A's inspection"

    # A signs out while offline, so A's session is never revoked on the server; B signs in on the
    # same phone, and the same service worker keeps running.
    context.set_offline(True)
    page.goto(pwa_server.url + "/#/settings")
    page.wait_for_selector("text=Sign out of this phone")
    page.click("text=Sign out of this phone")
    page.wait_for_selector("input[name=username]")
    assert pwa_server.api("GET", "/api/v1/me", token_a).status_code == 200, "A's session should still be valid"
    context.set_offline(False)
    sign_in(page, pwa_server.url, OTHER_INSPECTOR, PASSWORD)

    # B's inspection, queued offline, is again sent by the worker alone.
    context.set_offline(True)
    iid_b = submit_offline(page, station_b, version_b["definition"])
    page.goto("about:blank")
    context.set_offline(False)
    sync.fire()

    stored = wait_for(lambda: on_server(pwa_server, iid_b, token_b))
    misfiled = pwa_server.api("GET", f"/api/v1/inspections/{iid_b}", token_a)
    assert stored, (
        f"B's inspection did not reach the server as B's (asked as A: {misfiled.status_code}); "
        "the service worker still sends with the token of whoever was signed in when it first sent"
    )
    assert stored["inspector_id"] == b_id
    assert stored["status"] == "submitted"
    assert errors == []
    context.close()


SET_BACKOFF = """async (minutes) => {
    const { kv } = await import('/js/db.js');
    await kv.set('backoff', { attempts: 9, next_at: Date.now() + minutes * 60 * 1000 });
}"""


def test_a_background_sync_sends_at_once_whatever_the_backoff_after_failed_attempts(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    token, station, version = phone.token, phone.station, phone.version
    context, page, errors = phone.context, phone.page, phone.errors
    sync = SyncEvents(context, page, pwa_server.url)

    # Hours in a dead zone: failed attempts have pushed the next try minutes away. When the network
    # returns the browser says so with a Background Sync event, and the worker sends at once.
    context.set_offline(True)
    iid = submit_offline(page, station, version["definition"])
    page.evaluate(SET_BACKOFF, 5)
    page.goto("about:blank")
    context.set_offline(False)
    sync.fire()
    assert wait_for(lambda: on_server(pwa_server, iid, token), 45), "the worker waited out its backoff"
    assert errors == []
    context.close()


def test_a_backoff_deadline_set_under_a_clock_since_corrected_holds_no_work_back(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    token, station, version = phone.token, phone.station, phone.version
    context, page, errors = phone.context, phone.page, phone.errors
    # A send failed while the phone's clock ran a day fast; the network has set the clock right since.
    # The deadline written then is a day off: no backoff waits that long, so it is not waited out.
    # (Online all along: the network coming back would clear any backoff.)
    context.route("**/api/v1/inspections/*", lambda route: route.fulfill(status=503, body="down"))
    iid = submit_offline(page, station, version["definition"])
    backed_off = "async () => !!(await (await import('/js/db.js')).kv.get('backoff'))"
    assert wait_for(lambda: page.evaluate(backed_off), 30), "the failed send set no backoff"
    page.evaluate(SET_BACKOFF, 24 * 60)
    context.unroute("**/api/v1/inspections/*")
    page.evaluate("async () => { await (await import('/js/outbox.js')).drain(); }")
    assert wait_for(lambda: on_server(pwa_server, iid, token), 45), "the outbox waited a day for a stale deadline"
    assert errors == []
    context.close()


# What the stored bundle holds, and what the outbox has done with each inspection.
DROP_VERSION = """async (versionId) => {
    const { kv } = await import('/js/db.js');
    const b = await kv.get('bundle');
    delete b.templates[versionId];
    await kv.set('bundle', b);
    return Object.keys(b.templates).includes(versionId);
}"""

POINT_AT_VERSION = """async ([id, versionId]) => {
    const db = await import('/js/db.js');
    const d = await db.get('drafts', id);
    await db.put('drafts', { ...d, template_version_id: versionId });
}"""

LOCAL = """async (id) => {
    const db = await import('/js/db.js');
    const d = await db.get('drafts', id);
    const entries = (await db.getAll('outbox')).filter((e) => e.inspection_id === id);
    return {sync: d.sync, entries: entries.length, errors: entries.map((e) => e.error && e.error.detail)};
}"""


def test_an_inspection_whose_checklist_is_not_on_the_phone_holds_up_no_other(pwa_server, browser):
    token = pwa_server.login(INSPECTOR, PASSWORD)
    data = bundle(pwa_server, token)
    station, sips = pick_station_and_template(data)
    markaz = next(s for s in data["stations"] if s.get("kind") == "khidmat_markaz")
    khidmat = next(v for v in data["templates"] if "khidmat_markaz" in (v["definition"].get("kinds") or []))

    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)

    # Three inspections wait, in this order: one on a checklist this phone has lost (the server still
    # has it), one on a checklist the server does not know either, and an ordinary one.
    context.set_offline(True)
    lost = submit_offline(page, markaz, khidmat["definition"])
    unknown = submit_offline(page, station, sips["definition"])
    ordinary = submit_offline(page, station, sips["definition"])
    assert page.evaluate(DROP_VERSION, khidmat["id"]) is False
    page.evaluate(POINT_AT_VERSION, [unknown, str(uuid.uuid4())])
    page.reload()  # the page's own copy of the bundle is the stored one again
    page.wait_for_selector("#sync-badge")

    # The network returns: the ordinary one goes, and so does the first, with its checklist fetched.
    context.set_offline(False)
    assert wait_for(lambda: on_server(pwa_server, ordinary, token), 90), "the other inspections were held up"
    assert wait_for(lambda: on_server(pwa_server, lost, token), 30), "the lost checklist was not fetched"
    assert pwa_server.api("GET", f"/api/v1/inspections/{unknown}", token).status_code == 404

    # The one that can never be sent as it is waits on the phone, and says why in plain words.
    local = wait_for(lambda: (s := page.evaluate(LOCAL, unknown))["sync"] == "attention" and s, 30)
    assert local, page.evaluate(LOCAL, unknown)
    assert local["entries"] >= 1
    assert any(e and "cannot be sent" in e for e in local["errors"]), local
    page.goto(pwa_server.url + "/#/sync")
    page.wait_for_selector(".field-error")
    assert "checklist is no longer on this phone or on the server" in page.inner_text(".field-error")
    assert page.evaluate(LOCAL, ordinary) == {"sync": "on_server", "entries": 0, "errors": []}
    assert errors == []
    context.close()
