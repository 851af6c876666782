"""Home tells a visit done on this phone as it was done, and follows the outbox while it is shown.

A visit submitted before its due date is not called overdue however long the phone then stays
offline (one finished after it says so, without the red of an open overdue visit); and an inspection
leaves "Waiting to send" when its last photo is acknowledged, not when the inspector next leaves Home.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest
from playwright.sync_api import expect

from tests.conftest import run_async, wait_in_page
from tests.e2e.test_pwa_support import (
    INSPECTOR,
    PASSWORD,
    begin_inspection,
    bundle,
    fill_whole_form,
    live_pwa_server,
    page_only_phone,
    phone_context,
    sign_in,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
PKT = dt.timezone(dt.timedelta(hours=5))


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("home-follows"))


def set_due_date(server, assignment_id: str, due: dt.date) -> None:
    async def go():
        conn = await asyncpg.connect(server.database_url)
        try:
            await conn.execute("UPDATE assignments SET due_date = $2 WHERE id = $1", uuid.UUID(assignment_id), due)
        finally:
            await conn.close()

    run_async(go())


def visit(server, browser, index: int, due_in_days: int):
    """The demo inspector's `index`th open visit at a police station (a different one per test, the
    server being shared), due `due_in_days` after today in Pakistan; and a phone standing there."""
    data = bundle(server, server.login(INSPECTOR, PASSWORD))
    stations = {s["id"]: s for s in data["stations"]}
    open_visits = sorted(
        (
            a
            for a in data["assignments"]
            if a["status"] == "open" and stations[a["station_id"]].get("kind") == "police_station"
        ),
        key=lambda a: a["id"],
    )
    a = open_visits[index]
    version = max((v for v in data["templates"] if v["template_id"] == a["template_id"]), key=lambda v: v["version"])
    due = dt.datetime.now(PKT).date() + dt.timedelta(days=due_in_days)
    set_due_date(server, a["id"], due)
    return a, version, phone_context(browser, stations[a["station_id"]])


def submit_offline(page, context, a: dict, version: dict) -> None:
    """Begins the visit from its row on Home without a network, fills it in and submits it."""
    context.set_offline(True)
    page.locator(f"li[data-assignment='{a['id']}'] a").click()
    page.wait_for_selector("#begin")
    page.click("#begin")
    page.wait_for_selector(".item")
    fill_whole_form(page, version["definition"])
    page.click("#submit")
    page.wait_for_selector("[data-sync=queued]")


def test_a_visit_submitted_before_its_due_date_is_not_overdue_days_later_offline(pwa_server, browser):
    a, version, context = visit(pwa_server, browser, 0, due_in_days=1)
    context.clock.install(time=dt.datetime.now(dt.UTC))
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    submit_offline(page, context, a, version)  # the day before the visit is due
    # Three days later, still without a network, the app opened again.
    context.clock.fast_forward(3 * 24 * 3600 * 1000)
    page.close()
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(pwa_server.url + "/")
    row = page.locator(f"li[data-assignment='{a['id']}']")
    expect(row.locator(".submitted")).to_be_visible()
    expect(row.locator(".pill-fail")).to_have_count(0)
    expect(row.locator(".late")).to_have_count(0)
    assert errors == []
    context.close()


def test_a_visit_submitted_after_its_due_date_says_submitted_late_not_overdue(pwa_server, browser):
    a, version, context = visit(pwa_server, browser, 1, due_in_days=-1)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    row = page.locator(f"li[data-assignment='{a['id']}']")
    expect(row.locator(".pill-fail")).to_have_count(1)  # open and overdue: red, as it should be
    submit_offline(page, context, a, version)
    page.goto(pwa_server.url + "/#/")
    # One pill says both that it was submitted and that it was late.
    expect(row.locator(".submitted")).to_have_count(1)
    expect(row.locator(".late.submitted")).to_contain_text("Submitted late")
    expect(row.locator(".pill-fail")).to_have_count(0)
    assert errors == []
    context.close()


def test_home_drops_an_inspection_from_waiting_once_its_last_photo_is_on_the_server(pwa_server, browser):
    token, station, version, context, page, errors = page_only_phone(pwa_server, browser)
    # Photo uploads are held until Home is drawn, after its bundle is fetched: what is left to bring
    # Home up to date is the photos' own progress.
    held, holding = [], [True]
    page.route("**/api/v1/photos/**", lambda route: held.append(route) if holding[0] else route.continue_())
    begin_inspection(page, station)
    assert fill_whole_form(page, version["definition"]), "the demo checklist takes photos"
    page.click("#submit")
    wait_in_page(page, "import('/js/db.js').then((db) => db.getAll('drafts')).then((d) => d.some((x) => x.acked_at))")
    # The app opened afresh on Home (no screen of the inspection ever drawn in this document), online,
    # with the inspection acknowledged and its photos going.
    page.goto(pwa_server.url + "/#/")
    held.clear()
    is_bundle = lambda r: "/api/v1/sync/bundle" in r.url and r.request.method == "GET"  # noqa: E731
    with page.expect_response(is_bundle):
        page.reload()
    waiting = page.locator("section[aria-labelledby=h-waiting]")
    expect(waiting).to_be_visible()
    holding[0] = False
    for route in held:
        route.continue_()
    wait_in_page(page, "import('/js/db.js').then((db) => db.getAll('outbox')).then((o) => o.length === 0)", timeout=90)
    expect(waiting).to_have_count(0, timeout=15000)
    expect(page.locator("section[aria-labelledby=h-sent]")).to_be_visible()
    assert errors == []
    context.close()
