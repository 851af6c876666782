"""A corrective action the office marked done, on the inspector's phone, in real Chromium.

Done is not closed: the office was told the fix is made, and the inspector at the next visit is the one
who sees it and verifies it (server/actions/rules.py: done → verified is everyone's move). The bundle
sends done actions for that (queries.open_actions_for_bundle); the phone keeps them, says what is asked
of the inspector ("reported fixed — please check and verify"), counts them on the station's screen, and
sends the inspector's verification. Only verified and cancelled actions leave the phone.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import live_pwa_server, open_station, phone_context, sign_in, watch_errors
from tests.e2e.test_reviewer_support import REVIEWER_PASSWORD, inspector_setup, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

REFRESH = "import('/js/state.js').then((s) => s.refreshBundle())"
STORED_ACTION = "(id) => import('/js/db.js').then((db) => db.kv.get('bundle')).then((b) => b.actions[id] || null)"

# A phone that kept a bundle from before done actions were kept: the done action was dropped, and the
# stored bundle carries no mark of keeping them (its cursor and etag are as they were).
OLD_BUNDLE = """async (id) => {
    const { kv } = await import('/js/db.js');
    const b = await kv.get('bundle');
    delete b.actions[id];
    delete b.keeps_done;
    await kv.set('bundle', b);
    return !!b.cursor;
}"""


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("done-actions"))


def _seed(pwa_server, station_index, seed):
    """A submission at one of the inspector's stations failing one critical item: the server opens an
    action for it. (station, reviewer token, section index, item, action)."""
    token, stations, version = inspector_setup(pwa_server)
    station = stations[station_index]
    s_idx, item = next(
        (n, i)
        for n, s in enumerate(version["definition"]["sections"])
        for i in s["items"]
        if i.get("critical") and i["type"] == "yes_no" and not i.get("visible_if")
    )
    submit(pwa_server, token, station, version, fail=(item["key"],), seed=seed)
    reviewer = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    rows = pwa_server.api("GET", "/api/v1/actions", reviewer, params={"station_id": station["id"]}).json()["rows"]
    action = next(a for a in rows if a["item_key"] == item["key"] and a["status"] == "open")
    return station, reviewer, s_idx, item, action


def _mark_done(pwa_server, reviewer, action):
    done = pwa_server.api(
        "PATCH", f"/api/v1/actions/{action['id']}", reviewer, json={"status": "done", "note": "SHO reports it fixed"}
    )
    assert done.status_code == 200, done.text


def _begin_at(page, station, section):
    open_station(page, station)
    page.click("#begin")
    page.wait_for_selector(".section-title")
    page.goto(page.url.rsplit("/s/", 1)[0] + f"/s/{section}")
    page.wait_for_selector(".section-title")


def test_an_action_the_office_marked_done_stays_on_the_phone_and_the_inspectors_verification_reaches_the_server(
    pwa_server, browser
):
    station, reviewer, s_idx, item, action = _seed(pwa_server, -1, seed=81)
    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    _begin_at(page, station, s_idx)
    callout = page.locator(f"#item-{item['key']} .action-callout")
    expect(callout).to_contain_text("Corrective action open")

    # The office hears the SHO has fixed it; the phone fetches what changed since its last download.
    _mark_done(pwa_server, reviewer, action)
    assert page.evaluate(REFRESH) is True
    assert page.evaluate(STORED_ACTION, action["id"])["status"] == "done"
    page.reload()
    page.wait_for_selector(".section-title")

    # Still offered, and saying what is asked: to look at the fix and verify it.
    expect(callout).to_contain_text("reported fixed — please check and verify")
    assert "Corrective action open" not in callout.inner_text()
    expect(page.locator(".callout-info li", has_text="reported fixed — please check and verify")).to_have_count(1)
    # The station's screen counts it among those to look at.
    page.goto(pwa_server.url + f"/#/start/{station['id']}")
    expect(page.locator("#station-actions")).to_contain_text("1 corrective action at this station is to be checked")

    page.go_back()
    page.wait_for_selector(".section-title")
    callout.locator(".action-seen").click()
    dialog = page.locator("dialog")
    note = "Lock-up door repaired and locks"
    dialog.locator("textarea").fill(note)
    dialog.locator(".btn-primary").click()
    expect(dialog).to_have_count(0)
    expect(callout.locator(".action-check")).to_be_visible()

    # The verification reaches the server, with the inspector's note, from done.
    deadline = time.monotonic() + 30
    while (shown := pwa_server.api("GET", f"/api/v1/actions/{action['id']}", reviewer).json())["status"] != "verified":
        assert time.monotonic() < deadline, shown
        time.sleep(0.3)
    last = shown["notes"][-1]
    assert (last["body"], last["status_from"], last["status_to"]) == (note, "done", "verified")
    # Verified, it leaves the phone at the next download.
    wait_in_page(
        page, f"{REFRESH}.then(() => import('/js/state.js')).then((s) => !s.state.bundle.actions['{action['id']}'])"
    )
    assert page.evaluate(STORED_ACTION, action["id"]) is None
    assert errors == []
    context.close()


def test_a_phone_that_dropped_a_done_action_before_gets_it_back_and_reads_it_in_urdu(pwa_server, browser):
    station, reviewer, s_idx, item, action = _seed(pwa_server, -2, seed=83)
    _mark_done(pwa_server, reviewer, action)
    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    # A first download sends unfinished actions, done ones included, and the phone keeps them.
    wait_in_page(page, "import('/js/db.js').then((db) => db.kv.get('bundle')).then((b) => !!b && !!b.cursor)")
    assert page.evaluate(STORED_ACTION, action["id"])["status"] == "done"

    # An older phone's bundle: the done action gone. A delta would never send it again (it has not
    # changed); the phone fetches its bundle whole once, and has it back.
    assert page.evaluate(OLD_BUNDLE, action["id"]) is True
    page.reload()
    page.wait_for_selector("#station-list li")
    wait_in_page(page, f"({STORED_ACTION})('{action['id']}').then((a) => !!a && a.status === 'done')")

    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    _begin_at(page, station, s_idx)
    callout = page.locator(f"#item-{item['key']} .action-callout")
    expect(callout).to_contain_text("ٹھیک ہونے کی اطلاع ہے — براہِ کرم دیکھ کر تصدیق کریں")
    expect(callout.locator(".action-seen")).to_be_visible()
    assert "زیرِ التوا" not in callout.inner_text()
    assert errors == []
    context.close()
