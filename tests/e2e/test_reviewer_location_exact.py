"""The reviewer's presence card when the visit's GPS fix is exactly the station's recorded position: no
phone reads that by itself (a fake-GPS app set to the bundle's coordinates does), so instead of "At the
station" in green the card says so in a sentence, and the queue marks the visit (schema 0025)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_reviewer_support import build_document, inspector_setup, reviewer_desk

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

WARNING = "The GPS fix is exactly the station's recorded position, to the centimetre."


def test_a_fix_exactly_on_the_station_is_told_instead_of_at_the_station(pwa_server, browser):
    token, stations, version = inspector_setup(pwa_server)
    station = stations[2]
    document, _ = build_document(station, version, seed=71)
    document["location"] = {"lat": station["lat"], "lon": station["lon"], "accuracy_m": 4}
    # An hour nobody else's test inspection is at (six days ago, 02:00 UTC), so no other flag speaks.
    start = (datetime.now(UTC) - timedelta(days=6)).replace(hour=2, minute=0, second=0, microsecond=0)
    document["started_at"] = start.isoformat()
    document["finished_at"] = (start + timedelta(minutes=40)).isoformat()
    iid = str(uuid.uuid4())
    reply = pwa_server.api("PUT", f"/api/v1/inspections/{iid}", token, json=document)
    assert reply.status_code == 201, reply.text

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.goto(pwa_server.url + "/#/review?flag=exact")
    queued = page.locator(f".rv-queue [data-id='{iid}']")
    queued.wait_for()
    assert queued.locator("[data-flag=exact]").inner_text().strip() == "Exact station position"

    page.goto(pwa_server.url + f"/#/review/i/{iid}")
    card = page.locator("[aria-labelledby=rv-pres-h]")
    told = card.locator("#rv-ev-warnings li[data-flag=exact]")
    told.wait_for()
    assert WARNING in told.inner_text() and "set by hand or by an app" in told.inner_text()
    assert card.locator(".pill-ok").count() == 0
    assert "At the station" not in card.inner_text()

    # In Urdu.
    page.evaluate("import('/js/i18n.js').then((m) => m.setLang('ur'))")
    page.wait_for_function("document.documentElement.lang === 'ur'")
    page.goto(pwa_server.url + f"/#/review/i/{iid}")
    page.locator("#rv-ev-warnings li[data-flag=exact]").wait_for()
    wait_in_page(page, "document.querySelector('#rv-ev-warnings')?.innerText.includes('سینٹی میٹر')")
    urdu = page.locator("#rv-ev-warnings li[data-flag=exact]").inner_text()
    assert "تھانے کا درج شدہ مقام" in urdu and WARNING not in urdu
    assert page.locator("[aria-labelledby=rv-pres-h] .pill-ok").count() == 0
    assert errors == []
    context.close()
