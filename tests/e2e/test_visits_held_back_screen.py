"""The Visits screen, in real Chromium: a visit held back by its deactivated station says so and offers
only cancelling; a visit completed by a colleague's inspection says who inspected, in English and Urdu."""

from __future__ import annotations

import pytest

from server.demo.content import DEMO_PASSWORDS
from tests.e2e.test_pwa_support import live_pwa_server
from tests.e2e.test_reviewer_support import REVIEWER_PASSWORD, inspector_setup, reviewer_desk, submit
from tests.e2e.test_reviewer_visits import (
    ALI,
    free_stations,
    get,
    inspector_id,
    lahore_inspector,
    make_visit,
    open_screen,
    sips,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("visits-held-back"))


def test_held_back_and_done_by_a_colleague_are_said_on_the_visits_screen(pwa_server, browser):
    admin = pwa_server.login("admin", DEMO_PASSWORDS["admin"])
    token = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    lahore_inspector(pwa_server, admin, "inspector.colleague", "DSP Colleague")
    template = sips(pwa_server, token)
    ali = inspector_id(pwa_server, token, ALI)
    done_at, closed = free_stations(pwa_server, token, template["id"], 2)
    given = make_visit(pwa_server, token, done_at, template["id"], ali, 5)
    plan = make_visit(pwa_server, token, closed, template["id"], ali, 5, frequency="monthly")
    # A colleague's inspection of the station completes the visit given to Ali.
    colleague, stations, version = inspector_setup(pwa_server, "inspector.colleague")
    submit(pwa_server, colleague, next(s for s in stations if s["id"] == done_at["id"]), version)
    assert get(pwa_server, token, f"/api/v1/assignments/{given['id']}")["done_by_name"] == "DSP Colleague"
    off = pwa_server.api("PATCH", f"/api/v1/stations/{closed['id']}", admin, json={"active": False})
    assert off.status_code == 200, off.text

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    open_screen(page, pwa_server)
    row = page.locator(f".rv-visit[data-id='{plan['open_assignment_id']}']")
    assert row.locator("[data-held=station_inactive]").inner_text().strip() == "Station deactivated"
    # It can be cancelled, not rescheduled or reassigned.
    assert (row.locator(".rv-change").count(), row.locator(".rv-cancel").count()) == (0, 1)
    plan_row = page.locator(f".rv-schedule[data-id='{plan['id']}']")
    assert "while the station is deactivated" in plan_row.locator(".rv-held").inner_text()
    open_screen(page, pwa_server, "?show=held")
    shown = page.eval_on_selector_all(".rv-visit, .rv-schedule", "rows => rows.map((r) => r.dataset.id)")
    assert sorted(shown) == sorted([plan["open_assignment_id"], plan["id"]])
    open_screen(page, pwa_server, "?show=done")
    done = page.locator(f".rv-visit[data-id='{given['id']}']")
    assert done.locator(".rv-who").inner_text().split("\n")[0].strip() == ALI
    assert done.locator(".rv-done-by").inner_text() == "inspected by DSP Colleague"

    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    open_screen(page, pwa_server, "?show=done")
    assert done.locator(".rv-done-by").inner_text() == "معائنہ DSP Colleague نے کیا"
    open_screen(page, pwa_server, "?show=held")
    assert row.locator("[data-held=station_inactive]").inner_text().strip() == "تھانہ غیر فعال"
    assert errors == []
    context.close()
    pwa_server.api("PATCH", f"/api/v1/stations/{closed['id']}", admin, json={"active": True})
