"""Dates the reviewer's screens propose are days of Pakistan's calendar, also in the five hours after
midnight, when UTC still says yesterday (toISOString() gave that day: a due date one day short)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.test_pwa_support import watch_errors
from tests.e2e.test_reviewer_support import LAPTOP, inspector_setup, sign_in_reviewer, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PKT = timezone(timedelta(hours=5))


def test_a_new_actions_due_date_is_two_weeks_from_today_in_pakistan_just_after_midnight(pwa_server, browser):
    token, stations, version = inspector_setup(pwa_server)
    stored = submit(pwa_server, token, stations[0], version, seed=5)
    context = browser.new_context(viewport=LAPTOP, timezone_id="Asia/Karachi")
    page = context.new_page()
    errors = watch_errors(page)
    # 02:00 on the 1st of December in Lahore: 21:00 on the 30th of November in UTC.
    page.clock.set_fixed_time(datetime(2026, 12, 1, 2, 0, tzinfo=PKT))
    sign_in_reviewer(page, pwa_server.url)
    page.goto(pwa_server.url + f"/#/review/i/{stored['id']}")
    page.locator(".rv-item .rv-btn-action").first.click()
    assert page.input_value("dialog input[type=date]") == "2026-12-15"
    assert errors == []
    context.close()
