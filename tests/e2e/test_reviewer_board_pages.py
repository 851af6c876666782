"""The actions board after a year of use: every column says how many actions it holds and pages
through them. One list for the whole board stopped at 500, sorted by due date over every status, so
the verified actions of past months (which only pile up) filled it and "Open (0)" stood over the
region's open work."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import run_async, wait_in_page
from tests.e2e.test_reviewer_support import reviewer_desk

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

IN_LAHORE = """FROM actions a JOIN stations s ON s.id = a.station_id JOIN districts d ON d.id = s.district_id
               JOIN regions r ON r.id = d.region_id WHERE r.code = 'LHR'"""


async def a_year_of_actions(url: str) -> dict[str, int]:
    """60 actions verified over the past year at each Lahore station, and 2 open now; the counts by status."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            """INSERT INTO actions (station_id, item_key, source, description, due_date, status, verified_at)
               SELECT s.id, 'old' || k, 'submission', 'Fixed long ago ' || k, current_date - 365 + k, 'verified', now()
                 FROM stations s JOIN districts d ON d.id = s.district_id JOIN regions r ON r.id = d.region_id
                CROSS JOIN generate_series(1, 60) k WHERE r.code = 'LHR'"""
        )
        await conn.execute(
            """INSERT INTO actions (station_id, item_key, source, description, due_date, status)
               SELECT s.id, 'now' || k, 'submission', 'Open now ' || k, current_date + 30, 'open'
                 FROM stations s JOIN districts d ON d.id = s.district_id JOIN regions r ON r.id = d.region_id
                CROSS JOIN generate_series(1, 2) k WHERE r.code = 'LHR'"""
        )
        rows = await conn.fetch(f"SELECT a.status, count(*) AS n {IN_LAHORE} GROUP BY a.status")
        return {r["status"]: r["n"] for r in rows}
    finally:
        await conn.close()


def test_each_column_counts_all_its_actions_and_shows_more_on_request(pwa_server, browser):
    counts = run_async(a_year_of_actions(pwa_server.database_url))
    assert counts["verified"] > 500 and counts["open"] > 0
    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.goto(pwa_server.url + "/#/review/actions")
    page.wait_for_selector(".rv-board")
    heads = dict(
        zip(["open", "in_progress", "done", "verified"], page.locator(".rv-col h2").all_inner_texts(), strict=True)
    )
    for status, head in heads.items():
        assert head.endswith(f"({counts.get(status, 0):,})"), (status, head, counts)
    opened = page.locator(".rv-col[data-status=open] .rv-action")
    assert opened.count() == counts["open"]  # fewer than a page: all of them, and nothing more to ask for
    assert page.locator(".rv-col[data-status=open] .rv-more").count() == 0
    verified = page.locator(".rv-col[data-status=verified] .rv-action")
    assert verified.count() == 100
    more = page.locator(".rv-col[data-status=verified] .rv-more")
    assert f"100 of {counts['verified']:,}" in more.inner_text()
    more.click()
    wait_in_page(page, "document.querySelectorAll('.rv-col[data-status=verified] .rv-action').length === 200")
    assert f"200 of {counts['verified']:,}" in more.inner_text()
    # Focus goes to the first card the page brought, not back to the top.
    assert page.evaluate(
        "document.activeElement.closest('.rv-action') === document.querySelectorAll('.rv-col[data-status=verified] .rv-action')[100]"
    )
    ids = page.evaluate(
        "[...document.querySelectorAll('.rv-col[data-status=verified] .rv-action')].map((c) => c.dataset.id)"
    )
    assert len(set(ids)) == 200
    assert errors == []
    context.close()
