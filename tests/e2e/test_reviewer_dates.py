"""The app works on Pakistan's clock: the dates the reviewer's screens propose are days of Pakistan's
calendar, also in the five hours after midnight, when UTC still says yesterday (toISOString() gave that
day: a due date one day short), and a device left on another zone still shows Pakistan's times and
days."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from server.demo.content import DEMO_PASSWORDS
from tests.e2e.test_pwa_support import phone_context, sign_in, watch_errors
from tests.e2e.test_reviewer_support import LAPTOP, build_document, inspector_setup, sign_in_reviewer, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PKT = timezone(timedelta(hours=5))


def inspection_at_2am(pwa_server, browser, zone: str, seed: int):
    """A submitted inspection, and a reviewer's laptop set to `zone` opening it at 02:00 on the 1st of
    December in Lahore (21:00 on the 30th of November in UTC): (the inspection, context, page, errors)."""
    token, stations, version = inspector_setup(pwa_server)
    stored = submit(pwa_server, token, stations[0], version, seed=seed)
    context = browser.new_context(viewport=LAPTOP, timezone_id=zone)
    page = context.new_page()
    errors = watch_errors(page)
    page.clock.set_fixed_time(datetime(2026, 12, 1, 2, 0, tzinfo=PKT))
    sign_in_reviewer(page, pwa_server.url)
    page.goto(pwa_server.url + f"/#/review/i/{stored['id']}")
    return stored, context, page, errors


def test_a_new_actions_due_date_is_two_weeks_from_today_in_pakistan_just_after_midnight(pwa_server, browser):
    _, context, page, errors = inspection_at_2am(pwa_server, browser, "Asia/Karachi", seed=5)
    page.locator(".rv-item .rv-btn-action").first.click()
    assert page.input_value("dialog input[type=date]") == "2026-12-15"
    assert errors == []
    context.close()


def test_a_laptop_left_on_utc_shows_pakistan_times_and_counts_pakistan_days(pwa_server, browser):
    """An office laptop whose zone was never set (UTC): times are still Pakistan's, as the PDF and the
    Excel export write them, and "today" still begins at midnight in Pakistan, not five hours later."""
    stored, context, page, errors = inspection_at_2am(pwa_server, browser, "UTC", seed=6)
    started = page.locator(".rv-meta div", has_text="Started").locator("dd")
    started.wait_for()
    # What the same instant reads as in each zone (the test names the zone; the app must choose it).
    in_zone, in_utc = (
        page.evaluate(
            """([at, zone]) => new Intl.DateTimeFormat('en-PK-u-nu-latn',
                 { dateStyle: 'medium', timeStyle: 'short', timeZone: zone }).format(new Date(at))""",
            [stored["started_at"], zone],
        )
        for zone in ("Asia/Karachi", "UTC")
    )
    assert in_zone != in_utc
    assert started.inner_text() == in_zone
    assert page.locator("#rv-clock-off").count() == 0  # its phone's clock was right
    page.locator(".rv-item .rv-btn-action").first.click()
    assert page.input_value("dialog input[type=date]") == "2026-12-15"
    assert errors == []
    context.close()


def test_a_phone_left_on_utc_calls_a_visit_due_yesterday_in_pakistan_overdue(pwa_server, browser):
    """02:00 on the 1st of December in Lahore is still the 30th on a phone set to UTC: a visit due on
    the 30th is overdue all the same."""
    token, stations, version = inspector_setup(pwa_server)
    admin = pwa_server.login("admin", DEMO_PASSWORDS["admin"])
    me = pwa_server.api("GET", "/api/v1/me", token).json()
    # The station's open visit of the checklist (the demo's, or a new one), due on the 30th, to this inspector.
    wanted = {"station_id": stations[-1]["id"], "template_id": version["template_id"], "inspector_id": me["id"]}
    made = pwa_server.api("POST", "/api/v1/assignments", admin, json={**wanted, "due_date": "2026-11-30"})
    if made.status_code == 409:
        visit = made.json()["assignment_id"]
        moved = pwa_server.api(
            "PATCH",
            f"/api/v1/assignments/{visit}",
            admin,
            json={"due_date": "2026-11-30", "inspector_id": me["id"]},
        )
        assert moved.status_code == 200, moved.text
    else:
        assert made.status_code == 201, made.text
        visit = made.json()["id"]
    context = phone_context(browser, timezone_id="UTC")
    page = context.new_page()
    errors = watch_errors(page)
    page.clock.set_fixed_time(datetime(2026, 12, 1, 2, 0, tzinfo=PKT))
    sign_in(page, pwa_server.url)
    row = page.locator(f"li[data-assignment='{visit}']")
    assert row.locator(".pill-fail").count() == 1, row.inner_text()
    assert "Overdue" in row.inner_text()
    assert errors == []
    context.close()


def test_the_reviewer_is_told_when_the_phones_clock_was_wrong(pwa_server, browser):
    token, stations, version = inspector_setup(pwa_server)
    document, _ = build_document(stations[0], version, seed=7)
    document["started_at"], document["finished_at"] = "2031-05-01T04:00:00Z", "2031-04-30T03:00:00Z"
    iid = str(uuid.uuid4())
    assert pwa_server.api("PUT", f"/api/v1/inspections/{iid}", token, json=document).status_code == 201
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_reviewer(page, pwa_server.url)
    page.goto(pwa_server.url + f"/#/review/i/{iid}")
    note = page.locator("#rv-clock-off")
    note.wait_for()
    assert "clock was wrong" in note.inner_text()
    assert errors == []
    context.close()
