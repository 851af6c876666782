"""The actions board and the dashboard after a year of use. Every column of the board says how many
actions it holds and pages through them, and a dashboard panel that shows only the first rows says so. One list for the whole board stopped at 500, sorted by due date over every status, so
the verified actions of past months (which only pile up) filled it and "Open (0)" stood over the
region's open work."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import run_async, wait_in_page
from tests.e2e.test_reviewer_support import build_document, inspector_setup, reviewer_desk

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

IN_LAHORE = """FROM actions a JOIN stations s ON s.id = a.station_id JOIN districts d ON d.id = s.district_id
               JOIN regions r ON r.id = d.region_id WHERE r.code = 'LHR'"""


async def a_year_of_actions(url: str) -> dict[str, int]:
    """At each Lahore station: 60 actions verified over the past year, 15 done long ago and not yet
    verified, and 2 open now; the counts by status."""
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
        await conn.execute(
            """INSERT INTO actions (station_id, item_key, source, description, due_date, status)
               SELECT s.id, 'done' || k, 'submission', 'Done, not verified ' || k, current_date - 300 + k, 'done'
                 FROM stations s JOIN districts d ON d.id = s.district_id JOIN regions r ON r.id = d.region_id
                CROSS JOIN generate_series(1, 15) k WHERE r.code = 'LHR'"""
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
    # An open card marked done: the board is drawn again with the pages it showed, and the card, due
    # after the 100 done ones shown, is past what its new column shows: focus goes to that column's
    # heading, which counts it, not to the top of the page.
    page.locator(".rv-col[data-status=open] .rv-action").first.locator("button[data-to=done]").click()
    wait_in_page(page, "document.activeElement && document.activeElement.id === 'rv-col-done'")
    assert page.inner_text("#rv-col-done").endswith(f"({counts['done'] + 1})")
    assert page.locator(".rv-col[data-status=verified] .rv-action").count() == 200
    assert page.locator(".rv-col[data-status=open] .rv-action").count() == counts["open"] - 1
    assert errors == []
    context.close()


async def late_actions(url: str) -> None:
    """210 actions past due at Lahore's stations."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            """INSERT INTO actions (station_id, item_key, source, description, due_date, status)
               SELECT s.id, 'late' || k, 'submission', 'Late ' || k, current_date - k, 'open'
                 FROM stations s JOIN districts d ON d.id = s.district_id JOIN regions r ON r.id = d.region_id
                CROSS JOIN generate_series(1, 21) k WHERE r.code = 'LHR'"""
        )
    finally:
        await conn.close()


def far_submissions(server, count: int) -> None:
    """`count` submissions far from their stations (their photos not sent: nothing here looks at them)."""
    token, stations, version = inspector_setup(server)
    for n in range(count):
        document, _ = build_document(stations[n % len(stations)], version, far=True, seed=n)
        reply = server.api("PUT", f"/api/v1/inspections/{uuid.uuid4()}", token, json=document)
        assert reply.status_code == 201, reply.text


def test_dashboard_panels_that_show_only_the_first_rows_say_so_and_lead_to_the_rest(pwa_server, browser):
    """The overdue actions panel stopped at 200 and the flagged one at 50 without a word, and their
    files saved only those rows, looking complete."""
    run_async(late_actions(pwa_server.database_url))
    far_submissions(pwa_server, 75)
    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.goto(pwa_server.url + "/#/review/dashboard")
    late = page.locator("#rv-late-act")
    late.locator("tbody tr").first.wait_for()
    assert late.locator("tbody tr").count() == 200
    assert "first 200" in late.locator(".rv-cut").inner_text()
    assert late.locator(".rv-cut a").get_attribute("href") == "#/review/actions?overdue=1"
    flagged = page.locator("#rv-flagged")
    assert flagged.locator("tbody tr").count() == 50 and "first 50" in flagged.locator(".rv-cut").inner_text()
    flagged.locator(".rv-more").click()
    wait_in_page(page, "document.querySelectorAll('#rv-flagged tbody tr').length === 75")
    flagged = page.locator("#rv-flagged")
    ids = flagged.locator("tbody tr").evaluate_all("(rows) => rows.map((r) => r.dataset.key)")
    assert len(set(ids)) == 75
    # All shown now: nothing more to say or ask for.
    assert flagged.locator(".rv-cut").count() == 0 and flagged.locator(".rv-more").count() == 0
    # The panel's file holds what it shows.
    with page.expect_download() as got:
        flagged.locator(".rv-csv").click()
    assert len(Path(got.value.path()).read_text(encoding="utf-8-sig").strip().splitlines()) == 75 + 1
    assert errors == []
    context.close()
