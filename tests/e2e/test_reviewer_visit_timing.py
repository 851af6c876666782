"""The reviewer's presence card when the visit's own times contradict it: 95 answers in 40 seconds, and one
inspector "at" two stations at overlapping times, are said in a sentence each, with the other
inspection linked, instead of "At the station" in green (server/review/timing.py, schema 0022)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_reviewer_support import build_document, inspector_setup, reviewer_desk

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _send(server, token, station, version, start: datetime, seconds: float, seed: int) -> tuple[str, int]:
    """A submitted inspection of `station` its phone says ran from `start` for `seconds`; (id, answers)."""
    document, _ = build_document(station, version, seed=seed)
    document["started_at"] = start.isoformat()
    document["finished_at"] = (start + timedelta(seconds=seconds)).isoformat()
    iid = str(uuid.uuid4())
    reply = server.api("PUT", f"/api/v1/inspections/{iid}", token, json=document)
    assert reply.status_code == 201, reply.text
    return iid, len(document["answers"])


def test_a_visit_answered_in_forty_seconds_and_overlapping_another_is_told_with_a_link(pwa_server, browser):
    token, stations, version = inspector_setup(pwa_server)
    # An hour nobody else's test inspection is at: three days ago, 03:00 UTC.
    start = (datetime.now(UTC) - timedelta(days=3)).replace(hour=3, minute=0, second=0, microsecond=0)
    first, _ = _send(pwa_server, token, stations[0], version, start, 30 * 60, seed=41)
    second, answered = _send(pwa_server, token, stations[1], version, start + timedelta(minutes=5), 40, seed=42)
    assert answered >= 20

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    # The queue row carries both pills, and the flag filter finds it.
    page.goto(pwa_server.url + "/#/review?flag=too_fast")
    queued = page.locator(f".rv-queue [data-id='{second}']")
    queued.wait_for()
    assert queued.locator("[data-flag=too_fast]").count() == 1 and queued.locator("[data-flag=overlaps]").count() == 1
    page.goto(pwa_server.url + f"/#/review/i/{second}")
    card = page.locator("[aria-labelledby=rv-pres-h]")
    told = card.locator("#rv-time-warnings")
    told.wait_for()
    text = told.inner_text()
    assert f"{answered} answers in 40 seconds" in text
    assert "Overlaps the inspection of" in text and stations[0]["code"] in text and "by the same inspector" in text
    assert card.locator("#rv-time-warnings li[data-flag=too_fast]").count() == 1
    assert "At the station" not in card.inner_text()
    # The link opens the other inspection, which says the same of this one.
    card.locator(f"#rv-time-warnings a[href='#/review/i/{first}']").click()
    page.locator(f"#rv-time-warnings a[href='#/review/i/{second}']").wait_for()
    assert stations[1]["code"] in page.locator("#rv-time-warnings").inner_text()
    # In Urdu.
    page.evaluate("import('/js/i18n.js').then((m) => m.setLang('ur'))")
    page.wait_for_function("document.documentElement.lang === 'ur'")
    page.goto(pwa_server.url + f"/#/review/i/{second}")
    page.locator("#rv-time-warnings li[data-flag=too_fast]").wait_for()
    wait_in_page(page, "document.querySelector('#rv-time-warnings')?.innerText.includes('جوابات')")
    urdu = page.locator("#rv-time-warnings").inner_text()
    assert "جوابات" in urdu and "وقت ٹکراتا ہے" in urdu
    assert errors == []
    context.close()
