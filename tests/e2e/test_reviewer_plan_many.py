"""Planning repeating visits for a whole district from the Visits screen, in real Chromium against the
real API, on a phone: the district's stations as a checklist, the inspectors who serve it, a preview
that says what will be made and what is left alone, then the visits on the screen and on the server."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from server.demo.content import DEMO_PASSWORDS
from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import PHONE, live_pwa_server, watch_errors
from tests.e2e.test_reviewer_support import REVIEWER_PASSWORD, sign_in_reviewer
from tests.review_fixtures import DEFINITION

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ALI = "DSP Ali Raza"
OVERFLOW = "document.documentElement.scrollWidth - innerWidth"


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("reviewer-plan-many"))


def ok(reply, status=200):
    assert reply.status_code == status, reply.text
    return reply.json()


def new_checklist(server, admin: str) -> dict:
    """A published checklist nobody has planned yet, so every station of a district is free for it."""
    made = ok(
        server.api(
            "POST",
            "/api/v1/templates",
            admin,
            json={"key": "cctv_audit", "title": {"en": "CCTV audit", "ur": "سی سی ٹی وی جانچ"}},
        ),
        201,
    )
    ok(server.api("PUT", f"/api/v1/templates/{made['id']}/draft", admin, json=DEFINITION))
    ok(server.api("POST", f"/api/v1/templates/{made['id']}/publish", admin), 201)
    return made


def test_a_reviewer_plans_a_districts_stations_on_a_phone_and_sees_their_visits(pwa_server, browser):
    server = pwa_server
    admin = server.login("admin", DEMO_PASSWORDS["admin"])
    token = server.login("rpo.lahore", REVIEWER_PASSWORD)
    checklist = new_checklist(server, admin)
    lahore = next(d for d in ok(server.api("GET", "/api/v1/districts", token)) if d["code"] == "LHR-CITY")
    stations = sorted(
        (
            s
            for s in ok(server.api("GET", "/api/v1/stations", token, params={"active": "true"}))
            if s["district_id"] == lahore["id"]
        ),
        key=lambda s: s["code"],
    )
    assert len(stations) >= 3
    users = ok(server.api("GET", "/api/v1/users", token, params={"role": "inspector", "active": "true"}))
    ali = next(u for u in users if u["display_name"] == ALI)
    serving = {u["id"] for u in users if lahore["id"] in u["district_ids"] or lahore["region_id"] in u["region_ids"]}
    # One station already has the checklist planned: the preview leaves it alone.
    first = ok(
        server.api(
            "POST",
            "/api/v1/schedules",
            token,
            json={
                "station_id": stations[0]["id"],
                "template_id": checklist["id"],
                "inspector_id": ali["id"],
                "frequency": "monthly",
                "next_due": "2031-05-10",
            },
        ),
        201,
    )
    due = (date.today() + timedelta(days=20)).isoformat()

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_reviewer(page, server.url)
    page.goto(server.url + "/#/review/visits")
    page.wait_for_selector(".rv-visits")
    opener = page.locator("#rv-plan-many")
    assert opener.inner_text().strip() == "Plan for many stations"
    assert opener.bounding_box()["height"] >= 44
    opener.tap()
    dlg = page.locator("dialog.dialog")
    dlg.locator("select[name=district_id]").select_option(lahore["id"])
    dlg.locator("select[name=template_id]").select_option(checklist["id"])
    # The district's stations, all ticked; the inspectors offered are those who serve the district.
    codes = dlg.locator(".rv-plan-stations .rv-check").evaluate_all("rows => rows.map((r) => r.dataset.code)")
    assert sorted(codes) == [s["code"] for s in stations]
    assert dlg.locator(".rv-plan-stations input:checked").count() == len(stations)
    offered = dlg.locator("select[name=inspector_id] option").evaluate_all(
        "os => os.map((o) => o.value).filter(Boolean)"
    )
    assert ali["id"] in offered and set(offered) <= serving
    # Leave the last station out.
    dlg.locator(f".rv-check[data-code='{stations[-1]['code']}'] input").uncheck()
    assert "stations chosen" in dlg.inner_text()
    # The district's list drawn again (the inspector list follows it) keeps the station left out.
    dlg.locator("select[name=district_id]").dispatch_event("change")
    assert not dlg.locator(f".rv-check[data-code='{stations[-1]['code']}'] input").is_checked()
    assert dlg.locator(".rv-plan-stations input:checked").count() == len(stations) - 1
    dlg.locator("select[name=inspector_id]").select_option(ali["id"])
    dlg.locator("select[name=frequency]").select_option("quarterly")
    dlg.locator("input[name=next_due]").fill(due)
    assert page.evaluate(OVERFLOW) <= 0

    before = ok(server.api("GET", "/api/v1/schedules", token, params={"template_id": checklist["id"]}))
    dlg.locator(".dialog-actions .btn-primary").tap()
    page.locator("#rv-plan-will").wait_for()
    planned = len(stations) - 2
    assert page.locator("#rv-plan-will").inner_text() == f"{planned} repeating visits will be made."
    assert page.locator("#rv-plan-skip").inner_text() == "1 station already has one and is left as it is."
    assert dlg.locator(".dialog-actions .btn-primary").inner_text().strip() == f"Make {planned} repeating visits"
    # The preview wrote nothing.
    assert ok(server.api("GET", "/api/v1/schedules", token, params={"template_id": checklist["id"]})) == before

    dlg.locator(".dialog-actions .btn-primary").tap()
    dlg.wait_for(state="detached")
    made = ok(
        server.api("GET", "/api/v1/assignments", token, params={"template_id": checklist["id"], "status": "open"})
    )
    mine = [a for a in made if a["schedule_id"] != first["id"]]
    assert sorted(a["station_code"] for a in mine) == [s["code"] for s in stations[1:-1]]
    assert {(a["inspector_id"], a["due_date"]) for a in mine} == {(ali["id"], due)}
    plans = ok(server.api("GET", "/api/v1/schedules", token, params={"template_id": checklist["id"]}))
    assert sorted(p["frequency"] for p in plans) == ["monthly"] + ["quarterly"] * planned
    # The new visits are on the screen, each in its row.
    for a in mine:
        page.locator(f".rv-visit[data-id='{a['id']}']").wait_for()
    wait_in_page(page, "document.activeElement?.id === 'rv-plan-many'")
    assert errors == []
    context.close()
